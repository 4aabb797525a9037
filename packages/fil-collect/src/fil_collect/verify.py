"""Trust without trusting us: checksums, and re-simulation of every episode against ale-py.

`verify` re-creates each episode's emulator from its seed, checks that it reaches the stored
start state, replays the stored actions, and compares every reward, flag, life count and frame
bit for bit. Episodes are independent, so they are checked in parallel processes.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ale_py
import h5py
import numpy as np

from fil_collect.checksum import DamagedEpisodeError, array_digest, file_digest, group_arrays
from fil_collect.dataset import (
    EpisodeRecord,
    episode_arrays,
    episode_names,
    open_dataset,
    refuse_relabelled,
    require_attrs,
)
from fil_collect.env import AtariEmulator, EnvConfig, rom_md5, state_from_bytes
from fil_collect.games import resolve_game
from fil_collect.replay import ReplayMismatchError, replay

REQUIRED = ("rom", "rom_md5", "ale_py_version", "frameskip", "max_episode_frames")
"""File attributes re-simulation needs."""


@dataclass(frozen=True)
class EpisodeCheck:
    """The outcome for one episode: `problem` is None when it passed."""

    name: str
    problem: str | None
    damaged: bool = False
    """The episode's bytes do not decompress (`problem` then is the whole message)."""

    def describe(self) -> str:
        """The failure as one line that names the episode."""
        return str(self.problem) if self.damaged else f"{self.name}: {self.problem}"


@dataclass(frozen=True)
class ChecksumStatus:
    """What the stored checksums say about a file's content."""

    bad: list[str]
    """Episodes whose content does not match their sha256."""
    missing: list[str]
    """Episodes that carry no sha256."""
    file_ok: bool | None
    """Whether the file digest matches its episodes' (None when the file carries none)."""
    damaged: dict[str, str]
    """Episodes whose bytes do not even decompress, with the message that says what to do."""

    @property
    def ok(self) -> bool:
        return not self.bad and not self.damaged and self.file_ok is not False


def checksum_status(handle: h5py.File) -> ChecksumStatus:
    """Check every episode's content against its sha256 and the file's digest."""
    bad, missing, digests = [], [], []
    damaged: dict[str, str] = {}
    for name in episode_names(handle):
        group = handle[name]
        stored = group.attrs.get("sha256")
        if stored is None:
            missing.append(name)
            continue
        digests.append(str(stored))
        try:
            if array_digest(group_arrays(group)) != stored:
                bad.append(name)
        except DamagedEpisodeError as error:
            damaged[name] = str(error)
    stored_file = handle.attrs.get("sha256")
    file_ok = None if stored_file is None else file_digest(digests) == stored_file
    return ChecksumStatus(bad, missing, file_ok, damaged)


def version_warnings(handle: h5py.File) -> list[str]:
    """Differences between the software that wrote the file and this machine's."""
    notes = []
    if handle.attrs.get("ale_py_version") != ale_py.__version__:
        notes.append(
            f"the dataset was made with ale-py {handle.attrs.get('ale_py_version')}, "
            f"this machine has {ale_py.__version__}: emulation may differ"
        )
    rom = str(handle.attrs.get("rom", ""))
    try:
        ours = rom_md5(rom)
    except (FileNotFoundError, RuntimeError):
        ours = "missing"
    if handle.attrs.get("rom_md5") != ours:
        notes.append(
            f"the dataset's ROM md5 is {handle.attrs.get('rom_md5')}, this machine's is {ours}"
        )
    return notes


def _first_difference(
    name: str, stored: np.ndarray, replayed: np.ndarray, offset: int = 0
) -> str | None:
    if stored.shape != replayed.shape:
        return f"{name}: stored shape {stored.shape}, replayed {replayed.shape}"
    differs = np.flatnonzero((stored != replayed).reshape(stored.shape[0], -1).any(axis=1))
    if differs.size:
        return f"{name} differ from step {int(differs[0]) + offset}"
    return None


def check_episode(task: tuple[str, str, dict[str, Any]]) -> EpisodeCheck:
    """Re-simulate one episode and compare everything stored (runs in a worker process)."""
    path, name, env_settings = task
    with h5py.File(path, "r") as handle:
        group = handle[name]
        seed = int(group.attrs["seed"])
        try:
            stored = group_arrays(group)
        except DamagedEpisodeError as error:
            return EpisodeCheck(name, str(error), damaged=True)
    env = EnvConfig(
        resolve_game(env_settings["rom"]),
        frameskip=env_settings["frameskip"],
        max_episode_frames=env_settings["max_episode_frames"],
    )
    emulator = AtariEmulator(env, seed)
    start_state = stored["start_state"].tobytes()
    try:  # replay refuses an emulator that does not reach the stored start state
        demo = replay(
            emulator,
            state_from_bytes(start_state),
            stored["actions"],
            raw_frames="raw_observations" in stored,
            classes="action_classes" in stored,  # format v4; earlier files have none
        )
    except ReplayMismatchError as error:
        return EpisodeCheck(name, str(error))
    replayed = episode_arrays(EpisodeRecord(0, demo, start_state))
    for key, values in replayed.items():
        problem = _first_difference(key, stored[key], values)
        if problem:
            return EpisodeCheck(name, problem)
    return EpisodeCheck(name, None)


def verify_episodes(path: Path, workers: int) -> Iterator[EpisodeCheck]:
    """Re-simulate every episode; yields results in episode order as they are ready."""
    with open_dataset(path) as handle:
        require_attrs(handle, path, REQUIRED)
        refuse_relabelled(
            handle,
            path,
            "they were played with sticky actions and cannot be re-simulated; "
            "`fil-collect info` checks their checksums",
        )
        names = episode_names(handle)
        settings = {
            "rom": str(handle.attrs["rom"]),
            "frameskip": int(handle.attrs["frameskip"]),
            "max_episode_frames": int(handle.attrs["max_episode_frames"]),
        }
    tasks = [(str(path), name, settings) for name in names]
    if workers <= 1 or len(tasks) <= 1:
        yield from map(check_episode, tasks)
        return
    with multiprocessing.get_context("spawn").Pool(min(workers, len(tasks))) as pool:
        yield from pool.imap(check_episode, tasks)


def verify(
    path: Path, workers: int, on_result: Callable[[EpisodeCheck], None] = lambda check: None
) -> None:
    """Every episode check, handed to `on_result` as it is ready (the caller reports them)."""
    for check in verify_episodes(path, workers):
        on_result(check)
