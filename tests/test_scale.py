"""`fil-learn scale` end to end at a tiny size, through the real commands: fil-collect shards
(real ALE swarms), a real JIT fit, real v5/noop30 evaluations, export, the rows and their git
commit; then a rerun that finds nothing to do, and the refusal of evaluation seeds that a
shard was collected on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest

TINY = [
    "--preset", "spaceinvaders", "--workers", "1",
    "--set", "shard_episodes=1", "--set", "walkers=2", "--set", "max_frames=3000",
    "--set", "data_sizes=2", "--set", "milestones=1", "--set", "eval_episodes=2",
    "--set", "eval_max_steps=20", "--set", "fit.batch_size=32",
]  # fmt: skip
GIT = {
    "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@t",
}  # fmt: skip


def _scale(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fil_learn", "scale", *TINY, "--runs", str(repo / "runs"), *args],
        capture_output=True,
        text=True,
        cwd=repo,
        env={**os.environ, **GIT},
        timeout=1200,  # a guard against hangs: CI machines may be loaded
    )


def _log(repo: Path) -> list[str]:
    done = subprocess.run(
        ["git", "-C", str(repo), "log", "--name-only", "--format=%s"],
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in done.stdout.splitlines() if line]


@pytest.mark.slow
def test_scale_collects_fits_evaluates_publishes_commits_and_resumes(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "unrelated.txt").write_text("staged, never committed by scale\n")
    subprocess.run(["git", "-C", str(repo), "add", "unrelated.txt"], check=True)

    capped = _scale(repo, "--max-shards", "1")  # a session that may collect one shard
    assert capped.returncode == 0, capped.stdout[-3000:] + capped.stderr[-3000:]
    assert "past --max-shards 1; rerun to continue" in capped.stdout
    assert not (repo / "results/spaceinvaders-scaling/curve.jsonl").exists()

    done = _scale(repo, "--commit")  # adopts shard 00, collects 01, fits, plays, publishes
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "[collect] shard 00" not in done.stdout and "[collect] shard 01" in done.stdout
    (row,) = [json.loads(x) for x in (repo / "results/spaceinvaders-scaling/curve.jsonl").open()]
    settings = json.loads((repo / "runs/spaceinvaders/fit-02shards/run.json").read_text())
    assert row["shards"] == 2 and row["epochs"] == 1 and row["episodes"] == 2
    assert row["samples_processed"] == row["unique_steps"] == settings["train_samples"]
    assert row["eval_seeds"] == [10_000, 10_001] and len(row["v5_returns"]) == 2
    assert row["v5_distinct_games"] in (1, 2)
    assert row["emulator_frames"] > 0 and row["core_hours"]["fit"] > 0
    assert row["core_hours"]["collect"] > 0 and row["core_hours"]["eval"] > 0
    assert row["core_hours"]["collect_cpu_measured_episodes"] == 2  # both shards by scale
    cost = json.loads((repo / "runs/spaceinvaders/shard-01.cost.json").read_text())
    assert cost["collected"] == [0] and cost["collect"] > 0
    card = json.loads((repo / "results/best/spaceinvaders.json").read_text())
    assert card["v5"]["mean"] == row["v5_mean"] and card["noop30"]["episodes"] == 2
    assert card["reproduce"].startswith("fil-learn scale --preset spaceinvaders --set ")
    assert (repo / "results/best/spaceinvaders.onnx").stat().st_size > 0
    assert _log(repo) == [
        f"scale: spaceinvaders 2 shards, 1 epoch(s): v5 {row['v5_mean']:,.1f}",
        "results/best/spaceinvaders.json",
        "results/best/spaceinvaders.onnx",
        "results/spaceinvaders-scaling/curve.jsonl",
        "results/spaceinvaders-scaling/curve.md",
        "results/spaceinvaders-scaling/curve.png",
        "results/spaceinvaders-scaling/preset.json",
    ]

    again = _scale(repo, "--commit")  # everything is there: no stage runs, no row, no commit
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "$ " not in again.stdout and "done: 1 row(s)" in again.stdout
    assert len((repo / "results/spaceinvaders-scaling/curve.jsonl").read_text().splitlines()) == 1
    assert len([line for line in _log(repo) if line.startswith("scale:")]) == 1

    table = repo / "results/spaceinvaders-scaling/curve.md"  # committed stale, as if a session
    table.write_text("stale\n")  # died between its row and the table's redraw
    subprocess.run(
        ["git", "-C", str(repo), "commit", "-qm", "stale", "--", str(table)],
        env={**os.environ, **GIT},
        check=True,
    )
    settled = _scale(repo, "--commit")
    assert settled.returncode == 0 and "$ " not in settled.stdout
    assert "| 2 | 2 | 1 |" in table.read_text()
    assert _log(repo)[:2] == [
        "scale: the record as a session starts (a stopped session's rows, the preset)",
        "results/spaceinvaders-scaling/curve.md",
    ]

    with h5py.File(repo / "runs/spaceinvaders/shard-01.h5") as handle:
        collected = int(handle["episode_0"].attrs["seed"])
    clash = _scale(repo, "--set", f"eval_seed={collected - 1}", "--results", "trial")
    assert clash.returncode == 2 and clash.stderr.count("\n") == 1, clash.stderr
    assert f"include seed {collected} of shard-01.h5 episode 0" in clash.stderr
    assert "$ " not in clash.stdout and not (repo / "trial").exists()

    plan = _scale(repo, "--plan")
    assert "shards: 00-01 complete" in plan.stdout
    assert "rows at epochs 1 done, none left" in plan.stdout

    # the spread of fit seeds at the curve's point: seed 0 is the curve's own fit, again
    sets = [item for item in TINY[TINY.index("--set") :] if item != "--set"]
    seeds = [
        sys.executable, str(Path(__file__).parents[1] / "bench/fit_seeds.py"),
        "--preset", "spaceinvaders", "--shards", "2", "--epochs", "1", "--seeds", "0", "1",
        "--runs", str(repo / "runs"), "--jsonl", str(repo / "seeds.jsonl"),
        *(x for item in sets for x in ("--set", item)),
    ]  # fmt: skip
    spread = subprocess.run(seeds, capture_output=True, text=True, cwd=repo, timeout=1200)
    assert spread.returncode == 0, spread.stdout[-3000:] + spread.stderr[-3000:]
    fits = [json.loads(line) for line in (repo / "seeds.jsonl").open()]
    assert [f["fit_seed"] for f in fits] == [0, 1] and fits[0]["v5_mean"] == row["v5_mean"]
    assert "2 fits: mean" in spread.stdout
    again = subprocess.run(seeds, capture_output=True, text=True, cwd=repo, timeout=600)
    assert again.returncode == 0 and "$ " not in again.stdout  # resumed: nothing left to run
    assert len((repo / "seeds.jsonl").read_text().splitlines()) == 2


@pytest.mark.slow
def test_sigterm_stops_the_running_stage_and_keeps_its_cost(tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "fil_learn", "scale", *TINY, "--set", "max_frames=400000",
        "--runs", str(tmp_path / "runs"), "--results", str(tmp_path / "results"),
    ]  # fmt: skip
    scale = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert scale.stdout is not None
    for line in scale.stdout:  # wait until fil-collect is running
        if line.startswith("$ ") and "fil-collect" in line:
            break
    time.sleep(8)
    scale.terminate()
    _, stderr = scale.communicate(timeout=120)
    assert scale.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "interrupted: run the same command again to continue"
    cost = json.loads((tmp_path / "runs/spaceinvaders/shard-00.cost.json").read_text())
    assert cost["collect"] > 0 and cost["collected"] == []  # the episode was not finished


def test_every_leaderboard_policy_has_a_card_that_agrees_with_the_table() -> None:
    """`fil-learn scale` compares a row with the card before it replaces a policy: a policy
    without one could only be replaced blindly (`--force`), whatever it scores."""
    best = Path(__file__).parents[1] / "results" / "best"
    table = (best / "README.md").read_text()
    policies = sorted(best.glob("*.onnx"))
    assert policies
    for policy in policies:
        card = json.loads(policy.with_suffix(".json").read_text())
        assert card["policy"] == policy.name
        assert f"**{card['v5']['mean']:,.1f} ± {card['v5']['ci95']:,.1f}**" in table
        assert f"`{card['reproduce']}`" in table or card["reproduce"] in table
