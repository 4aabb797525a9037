"""Helpers every package's tests share (pytest loads this file for the whole repository)."""

from __future__ import annotations

from pathlib import Path

import h5py
import pytest


def flip_chunk_bit(path: Path, dataset: str = "episode_1/observations") -> None:
    """Flip one bit in the middle of the first compressed chunk of `dataset`, as a bad disk or
    copy would: the chunk then no longer decompresses (zlib checks its adler32)."""
    with h5py.File(path, "r") as f:
        chunk = f[dataset].id.get_chunk_info(0)
    with open(path, "r+b") as raw:
        raw.seek(chunk.byte_offset + chunk.size // 2)
        byte = raw.read(1)[0]
        raw.seek(-1, 1)
        raw.write(bytes([byte ^ 0x10]))


@pytest.fixture
def flip_bit():
    """The function that damages a file (a fixture, so test files need no import path)."""
    return flip_chunk_bit
