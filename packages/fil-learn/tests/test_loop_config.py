"""The loop's settings record: which seeds round evaluations play, and what a rerun with other
settings is told (no subprocesses; the whole loop runs in tests/test_loop.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fil_learn.loop import Loop, val_accuracy
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


def test_candidate_histories_train_every_seed_at_every_history_and_are_recorded(
    tmp_path: Path,
) -> None:
    """Without `candidate_histories` a round's candidates are seeds `seed`, `seed + 1`, ... at
    the fits' history, as loops always trained them; with it, every seed at every history, in
    that order. The record keeps the setting as JSON does, and a rerun with other histories is
    refused with the options that continue it."""
    plain = LoopConfig.from_settings(
        "SpaceInvaders", tmp_path, mode="exit", fresh=True, candidates=3, seed=5, history=1
    )
    assert plain.candidate_fits() == [(5, 1), (6, 1), (7, 1)]
    both = plain.with_settings(candidates=2, candidate_histories=[1, 4])
    assert both.candidate_histories == (1, 4)
    assert both.candidate_fits() == [(5, 1), (6, 1), (5, 4), (6, 4)]
    both.validate()
    _record(both)
    assert read_record(both)["rounds"] == []  # the record's list reads back as the same setting
    with pytest.raises(ValueError, match=r"other settings \(--candidate-histories 1 "):
        read_record(both.with_settings(candidate_histories=[4]))
    _record(plain, drop=("candidate_histories",))  # a record written before the setting existed
    assert read_record(plain)["rounds"] == []
    for bad, message in (
        ({"candidate_histories": [1, 1]}, "distinct histories of 1-4"),
        ({"candidate_histories": [5]}, "distinct histories of 1-4"),
        ({"candidate_histories": [1, 4], "fresh": False}, "needs --fresh and --mode exit"),
    ):
        with pytest.raises(ValueError, match=re.escape(message)):
            plain.with_settings(**bad).validate()


def test_publishing_leaves_another_loops_record_alone(tmp_path: Path) -> None:
    """`--publish` copies a loop's record over the folder's only when the folder holds nothing,
    an earlier state of the same loop (run anywhere: the work folder is not a setting) or a
    shorter record: a results folder made by another recipe is another loop's result, and a
    run that reaches as many rounds must not replace it (the students table moved to
    candidate histories while the one-frame rows were published where the new ones go)."""
    published = tmp_path / "results"
    published.mkdir()
    one_frame = LoopConfig.from_settings(
        "Pong", published, mode="exit", fresh=True, candidates=3, history=1
    )
    rows = [{"round": 0, "eval_mean": -20.0}]
    (published / "rounds.json").write_text(
        json.dumps({"config": jsonable(one_frame), "rounds": rows})
    )
    before = (published / "rounds.json").read_bytes()
    both = one_frame.with_settings(workdir=tmp_path / "work", candidate_histories=[1, 4])
    said: list[str] = []
    Loop(both, said.append).publish(published, rows)
    assert said == [
        f"{published} holds a loop with other settings (no --candidate-histories): left as it "
        f"is; this run's record is in {tmp_path / 'work'}"
    ]
    assert (published / "rounds.json").read_bytes() == before
    same = one_frame.with_settings(workdir=tmp_path / "elsewhere")
    assert Loop(same).not_ours(json.loads(before), rows) == ""
    assert (
        Loop(same).not_ours(json.loads(before), [])
        == "a longer record (1 rounds) than this run (0)"
    )
