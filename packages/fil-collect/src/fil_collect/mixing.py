"""The settings that decide how an episode replays, per episode, and the refusal to mix them.

A file header states one frameskip, frame cap, ROM, format version and observation shape for
all its episodes. A merge of files collected at two frameskips used to keep the first file's
header, so the other episodes were labelled with a rate they were not played at (verify called
them damaged, training learnt them at the wrong rate). So every command where episodes of
several origins meet (merge, filter, export) checks them here, and a mix is refused with one
line naming the setting and the files. An episode of an older mixed merge carries its own
collection settings (`config_json`), which win over the header's: `verify` replays it at those.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from fil_collect.format import Dataset, DatasetError, Emulation, StoredEpisode, open_dataset


@dataclass(frozen=True)
class ReplaySettings:
    """Everything about an episode that must be equal for two episodes to share one header."""

    rom: str
    frameskip: int
    max_episode_frames: int
    format_version: int
    obs_shape: tuple[int, ...]

    @property
    def emulation(self) -> Emulation:
        return Emulation(self.rom, self.frameskip, self.max_episode_frames)


NAMES = {
    "rom": "game ROM",
    "frameskip": "frameskip",
    "max_episode_frames": "max episode frames",
    "format_version": "format version",
    "obs_shape": "observation shape",
}
"""How each setting is named in a refusal."""


def replay_settings(dataset: Dataset, episode: StoredEpisode | None = None) -> ReplaySettings:
    """The settings `episode` was played at: its own `config_json` where a merge kept one,
    else the file's header (the header's alone without an episode)."""
    header = dataset.emulation
    own = json.loads(episode.config_json) if episode is not None and episode.config_json else {}
    return ReplaySettings(
        rom=str(own.get("game", header.rom)),
        frameskip=int(own.get("frameskip", header.frameskip)),
        max_episode_frames=int(own.get("max_episode_frames", header.max_episode_frames)),
        format_version=dataset.version,
        obs_shape=tuple(int(n) for n in dataset.node.attrs.get("obs_shape", (84, 84))),
    )


def file_settings(dataset: Dataset) -> dict[ReplaySettings, str]:
    """Every distinct setting of a file's episodes, with the first episode that has it."""
    found: dict[ReplaySettings, str] = {}
    for episode in dataset.episodes():
        found.setdefault(replay_settings(dataset, episode), f"{episode.name} of {dataset.path}")
    return found


def refuse_mixed(found: Iterable[tuple[ReplaySettings, str]], command: str) -> ReplaySettings:
    """The one setting all `found` (settings, where) share, or DatasetError naming the first
    setting that differs and where each value was found."""
    first: tuple[ReplaySettings, str] | None = None
    for settings, where in found:
        if first is None:
            first = (settings, where)
            continue
        for field, name in NAMES.items():
            ours, theirs = getattr(first[0], field), getattr(settings, field)
            if ours != theirs:
                raise DatasetError(
                    f"{command} would mix {name} {_shown(ours)} ({first[1]}) and "
                    f"{_shown(theirs)} ({where}), and one file states one {name}: "
                    f"{command} files of one {name} (`fil-collect info` shows it)"
                )
    if first is None:
        raise DatasetError("no file to check")
    return first[0]


def _shown(value: object) -> str:
    return "x".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _found(dataset: Dataset) -> list[tuple[ReplaySettings, str]]:
    """The header's settings, then each distinct episode setting, with where each is."""
    return [(replay_settings(dataset), str(dataset.path)), *file_settings(dataset).items()]


def check_dataset(dataset: Dataset, command: str) -> ReplaySettings:
    """Refuse a file whose episodes were not all played at its header's settings (a merge
    made before merges refused mixes); the settings it states."""
    return refuse_mixed(_found(dataset), command)


def check_files(paths: list[Path], command: str) -> ReplaySettings:
    """Refuse a mix of settings within or between the files (their headers included, so
    files without episodes must agree too); the settings they share."""
    found: list[tuple[ReplaySettings, str]] = []
    for path in paths:
        with open_dataset(path) as dataset:
            found += _found(dataset)
    return refuse_mixed(found, command)
