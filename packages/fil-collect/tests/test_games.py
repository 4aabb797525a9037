from __future__ import annotations

import pytest

from fil_collect.games import Game, available_roms, resolve_game


@pytest.mark.parametrize(
    "text",
    [
        "SpaceInvaders",
        "space_invaders",
        "ALE/SpaceInvaders-v5",
        "SpaceInvadersNoFrameskip-v4",
        " spaceinvaders ",
    ],
)
def test_spellings_resolve_to_the_rom(text: str) -> None:
    assert resolve_game(text) == Game("space_invaders")


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
