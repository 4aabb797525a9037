from __future__ import annotations

import pytest

from fil_collect.games import Game, available_roms, resolve_game


@pytest.mark.parametrize(
    "text",
    [
        "SpaceInvaders",
        "space_invaders",
        "ALE/SpaceInvaders-v5",
        "SpaceInvaders-v5",
        " spaceinvaders ",
    ],
)
def test_spellings_resolve_to_the_rom(text: str) -> None:
    assert resolve_game(text) == Game("space_invaders")


@pytest.mark.parametrize(
    "text",
    ["SpaceInvadersNoFrameskip-v4", "SpaceInvaders-v0", "SpaceInvadersDeterministic-v4"],
)
def test_old_gym_ids_are_refused_not_read_as_v5(text: str) -> None:
    with pytest.raises(ValueError, match=r"v5 settings .* use --game SpaceInvaders$"):
        resolve_game(text)


def test_names_follow_gymnasium() -> None:
    game = resolve_game("ms_pacman")
    assert game.name == "MsPacman"
    assert game.env_id == "ALE/MsPacman-v5"


def test_unknown_game_lists_close_matches() -> None:
    with pytest.raises(ValueError, match=r"unknown game 'SpaceInvader'.*SpaceInvaders"):
        resolve_game("SpaceInvader")


def test_hopeless_name_points_to_the_list() -> None:
    with pytest.raises(ValueError, match="fil-collect games"):
        resolve_game("zzzzqqq")


def test_roms_ship_with_ale_py() -> None:
    assert {"space_invaders", "atlantis", "pong"} <= set(available_roms())
