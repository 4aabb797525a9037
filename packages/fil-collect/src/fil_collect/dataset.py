"""The HDF5 dataset file (format v1 and v2, specified in `datasets/README.md`): writing and checking.

Appends cost O(episode) and a collector killed at any moment, even by SIGKILL in the middle of a
write, leaves every episode it reported readable: a new file is written under a temporary name
and renamed into place; later appends write into the file through a redo journal
(`journal.py`), and every reader here first completes or undoes an append whose writer died.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import h5py
import numpy as np

from fil_collect.checksum import array_digest, file_digest
from fil_collect.journal import finish_append, in_place_append
from fil_collect.replay import Demonstration

FORMAT_NAME = "fil-dataset"
FORMAT_VERSION = 4
"""The newest version this code reads. Version 2 adds relabelled episodes (`relabel.py`),
version 3 the swarm's visit shares (`visit_shares`, soft targets), version 4 the classes of
equivalent actions at every step (`action_classes`)."""
SWARM_FORMAT_VERSION = 4
"""Files of swarm episodes, which carry `visit_shares` and `action_classes`."""
RELABEL_FORMAT_VERSION = 2
"""Files of relabelled episodes (no visit shares), still version 2."""
NO_LABEL = -1
"""`actions` value of a relabelled episode's unlabelled step (frame-stack context only)."""
OBS_CHUNK_ROWS = 64
"""Frames per observation chunk: ~450 KB raw, inside HDF5's recommended chunk size range."""
VECTOR_CHUNK_ROWS = 4096
CompressionName = Literal["gzip", "lzf", "none"]
COMPRESSIONS: tuple[str, ...] = get_args(CompressionName)


class DatasetError(ValueError):
    """A file that is not a fil dataset, or does not fit what was asked of it."""


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


@dataclass(frozen=True)
class EpisodeRecord:
    """One finished episode, ready to be written."""

    index: int
    demo: Demonstration
    start_state: bytes
    attrs: dict[str, Any] = field(default_factory=dict)
    extra_arrays: dict[str, np.ndarray] = field(default_factory=dict)
    """More time-indexed arrays by path in the group (relabelling's `behaviour_actions`, ...)."""


def episode_name(index: int) -> str:
    return f"episode_{index}"


def episode_names(handle: h5py.File) -> list[str]:
    """Episode group names in index order (the spec's reading order)."""
    names = [k for k in handle if k.startswith("episode_") and k[8:].isdigit()]
    return sorted(names, key=lambda k: int(k[8:]))


@contextlib.contextmanager
def open_dataset(path: Path) -> Iterator[h5py.File]:
    """Open a fil dataset read-only, or raise DatasetError/FileNotFoundError saying what is wrong."""
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if path.is_dir():
        raise DatasetError(f"{path} is a folder; give a fil dataset file (.h5)")
    if path.is_file():
        finish_append(path)
    try:
        handle = h5py.File(path, "r")
    except OSError:
        raise DatasetError(
            f"{path} is not a fil dataset: not a readable HDF5 file (truncated, or not HDF5)"
        ) from None
    with handle:
        check_format(handle, path)
        yield handle


def check_format(handle: h5py.File, path: Path) -> None:
    """Raise DatasetError unless the file says it is a fil dataset this code can read."""
    if handle.attrs.get("format") != FORMAT_NAME:
        raise DatasetError(f"{path} is not a fil dataset (no format={FORMAT_NAME!r} attribute)")
    version = int(handle.attrs.get("format_version", -1))
    if version > FORMAT_VERSION:
        raise DatasetError(
            f"{path} is format version {version}; this fil-collect reads up to {FORMAT_VERSION}: upgrade fil-collect"
        )
    if version < 1:
        raise DatasetError(f"{path} has an invalid format_version {version}")


def require_attrs(handle: h5py.File | h5py.Group, path: Path, names: tuple[str, ...]) -> None:
    """Raise DatasetError naming the first attribute the spec requires that is missing."""
    for name in names:
        if name not in handle.attrs:
            where = "" if isinstance(handle, h5py.File) else f" of {handle.name.lstrip('/')}"
            raise DatasetError(
                f"{path} is an incomplete fil dataset: attribute {name!r}{where} is missing"
            )


def refuse_relabelled(handle: h5py.File, path: Path, why: str) -> None:
    """Raise DatasetError if the file holds relabelled episodes, which some tools cannot use."""
    if any(handle[name].attrs.get("source") == "relabel" for name in episode_names(handle)):
        raise DatasetError(
            f"{path} holds relabelled episodes (a learner's states with swarm labels): {why}"
        )


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


def write_episode(handle: h5py.File, record: EpisodeRecord, compression: Compression) -> None:
    """Write one episode group; the layout is the spec's."""
    demo = record.demo
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
    attrs = {
        "sha256": array_digest(arrays),
        "index": record.index,
        "episode_return": demo.episode_return,
        "length": demo.length,
        **record.attrs,
    }
    for key, value in attrs.items():
        group.attrs[key] = _attr_value(value)


def episode_arrays(record: EpisodeRecord) -> dict[str, np.ndarray]:
    """The arrays of an episode by their path in its group, as they are written."""
    demo = record.demo
    arrays = {
        "observations": demo.observations,
        "actions": demo.actions.astype(np.int64),
        "rewards": demo.rewards.astype(np.float64),
        "terminations": demo.terminations.astype(bool),
        "truncations": demo.truncations.astype(bool),
        "infos/lives": demo.lives.astype(np.int32),
        "start_state": np.frombuffer(record.start_state, dtype=np.uint8),
    }
    if demo.raw_observations is not None:
        arrays["raw_observations"] = demo.raw_observations
    if demo.action_classes is not None:
        arrays["action_classes"] = demo.action_classes.astype(np.int8)
    arrays.update(record.extra_arrays)
    return arrays


def write_file_totals(handle: h5py.File) -> None:
    """File attributes that summarize the episodes: counts and the file checksum."""
    set_file_totals(handle, read_episode_totals(handle))


def read_episode_totals(handle: h5py.File) -> dict[int, tuple[str, int]]:
    """(sha256, length) of every episode by index: what the file totals are made of."""
    return {
        int(name[8:]): (
            str(handle[name].attrs.get("sha256", "")),
            int(handle[name].attrs["length"]),
        )
        for name in episode_names(handle)
    }


def set_file_totals(handle: h5py.File, episodes: dict[int, tuple[str, int]]) -> None:
    """Write `total_episodes`, `total_steps` and the file checksum from per-episode totals."""
    handle.attrs["total_episodes"] = len(episodes)
    handle.attrs["total_steps"] = sum(length for _, length in episodes.values())
    handle.attrs["sha256"] = file_digest(episodes[index][0] for index in sorted(episodes))


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
        self._temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        self._check_writable()
        self._remove_stale_temps()
        if path.exists():
            if force:
                self._replace = True
            else:
                self._check_compatible()

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
        for temp in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            pid = temp.name[len(self.path.name) + 2 : -4]
            if pid.isdigit() and not _process_alive(int(pid)):
                temp.unlink(missing_ok=True)

    def _check_compatible(self) -> None:
        with open_dataset(self.path) as handle:
            game = handle.attrs.get("game")
            if game != self.header["game"]:
                raise DatasetError(
                    f"{self.path} holds {game} episodes, not {self.header['game']}: "
                    "choose another --out, or --force to replace it"
                )
            version = int(handle.attrs.get("format_version", -1))
            if version != int(self.header["format_version"]):
                raise DatasetError(
                    f"{self.path} is format version {version} and new episodes would be "
                    f"{self.header['format_version']} (datasets/README.md): collect into "
                    "another --out, or --force to replace it"
                )
            theirs = json.loads(handle.attrs.get("config_json", "{}"))
            ours = json.loads(self.header["config_json"])
            changed = sorted(k for k in set(theirs) | set(ours) if theirs.get(k) != ours.get(k))
            if changed:
                diffs = ", ".join(
                    f"{k}: file {theirs.get(k)!r} vs now {ours.get(k)!r}" for k in changed
                )
                raise DatasetError(
                    f"{self.path} was collected with other settings ({diffs}): "
                    "use the same settings to append, another --out, or --force to replace it"
                )

    def existing_indices(self) -> set[int]:
        """Episode indices already in the file (none when it is new or being replaced)."""
        if self._replace or not self.path.exists():
            return set()
        with open_dataset(self.path) as handle:
            return {int(name[8:]) for name in episode_names(handle)}

    def append(self, records: list[EpisodeRecord]) -> None:
        """Add episodes; on return they are on disk, and nothing is half-written at any time."""
        if self.path.exists() and not self._replace:
            with in_place_append(self.path) as shadow, h5py.File(shadow, "r+") as handle:
                self._write(handle, records)
            return
        try:  # a new file (or one replacing the old) appears whole, by one rename
            with h5py.File(self._temp, "w") as handle:
                for key, value in self.header.items():
                    handle.attrs[key] = _attr_value(value)
                self._totals = {}
                self._write(handle, records)
            with open(self._temp, "rb") as written:
                os.fsync(written.fileno())
            os.replace(self._temp, self.path)
            self._replace = False
        except BaseException:
            self._temp.unlink(missing_ok=True)
            raise

    def _write(self, handle: h5py.File, records: list[EpisodeRecord]) -> None:
        """The episodes and the file totals. The totals are kept here rather than re-read from
        every episode, which would make an append cost O(file); they are re-read when another
        writer changed the file in between."""
        if self._totals is None or file_digest(
            self._totals[index][0] for index in sorted(self._totals)
        ) != handle.attrs.get("sha256"):
            self._totals = read_episode_totals(handle)
        for record in records:
            write_episode(handle, record, self.compression)
            attrs = handle[episode_name(record.index)].attrs
            self._totals[record.index] = (str(attrs["sha256"]), int(attrs["length"]))
        set_file_totals(handle, self._totals)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
