"""The loop's settings record: which seeds round evaluations play, and what a rerun with other
settings is told (no subprocesses; the whole loop runs in tests/test_loop.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fil_learn.loop import val_accuracy
from fil_learn.loop_config import LoopConfig
from fil_learn.loop_record import jsonable, read_record


def test_fixed_round_seeds_replay_the_same_episodes_and_per_round_moves_on(
    tmp_path: Path,
) -> None:
    fixed = LoopConfig.from_settings("SpaceInvaders", tmp_path)
    assert {fixed.eval_seed(r) for r in range(5)} == {1000}
    per_round = fixed.with_settings(round_seeds="per-round")
    assert [per_round.eval_seed(r) for r in range(3)] == [1000, 2000, 3000]
    with pytest.raises(ValueError, match="--round-seeds must be one of fixed, per-round"):
        fixed.with_settings(round_seeds="random").validate()


def _record(config: LoopConfig, drop: tuple[str, ...] = ()) -> None:
    settings = {k: v for k, v in jsonable(config).items() if k not in drop}
    (config.workdir / "rounds.json").write_text(json.dumps({"config": settings, "rounds": []}))


def test_a_loop_recorded_before_round_seeds_existed_continues_only_as_it_was_played(
    tmp_path: Path,
) -> None:
    """Such loops evaluated every round on other seeds; continuing one on fixed seeds would mix
    two protocols in one table, so the default is refused with the option that continues it."""
    config = LoopConfig.from_settings("SpaceInvaders", tmp_path, rule="value")
    _record(config.with_settings(round_seeds="per-round"), drop=("round_seeds",))
    with pytest.raises(ValueError, match=r"other settings \(--round-seeds per-round\)"):
        read_record(config)
    assert read_record(config.with_settings(round_seeds="per-round"))["rounds"] == []


def test_a_refusal_names_every_recorded_setting_as_the_command_line_writes_it(
    tmp_path: Path,
) -> None:
    played = LoopConfig.from_settings(
        "SpaceInvaders", tmp_path, keep_demos=False, compared_only=True
    )
    _record(played)
    given = played.with_settings(keep_demos=True, compared_only=False, max_labels=5, workers=2)
    expected = "(--max-labels 400, --drop-demos, no --workers, --compared-only): use the"
    with pytest.raises(ValueError, match=re.escape(f"other settings {expected}")):
        read_record(given)
    assert read_record(played.with_settings(rounds=9))["rounds"] == []  # more rounds continue it


def test_a_round_reports_the_validation_accuracy_of_the_epoch_it_plays(tmp_path: Path) -> None:
    """Under --keep best a round often plays an earlier epoch than its fit's last; the table
    showed the last epoch's accuracy beside the kept epoch's number. A resumed fit repeats an
    epoch's row: the later row is the one whose parameters were saved."""
    rows = [(1, 0.40), (2, 0.55), (3, 0.50), (2, 0.57), (3, 0.52)]
    lines = [json.dumps({"epoch": e, "val_accuracy": a, "stage": 0}) for e, a in rows]
    (tmp_path / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    assert val_accuracy(tmp_path, 2) == 0.57
    assert val_accuracy(tmp_path, 1) == 0.40
    assert val_accuracy(tmp_path, 4) is None
