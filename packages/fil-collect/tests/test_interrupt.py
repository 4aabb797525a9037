"""Killing the collector at any moment keeps every episode it reported as written."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest

from fil_collect.format import open_dataset

COLLECT = [
    sys.executable,
    "-c",
    "from fil_collect.cli import main; main()",
    "--game",
    "SpaceInvaders",
    "--walkers",
    "4",
    "--epochs",
    "12",
    "--episodes",
    "40",
    "--seed",
    "1",
]
REPORTED = re.compile(r"^episode (\d+): return")


def _start(path: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*COLLECT, "--out", str(path), *extra],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )


def _reported_until(process: subprocess.Popen[str], count: int) -> set[int]:
    """Read progress lines until `count` episodes are reported written."""
    reported: set[int] = set()
    assert process.stderr is not None
    while len(reported) < count:
        line = process.stderr.readline()
        assert line, "collector stopped early"
        match = REPORTED.match(line.strip())
        if match:
            reported.add(int(match.group(1)))
    return reported


def _episodes_in(path: Path) -> set[int]:
    with open_dataset(path) as dataset:
        return {episode.index for episode in dataset.episodes()}


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.13, 0.31])
def test_sigkill_loses_nothing_reported(tmp_path: Path, delay: float) -> None:
    path = tmp_path / "ds.h5"
    process = _start(path, "--workers", "1", "--raw-frames")
    reported = _reported_until(process, 2)
    time.sleep(delay)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert reported <= _episodes_in(path)
    with h5py.File(path, "r") as f:  # every episode in the file is whole
        for name in (k for k in f if k.startswith("episode_")):
            assert f[name]["raw_observations"].shape[0] == f[name].attrs["length"] + 1
    # the next run cleans the dead writer's temporary copy and continues the indices
    kept = _episodes_in(path)
    total = str(len(kept) + 1)  # --episodes is the file's total
    again = _start(path, "--workers", "1", "--episodes", total, "--raw-frames")
    _, stderr = again.communicate(timeout=120)
    assert again.returncode == 0, stderr
    assert len(_episodes_in(path)) == len(kept) + 1
    assert [p.name for p in tmp_path.iterdir()] == ["ds.h5"]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_finishes_cleanly(tmp_path: Path, workers: str) -> None:
    path = tmp_path / "ds.h5"
    process = _start(path, "--workers", workers)
    reported = _reported_until(process, 2)
    os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole group
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 130
    assert "run the same command again to continue" in " ".join(stderr.split())  # rich wraps
    assert "Traceback" not in stderr
    assert reported <= _episodes_in(path)
    assert [p.name for p in tmp_path.iterdir()] == ["ds.h5"]


def test_sigterm_stops_the_workers_too_and_keeps_what_was_written(tmp_path: Path) -> None:
    path = tmp_path / "ds.h5"
    process = _start(path, "--workers", "2")
    reported = _reported_until(process, 1)
    process.send_signal(signal.SIGTERM)  # the collector alone, as `kill PID` does
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 130 and "Traceback" not in stderr
    assert reported <= _episodes_in(path)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # no orphaned worker of its process group is left
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        pytest.fail("worker processes outlived the collector")


def _children(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
def test_ctrl_c_before_the_first_episode_names_no_file(tmp_path: Path) -> None:
    path = tmp_path / "ds.h5"
    # later options win: a swarm too long to finish, two episodes in two workers
    process = _start(path, "--epochs", "100000", "--episodes", "2", "--workers", "2")
    deadline = time.monotonic() + 60
    while len(_children(process.pid)) < 3 and time.monotonic() < deadline:  # manager + 2 workers
        time.sleep(0.1)
    time.sleep(1.0)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 130, stderr
    assert "nothing was saved" in stderr and str(path) not in stderr
    assert "Traceback" not in stderr and not path.exists()
