"""Reading fil datasets (format v1 to v5, `datasets/README.md`) into memory, and frame stacks by index.

fil-learn reads the format itself and never imports fil-collect: a training machine needs no
emulator. Frames are stored once per step and compressed (~40x), and random reads of gzip
chunks are slow, so every file is decompressed once into one contiguous uint8 array. A training
sample is then four row indices into that array (frames t-3..t of one episode, the first frame
repeated before the episode starts, as Gymnasium's `FrameStackObservation` pads), and a batch
is a gather: no stacked copy of the data ever exists.

Version 2 adds relabelled episodes, whose unlabelled steps (action -1) are frame-stack context
only: they give the frames before a labelled step but are never samples themselves.
Version 5 adds the swarm's per-action walker counts and values (`--target improved`), read
only when asked for (`load(..., values=True)`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

import h5py
import numpy as np

from fil_learn.config import STACK

FORMAT_NAME = "fil-dataset"
FORMAT_VERSION = 5
VALUES_VERSION = 5
"""The format version whose swarm episodes carry `visit_counts` and `action_values`."""
VISITED_FORMAT = "fil-visited"
ALIGNMENT = 64
"""Bytes the frame array is aligned to: what XLA's CPU client needs to use it without a copy."""
NO_LABEL = -1

log = logging.getLogger(__name__)


class DatasetError(ValueError):
    """The file is not a fil dataset this code can train on."""


class ValueTargets(NamedTuple):
    """What `--target improved` fits per sample (`train.improved_targets` builds the target
    distribution from them and the network's own policy). A NamedTuple, so the batches carry
    it through `jax.jit` and `lax.scan` as they carry an array (`take_rows`)."""

    actions: np.ndarray
    """(n,) the demonstrated actions: what accuracy is measured against."""
    counts: np.ndarray
    """(n, A) float32: the walkers the swarm counted under each action (format v5)."""
    values: np.ndarray
    """(n, A) float32: the mean reward those walkers collected; NaN where the count is 0."""
    prior: np.ndarray | None = None
    """(n, A) float32 logits of the policy whose softmax is the target's prior (`fit
    --prior`); None: the network's own."""


Labels = np.ndarray | ValueTargets
"""What a loss fits: actions, target distributions, pooled targets, or `ValueTargets`."""


def take_rows(labels: Labels, rows: np.ndarray | slice | int) -> Labels:
    """The labels of the samples `rows` (any index array), whatever form they have."""
    if isinstance(labels, ValueTargets):
        return ValueTargets(*(None if part is None else part[rows] for part in labels))
    return labels[rows]


@dataclass(frozen=True)
class Demonstrations:
    """All episodes of one or more files, in memory.

    `frames[stacks[i]]` is the (4, 84, 84) observation of sample i and `actions[i]` its label;
    `episode_of[i]` says which episode the sample belongs to (splits are by episode).
    """

    frames: np.ndarray
    stacks: np.ndarray
    actions: np.ndarray
    episode_of: np.ndarray
    episode_returns: np.ndarray
    game: str
    env_id: str
    n_actions: int
    action_meanings: tuple[str, ...]
    sources: tuple[str, ...]
    episode_keys: tuple[str, ...]
    """A stable name per episode (its checksum, else file name and group), for the split."""
    targets: np.ndarray
    """(n_samples, n_actions) float32: the swarm's visit shares (format v3), one-hot on the
    action where a file has none."""
    frameskip: int = 4
    """Emulator frames per agent step the demonstrations were recorded with (the files' own
    `frameskip`): a policy must be played at the same rate."""
    classes: np.ndarray | None = None
    """(n_samples, n_actions) int8: actions with the same number at a sample lead to the same
    emulator state (format v4 `action_classes`); each action its own class where a file has
    none. None: no file had them."""
    counts: np.ndarray | None = None
    """(n_samples, n_actions) float32: the swarm's walker counts per action (format v5
    `visit_counts`); None unless `load` was asked for values."""
    values: np.ndarray | None = None
    """(n_samples, n_actions) float32: the swarm's mean reward per action (format v5
    `action_values`, NaN where the count is 0); None unless `load` was asked for values."""
    prior: np.ndarray | None = None
    """(n_samples, n_actions) float32: the logits of `fit --prior`'s policy at each sample
    (`with_prior`); None without one."""

    @property
    def n_samples(self) -> int:
        return int(self.actions.shape[0])

    @property
    def n_episodes(self) -> int:
        return int(self.episode_returns.shape[0])

    def subset(self, episodes: np.ndarray) -> Demonstrations:
        """The samples of the given episodes (sharing the frame array)."""
        return self.samples(np.isin(self.episode_of, episodes))

    def compared(self) -> Demonstrations:
        """The samples at which the swarm compared different outcomes (`compared_steps`);
        an error naming what to do when there is none."""
        keep = compared_steps(self.targets, self.classes)
        if not keep.any():
            raise DatasetError(
                f"none of the {self.n_samples} steps of {', '.join(self.sources)} has visit "
                "shares on two different outcomes (swarm files of format v3 or later have them, "
                "a quarter of SpaceInvaders' steps): drop --compared-only or collect with "
                "fil-collect"
            )
        return self.samples(keep)

    def keyframes(self) -> Demonstrations:
        """The samples whose action differs from the previous sample's in the same episode
        (each episode's first sample included): `FitConfig.keyframes`."""
        return self.samples(keyframe_steps(self.actions, self.episode_of))

    @cached_property
    def valued_steps(self) -> int:
        """Samples whose visited actions' values differ (0 without values): where
        `--target improved` moves the policy; elsewhere its target is the policy itself.
        Computed once: `fit` both says it and records it."""
        if self.counts is None or self.values is None:
            return 0
        return int(unequal_values(self.counts, self.values).sum())

    def without_frames(self) -> Demonstrations:
        """The same samples without the host copy of the frames, once a device holds them:
        on a CPU backend `jax.device_put` copies, and keeping both doubles a fit's memory."""
        empty = np.empty((0, *self.frames.shape[1:]), dtype=self.frames.dtype)  # not a view
        return dataclasses.replace(self, frames=empty)

    def samples(self, keep: np.ndarray) -> Demonstrations:
        """The samples where the boolean mask `keep` is true (sharing the frame array)."""
        return Demonstrations(
            frames=self.frames,
            stacks=self.stacks[keep],
            actions=self.actions[keep],
            episode_of=self.episode_of[keep],
            episode_returns=self.episode_returns,
            game=self.game,
            env_id=self.env_id,
            n_actions=self.n_actions,
            action_meanings=self.action_meanings,
            sources=self.sources,
            episode_keys=self.episode_keys,
            targets=self.targets[keep],
            frameskip=self.frameskip,
            classes=None if self.classes is None else self.classes[keep],
            counts=None if self.counts is None else self.counts[keep],
            values=None if self.values is None else self.values[keep],
            prior=None if self.prior is None else self.prior[keep],
        )

    def with_prior(self, logits: np.ndarray) -> Demonstrations:
        """The same samples with a prior policy's (n_samples, n_actions) logits attached."""
        if logits.shape != (self.n_samples, self.n_actions):
            raise ValueError(
                f"prior logits of shape {logits.shape} for {self.n_samples} samples of "
                f"{self.n_actions} actions"
            )
        return dataclasses.replace(self, prior=logits.astype(np.float32))

    def labels(self, target: str = "action", equivalent: str = "ignore") -> Labels:
        """What a loss fits for `FitConfig.target`: the actions, the visit shares (`visits`)
        or `ValueTargets` (`improved`), with equivalent actions handled as
        `FitConfig.equivalent` says (files without `action_classes` are fitted as they are)."""
        if target == "improved":
            if self.counts is None or self.values is None:
                raise ValueError("--target improved: load the data with values=True")
            return ValueTargets(self.actions, self.counts, self.values, self.prior)
        soft = target == "visits"
        if equivalent == "ignore" or self.classes is None:
            return self.targets if soft else self.actions
        targets = self.targets
        if not soft:
            targets = np.zeros_like(self.targets)
            targets[np.arange(self.n_samples), self.actions] = 1.0
        if equivalent == "pool":
            return pooled_targets(targets, self.classes)
        return inclusive_targets(targets, self.classes)


def unequal_values(counts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(n,) bool: the rows whose visited actions (count > 0) do not all have the same value."""
    visited = counts > 0
    known = np.nan_to_num(values)
    highest = np.where(visited, known, -np.inf).max(axis=1)
    lowest = np.where(visited, known, np.inf).min(axis=1)
    return visited.any(axis=1) & (highest > lowest)


def keyframe_steps(actions: np.ndarray, episode_of: np.ndarray) -> np.ndarray:
    """Boolean mask of the steps where the action changes (samples in episode order)."""
    keep = np.ones(actions.shape[0], dtype=bool)
    keep[1:] = (actions[1:] != actions[:-1]) | (episode_of[1:] != episode_of[:-1])
    return keep


def compared_steps(targets: np.ndarray, classes: np.ndarray | None) -> np.ndarray:
    """(n,) bool: the steps whose visit shares are spread over two or more children that lead
    to different emulator states (over two or more actions where `classes` is None). Shares
    split between equivalent actions (FIRE and NOOP with a shot in flight) compared nothing."""
    explored = targets > 0
    if classes is None:
        return explored.sum(axis=1) >= 2
    outcomes = np.where(explored, classes, -1)  # the class of every explored child, else -1
    lowest = np.where(explored, classes, np.iinfo(np.int8).max).min(axis=1)
    return (explored & (outcomes != lowest[:, None])).any(axis=1)


def pooled_targets(targets: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """(n, A) target distributions and (n, A) action classes -> (n, A, A): `targets[a]` where
    actions a and b are equivalent, else 0. The loss then fits the probability of a's class,
    not of a itself (`train.pooled_cross_entropies`)."""
    same = classes[:, :, None] == classes[:, None, :]
    return (targets[:, :, None] * same).astype(np.float32)


def inclusive_targets(targets: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """(n, A) target distributions with each class's mass moved onto its highest-index member."""
    same = classes[:, :, None] == classes[:, None, :]
    top = np.where(same, np.arange(classes.shape[1]), -1).max(axis=-1)  # (n, A)
    moved = np.zeros_like(targets, dtype=np.float32)
    np.add.at(moved, (np.arange(targets.shape[0])[:, None], top), targets)
    return moved


def stack_rows(first_row: int, steps: int, stack: int = STACK) -> np.ndarray:
    """Row indices of the stacks of one episode's steps 0..steps-1 (padded with its first row)."""
    offsets = np.arange(-stack + 1, 1)
    rows = np.arange(steps)[:, None] + offsets[None, :]
    return (first_row + np.maximum(rows, 0)).astype(np.int64)


def _episode_names(handle: h5py.File) -> list[str]:
    names = [k for k in handle if k.startswith("episode_") and k[8:].isdigit()]
    return sorted(names, key=lambda k: int(k[8:]))


def _refuse_unfinished_append(path: Path) -> None:
    """A writer killed while writing the last pages of an append leaves them in a journal
    (datasets/README.md, "Appends and the journal file"); until they are written HDF5 may
    not read the file. fil-collect writes them; a `begin` journal needs nothing."""
    try:
        with open(path.with_name(f".{path.name}.journal"), "rb") as journal:
            state = json.loads(journal.readline()).get("state")
    except FileNotFoundError:
        return
    if state == "commit":
        raise DatasetError(
            f"{path} is in the last milliseconds of an append, or its writer was killed there: "
            f"run `fil-collect info {path}` once to finish the append, then train"
        )


def _open(path: Path, states: bool = False) -> h5py.File:
    """A fil dataset for reading; with `states`, a visited-states file too (`fil-learn eval
    --save-states`: a policy's play, which `fit --prior` fits the prior at)."""
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if path.is_dir():
        raise DatasetError(f"{path} is a folder; give a fil dataset file (.h5)")
    _refuse_unfinished_append(path)
    try:
        handle = h5py.File(path, "r")
    except OSError:
        raise DatasetError(f"{path} is not a fil dataset: not an HDF5 file") from None
    if handle.attrs.get("format") == VISITED_FORMAT:
        if states:
            return handle
        handle.close()
        raise DatasetError(
            f"{path} holds a policy's visited states, not labels: "
            f"run `fil-collect relabel {path} --out <dataset.h5>` and train on its output, "
            "or fit a policy's choices there with --target improved --prior POLICY"
        )
    if handle.attrs.get("format") != FORMAT_NAME:
        handle.close()
        raise DatasetError(f"{path} is not a fil dataset (no format={FORMAT_NAME!r} attribute)")
    version = int(handle.attrs.get("format_version", -1))
    if version > FORMAT_VERSION:
        handle.close()
        raise DatasetError(
            f"{path} is format version {version}; this fil-learn reads up to {FORMAT_VERSION}: "
            "upgrade fil-learn"
        )
    return handle


def available_memory() -> int | None:
    """Bytes of free physical memory, where the OS says (Linux, macOS); None elsewhere."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _check_headers(paths: Sequence[Path], states: bool = False) -> tuple[dict[str, object], int]:
    """Every file's format, version and game, and the decompressed frame bytes, before reading
    any frame: a bad last file fails in a second, not after minutes of decompression. Visited-
    states files pass only with `states`."""
    header: dict[str, object] = {}
    frame_bytes = 0
    for path in paths:
        with _open(path, states) as handle:
            game = str(handle.attrs["game"])
            frameskip = int(handle.attrs.get("frameskip", 4))
            if header and game != header["game"]:
                raise DatasetError(
                    f"{path} holds {game} episodes but {paths[0]} holds {header['game']}: "
                    "train on one game at a time"
                )
            if header and frameskip != header["frameskip"]:
                raise DatasetError(
                    f"{path} was recorded with frameskip {frameskip} but {paths[0]} with "
                    f"{header['frameskip']}: a policy plays at one rate; train on one frameskip"
                )
            header = header or {
                "game": game,
                "env_id": str(handle.attrs["env_id"]),
                "n_actions": int(handle.attrs["n_actions"]),
                "action_meanings": tuple(str(a) for a in handle.attrs["action_meanings"]),
                "frameskip": frameskip,
            }
            for name in _episode_names(handle):
                _check_episode_rate(path, handle[name], frameskip)
                observations = handle[name]["observations"]
                frame_bytes += observations.size * observations.dtype.itemsize
    return header, frame_bytes


def _check_episode_rate(path: Path, group: h5py.Group, frameskip: int) -> None:
    """A merge made before merges refused mixed rates kept each episode's own settings in its
    `config_json`, under one header: such an episode is refused, not learnt at the header's
    rate."""
    own = group.attrs.get("config_json")
    played = json.loads(own).get("frameskip", frameskip) if own is not None else frameskip
    if int(played) != frameskip:
        raise DatasetError(
            f"{group.name.lstrip('/')} of {path} was played at frameskip {played} but the file "
            f"states {frameskip} (a merge of two rates): a policy plays at one rate; train on "
            "the files it was merged from, one frameskip at a time"
        )


def repeated_inputs(paths: Sequence[Path]) -> tuple[list[Path], list[str]]:
    """The files once each, and one line per file given twice or file with episodes already
    in an earlier one (same sha256): those would be trained on twice, so they are read once
    (`load` drops repeated episodes)."""
    unique: list[Path] = []
    notes: list[str] = []
    files: dict[Path, Path] = {}
    episodes: dict[str, str] = {}
    for path in paths:
        if path.resolve() in files:
            notes.append(f"{path} is given twice (also as {files[path.resolve()]}): read once")
            continue
        files[path.resolve()] = path
        unique.append(path)
        with _open(path, states=True) as handle:  # `load` decides whether states may train
            repeats = []
            for name in _episode_names(handle):
                digest = handle[name].attrs.get("sha256")
                if digest is not None and episodes.setdefault(str(digest), str(path)) != str(path):
                    repeats.append(f"{name} (as in {episodes[str(digest)]})")
        if repeats:
            notes.append(
                f"{len(repeats)} episode(s) of {path} repeat earlier ones (same sha256), "
                f"e.g. {repeats[0]}: each is trained on once"
            )
    return unique, notes


def frame_bytes(paths: Sequence[Path]) -> int:
    """Bytes the files' frames take decompressed (read from the headers, no frame is read)."""
    return _check_headers(paths, states=True)[1]


def load(
    paths: Sequence[Path],
    memory_limit: int | None = None,
    stack: int = STACK,
    values: bool = False,
    prior_only: bool = False,
) -> Demonstrations:
    """Decompress every episode of every file into memory; all files must be of one game.
    With `values`, also each sample's per-action walker counts and values (format v5, what
    `--target improved` fits); an episode with labelled steps but without them is refused,
    or with `prior_only` given no visited action (counts 0), so that `fit --prior` fits the
    prior alone there; `prior_only` also reads visited-states files (a policy's recorded play,
    `eval --save-states`), whose steps are such states.

    Decompressing once is what makes training fast (a batch is then a gather; see
    `bench/train_speed.py` for in-memory vs random reads of the compressed chunks), so data
    that does not fit in `memory_limit` bytes (default: the free physical memory) is refused
    with a clear error rather than swapped.
    """
    if not paths:
        raise ValueError("give at least one dataset file")
    header, frame_bytes = _check_headers(paths, states=prior_only)
    _check_memory(paths, frame_bytes, memory_limit)
    n_actions = int(header["n_actions"])  # type: ignore[call-overload]
    read = _EpisodesRead(
        n_actions=n_actions,
        stack=stack,
        with_values=values,
        prior_only=prior_only,
        frames=_frame_buffer(header, frame_bytes),
    )
    for path in dict.fromkeys(paths):  # a file given twice is read once
        with _open(path, states=prior_only) as handle:
            for name in _episode_names(handle):
                read.add(path, name, handle[name])
    read.check(paths)
    log.info(
        "loaded %d episodes, %d samples (%.1f MiB of frames)",
        len(read.returns),
        read.rows,
        frame_bytes / 2**20,
    )
    return read.demonstrations(header, paths)


def _frame_buffer(header: dict[str, object], frame_bytes: int) -> np.ndarray:
    """Room for every frame of the files (`frame_bytes` decompressed, from their headers),
    64-byte aligned: on a CPU backend `jax.device_put` then uses this memory as it is instead
    of copying it (measured: an unaligned array is copied, doubling a fit's memory)."""
    shape = tuple(int(n) for n in header.get("obs_shape", (84, 84)))  # type: ignore[attr-defined]
    rows = frame_bytes // int(np.prod(shape))
    size = rows * int(np.prod(shape))
    raw = np.empty(size + ALIGNMENT, dtype=np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    return raw[start : start + size].reshape(rows, *shape)


def _check_memory(paths: Sequence[Path], frame_bytes: int, memory_limit: int | None) -> None:
    """Refuse data whose decompressed frames do not fit in memory, before reading any."""
    limit = memory_limit if memory_limit is not None else available_memory()
    if limit is not None and frame_bytes > limit:
        raise DatasetError(
            f"the frames of {', '.join(map(str, paths))} take {frame_bytes / 2**30:.1f} GiB "
            f"decompressed but only {limit / 2**30:.1f} GiB of memory is free: "
            "train on fewer files or on a machine with more memory"
        )


@dataclass
class _EpisodesRead:
    """The episodes `load` has read so far, one array per episode for each field: every
    episode's frames are kept (they are the context of its stacks) but only its labelled
    steps become samples. Concatenated once, at the end (`demonstrations`)."""

    n_actions: int
    stack: int
    frames: np.ndarray
    """Every file's frames, allocated once from the headers and filled episode by episode:
    no list of chunks is concatenated at the end, so reading peaks at the frames' own size
    (a copy at the end would double it: 17 GB for 12 SpaceInvaders shards)."""
    with_values: bool = False
    """Read each episode's `visit_counts` and `action_values` too (format v5)."""
    prior_only: bool = False
    """An episode without them (older formats, visited-states files) gets counts 0, no visited
    action, instead of being refused: `fit --prior` fits the prior alone there."""
    stacks: list[np.ndarray] = field(default_factory=list)
    actions: list[np.ndarray] = field(default_factory=list)
    episode_of: list[np.ndarray] = field(default_factory=list)
    targets: list[np.ndarray] = field(default_factory=list)
    classes: list[np.ndarray | None] = field(default_factory=list)
    counts: list[np.ndarray] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)
    returns: list[float] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    rows: int = 0
    """Frames read so far: where the next episode's frames start."""

    def add(self, path: Path, name: str, group: h5py.Group) -> None:
        """One episode; an episode without steps, or one already read from another file (same
        sha256: a copy, a merge), adds nothing."""
        if "sha256" in group.attrs and str(group.attrs["sha256"]) in self.keys:
            return
        observations = _read(path, group, "observations")
        steps = observations.shape[0] - 1
        if steps <= 0:
            return
        labels = _read(path, group, "actions")[:steps].astype(np.int32)
        labelled = labels != NO_LABEL
        self.frames[self.rows : self.rows + observations.shape[0]] = observations
        self.stacks.append(stack_rows(self.rows, steps, self.stack)[labelled])
        self.actions.append(labels[labelled])
        self.targets.append(_targets(path, group, labels, self.n_actions)[labelled])
        episode_classes = _classes(path, group, steps)
        self.classes.append(None if episode_classes is None else episode_classes[labelled])
        if self.with_values:
            counts, values = _action_values(path, group, labelled, self.n_actions, self.prior_only)
            self.counts.append(counts)
            self.values.append(values)
        self.episode_of.append(np.full(int(labelled.sum()), len(self.returns), dtype=np.int32))
        self.returns.append(float(group.attrs["episode_return"]))
        self.keys.append(str(group.attrs.get("sha256", f"{path.name}/{name}")))
        self.rows += observations.shape[0]

    def check(self, paths: Sequence[Path]) -> None:
        """Refuse files that gave nothing to train on, saying what to do instead."""
        if not self.returns:
            raise DatasetError(
                f"{', '.join(map(str, paths))} hold(s) no episode with steps: collect some "
                "first (`fil-collect --game GAME --out FILE`)"
            )
        if not sum(a.size for a in self.actions):
            raise DatasetError(
                f"no labelled steps in {', '.join(map(str, paths))}: every step of its "
                f"{len(self.returns)} episode(s) is unlabelled (`fil-collect relabel` found no "
                "move better than another); relabel more states or train on swarm episodes"
            )

    def demonstrations(self, header: dict[str, object], paths: Sequence[Path]) -> Demonstrations:
        """Everything read, as one array per field."""
        return Demonstrations(
            frames=self.frames[: self.rows],
            stacks=np.concatenate(self.stacks),
            actions=np.concatenate(self.actions),
            episode_of=np.concatenate(self.episode_of),
            episode_returns=np.asarray(self.returns),
            game=str(header["game"]),
            env_id=str(header["env_id"]),
            n_actions=self.n_actions,
            action_meanings=header["action_meanings"],  # type: ignore[arg-type]
            sources=tuple(str(p) for p in paths),
            episode_keys=tuple(self.keys),
            targets=np.concatenate(self.targets),
            frameskip=int(header["frameskip"]),  # type: ignore[call-overload]
            classes=_all_classes(self.classes, self.actions, self.n_actions),
            counts=np.concatenate(self.counts) if self.with_values else None,
            values=np.concatenate(self.values) if self.with_values else None,
        )


def _read(path: Path, group: h5py.Group, name: str) -> np.ndarray:
    """One array of an episode; a chunk that does not decompress (a flipped bit) is named, with
    the command that keeps the rest of the file, instead of an HDF5 traceback."""
    try:
        return group[name][()]
    except OSError:
        episode = group.name.lstrip("/")
        raise DatasetError(
            f"{episode} of {path} is damaged ({name} does not decompress): `fil-collect filter "
            f"{path} --drop-damaged --out fixed.h5` keeps every other episode"
        ) from None


def _classes(path: Path, group: h5py.Group, steps: int) -> np.ndarray | None:
    """(steps, n_actions) int8: the episode's `action_classes` (format v4), else None."""
    if "action_classes" not in group:
        return None
    return _read(path, group, "action_classes")[:steps].astype(np.int8)


def _action_values(
    path: Path, group: h5py.Group, labelled: np.ndarray, n_actions: int, prior_only: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The labelled steps' (n, n_actions) float32 `visit_counts` and `action_values` (format
    v5); an episode that has labelled steps but not these is refused, naming the version, or
    with `prior_only` given counts 0 and NaN values (no action visited)."""
    n = int(labelled.sum())
    missing = "action_values" not in group or "visit_counts" not in group
    if not n or (missing and prior_only):
        return np.zeros((n, n_actions), np.float32), np.full((n, n_actions), np.nan, np.float32)
    if missing:
        version = int(group.file.attrs.get("format_version", -1))
        raise DatasetError(
            f"{path} is format version {version} and its {group.name.lstrip('/')} has no "
            f"action_values: --target improved needs version {VALUES_VERSION} episodes; "
            f"re-collect with a fil-collect that writes format version {VALUES_VERSION}, "
            "or give --prior POLICY to fit that policy there"
        )
    steps = labelled.shape[0]
    counts = _read(path, group, "visit_counts")[:steps][labelled].astype(np.float32)
    values = _read(path, group, "action_values")[:steps][labelled].astype(np.float32)
    return counts, values


def _all_classes(
    classes: list[np.ndarray | None], actions: list[np.ndarray], n_actions: int
) -> np.ndarray | None:
    """Every episode's classes in one array, each action its own class in episodes without
    them; None when no episode has them."""
    if all(c is None for c in classes):
        return None
    own = np.arange(n_actions, dtype=np.int8)
    return np.concatenate(
        [
            c if c is not None else np.broadcast_to(own, (a.size, n_actions))
            for c, a in zip(classes, actions, strict=True)
        ]
    )


def _targets(path: Path, group: h5py.Group, labels: np.ndarray, n_actions: int) -> np.ndarray:
    """(steps, n_actions): the episode's visit shares, else one-hot actions (unlabelled rows,
    action -1, stay all zero and never become samples)."""
    if "visit_shares" in group:
        return _read(path, group, "visit_shares")[: labels.shape[0]].astype(np.float32)
    one_hot = np.zeros((labels.shape[0], n_actions), dtype=np.float32)
    known = labels != NO_LABEL
    one_hot[np.flatnonzero(known), labels[known]] = 1.0
    return one_hot


def dataset_digest(path: Path) -> str:
    """What identifies a file's content, whatever path names it: the sha256 fil-collect stores
    over its episodes' checksums, else the sha256 of the file's bytes."""
    with _open(path, states=True) as handle:
        stored = handle.attrs.get("sha256")
    if stored is not None:
        return str(stored)
    return file_sha256(path)


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, read in blocks (a policy or dataset file of any size)."""
    digest = hashlib.sha256()
    with path.open("rb") as raw:
        for block in iter(lambda: raw.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def split_by_episode(
    data: Demonstrations, val_fraction: float, seed: int
) -> tuple[Demonstrations, Demonstrations | None]:
    """Hold out whole episodes for validation (frames of one game are too alike to split by step).

    An episode is held out when a hash of (seed, its key) falls below `val_fraction`, so its
    side never changes when more data arrives: a fit that continues on a grown dataset (a
    DAgger round) never validates on episodes it has trained on. At least one episode is held
    out and one kept when there are two or more; with one, validation is skipped.
    """
    if not 0 <= val_fraction < 1:
        raise ValueError(f"--val-fraction must be in [0, 1), got {val_fraction}")
    labelled = np.unique(data.episode_of)  # episodes without a label give no sample to hold out
    if val_fraction == 0 or labelled.size < 2:
        return data, None
    held = held_out([data.episode_keys[e] for e in labelled], val_fraction, seed)
    return data.subset(labelled[~held]), data.subset(labelled[held])


def held_out(keys: Sequence[str], val_fraction: float, seed: int) -> np.ndarray:
    """Which of the labelled episodes named by `keys` (their `sha256`, else `file/episode_N`)
    `split_by_episode` holds out: a function of the keys alone, so `fil-learn scale` knows a
    fit's training samples from the files' metadata before it loads any frame."""
    if val_fraction == 0 or len(keys) < 2:
        return np.zeros(len(keys), dtype=bool)
    draws = np.array([_uniform(f"{seed}|{key}") for key in keys])
    held = draws < val_fraction
    if not held.any():
        held[np.argmin(draws)] = True
    if held.all():
        held[np.argmax(draws)] = False
    return held


def episode_key(path: Path, name: str, attrs: Any) -> str:
    """What identifies an episode to the split: its checksum, else its file and group name
    (the key `load` gives it: a test holds the two equal)."""
    return str(attrs.get("sha256", f"{path.name}/{name}"))


def _uniform(text: str) -> float:
    """A number in [0, 1) that depends only on `text`."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2**64


def gather(frames: np.ndarray, stacks: np.ndarray) -> np.ndarray:
    """Stacks as the model takes them: (batch, 84, 84, 4), channels last."""
    return np.moveaxis(frames[stacks], 1, -1)


class Episode:
    """One episode of a fil dataset, its arrays read from the file when first used.

    `observations` (T+1, 84, 84) uint8, `actions` (T,) int64 (-1: unlabelled, format v2),
    `rewards` (T,) float64, `terminations` and `truncations` (T,) bool; `attrs` holds the
    episode attributes of `datasets/README.md`. Valid while its `Dataset` is open.
    """

    def __init__(self, group: h5py.Group) -> None:
        self._group = group
        self.name = group.name.rsplit("/", 1)[-1]
        self.index = int(self.name[len("episode_") :])
        self.attrs: dict[str, Any] = dict(group.attrs)

    def __repr__(self) -> str:
        return f"Episode({self.name}, length={self.length}, return={self.episode_return})"

    @property
    def length(self) -> int:
        """Agent steps T (the observations hold T+1 rows)."""
        return int(self._group["actions"].shape[0])

    @property
    def episode_return(self) -> float:
        if "episode_return" in self.attrs:
            return float(self.attrs["episode_return"])
        return float(self.rewards.sum())

    @property
    def datasets(self) -> list[str]:
        """Paths of every dataset in the episode (`infos/lives`, `label_votes`, ...)."""
        names: list[str] = []
        self._group.visititems(
            lambda name, item: names.append(name) if isinstance(item, h5py.Dataset) else None
        )
        return sorted(names)

    def read(self, name: str) -> np.ndarray:
        """Any dataset of the episode by its path in the group (e.g. `infos/lives`,
        `label_votes`), read whole."""
        if name not in self._group:
            raise KeyError(f"{self.name} has no dataset {name!r}")
        return self._group[name][()]

    @cached_property
    def observations(self) -> np.ndarray:
        return self.read("observations")

    @cached_property
    def actions(self) -> np.ndarray:
        return self.read("actions")

    @cached_property
    def rewards(self) -> np.ndarray:
        return self.read("rewards")

    @cached_property
    def terminations(self) -> np.ndarray:
        return self.read("terminations")

    @cached_property
    def truncations(self) -> np.ndarray:
        return self.read("truncations")

    def stacked_observations(self) -> np.ndarray:
        """(T+1, 4, 84, 84): what Gymnasium's `FrameStackObservation(4)` showed at each step
        (the first frame repeated before the episode starts), ready for `Policy.logits`."""
        return self.observations[stack_rows(0, self.observations.shape[0])]


class Dataset:
    """An open fil dataset file: its attributes and its episodes in index order.

    Iterating yields `Episode`s; use it in a `with` block (or call `close`) to close the file.
    The same checks as training apply: a missing file, a non-fil file, a visited-states file or
    a newer format version is a `ValueError`/`FileNotFoundError` saying what to do.
    """

    def __init__(self, path: str | PathLike[str], states: bool = False) -> None:
        self.path = Path(path)
        self._handle = _open(self.path, states)
        self.attrs: dict[str, Any] = dict(self._handle.attrs)
        self._names = _episode_names(self._handle)

    def __enter__(self) -> Dataset:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._handle.close()

    def __len__(self) -> int:
        return len(self._names)

    def __iter__(self) -> Iterator[Episode]:
        for name in self._names:
            yield Episode(self._handle[name])

    def __getitem__(self, position: int) -> Episode:
        """The episode at `position` in index order (not its group number)."""
        return Episode(self._handle[self._names[position]])

    @property
    def game(self) -> str:
        return str(self.attrs["game"])

    @property
    def env_id(self) -> str:
        return str(self.attrs["env_id"])

    @property
    def action_meanings(self) -> tuple[str, ...]:
        return tuple(str(a) for a in self.attrs["action_meanings"])

    @property
    def frameskip(self) -> int:
        return int(self.attrs.get("frameskip", 4))

    @property
    def sha256(self) -> str | None:
        """The file checksum (`datasets/README.md#checksums`), where the writer stored one."""
        value = self.attrs.get("sha256")
        return None if value is None else str(value)


def open_dataset(path: str | PathLike[str], states: bool = False) -> Dataset:
    """Open a fil dataset for reading episode by episode, without writing h5py by hand;
    `states` also opens a visited-states file (`eval --save-states`: a policy's own play).

    with fil_learn.open_dataset("ds.h5") as dataset:
        for episode in dataset:
            episode.observations, episode.actions, episode.rewards
    """
    return Dataset(path, states)
