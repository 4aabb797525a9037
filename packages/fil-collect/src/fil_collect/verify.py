"""Trust without trusting us: checksums, and re-simulation of every episode against ale-py.

`verify` re-creates each episode's emulator from its seed, checks that it reaches the stored
start state, replays the stored actions, and compares every reward, flag, life count and frame
bit for bit. Episodes are independent, so they are checked in parallel processes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import ale_py
import numpy as np

from fil_collect.checksum import DamagedEpisodeError, array_digest, file_digest
from fil_collect.env import AtariEmulator, EnvConfig, rom_md5, state_from_bytes
from fil_collect.format import (
    Dataset,
    Emulation,
    EpisodeRecord,
    episode_arrays,
    episode_index,
    open_dataset,
)
from fil_collect.games import resolve_game
from fil_collect.mixing import replay_settings
from fil_collect.replay import ReplayMismatchError, replay
from fil_collect.workers import TaskProgress, TaskRunner

Result = TypeVar("Result")


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


def checksum_status(dataset: Dataset) -> ChecksumStatus:
    """Check every episode's content against its sha256 and the file's digest."""
    bad, missing, digests = [], [], []
    damaged: dict[str, str] = {}
    for episode in dataset.episodes():
        if episode.sha256 is None:
            missing.append(episode.name)
            continue
        digests.append(episode.sha256)
        try:
            if array_digest(episode.arrays()) != episode.sha256:
                bad.append(episode.name)
        except DamagedEpisodeError as error:
            damaged[episode.name] = str(error)
    stored_file = dataset.checksum
    file_ok = None if stored_file is None else file_digest(digests) == stored_file
    return ChecksumStatus(bad, missing, file_ok, damaged)


def version_warnings(dataset: Dataset) -> list[str]:
    """Differences between the software that wrote the file and this machine's."""
    notes = []
    rom = dataset.emulation.rom  # first: a file without what re-simulation needs fails here
    ale_version, md5 = dataset.written_with()
    if ale_version != ale_py.__version__:
        notes.append(
            f"the dataset was made with ale-py {ale_version}, "
            f"this machine has {ale_py.__version__}: emulation may differ"
        )
    try:
        ours = rom_md5(rom)
    except (FileNotFoundError, RuntimeError):
        ours = "missing"
    if md5 != ours:
        notes.append(f"the dataset's ROM md5 is {md5}, this machine's is {ours}")
    return notes


@dataclass(frozen=True)
class Preflight:
    """What the file alone says before any episode is re-simulated."""

    episodes: int
    status: ChecksumStatus
    warnings: list[str]
    """Versions that differ from this machine's, episodes without checksum."""

    def failures(self) -> list[str]:
        """What the checksums already prove wrong, one line each."""
        status = self.status
        failures = list(status.damaged.values())
        failures += [f"{name}: content does not match its sha256" for name in status.bad]
        if status.file_ok is False:
            failures.append("the file checksum does not match its episodes")
        return failures

    def reports(self, check: EpisodeCheck) -> bool:
        """Whether a re-simulation failure is news (a damaged episode was named already)."""
        return check.problem is not None and check.name not in self.status.damaged


def preflight(path: Path) -> Preflight:
    """Check that the file has what re-simulation needs, and its checksums."""
    with open_dataset(path) as dataset:
        warnings = version_warnings(dataset)
        status = checksum_status(dataset)
        if status.missing:
            warnings.append(f"{len(status.missing)} episode(s) carry no checksum")
        return Preflight(len(dataset.names()), status, warnings)


def _first_difference(
    name: str, stored: np.ndarray, replayed: np.ndarray, offset: int = 0
) -> str | None:
    if stored.shape != replayed.shape:
        return f"{name}: stored shape {stored.shape}, replayed {replayed.shape}"
    differs = np.flatnonzero((stored != replayed).reshape(stored.shape[0], -1).any(axis=1))
    if differs.size:
        return f"{name} differ from step {int(differs[0]) + offset}"
    return None


def check_episode(
    task: tuple[str, str, Emulation], index: int, progress: TaskProgress | None = None
) -> EpisodeCheck:
    """Re-simulate one episode and compare everything stored (runs in a worker process)."""
    path, name, emulation = task
    with open_dataset(Path(path)) as dataset:
        episode = dataset.episode(name)
        seed = episode.seed
        if seed is None:
            return EpisodeCheck(name, "it has no seed attribute, so it cannot be re-simulated")
        try:
            stored = episode.arrays()
        except DamagedEpisodeError as error:
            return EpisodeCheck(name, str(error), damaged=True)
    env = EnvConfig(
        resolve_game(emulation.rom),
        frameskip=emulation.frameskip,
        max_episode_frames=emulation.max_episode_frames,
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
    return EpisodeCheck(name, decision_problem(stored))


def decision_problem(stored: dict[str, np.ndarray]) -> str | None:
    """The search's judgements cannot be replayed, but they must fit the episode (format v5):
    one row per step, the played action counted, a value exactly where a count is."""
    if "visit_counts" not in stored:
        return None
    actions, counts, values = stored["actions"], stored["visit_counts"], stored["action_values"]
    if counts.shape != values.shape or counts.shape[0] != actions.shape[0]:
        return f"visit_counts {counts.shape} and action_values {values.shape} do not fit the steps"
    if actions.size and (counts[np.arange(actions.size), actions] < 1).any():
        return "visit_counts miss the played action at some step"
    if not np.array_equal(np.isnan(values), counts == 0):
        return "action_values are NaN where a count is, or a number where none is"
    return None


def verify(
    path: Path, runner: TaskRunner, on_result: Callable[[EpisodeCheck], None] = lambda check: None
) -> None:
    """Re-simulate every episode with `runner`'s workers; each check is handed to `on_result`
    in episode order as it is ready (the caller reports them)."""
    with open_dataset(path) as dataset:
        dataset.emulation  # noqa: B018  (a file without what re-simulation needs fails here)
        dataset.refuse_relabelled(
            "they were played with sticky actions and cannot be re-simulated; "
            "`fil-collect info` checks their checksums"
        )
        # each episode at its own settings: a merge of mixed rates (made before merges refused
        # them) keeps every episode's in its `config_json`
        tasks = [
            (episode.index, (str(path), episode.name, replay_settings(dataset, episode).emulation))
            for episode in dataset.episodes()
        ]
    checks = runner.results(check_episode, tasks, lambda progress: None)
    order = [index for index, _ in tasks]
    for check in in_order(checks, order, lambda check: episode_index(check.name)):
        on_result(check)


def in_order(
    results: Iterator[Result], order: list[int], index_of: Callable[[Result], int]
) -> Iterator[Result]:
    """`results`, which arrive in any order, in the order of their indices in `order`."""
    waiting: dict[int, Result] = {}
    position = 0
    for result in results:
        waiting[index_of(result)] = result
        while position < len(order) and order[position] in waiting:
            yield waiting.pop(order[position])
            position += 1
