"""The file formats of `datasets/README.md` in code: the one module of fil-collect that knows
their names.

A fil dataset (`fil-dataset`) and a visited-states file (`fil-visited`, written by `fil-learn eval
--save-states`) are read here and nowhere else: commands open a dataset with `open_dataset` and
read it through `Dataset` and `StoredEpisode`, a visited-states file with `visited_header` and
`read_visited_episode`. What a new file holds is said here too (`file_header`, `episode_arrays`,
`episode_attrs`, `file_totals`); `dataset.py` only writes those safely. fil-learn reads the same
spec with its own code, never this one, and `tests/test_format_agreement.py` checks that the two
agree on the names and versions below.
"""

from __future__ import annotations

import contextlib
import datetime
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import ale_py
import h5py
import numpy as np

import fil_collect
from fil_collect.checksum import file_digest, group_arrays, read_array
from fil_collect.env import EnvConfig, action_meanings, ale_action_ids, minimal_actions, rom_md5
from fil_collect.journal import finish_append
from fil_collect.observation import OBS_SIZE

FORMAT_NAME = "fil-dataset"
FORMAT_VERSION = 5
"""The newest version this code reads. Version 2 adds relabelled episodes (`relabel.py`),
version 3 the swarm's visit shares (`visit_shares`, soft targets), version 4 the classes of
equivalent actions at every step (`action_classes`), version 5 the counts behind the shares and
each action's value (`visit_counts`, `action_values`)."""
SWARM_FORMAT_VERSION = 5
"""Files of swarm episodes, which carry the decision arrays (`collect.decision_arrays`) and
`action_classes`."""
RELABEL_FORMAT_VERSION = 2
"""Files of relabelled episodes (no visit shares), still version 2."""
NO_LABEL = -1
"""`actions` value of a relabelled episode's unlabelled step (frame-stack context only)."""
RELABEL_SOURCE = "relabel"
"""The `source` attribute of a relabelled episode."""
TOTALS = ("sha256", "total_episodes", "total_steps")
"""File attributes that summarize the episodes: a new file computes its own."""

VISITED_FORMAT = "fil-visited"
VISITED_VERSION = 1
VISITED_ARRAYS: dict[str, np.dtype] = {
    "observations": np.dtype(np.uint8),
    "actions": np.dtype(np.int64),
    "rewards": np.dtype(np.float64),
    "terminations": np.dtype(np.bool_),
    "truncations": np.dtype(np.bool_),
    "infos/lives": np.dtype(np.int32),
    "state_steps": np.dtype(np.int64),
    "states": np.dtype(np.uint8),
}
"""Every array of a visited episode, by its path in the episode group, and its dtype."""
VISITED_FILE_ATTRS = ("format", "format_version", "game")
"""File attributes of a visited-states file that relabelling needs (`frameskip`, `policy` and
`protocol` are read where present)."""
VISITED_EPISODE_ATTRS = ("index", "seed", "episode_return", "length")
"""Attributes of each visited episode (relabelling reads `seed`, the learner's reset seed)."""


class DatasetError(ValueError):
    """A file that is not a fil dataset, or does not fit what was asked of it."""


@dataclass(frozen=True)
class Demonstration:
    """One episode in Minari's layout: T actions, T+1 observations."""

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminations: np.ndarray
    truncations: np.ndarray
    lives: np.ndarray
    raw_observations: np.ndarray | None
    action_classes: np.ndarray | None = None
    """(T, n_actions) int8, format v4: at step t, actions with the same number lead to the
    same emulator state (`replay.equivalent_actions`)."""

    @property
    def length(self) -> int:
        return int(self.actions.shape[0])

    @property
    def episode_return(self) -> float:
        return float(self.rewards.sum())


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


def episode_index(name: str) -> int:
    return int(name[8:])


def episode_names(handle: h5py.File | h5py.Group) -> list[str]:
    """Episode group names in index order (the spec's reading order)."""
    names = [k for k in handle if k.startswith("episode_") and k[8:].isdigit()]
    return sorted(names, key=episode_index)


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


def episode_attrs(record: EpisodeRecord, sha256: str) -> dict[str, Any]:
    """The attributes of a written episode: the spec's, then the record's own."""
    return {
        "sha256": sha256,
        "index": record.index,
        "episode_return": record.demo.episode_return,
        "length": record.demo.length,
        **record.attrs,
    }


def file_totals(episodes: dict[int, tuple[str, int]]) -> dict[str, Any]:
    """`total_episodes`, `total_steps` and the file checksum from each episode's (sha256, length)."""
    return {
        "total_episodes": len(episodes),
        "total_steps": sum(length for _, length in episodes.values()),
        "sha256": file_digest(episodes[index][0] for index in sorted(episodes)),
    }


def file_header(env: EnvConfig, settings: dict[str, Any], format_version: int) -> dict[str, Any]:
    """The spec's file attributes: the game, its actions, the emulation and the software;
    `settings` become `config_json`, which every append must match. The actions come from the
    cartridge (`minimal_actions`, read once per process), not from an emulator started here."""
    actions = minimal_actions(env.game.rom)
    return {
        "format": FORMAT_NAME,
        "format_version": format_version,
        "game": env.game.name,
        "rom": env.game.rom,
        "rom_md5": rom_md5(env.game.rom),
        "env_id": env.game.env_id,
        "n_actions": len(actions),
        "action_meanings": action_meanings(actions),
        "ale_actions": ale_action_ids(actions),
        "frameskip": env.frameskip,
        "obs_shape": [OBS_SIZE, OBS_SIZE],
        "max_episode_frames": env.max_episode_frames,
        "fil_collect_version": fil_collect.__version__,
        "ale_py_version": ale_py.__version__,
        "numpy_version": np.__version__,
        "h5py_version": h5py.__version__,
        "config_json": json.dumps(settings, sort_keys=True),
        "created_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


SETTINGS_BEFORE_THEY_EXISTED = {"swarm.widen": False}
"""Collection settings added after files were written, at the value that made those files:
a file from before `--widen` was collected without it, so `--no-widen` may append to it."""


def check_appendable(dataset: Dataset, header: dict[str, Any]) -> None:
    """Raise DatasetError unless episodes made under `header` may join `dataset`: the same game
    and the same settings (`config_json`), else the file would mix two collections."""
    if dataset.game != header["game"]:
        raise DatasetError(
            f"{dataset.path} holds {dataset.game} episodes, not {header['game']}: "
            "choose another --out, or --force to replace it"
        )
    if dataset.version != int(header["format_version"]):
        ours = int(header["format_version"])
        raise DatasetError(
            f"{dataset.path} holds {_kind(dataset.version)} (format version {dataset.version}), "
            f"and these would be {_kind(ours)} (format version {ours}); one file holds one "
            "kind: write them to another --out (`fil-learn fit` trains on both files "
            "together), or --force to replace it"
        )
    theirs = {**SETTINGS_BEFORE_THEY_EXISTED, **dataset.settings}
    ours = {**SETTINGS_BEFORE_THEY_EXISTED, **json.loads(header["config_json"])}
    changed = sorted(k for k in set(theirs) | set(ours) if theirs.get(k) != ours.get(k))
    if changed:
        diffs = ", ".join(f"{k}: file {theirs.get(k)!r} vs now {ours.get(k)!r}" for k in changed)
        raise DatasetError(
            f"{dataset.path} was collected with other settings ({diffs}): "
            "use the same settings to append, another --out, or --force to replace it"
        )


def _kind(version: int) -> str:
    """What episodes of a format version are, in a user's words."""
    if version == RELABEL_FORMAT_VERSION:
        return "relabelled episodes"
    return "swarm episodes" if version == SWARM_FORMAT_VERSION else f"episodes of version {version}"


def merged_header(headers: list[dict[str, Any]], inputs: list[Path]) -> dict[str, Any]:
    """File attributes of a file made from `inputs` (whose `Dataset.header()` are `headers`):
    the first's, with mixed settings said to be per episode, and where the episodes came from."""
    header = dict(headers[0])
    if len({h["config_json"] for h in headers}) > 1:
        header["config_json"] = json.dumps({"mixed": "see each episode's config_json"})
    header["merged_from"] = json.dumps([str(p) for p in inputs])
    return header


def provenance(
    episode: StoredEpisode, index: int, source: Path, config_json: str
) -> dict[str, Any]:
    """Attributes of `episode` copied to episode `index` of a new file: where it came from, and
    the settings of its collection (a file of mixed settings keeps them per episode)."""
    return {
        "index": index,
        "source_file": str(source),
        "source_index": episode.source_index,
        "config_json": episode.config_json or config_json,
    }


def _required(handle: h5py.File | h5py.Group, name: str) -> Any:
    """Attribute `name`, or DatasetError naming it and where it is missing."""
    if name not in handle.attrs:
        where = "" if isinstance(handle, h5py.File) else f" of {handle.name.lstrip('/')}"
        raise DatasetError(
            f"{handle.file.filename} is an incomplete fil dataset: attribute {name!r}{where} "
            "is missing"
        )
    return handle.attrs[name]


Value = TypeVar("Value")


class _Attribute(Generic[Value]):
    """An attribute of the spec, read by name from the file or episode (`node`) that holds it:
    a required one raises DatasetError naming it when missing, an optional one reads None."""

    def __init__(self, name: str, kind: Callable[[Any], Value], required: bool = True) -> None:
        self.name, self.kind, self.required = name, kind, required

    def __get__(self, owner: Any, owner_type: Any = None) -> Value:
        node = owner.node
        if self.required:
            return self.kind(_required(node, self.name))
        stored = node.attrs.get(self.name)
        return None if stored is None else self.kind(stored)  # type: ignore[return-value]


class _Node:
    """An HDF5 file or group whose attributes are read through `_Attribute`s."""

    def __init__(self, node: h5py.File | h5py.Group) -> None:
        self.node = node


class StoredEpisode(_Node):
    """One episode of an open dataset: its attributes by name, its arrays read on demand."""

    length = _Attribute("length", int)
    episode_return = _Attribute("episode_return", float)
    sha256: _Attribute[str | None] = _Attribute("sha256", str, required=False)
    seed: _Attribute[int | None] = _Attribute("seed", int, required=False)
    config_json: _Attribute[str | None] = _Attribute("config_json", str, required=False)
    """The settings of its collection, where a merge of mixed settings keeps them."""
    _stored_index: _Attribute[int | None] = _Attribute("index", int, required=False)
    _source: _Attribute[str | None] = _Attribute("source", str, required=False)

    @property
    def group(self) -> h5py.Group:
        return self.node

    @property
    def name(self) -> str:
        return str(self.group.name).lstrip("/")

    @property
    def index(self) -> int:
        return episode_index(self.name)

    @property
    def source_index(self) -> int:
        """Its index in the file it was collected in (merged files renumber episodes)."""
        stored = self._stored_index
        return self.index if stored is None else stored

    @property
    def relabelled(self) -> bool:
        return self._source == RELABEL_SOURCE

    def check(self) -> None:
        """Raise DatasetError unless the attributes every episode must carry are there."""
        _required(self.group, "episode_return")
        _required(self.group, "length")

    def has(self, array: str) -> bool:
        return array in self.group

    def array(self, name: str) -> np.ndarray:
        """One array; DamagedEpisodeError if it does not decompress."""
        return read_array(self.group, name)

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array by its path in the group; DamagedEpisodeError if one does not decompress."""
        return group_arrays(self.group)

    def observation_bytes(self) -> tuple[int, int]:
        """(stored, decompressed) bytes of its observations."""
        observations = self.group["observations"]
        return int(observations.id.get_storage_size()), int(observations.nbytes)


@dataclass(frozen=True)
class Emulation:
    """How a dataset's episodes were played: what re-simulating them needs."""

    rom: str
    frameskip: int
    max_episode_frames: int


class Dataset(_Node):
    """An open fil dataset whose format and version were checked, read through the spec's names.

    A required attribute that is missing raises DatasetError naming it when it is read, so a
    command reads what it needs before it starts its work.
    """

    version = _Attribute("format_version", int)
    game = _Attribute("game", str)
    env_id = _Attribute("env_id", str)
    n_actions = _Attribute("n_actions", int)
    config_json = _Attribute("config_json", str)
    """The collection settings as stored: every append must match them."""
    checksum: _Attribute[str | None] = _Attribute("sha256", str, required=False)
    """The stored file digest (None in files that carry none)."""
    total_episodes = _Attribute("total_episodes", int)
    _stored_frameskip: _Attribute[int | None] = _Attribute("frameskip", int, required=False)

    def __init__(self, handle: h5py.File, path: Path) -> None:
        super().__init__(handle)
        self.handle = handle
        self.path = path

    @property
    def frameskip(self) -> int:
        """Emulator frames per step (files from before it was recorded used 4)."""
        stored = self._stored_frameskip
        return 4 if stored is None else stored

    @property
    def settings(self) -> dict[str, Any]:
        return dict(json.loads(self.config_json))

    def _strings(self, *names: str) -> list[str]:
        return [str(_required(self.handle, name)) for name in names]

    @property
    def versions(self) -> dict[str, str]:
        """The software and ROM that wrote the file."""
        values = self._strings("fil_collect_version", "ale_py_version", "rom_md5")
        return dict(zip(("fil_collect", "ale_py", "rom_md5"), values, strict=True))

    @property
    def emulation(self) -> Emulation:
        rom, frameskip, frames = self._strings("rom", "frameskip", "max_episode_frames")
        return Emulation(rom, int(frameskip), int(frames))

    def written_with(self) -> tuple[str, str]:
        """(ale-py version, ROM md5) of the machine that wrote the file."""
        ale_py_version, md5 = self._strings("ale_py_version", "rom_md5")
        return ale_py_version, md5

    def header(self) -> dict[str, Any]:
        """The file attributes a new file made from this one starts from (totals left out)."""
        return {k: v for k, v in self.handle.attrs.items() if k not in TOTALS}

    def names(self) -> list[str]:
        return episode_names(self.handle)

    def episodes(self) -> list[StoredEpisode]:
        """Every episode in index order."""
        return [StoredEpisode(self.handle[name]) for name in self.names()]

    def episode(self, name: str) -> StoredEpisode:
        return StoredEpisode(self.handle[name])

    def totals(self) -> dict[int, tuple[str, int]]:
        """(sha256, length) of every episode by index: what the file totals are made of."""
        return {e.index: (e.sha256 or "", e.length) for e in self.episodes()}

    def refuse_relabelled(self, why: str) -> None:
        """Raise DatasetError if the file holds relabelled episodes, which some tools cannot use."""
        if any(episode.relabelled for episode in self.episodes()):
            raise DatasetError(
                f"{self.path} holds relabelled episodes (a learner's states with swarm labels): {why}"
            )


@contextlib.contextmanager
def open_dataset(path: Path) -> Iterator[Dataset]:
    """Open a fil dataset read-only, or raise DatasetError/FileNotFoundError saying what is wrong.

    An append whose writer was killed is completed or undone first (`journal.finish_append`).
    """
    if path.is_dir():
        raise DatasetError(f"{path} is a folder; give a fil dataset file (.h5)")
    if path.is_file():
        finish_append(path)
    with _open_hdf5(path, "a fil dataset", " (truncated, or not HDF5)") as handle:
        check_format(handle, path)
        yield Dataset(handle, path)


def _open_hdf5(path: Path, kind: str, detail: str = "") -> h5py.File:
    """`path` opened read-only, or FileNotFoundError / DatasetError saying it is no `kind`."""
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    try:
        return h5py.File(path, "r")
    except OSError:
        raise DatasetError(f"{path} is not {kind}: not a readable HDF5 file{detail}") from None


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


@dataclass(frozen=True)
class VisitedEpisode:
    """One episode the learner played, and the emulator states saved before some of its steps."""

    seed: int
    played: Demonstration
    """What the learner saw and did (its own actions; no raw screens)."""
    state_steps: np.ndarray
    states: np.ndarray


@dataclass(frozen=True)
class VisitedHeader:
    """What a visited-states file says about how its episodes were played."""

    game: str
    episodes: int
    frameskip: int
    """The rate the learner played at (files from before it was recorded played at 4)."""
    policy: str
    protocol: str


@contextlib.contextmanager
def _open_visited(path: Path) -> Iterator[h5py.File]:
    with _open_hdf5(path, "a visited-states file") as handle:
        _check_visited_format(handle, path)
        yield handle


def _check_visited_format(handle: h5py.File, path: Path) -> None:
    kind = handle.attrs.get("format")
    if kind != VISITED_FORMAT:
        hint = (
            "it is a fil dataset with labels already; relabel the file `fil-learn eval "
            "--save-states` writes"
            if kind == FORMAT_NAME
            else "write one with `fil-learn eval <run> --save-states visited.h5`"
        )
        raise DatasetError(f"{path} is not a visited-states file ({hint})")
    version = int(handle.attrs.get("format_version", -1))
    if version > VISITED_VERSION:
        raise DatasetError(
            f"{path} is {VISITED_FORMAT} version {version}; this fil-collect reads up to "
            f"{VISITED_VERSION}: upgrade fil-collect"
        )


def visited_header(path: Path) -> VisitedHeader:
    """The file's header, after checking every episode's arrays."""
    with _open_visited(path) as handle:
        missing = [name for name in VISITED_FILE_ATTRS if name not in handle.attrs]
        if missing:
            raise DatasetError(
                f"{path} is an incomplete visited-states file: no {missing[0]!r} attribute"
            )
        names = episode_names(handle)
        for position, name in enumerate(names):
            _check_visited_episode(handle, path, name, position)
        attrs = handle.attrs
        return VisitedHeader(
            game=str(attrs["game"]),
            episodes=len(names),
            frameskip=int(attrs.get("frameskip", 4)),
            policy=str(attrs.get("policy", "")),
            protocol=str(attrs.get("protocol", "")),
        )


def _check_visited_episode(handle: h5py.File, path: Path, name: str, position: int) -> None:
    if name != episode_name(position):
        raise DatasetError(f"{path}: episodes must be numbered from 0 without gaps")
    missing = [a for a in VISITED_ARRAYS if a not in handle[name]]
    if missing:
        raise DatasetError(f"{path}: {name} lacks {', '.join(missing)}")
    state_steps = handle[name]["state_steps"]
    if state_steps.shape[0] == 0 or state_steps[0] != 0:
        raise DatasetError(f"{path}: {name} has no saved state of step 0")


def read_visited_episode(path: Path, index: int) -> VisitedEpisode:
    """Visited episode `index`, every array in memory."""
    with _open_visited(path) as handle:
        group = handle[episode_name(index)]
        arrays = {name: group[name][()] for name in VISITED_ARRAYS}
        played = Demonstration(
            observations=arrays["observations"],
            actions=arrays["actions"],
            rewards=arrays["rewards"],
            terminations=arrays["terminations"],
            truncations=arrays["truncations"],
            lives=arrays["infos/lives"],
            raw_observations=None,
        )
        seed = int(group.attrs.get("seed", -1))
        return VisitedEpisode(seed, played, arrays["state_steps"], arrays["states"])
