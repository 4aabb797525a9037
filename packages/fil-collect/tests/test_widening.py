"""Widening: a game that ends with most of the frame budget unspent is searched again by a
wider swarm on the frames left, on real ALE (Boxing's two-minute clock at tiny sizes)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import h5py
import pytest
from typer.testing import CliRunner

from fil_collect.cli import app
from fil_collect.collect import CollectConfig, collect_episode
from fil_collect.env import EnvConfig
from fil_collect.games import resolve_game
from fil_collect.swarm import SwarmConfig
from fil_collect.widening import GAME_OVER, MARGIN, MAX_FACTOR, follows_rule, widening_factor

BOXING = EnvConfig(resolve_game("Boxing"))
TINY = SwarmConfig(n_walkers=4, max_frames=150_000)
"""4 walkers finish Boxing's clock in ~28k frames (54 points); 16 on the frames left knock
the opponent out (100)."""
runner = CliRunner()


@pytest.mark.slow
def test_a_game_ended_early_is_searched_again_wider_and_the_better_game_kept() -> None:
    record = collect_episode(CollectConfig(BOXING, TINY, seed=0), index=0)
    attempts = json.loads(record.attrs["swarm_attempts"])
    first, second = attempts
    assert first["walkers"] == 4 and first["stop_reason"] == GAME_OVER
    left = 150_000 - first["emulator_frames"]
    factor = min(MAX_FACTOR, int(MARGIN * left // first["emulator_frames"]))
    assert second["walkers"] == 4 * factor
    assert second["score"] > first["score"] and record.attrs["swarm_kept_attempt"] == 1
    # the demonstration is the wider search's, replayed and checked; the frames are both's
    assert record.demo.episode_return == second["score"] == record.attrs["swarm_score"]
    assert record.attrs["emulator_frames"] == first["emulator_frames"] + second["emulator_frames"]
    assert record.attrs["emulator_frames"] <= 150_000 + 16 * 4 * 16  # one epoch over at most
    # without widening: the first search alone, and no attempts recorded
    plain = collect_episode(
        CollectConfig(BOXING, dataclasses.replace(TINY, widen=False), seed=0), index=0
    )
    assert plain.demo.episode_return == first["score"]
    assert plain.attrs["emulator_frames"] == first["emulator_frames"]
    assert "swarm_attempts" not in plain.attrs


@pytest.mark.parametrize(
    ("changes", "stop", "frames", "left", "factor"),
    [
        ({}, GAME_OVER, 500_000, 1_500_000, 2),
        ({}, GAME_OVER, 458_660, 1_541_340, 2),  # 3x would need all of it: a margin is kept
        ({}, GAME_OVER, 300_000, 1_700_000, 4),
        ({}, GAME_OVER, 10_000, 1_990_000, MAX_FACTOR),  # capped
        ({}, GAME_OVER, 700_000, 1_300_000, 0),  # not 2.5 times the frames spent left
        ({}, "frames", 10_000, 1_990_000, 0),  # the budget, not the game, ended it
        ({"widen": False}, GAME_OVER, 10_000, 1_990_000, 0),
        ({"max_epochs": 600}, GAME_OVER, 10_000, 1_990_000, 0),  # not a frames-only budget
        ({"max_minutes": 2.0}, GAME_OVER, 10_000, 1_990_000, 0),
        ({"max_frames": None}, GAME_OVER, 10_000, 0, 0),
    ],
)
def test_only_a_game_that_left_a_frames_budget_unspent_is_widened(
    changes: dict, stop: str, frames: int, left: int, factor: int
) -> None:
    config = dataclasses.replace(SwarmConfig(), **changes)
    assert widening_factor(config, stop, frames, left) == factor


@pytest.mark.slow
def test_a_file_from_before_widening_takes_episodes_collected_without_it(tmp_path: Path) -> None:
    out = tmp_path / "boxing.h5"
    options = ["--game", "Boxing", "--out", str(out), "--walkers", "4", "--max-frames", "150000"]
    options += ["--workers", "1", "--quiet"]
    done = runner.invoke(app, [*options, "--episodes", "1", "--no-widen"])
    assert done.exit_code == 0, done.output
    with h5py.File(out, "r+") as handle:  # as a file written before the setting existed
        settings = json.loads(handle.attrs["config_json"])
        del settings["swarm.widen"]
        handle.attrs["config_json"] = json.dumps(settings)
    refused = runner.invoke(app, [*options, "--episodes", "2"])
    assert refused.exit_code == 2
    assert "swarm.widen: file False vs now True" in refused.output
    appended = runner.invoke(app, [*options, "--episodes", "2", "--no-widen"])
    assert appended.exit_code == 0, appended.output
    with h5py.File(out, "r") as handle:
        assert len([k for k in handle if k.startswith("episode_")]) == 2


def test_a_record_made_under_another_rule_is_told_apart() -> None:
    """What `bench/swarm_scores.py` keeps: a run whose recorded searches today's rule makes."""
    config = SwarmConfig()
    first = {"walkers": 64, "emulator_frames": 458_660, "stop_reason": GAME_OVER}
    today = {"walkers": 128, "emulator_frames": 1_000_000, "stop_reason": GAME_OVER}
    before = {"walkers": 192, "emulator_frames": 1_544_086, "stop_reason": "frames"}
    assert follows_rule(config, [first, today])
    assert not follows_rule(config, [first, before])  # 3x, from before the margin
    assert not follows_rule(config, [first])  # today's rule would have widened it
    ended_by_budget = {"walkers": 64, "emulator_frames": 2_000_100, "stop_reason": "frames"}
    assert follows_rule(config, [ended_by_budget])
