"""The Atari-57 table of bench/swarm_scores.py: its references cover the 57 games, and
`--atari57` runs, writes its JSON lines and page, and on a rerun runs nothing (two games, two
seeds, a 2,000-frame budget: a few seconds of real emulation)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import atari57_references  # noqa: E402
import swarm_scores  # noqa: E402

from fil_collect.games import resolve_game  # noqa: E402


def test_the_57_reference_rows_are_complete() -> None:
    rows = atari57_references.ATARI57
    assert len(rows) == 57
    for name, row in rows.items():
        assert resolve_game(name).name == name
        assert isinstance(row.random, float) and isinstance(row.human, float), name
        assert row.dqn_source in (atari57_references.NATURE, atari57_references.C51_DQN), name
    assert sum(row.dqn_source == atari57_references.NATURE for row in rows.values()) == 49
    assert all(row.dqn is not None for row in rows.values())
    assert set(atari57_references.HARD_EXPLORATION) <= set(rows)
    # the 17 games of the older tables read the same references
    for game, (dqn, human) in swarm_scores.REFERENCES.items():
        assert human == rows[game].human and (dqn is None or dqn == rows[game].dqn)


def test_all_seeds_only_where_they_fit() -> None:
    assert swarm_scores.seeds_that_fit(10 / 3, 3, 10.0) == 3
    assert swarm_scores.seeds_that_fit(3.4, 3, 10.0) == 1
    assert swarm_scores.seeds_that_fit(50.0, 1, 10.0) == 1


def _run(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, "bench/swarm_scores.py", "--atari57", "--games", "Pong", "Breakout",
        "--seeds", "2", "--workers", "1", "--set", "max_frames=2000", "n_walkers=2",
        "--json", str(tmp_path / "runs.jsonl"), "--markdown", str(tmp_path / "atari57.md"),
    ]  # fmt: skip
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)


@pytest.mark.slow
def test_atari57_table_runs_writes_its_page_and_resumes(tmp_path: Path) -> None:
    first = _run(tmp_path)
    lines = (tmp_path / "runs.jsonl").read_text().splitlines()
    runs = [json.loads(line) for line in lines]
    # seed 0 of both games, then seed 1 of both (a few seconds fit in 10 CPU minutes)
    assert sorted((r["game"], r["seed"]) for r in runs) == sorted(
        (game, swarm_scores.episode_seed(0, seed))
        for game in ("Pong", "Breakout")
        for seed in range(2)
    )
    assert all(r["frames"] >= 2000 and r["stop"] == "frames" for r in runs)
    assert all(json.loads(r["key"])[1]["max_frames"] == 2000 for r in map(json.loads, lines))
    assert first.stderr.count("CPU min") == 4
    page = (tmp_path / "atari57.md").read_text()
    assert "--atari57 --games Pong Breakout" in page and "Budget: 4 runs" in page
    assert "| Pong | 2 |" in page and "| Breakout | 2 |" in page
    assert "18.9 (Nature DQN)" in page and "at or above human on" in page

    (tmp_path / "atari57.md").unlink()
    second = _run(tmp_path)
    assert (tmp_path / "runs.jsonl").read_text().splitlines() == lines
    assert "CPU min (" not in second.stderr
    assert (tmp_path / "atari57.md").read_text().split("Budget:")[1] == page.split("Budget:")[1]


def test_atari57_reads_the_held_in_and_held_out_runs_at_default_settings(tmp_path: Path) -> None:
    """The same key is the same episode: the committed default-settings runs are not rerun."""
    command = [
        sys.executable, "bench/swarm_scores.py", "--atari57", "--report", "--games",
        "SpaceInvaders", "BeamRider", "Alien", "--json", str(tmp_path / "runs.jsonl"),
        "--markdown", str(tmp_path / "atari57.md"),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    page = (tmp_path / "atari57.md").read_text()
    assert "| SpaceInvaders | 3 |" in page and "| BeamRider | 1 |" in page
    assert "| Alien |" not in page and "2 of 3 games played" in page
    assert "results/swarm/held-in.jsonl and results/swarm/held-out.jsonl" in page
    assert "CPU min (" not in done.stderr and not (tmp_path / "runs.jsonl").exists()


def test_a_later_runs_file_wins(tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    key = swarm_scores._key("Pong", swarm_scores.SwarmConfig(), 0)
    row = {"stop": "frames", "frames": 2_000_000}
    first.write_text(json.dumps({"key": key, **row, "score": 1}) + "\n")
    second.write_text(json.dumps({"key": key, **row, "score": 2}) + "\n")
    assert swarm_scores._kept_runs(str(first), str(second), None) == {key: {**row, "score": 2}}
    assert swarm_scores._kept_runs(str(tmp_path / "missing.jsonl")) == {}


def test_runs_from_before_widening_count_only_where_widening_would_not_have_fired(
    tmp_path: Path,
) -> None:
    """Rows recorded before `SwarmConfig.widen` lack it in their key: a game the budget ended
    is the same run today; a game that ended with most of the budget unspent is not (rerun)."""
    import dataclasses

    from fil_collect.swarm import SwarmConfig

    today = SwarmConfig()
    old = {k: v for k, v in dataclasses.asdict(today).items() if k != "widen"}
    runs = tmp_path / "old.jsonl"
    rows = [
        ("Alien", {"stop": "frames", "frames": 2_000_000, "score": 54_580}),
        ("Freeway", {"stop": "all walkers dead", "frames": 520_000, "score": 11}),
        ("Skiing", {"stop": "all walkers dead", "frames": 1_500_000, "score": -16_406}),
    ]
    runs.write_text(
        "".join(
            json.dumps({"key": json.dumps([game, old, 0], sort_keys=True), **row}) + "\n"
            for game, row in rows
        )
    )
    kept = swarm_scores._kept_runs(str(runs))
    assert swarm_scores._key("Alien", today, 0) in kept
    assert swarm_scores._key("Skiing", today, 0) in kept  # 0.5M left: under twice 1.5M
    assert swarm_scores._key("Freeway", today, 0) not in kept
    assert swarm_scores._key("Freeway", dataclasses.replace(today, widen=False), 0) in kept
