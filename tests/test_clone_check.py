"""bench/clone_check.py turns a policy's recorded play into a fil dataset that both packages
accept: fil-collect recomputes its checksums from the spec, fil-learn reads its steps, and
bench/policy_agreement.py finds the policy's greedy choice at every step of its own play (and
at about the chance rate on the swarm's sample dataset)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import clone_check  # noqa: E402
import policy_agreement  # noqa: E402

from fil_collect.checksum import array_digest, group_arrays  # noqa: E402
from fil_learn.data import open_dataset  # noqa: E402

TEACHER = ROOT / "results" / "best" / "spaceinvaders.onnx"


def test_a_recorded_play_becomes_a_dataset_with_the_specs_checksums(tmp_path: Path) -> None:
    visited, dataset = tmp_path / "visited.h5", tmp_path / "teacher.h5"
    subprocess.run(
        ["fil-learn", "eval", str(TEACHER), "--episodes", "2", "--max-steps", "25", "--seed",
         "20000", "--save-states", str(visited), "--state-every", "1000000", "--quiet"],
        check=True, capture_output=True,
    )  # fmt: skip
    clone_check.as_dataset(visited, dataset, TEACHER)
    assert not dataset.with_suffix(".partial").exists()
    with h5py.File(dataset, "r") as handle:
        assert handle.attrs["total_steps"] == 50 and handle.attrs["format_version"] == 1
        for name in ("episode_0", "episode_1"):
            group = handle[name]
            assert group.attrs["sha256"] == array_digest(group_arrays(group))
            assert group["observations"].shape == (26, 84, 84)
    info = subprocess.run(
        ["fil-collect", "info", str(dataset)], capture_output=True, text=True, check=True
    )
    assert "damaged" not in info.stdout + info.stderr
    with open_dataset(dataset) as read:
        episodes = list(read)
        assert [len(e.actions) for e in episodes] == [25, 25]
    row = policy_agreement.agreement(dataset, TEACHER, episodes=2)
    assert row["steps"] == 50 and row["agree"] == 1.0 and row["agree_at_changes"] == 1.0


def test_the_swarms_sample_agrees_with_a_policy_far_less() -> None:
    row = policy_agreement.agreement(
        ROOT / "datasets" / "samples" / "space_invaders-tiny.h5", TEACHER, episodes=1
    )
    assert 0.0 < row["chance"] < 0.5 and row["agree_at_changes"] < 0.5
