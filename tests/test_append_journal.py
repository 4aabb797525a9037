"""The append journal as the spec describes it (datasets/README.md, "Appends and the journal
file"), seen from both tools and from a stranger who follows the spec with plain Python.

A writer killed right after its commit point leaves: the old file's bytes below its old end,
the new episode's bytes past it, and a `commit` journal with the final content of the pages
HDF5 changed. That state is rebuilt here from two real files (before and after an append by the
`fil-collect` command), so nothing from fil_collect is imported.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

from fil_learn.data import DatasetError, load

PAGE = 4096


def _collect(path: Path, episodes: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from fil_collect.cli import main; main()",
            *("--game", "SpaceInvaders", "--out", str(path), "--episodes", episodes),
            *("--walkers", "4", "--epochs", "8", "--workers", "1", "--quiet"),
        ],
        check=True,
        timeout=300,
    )


def _killed_after_commit_point(before: bytes, after: bytes, path: Path) -> None:
    """The file and journal an append from `before` to `after` leaves when killed right after
    writing its journal (no page written into the file yet)."""
    pages = [
        (offset, after[offset : min(offset + PAGE, len(before))])
        for offset in range(0, len(before), PAGE)
        if after[offset : offset + PAGE][: len(before) - offset] != before[offset : offset + PAGE]
    ]
    path.write_bytes(before + after[len(before) :])
    blob = b"".join(data for _, data in pages)
    header = {
        "format": "fil-journal",
        "state": "commit",
        "inode": path.stat().st_ino,
        "base": len(before),
        "size": len(after),
        "pages": [[offset, len(data)] for offset, data in pages],
        "sha256": hashlib.sha256(blob).hexdigest(),
    }
    path.with_name(f".{path.name}.journal").write_bytes(json.dumps(header).encode() + b"\n" + blob)


def _apply_as_the_spec_says(path: Path) -> None:
    journal = path.with_name(f".{path.name}.journal")
    with open(journal, "rb") as source:
        header = json.loads(source.readline())
        blob = source.read()
    fd = os.open(path, os.O_RDWR)
    start = 0
    for offset, length in header["pages"]:
        os.pwrite(fd, blob[start : start + length], offset)
        start += length
    os.ftruncate(fd, header["size"])
    os.close(fd)
    journal.unlink()


def test_both_tools_and_a_stranger_finish_an_append_killed_after_its_commit_point(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ds.h5"
    _collect(path, "1")
    before = path.read_bytes()
    _collect(path, "2")  # the file's total: one episode appended in place
    after = path.read_bytes()
    assert after[: len(before)] != before and len(after) > len(before)

    _killed_after_commit_point(before, after, path)
    with pytest.raises(DatasetError, match=r"run `fil-collect info .*ds\.h5` once"):
        load([path])
    stranger = tmp_path / "copy.h5"
    shutil.copyfile(path, stranger)
    shutil.copyfile(
        path.with_name(".ds.h5.journal"), stranger.with_name(".copy.h5.journal")
    )  # the inode differs, which only fil-collect checks
    _apply_as_the_spec_says(stranger)
    assert stranger.read_bytes() == after

    info = subprocess.run(
        [sys.executable, "-c", "from fil_collect.cli import main; main()", "info", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert info.returncode == 0, info.stderr
    assert path.read_bytes() == after and not path.with_name(".ds.h5.journal").exists()
    assert load([path]).n_episodes == 2
    with h5py.File(path, "r") as handle:
        assert handle.attrs["total_episodes"] == 2
