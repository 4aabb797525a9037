"""Appends in place: O(episode) bytes, and no moment at which a kill loses a reported episode.

The episodes are synthetic (random frames, a few steps) so that a hundred kills take seconds,
but everything else is real: the real writer, real HDF5 files, real SIGKILLs of a real process.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from fil_collect.collect import CollectConfig, dataset_header
from fil_collect.dataset import (
    Compression,
    DatasetWriter,
    write_episode,
    write_file_totals,
)
from fil_collect.format import Demonstration, EpisodeRecord, episode_names, open_dataset
from fil_collect.journal import (
    ShadowFile,
    _write_journal,
    in_place_append,
    journal_path,
    journal_state,
)
from fil_collect.verify import checksum_status


def _record(index: int, steps: int = 6) -> EpisodeRecord:
    rng = np.random.default_rng(index)
    demo = Demonstration(
        observations=rng.integers(0, 256, (steps + 1, 84, 84), dtype=np.uint8),
        actions=rng.integers(0, 6, steps),
        rewards=rng.integers(0, 3, steps).astype(np.float64),
        terminations=np.zeros(steps, bool),
        truncations=np.zeros(steps, bool),
        lives=np.full(steps + 1, 3, np.int32),
        raw_observations=None,
    )
    return EpisodeRecord(index, demo, start_state=rng.bytes(64), attrs={"seed": index})


def _writer(path: Path, config: CollectConfig) -> DatasetWriter:
    return DatasetWriter(path, dataset_header(config), Compression())


def _check_whole(path: Path, must_hold: set[int], full: bool = True) -> set[int]:
    """Every episode in `must_hold` is in the file and readable; all checksums agree (`full`),
    else the frames of the episodes in `must_hold` have their shape."""
    with open_dataset(path) as dataset:
        handle = dataset.handle
        held = {int(name[8:]) for name in episode_names(handle)}
        assert must_hold <= held, f"lost {sorted(must_hold - held)}"
        assert handle.attrs["total_episodes"] == len(held)
        if full:
            status = checksum_status(dataset)
            assert not status.bad and not status.missing and status.file_ok
            assert not status.damaged
        else:
            for index in must_hold:
                assert handle[f"episode_{index}/observations"].shape == (7, 84, 84)
    return held


def test_an_append_changes_a_few_pages_in_place(tiny_config: CollectConfig, tmp_path: Path) -> None:
    path = tmp_path / "ds.h5"
    writer = _writer(path, tiny_config)
    for index in range(40):
        writer.append([_record(index)])
    inode, size = path.stat().st_ino, path.stat().st_size
    with in_place_append(path) as shadow, h5py.File(shadow, "r+") as handle:
        write_episode(handle, _record(40), Compression())
        write_file_totals(handle)
        assert journal_state(path) == "begin"
    changed = shadow.changed_pages()
    assert 0 < len(changed) <= 8, "an append rewrote more of the committed file than metadata"
    assert path.stat().st_ino == inode and path.stat().st_size > size  # same file, grown
    assert not journal_path(path).exists()
    assert _check_whole(path, set(range(41)), full=False) == set(range(41))


def _crash_after_commit_point(path: Path, index: int, pages_written: int) -> None:
    """Run an append up to its commit point and write only some of its pages, as a writer
    killed right there leaves it (the same steps as `in_place_append`, stopped early)."""
    fd = os.open(path, os.O_RDWR)
    try:
        shadow = ShadowFile(fd)
        begin = {"state": "begin", "inode": os.fstat(fd).st_ino, "base": shadow.base}
        _write_journal(path, begin, [])
        with h5py.File(shadow, "r+") as handle:
            write_episode(handle, _record(index), Compression())
            write_file_totals(handle)
        os.fsync(fd)
        pages = shadow.changed_pages()
        _write_journal(path, {**begin, "state": "commit", "size": shadow.size}, pages)
        for offset, data in pages[:pages_written]:
            os.pwrite(fd, data, offset)
    finally:
        os.close(fd)


@pytest.mark.parametrize("pages_written", [0, 1, 2, 3, 99])
def test_a_writer_killed_while_writing_its_last_pages_is_completed_by_the_next_reader(
    tiny_config: CollectConfig, tmp_path: Path, pages_written: int
) -> None:
    path = tmp_path / "ds.h5"
    writer = _writer(path, tiny_config)
    for index in range(20):
        writer.append([_record(index)])
    _crash_after_commit_point(path, 20, pages_written)
    assert journal_state(path) == "commit"
    with open_dataset(path) as dataset:  # finishes the append first
        handle = dataset.handle
        assert "episode_20" in handle and handle.attrs["total_episodes"] == 21
        assert handle["episode_20/observations"][()].shape == (7, 84, 84)
    assert journal_state(path) is None
    with h5py.File(path, "r") as handle:  # plain HDF5 reads it whole now
        assert len(episode_names(handle)) == 21


def test_a_writer_killed_before_its_commit_point_leaves_the_old_file(
    tiny_config: CollectConfig, tmp_path: Path
) -> None:
    path = tmp_path / "ds.h5"
    writer = _writer(path, tiny_config)
    for index in range(5):
        writer.append([_record(index)])
    before = path.read_bytes()
    fd = os.open(path, os.O_RDWR)
    shadow = ShadowFile(fd)
    _write_journal(path, {"state": "begin", "inode": os.fstat(fd).st_ino, "base": shadow.base}, [])
    with h5py.File(shadow, "r+") as handle:
        write_episode(handle, _record(5), Compression())
    os.close(fd)
    assert path.read_bytes()[: len(before)] == before  # new bytes only past the end
    with h5py.File(path, "r") as handle:  # plain HDF5 reads the old file, ignoring the tail
        assert len(episode_names(handle)) == 5
    _writer(path, tiny_config).append([_record(6)])  # the next writer cuts the tail off
    assert _check_whole(path, {0, 1, 2, 3, 4, 6}) == {0, 1, 2, 3, 4, 6}


def _append_until_killed(path: Path, config: CollectConfig, start: int, report: int) -> None:
    """The child: append episodes start, start+1, ... and report each once `append` returned."""
    try:
        writer = _writer(path, config)
        for index in range(start, start + 1000):
            writer.append([_record(index)])
            os.write(report, index.to_bytes(4, "little"))
    finally:
        os._exit(0)


@pytest.mark.slow
def test_a_hundred_random_sigkills_lose_no_reported_episode(
    tiny_config: CollectConfig, tmp_path: Path
) -> None:
    path = tmp_path / "ds.h5"
    rng = random.Random(15)
    reported: set[int] = set()
    held: set[int] = set()
    states: list[str | None] = []
    for _ in range(100):
        start = max(held, default=-1) + 1  # past what the file holds, reported or not
        read_end, write_end = os.pipe()
        child = os.fork()  # no HDF5 file is open here, so the child starts clean
        if child == 0:
            os.close(read_end)
            _append_until_killed(path, tiny_config, start, write_end)
        os.close(write_end)
        reported.add(int.from_bytes(os.read(read_end, 4), "little"))  # then kill in one of the next
        time.sleep(rng.uniform(0.0, 0.03))
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        while chunk := os.read(read_end, 4096):
            reported |= {
                int.from_bytes(chunk[i : i + 4], "little") for i in range(0, len(chunk), 4)
            }
        os.close(read_end)
        states.append(journal_state(path))
        before = set(held)
        held = _check_whole(path, reported - before, full=False) | before
        assert held >= reported
    assert states.count("begin") > 10, f"the kills rarely landed inside an append: {states}"
    held = _check_whole(path, reported)
    assert [p.name for p in tmp_path.iterdir()] == ["ds.h5"]
    assert len(held) >= 100
