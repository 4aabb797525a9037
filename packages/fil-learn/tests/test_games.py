from __future__ import annotations

import sys

import pytest

from fil_learn.evaluate import make_env
from fil_learn.games import human_normalized, reference_scores, same_game


@pytest.mark.parametrize("name", ["SpaceInvaders", "space_invaders", "ALE/SpaceInvaders-v5"])
def test_game_spellings_are_one_game(name: str) -> None:
    assert same_game(name, "SpaceInvaders") and not same_game(name, "Pong")
    assert reference_scores(name) == (148.0, 1668.7)


def test_human_normalized_score() -> None:
    assert human_normalized(148.0, "SpaceInvaders") == 0.0
    assert human_normalized(30.5, "Breakout") == pytest.approx(100.0)
    assert human_normalized(1.0, "NoSuchGame") is None


def test_the_reference_table_holds_all_57_games() -> None:
    from fil_learn.games import REFERENCE_SCORES

    assert len(REFERENCE_SCORES) == 57
    assert reference_scores("YarsRevenge") == (3092.9, 54576.9)
    assert all(random < human for random, human in REFERENCE_SCORES.values())


def test_eval_without_the_emulator_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ale_py", None)  # import ale_py now raises ImportError
    with pytest.raises(ValueError, match=r"pip install 'fil-learn\[eval\]'"):
        make_env("ALE/SpaceInvaders-v5", "v5")
