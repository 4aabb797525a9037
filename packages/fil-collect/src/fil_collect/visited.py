"""Reading the states a learner visited (`fil-visited` files from `fil-learn eval --save-states`).

The format is specified in `datasets/README.md`; fil-learn writes it and this module reads it,
so the two packages share a file format and no code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from fil_collect.dataset import FORMAT_NAME, DatasetError, episode_names

VISITED_FORMAT = "fil-visited"
VISITED_VERSION = 1
_ARRAYS = (
    "observations",
    "actions",
    "rewards",
    "terminations",
    "truncations",
    "infos/lives",
    "state_steps",
    "states",
)


@dataclass(frozen=True)
class VisitedEpisode:
    """One episode the learner played, and the emulator states saved before some of its steps."""

    seed: int
    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminations: np.ndarray
    truncations: np.ndarray
    lives: np.ndarray
    state_steps: np.ndarray
    states: np.ndarray

    @property
    def length(self) -> int:
        return int(self.actions.shape[0])


def _open(path: Path) -> h5py.File:
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    try:
        handle = h5py.File(path, "r")
    except OSError:
        raise DatasetError(
            f"{path} is not a visited-states file: not a readable HDF5 file"
        ) from None
    kind = handle.attrs.get("format")
    if kind != VISITED_FORMAT:
        handle.close()
        hint = (
            "it is a fil dataset with labels already; relabel the file `fil-learn eval "
            "--save-states` writes"
            if kind == FORMAT_NAME
            else "write one with `fil-learn eval <run> --save-states visited.h5`"
        )
        raise DatasetError(f"{path} is not a visited-states file ({hint})")
    version = int(handle.attrs.get("format_version", -1))
    if version > VISITED_VERSION:
        handle.close()
        raise DatasetError(
            f"{path} is {VISITED_FORMAT} version {version}; this fil-collect reads up to "
            f"{VISITED_VERSION}: upgrade fil-collect"
        )
    return handle


def visited_header(path: Path) -> tuple[dict[str, Any], int]:
    """The file attributes and the number of episodes, after checking every episode's arrays."""
    with _open(path) as handle:
        if "game" not in handle.attrs:
            raise DatasetError(f"{path} is an incomplete visited-states file: no 'game' attribute")
        names = episode_names(handle)
        for position, name in enumerate(names):
            if name != f"episode_{position}":
                raise DatasetError(f"{path}: episodes must be numbered from 0 without gaps")
            missing = [a for a in _ARRAYS if a not in handle[name]]
            if missing:
                raise DatasetError(f"{path}: {name} lacks {', '.join(missing)}")
            if handle[name]["state_steps"].shape[0] == 0 or handle[name]["state_steps"][0] != 0:
                raise DatasetError(f"{path}: {name} has no saved state of step 0")
        return dict(handle.attrs), len(names)


def read_visited_episode(path: Path, index: int) -> VisitedEpisode:
    with _open(path) as handle:
        group = handle[f"episode_{index}"]
        arrays = {name: group[name][()] for name in _ARRAYS}
        return VisitedEpisode(
            seed=int(group.attrs.get("seed", -1)),
            observations=arrays["observations"],
            actions=arrays["actions"],
            rewards=arrays["rewards"],
            terminations=arrays["terminations"],
            truncations=arrays["truncations"],
            lives=arrays["infos/lives"],
            state_steps=arrays["state_steps"],
            states=arrays["states"],
        )
