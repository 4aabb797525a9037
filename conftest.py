"""Helpers every package's tests share (pytest loads this file for the whole repository), the
suite's JAX compilation cache, and the order that starts the slow tests first."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import h5py
import pytest

JAX_CACHE_ENV = {
    # every compilation is kept, however short: the tests' are many small identical ones
    "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
    "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
}


def pytest_configure(config: pytest.Config) -> None:
    """A persistent JAX compilation cache for the whole run, set in the environment so that the
    CLI commands the tests start as subprocesses (fit, eval, export, the loop's stages) inherit
    it: an identical fit compiles once, not once per process. It lives in pytest's cache folder
    (`.pytest_cache/d/jax-compilation-cache`, emptied by `--cache-clear`); a
    JAX_COMPILATION_CACHE_DIR already set is kept. JAX keys each entry by the program, the
    compiler options and its own version, so a stale entry is never used."""
    cache = getattr(config, "cache", None)  # None with -p no:cacheprovider
    folder = (
        cache.mkdir("jax-compilation-cache")
        if cache is not None
        else Path(tempfile.gettempdir()) / "fil-jax-compilation-cache"
    )
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(folder))
    for name, value in JAX_CACHE_ENV.items():
        os.environ.setdefault(name, value)
    if "jax" in sys.modules:  # JAX reads the variables when it is imported
        import jax

        jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
        seconds, size = (os.environ[name] for name in JAX_CACHE_ENV)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", float(seconds))
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", int(size))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Start the tests marked slow first (in their collected order, the rest after them in
    theirs): pytest-xdist hands out tests in this order as workers free up, so a long test is
    never the last one started while the other workers sit idle."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


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
