"""Files fil-learn writes for a user (`eval --json/--video/--save-states`, `export --out`,
`baselines --json`): never over something of theirs, never half-written.

An existing file is replaced only when it is one the same command writes (an eval summary, a
fil policy, a visited-states file: a rerun of the command that made it), or with `--force`;
a fil dataset never, since it may hold days of collection. A file is written under a
temporary name in its own folder and renamed into place, so a full disk or a kill leaves the
old file or none, and the temporary file is removed. A symlink stays a link: its target is
written (datasets/README.md, "Symlinks"), as fil-collect does.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import h5py

Recognizer = Callable[[Path], bool]
"""Whether an existing file is one the command itself writes (so a rerun may replace it)."""


def write_target(path: Path) -> Path:
    """The file a write to `path` changes: the target of a symlink, else `path`."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def hdf5_format(path: Path) -> str | None:
    """The `format` attribute of an HDF5 file (fil-dataset, fil-visited), else None."""
    try:
        with h5py.File(path, "r") as handle:
            return str(handle.attrs.get("format", "")) or None
    except OSError:
        return None


def check_output(option: str, path: Path | None, force: bool, ours: Recognizer) -> None:
    """Raise ValueError, before any work, unless `path` may be written by `option`."""
    if path is None:
        return
    if path.is_dir():
        raise ValueError(f"{option} {path} is a folder: give a file name")
    if not path.parent.is_dir():
        raise ValueError(
            f"cannot write {option} {path}: folder {path.parent} does not exist (create it first)"
        )
    if not path.exists():
        return
    if hdf5_format(path) == "fil-dataset":
        raise ValueError(
            f"{option} {path} is a fil dataset, which fil-learn never replaces: give another path"
        )
    if not force and not ours(path):
        raise ValueError(
            f"{option} {path} exists and is not a file this command wrote: give another path, "
            "or --force to replace it"
        )


def json_with(*keys: str) -> Recognizer:
    """A JSON object holding `keys`: the summary a command wrote."""

    def recognize(path: Path) -> bool:
        try:
            content = json.loads(path.read_text())
        except (OSError, ValueError):
            return False
        return isinstance(content, dict) and all(key in content for key in keys)

    return recognize


def hdf5_of(kind: str) -> Recognizer:
    return lambda path: hdf5_format(path) == kind


def fil_policy(path: Path) -> bool:
    """An ONNX file `fil-learn export` wrote (its metadata says format fil-policy)."""
    try:
        return path.suffix.lower() == ".onnx" and b"fil-policy" in path.read_bytes()
    except OSError:
        return False


def nothing(path: Path) -> bool:
    """No existing file is taken for the command's own (an mp4 says nothing of its maker)."""
    return False


@contextlib.contextmanager
def replacing(path: Path, suffix: str = "") -> Iterator[Path]:
    """A temporary path next to `path`'s target to write; renamed onto the target when the
    block ends, removed if it raises. `suffix` keeps an extension a writer needs (.mp4)."""
    target = write_target(path)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp{suffix}")
    try:
        yield temp
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: str | bytes) -> None:
    """Replace `path` by one rename, so a reader, a kill or a full disk never leaves half a file."""
    with replacing(path) as temp:
        if isinstance(data, str):
            temp.write_text(data)
        else:
            temp.write_bytes(data)
