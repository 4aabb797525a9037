"""Writing fil datasets safely: what `format.py` says a file holds, on disk whole or not at all.

Appends cost O(episode) and a collector killed at any moment, even by SIGKILL in the middle of a
write, leaves every episode it reported readable: a new file is written under a temporary name
and renamed into place (`new_file`); later appends write into the file through a redo journal
(`journal.py`), and every reader (`format.open_dataset`) first completes or undoes an append
whose writer died. This module and `journal.py` are the only ones that write HDF5; the names
they write come from `format.py`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import h5py
import numpy as np

from fil_collect.checksum import array_digest
from fil_collect.format import (
    Dataset,
    DatasetError,
    EpisodeRecord,
    StoredEpisode,
    check_appendable,
    episode_arrays,
    episode_attrs,
    episode_name,
    file_totals,
    open_dataset,
)
from fil_collect.journal import in_place_append

OBS_CHUNK_ROWS = 64
"""Frames per observation chunk: ~450 KB raw, inside HDF5's recommended chunk size range."""
VECTOR_CHUNK_ROWS = 4096
CompressionName = Literal["gzip", "lzf", "none"]
COMPRESSIONS: tuple[str, ...] = get_args(CompressionName)


@dataclass(frozen=True)
class Compression:
    """How time-indexed arrays are compressed; gzip is in every HDF5 reader, lzf only in h5py."""

    name: CompressionName = "gzip"
    level: int = 6

    def validate(self) -> None:
        if self.name not in COMPRESSIONS:
            raise ValueError(
                f"--compression must be one of {', '.join(COMPRESSIONS)}, got {self.name!r}"
            )
        if self.name == "gzip" and not 0 <= self.level <= 9:
            raise ValueError(f"--compression-level must be 0..9 for gzip, got {self.level}")

    def h5py_kwargs(self) -> dict[str, Any]:
        if self.name == "none":
            return {}
        if self.name == "lzf":
            return {"compression": "lzf"}
        return {"compression": "gzip", "compression_opts": self.level}


def _attr_value(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        if value and isinstance(value[0], str):
            return np.array(value, dtype=h5py.string_dtype())
        return np.asarray(value)
    return value


def _write_series(
    group: h5py.Group, name: str, data: np.ndarray, rows: int, compression: Compression
) -> None:
    """A time-indexed array, chunked along time only and resizable along it (as in Minari)."""
    chunks = (rows, *data.shape[1:])
    group.create_dataset(
        name,
        data=data,
        chunks=chunks,
        maxshape=(None, *data.shape[1:]),
        **compression.h5py_kwargs(),
    )


def write_episode(
    handle: h5py.File, record: EpisodeRecord, compression: Compression
) -> tuple[str, int]:
    """Write one episode group (the layout is the spec's); returns its (sha256, length)."""
    group = handle.create_group(episode_name(record.index))
    arrays = episode_arrays(record)
    for name, data in arrays.items():
        if name == "start_state":
            group.create_dataset(name, data=data)
        else:
            rows = {"observations": OBS_CHUNK_ROWS, "raw_observations": 8}.get(
                name, VECTOR_CHUNK_ROWS
            )
            _write_series(group, name, data, rows, compression)
    digest = array_digest(arrays)
    write_attrs(group, episode_attrs(record, digest))
    return digest, record.demo.length


def write_attrs(where: h5py.File | h5py.Group, attrs: dict[str, Any]) -> None:
    for key, value in attrs.items():
        where.attrs[key] = _attr_value(value)


def write_file_totals(handle: h5py.File) -> None:
    """File attributes that summarize the episodes: counts and the file checksum."""
    write_attrs(handle, file_totals(Dataset(handle, Path(handle.filename)).totals()))


def temp_path(path: Path) -> Path:
    """Where this process writes a file that appears at `path` only when it is whole."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def write_target(path: Path) -> Path:
    """The file a write to `path` changes: a symlink stays a link and its target is written
    (datasets/README.md, "Symlinks"), as appends through the link always did."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


@contextlib.contextmanager
def new_file(path: Path) -> Iterator[h5py.File]:
    """A new HDF5 file that appears at `path` whole, by one rename, when the block ends (an
    existing file is replaced then); if the block raises, nothing appears and nothing changes."""
    target = write_target(path)
    temp = temp_path(target)
    try:
        with h5py.File(temp, "w") as handle:
            yield handle
        with open(temp, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def copy_episode(
    episode: StoredEpisode, target: h5py.File, index: int, attrs: dict[str, Any]
) -> None:
    """Copy an episode group as HDF5 stores it (chunks and compression kept) to episode `index`
    of `target`, with `attrs` set (`format.provenance`)."""
    name = episode_name(index)
    episode.group.file.copy(episode.group, target, name=name)
    write_attrs(target[name], attrs)


class DatasetWriter:
    """Appends episodes to one dataset file, atomically, after checking the file fits.

    The checks run before any search starts, so a mistake costs nothing: the path must be
    writable, an existing file must be a fil dataset of the same game and settings (or
    `force` replaces it).
    """

    def __init__(
        self, path: Path, header: dict[str, Any], compression: Compression, force: bool = False
    ) -> None:
        self.path = path
        self.header = header
        self.compression = compression
        self._replace = False
        self._totals: dict[int, tuple[str, int]] | None = None
        self._temp = temp_path(write_target(path))
        self._check_writable()
        self._remove_stale_temps()
        if path.exists():
            if force:
                self._replace = True
            else:
                with open_dataset(self.path) as dataset:
                    check_appendable(dataset, header)

    def _check_writable(self) -> None:
        parent = self.path.parent
        if not parent.is_dir():
            raise DatasetError(
                f"cannot write {self.path}: folder {parent} does not exist (create it first)"
            )
        if self.path.is_dir():
            raise DatasetError(
                f"cannot write {self.path}: it is a folder; give a file name like {self.path / 'ds.h5'}"
            )
        if self.path.exists() and not os.access(self.path, os.W_OK):
            raise DatasetError(
                f"cannot write {self.path}: it is read-only; choose another --out or make it writable"
            )
        try:
            self._temp.touch()
            self._temp.unlink()
        except OSError as error:
            raise DatasetError(
                f"cannot write to {parent}: {error.strerror}; choose another --out"
            ) from None

    def _remove_stale_temps(self) -> None:
        """Remove copies left by writers that were killed mid-append (their process is gone)."""
        target = write_target(self.path)
        for temp in target.parent.glob(f".{target.name}.*.tmp"):
            pid = temp.name[len(target.name) + 2 : -4]
            if pid.isdigit() and not _process_alive(int(pid)):
                temp.unlink(missing_ok=True)

    def existing_frames(self) -> dict[int, int]:
        """The episodes already in the file (none when it is new or being replaced): the
        emulator frames each cost, by index (0 where an episode does not say: relabelled or
        merged files of older versions)."""
        if self._replace or not self.path.exists():
            return {}
        with open_dataset(self.path) as dataset:
            return {
                episode.index: int(episode.group.attrs.get("emulator_frames", 0))
                for episode in dataset.episodes()
            }

    def append(self, records: list[EpisodeRecord]) -> None:
        """Add episodes; on return they are on disk, and nothing is half-written at any time."""
        if self.path.exists() and not self._replace:
            with (
                in_place_append(write_target(self.path)) as shadow,
                h5py.File(shadow, "r+") as handle,
            ):
                self._write(handle, records)
            return
        with new_file(self.path) as handle:  # a new file (or one replacing the old) appears whole
            write_attrs(handle, self.header)
            self._totals = {}
            self._write(handle, records)
        self._replace = False

    def _write(self, handle: h5py.File, records: list[EpisodeRecord]) -> None:
        """The episodes and the file totals. The totals are kept here rather than re-read from
        every episode, which would make an append cost O(file); they are re-read when another
        writer changed the file in between."""
        dataset = Dataset(handle, self.path)
        if self._totals is None or file_totals(self._totals)["sha256"] != dataset.checksum:
            self._totals = dataset.totals()
        for record in records:
            self._totals[record.index] = write_episode(handle, record, self.compression)
        write_attrs(handle, file_totals(self._totals))


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
