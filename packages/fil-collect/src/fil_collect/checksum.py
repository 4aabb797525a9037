"""Content checksums of episodes and files, so a flipped byte anywhere in the data is found.

An episode's digest is SHA-256 over its datasets in name order (`actions`, `infos/lives`,
`observations`, ...), each contributing its name, dtype, shape and raw bytes; the file's
digest is SHA-256 over the episodes' hex digests in index order. Both are computed from the
decompressed arrays, so they do not depend on the compression, and anyone can recompute them
with h5py and hashlib (datasets/README.md says how).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

import h5py
import numpy as np


def array_digest(arrays: Mapping[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        data = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{data.dtype.str}|{data.shape}\n".encode())
        digest.update(data.tobytes())
    return digest.hexdigest()


class DamagedEpisodeError(ValueError):
    """An episode whose stored bytes cannot be read back (a corrupted compressed chunk)."""


def damaged_message(path: object, episode: str, detail: str) -> str:
    """What to say about a damaged episode, and how to keep the rest of the file."""
    return (
        f"{episode} of {path} is damaged ({detail}): `fil-collect filter {path} --drop-damaged "
        "--out fixed.h5` keeps every other episode"
    )


def read_array(group: h5py.Group, name: str) -> np.ndarray:
    """One dataset of an episode group; a chunk that does not decompress (a flipped bit in a
    gzip stream) becomes DamagedEpisodeError naming the episode, not an HDF5 traceback."""
    try:
        return group[name][()]
    except OSError:
        episode = group.name.lstrip("/")
        raise DamagedEpisodeError(
            damaged_message(group.file.filename, episode, f"{name} does not decompress")
        ) from None


def group_arrays(group: h5py.Group) -> dict[str, np.ndarray]:
    """Every dataset under an episode group, by path relative to it."""
    arrays: dict[str, np.ndarray] = {}

    def visit(name: str, item: object) -> None:
        if isinstance(item, h5py.Dataset):
            arrays[name] = read_array(group, name)

    group.visititems(visit)
    return arrays


def file_digest(episode_digests: Iterable[str]) -> str:
    return hashlib.sha256("".join(episode_digests).encode()).hexdigest()
