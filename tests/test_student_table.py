"""bench/student_table.py at a tiny size on one game: the real loop (swarm, HDF5, JIT fit,
export, evaluations) under a samples budget, the table read back against the files, the policy
published with its card, and a rerun that does no new work."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import student_table  # noqa: E402
from atari57_references import ATARI57  # noqa: E402

BUDGET = 700
TINY = [
    "--rounds", "1", "--fit-samples", str(BUDGET), "--max-steps", "40",
    "--set", "episodes=2", "--set", "swarm_epochs=40", "--set", "walkers=4",
    "--set", "candidates=1", "--set", "eval_episodes=1", "--set", "final_episodes=2",
    "--set", "baseline_episodes=1", "--set", "workers=1", "--set", "batch_size=32",
]  # fmt: skip


def _table(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    folders = ["--runs", tmp_path / "runs", "--results", tmp_path / "results"]
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "student_table.py"), *map(str, folders), *args],
        capture_output=True,
        text=True,
        timeout=1800,  # a guard against hangs: CI machines may be loaded
    )


def _teacher_mean(path: Path) -> float:
    """The demonstrations' mean return, read with h5py alone."""
    with h5py.File(path) as f:
        returns = [float(f[n].attrs["episode_return"]) for n in f if n.startswith("episode_")]
    return sum(returns) / len(returns)


@pytest.mark.slow
def test_one_game_is_played_tabled_published_and_not_redone(tmp_path: Path) -> None:
    best = tmp_path / "best"
    done = _table(tmp_path, "--games", "breakout", "--best", str(best), *TINY)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results, runs = tmp_path / "results" / "breakout", tmp_path / "runs" / "breakout"
    record = json.loads((results / "rounds.json").read_text())
    row = record["rounds"][0]
    run = json.loads((runs / "run-0" / "run.json").read_text())
    assert record["config"]["fit_samples"] == BUDGET
    assert run["fit"]["epochs"] == max(1, round(BUDGET / row["samples"]))
    v5, noop = (
        json.loads((results / f"final-round-0-{p}.json").read_text()) for p in ("v5", "noop30")
    )
    baselines = record["baselines"]
    teacher = _teacher_mean(runs / "demos.h5")
    page = (tmp_path / "results" / "README.md").read_text()
    line = next(text for text in page.splitlines() if text.startswith("| Breakout |"))
    cells = [cell.strip() for cell in line.strip("|").split("|")]
    assert row["candidate_histories"] == [1, 4]  # the recipe measures which input to keep
    assert cells[1] == f"0 ({row['candidate_histories'][row['candidate']]}f)"
    assert cells[2] == f"**{v5['mean']:,.1f} ± {v5['ci95']:,.1f}**"
    assert cells[3] == f"{noop['mean']:,.1f} ± {noop['ci95']:,.1f}"
    assert cells[4] == f"{baselines['random']['mean']:,.1f}"
    assert cells[5].endswith(f"({baselines['best_constant_action']})")
    assert cells[6].startswith(f"{teacher:,.1f} (2 eps, demos.h5)")
    assert cells[7:9] == [f"{ATARI57['Breakout'].dqn:,.1f}", f"{ATARI57['Breakout'].human:,.1f}"]
    assert cells[9:11] == [f"{row['emulator_frames']:,}", f"{row['samples_processed']:,}"]
    assert "--fit-samples 700" in cells[13] and "seeds 10000-10001" in page
    # running one game keeps the page's other held-in games (listed, here as not run yet)
    assert "- Qbert: not run yet (`uv run fil-learn loop" in page and "of 9 games" in page
    card = json.loads((best / "breakout.json").read_text())
    assert card["written_by"] == "bench/student_table.py" and card["v5"]["mean"] == v5["mean"]
    assert card["samples_processed"] == row["samples_processed"] and card["round"] == 0
    assert (best / "breakout.onnx").read_bytes() == (results / "policy.onnx").read_bytes()
    # a rerun starts the loop, which finds every stage done, and rewrites nothing of its own
    kept = [best / "breakout.json", best / "breakout.onnx", results / "teacher.json"]
    kept += [tmp_path / "results" / "README.md", runs / "final-round-0-v5.json"]
    before = [path.stat().st_mtime_ns for path in kept]
    again = _table(tmp_path, "--games", "breakout", "--best", str(best), *TINY)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count("$ ") == 1  # the loop itself, no stage
    assert [path.stat().st_mtime_ns for path in kept] == before
    # a leaderboard card written by other means is never replaced; a game not run is listed
    other = tmp_path / "other-best"
    other.mkdir()
    foreign = json.dumps({"written_by": "by hand", "v5": {"mean": -1.0}})
    (other / "breakout.json").write_text(foreign)
    listed = _table(
        tmp_path, "--games", "breakout", "pong", "--best", str(other), "--report", *TINY
    )
    assert listed.returncode == 0 and "$ " not in listed.stdout, listed.stderr[-3000:]
    page = (tmp_path / "results" / "README.md").read_text()
    assert "not published: the leaderboard holds another policy (v5 -1.0)" in page
    assert "- Pong: not run yet (`uv run fil-learn loop" in page
    assert (other / "breakout.json").read_text() == foreign
    assert not (other / "breakout.onnx").exists()
    # a row played by another recipe is listed with what differs, never tabled as this one's
    one_frame = _table(
        tmp_path, "--games", "breakout", "--preset", "spaceinvaders-exit-1frame", "--best",
        str(other), "--report", *TINY,
    )  # fmt: skip
    assert one_frame.returncode == 0, one_frame.stderr[-3000:]
    page = (tmp_path / "results" / "README.md").read_text()
    assert "| Breakout |" not in page
    assert (
        "- Breakout: played with other settings than this table's (--policy-temperature 0.1, "
        "--candidate-histories 1 --candidate-histories 4)" in page
    )


def test_bad_input_is_one_line_and_a_foreign_page_is_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """In this process (`main`, what the script runs): nothing here starts a loop."""
    folders = ["--runs", str(tmp_path / "runs"), "--results", str(tmp_path / "results")]
    for args, message in (
        (["--games", "Foo"], "--games Foo: not an Atari-57 game"),
        (["--set", "walkers"], "--set walkers: give KEY=VALUE"),
        (["--fit-samples", "-1"], "--fit-samples 0 (off) or more"),
    ):
        assert student_table.main([*folders, "--report", *args]) == 2
        assert message in capsys.readouterr().err
        assert not (tmp_path / "results").exists()
    page = tmp_path / "results" / "README.md"
    page.parent.mkdir()
    page.write_text("notes\n")
    assert student_table.main([*folders, "--report", "--games", "Pong"]) == 2
    assert "--force replaces it" in capsys.readouterr().err and page.read_text() == "notes\n"
    assert student_table.main([*folders, "--report", "--games", "Pong", "--force"]) == 0
    assert "- Pong: not run yet" in page.read_text()
