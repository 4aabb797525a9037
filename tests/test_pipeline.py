"""The main job end to end, as a user runs it: collect with the swarm, fit on it, play it.

Both tools run as console commands in subprocesses (fil-learn never imports fil-collect).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def _run(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-c", f"from {module}.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return result


@pytest.mark.slow
def test_collect_fit_eval(tmp_path: Path) -> None:
    dataset, run, report = tmp_path / "ds.h5", tmp_path / "run", tmp_path / "eval.json"
    _run(
        "fil_collect",
        "--game",
        "SpaceInvaders",
        "--out",
        str(dataset),
        "--episodes",
        "2",
        "--walkers",
        "4",
        "--epochs",
        "20",
        "--seed",
        "0",
        "--workers",
        "2",
        "--quiet",
    )
    _run(
        "fil_learn",
        "fit",
        str(dataset),
        "--out",
        str(run),
        "--epochs",
        "2",
        "--batch-size",
        "32",
        "--quiet",
    )
    settings = json.loads((run / "run.json").read_text())
    assert settings["game"] == "SpaceInvaders" and settings["train_episodes"] == 1
    assert settings["fit"]["equivalent"] == "ignore"
    stats = _run("fil_learn", "label-stats", str(dataset)).stdout
    assert "the drawn action had an equivalent one" in stats
    assert "{NOOP, FIRE} {RIGHT, RIGHTFIRE} {LEFT, LEFTFIRE}" in stats
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 2
    _run(
        "fil_learn",
        "eval",
        str(run),
        "--episodes",
        "1",
        "--max-steps",
        "50",
        "--json",
        str(report),
        "--quiet",
    )
    summary = json.loads(report.read_text())
    assert summary["game"] == "SpaceInvaders" and summary["episodes"] == 1


@pytest.mark.slow
def test_sample_dataset_trains(tmp_path: Path) -> None:
    sample = Path(__file__).parents[1] / "datasets" / "samples" / "space_invaders-tiny.h5"
    result = _run(
        "fil_learn",
        "fit",
        str(sample),
        "--out",
        str(tmp_path / "run"),
        "--epochs",
        "1",
        "--batch-size",
        "64",
        "--quiet",
    )
    assert "run written to" in result.stdout
