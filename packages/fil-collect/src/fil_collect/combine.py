"""New datasets from existing ones: merge several files, or keep the episodes that pass a test.

Inputs are only read. The output is written to a temporary file and moved into place at the
end, so a failure leaves nothing half-made, and an existing output needs `force`. Episode
groups are copied by HDF5 itself, so chunking and compression stay as they were, and every
episode keeps its attributes plus where it came from (`source_file`, `source_index`,
`config_json` of its collection).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py

from fil_collect.checksum import DamagedEpisodeError, array_digest
from fil_collect.dataset import copy_episode, new_file, write_attrs, write_file_totals
from fil_collect.format import (
    Dataset,
    DatasetError,
    StoredEpisode,
    merged_header,
    open_dataset,
    provenance,
)
from fil_collect.lock import writing
from fil_collect.mixing import check_files

EpisodeTest = Callable[[StoredEpisode], bool]


@dataclass(frozen=True)
class _Input:
    """What a merge compares of an input file, and the header a new file starts from."""

    path: Path
    game: str
    version: int
    config_json: str
    header: dict[str, Any]


def copy_episodes(
    inputs: list[Path], out: Path, keep: EpisodeTest, force: bool = False, command: str = "merge"
) -> int:
    """Write the episodes of `inputs` that `keep` accepts to `out`; returns how many.

    Refused before anything is written: an `out` that exists (without `force`; never an input),
    inputs of two games or of two replay settings (`mixing.check_files`: the new file's header
    states one), an episode given twice, and an `out` another writer holds."""
    _check_paths(inputs, out, force)
    sources = [_read_input(path) for path in inputs]
    _check_compatible(sources)
    check_files(inputs, command)
    _refuse_duplicates(inputs)
    with writing(out), new_file(out) as target:
        write_attrs(target, merged_header([s.header for s in sources], inputs))
        written = 0
        for path in inputs:
            with open_dataset(path) as source:
                written += _copy_kept(source, target, keep, written)
        if not written:
            raise ValueError(
                f"no episode of {', '.join(map(str, inputs))} is kept, so nothing was "
                "written: loosen the limits (`fil-collect info` shows the returns)"
            )
        write_file_totals(target)
    return written


def _check_paths(inputs: list[Path], out: Path, force: bool) -> None:
    if not inputs:
        raise ValueError("give at least one input dataset")
    resolved = {p.resolve() for p in inputs}
    if out.resolve() in resolved:
        raise ValueError(
            f"--out {out} is one of the inputs; inputs are never modified: choose another --out"
        )
    if out.exists() and not force:
        raise ValueError(f"{out} exists: choose another --out, or --force to replace it")
    if not out.parent.is_dir():
        raise ValueError(f"cannot write {out}: folder {out.parent} does not exist")


def _read_input(path: Path) -> _Input:
    with open_dataset(path) as dataset:
        return _Input(path, dataset.game, dataset.version, dataset.config_json, dataset.header())


def _check_compatible(sources: list[_Input]) -> None:
    first = sources[0]
    for source in sources[1:]:
        if source.game != first.game:
            raise DatasetError(
                f"{source.path} holds {source.game} episodes, {first.path} holds {first.game}: merge one game at a time"
            )
        if source.version != first.version:
            raise DatasetError(
                f"{source.path} is format version {source.version}, {first.path} is "
                f"{first.version}: convert them to one version first"
            )


def _copy_kept(source: Dataset, target: h5py.File, keep: EpisodeTest, first: int) -> int:
    """Copy the episodes of `source` that `keep` accepts, numbered from `first`; how many."""
    copied = 0
    for episode in source.episodes():
        if keep(episode):
            index = first + copied
            attrs = provenance(episode, index, source.path, source.config_json)
            copy_episode(episode, target, index, attrs)
            copied += 1
    return copied


def _refuse_duplicates(inputs: list[Path]) -> None:
    """Raise ValueError if one episode (by its sha256) would be copied twice: `merge a.h5 a.h5`,
    or a file merged with a copy or a filtered subset of itself, would train on it twice."""
    seen: dict[str, str] = {}
    for path in inputs:
        with open_dataset(path) as dataset:
            for episode in dataset.episodes():
                if episode.sha256 is None:
                    continue
                where = f"{episode.name} of {path}"
                if episode.sha256 in seen:
                    raise ValueError(
                        f"{where} is the same episode as {seen[episode.sha256]} (same sha256): "
                        "give each dataset once"
                    )
                seen[episode.sha256] = where


def intact(episode: StoredEpisode) -> bool:
    """Whether an episode decompresses and matches its sha256 (`filter --drop-damaged`)."""
    try:
        arrays = episode.arrays()
    except DamagedEpisodeError:
        return False
    return episode.sha256 is None or array_digest(arrays) == episode.sha256


def all_of(*tests: EpisodeTest) -> EpisodeTest:
    """Keep an episode that passes every test."""
    return lambda episode: all(test(episode) for test in tests)


def return_between(low: float | None, high: float | None, min_length: int | None) -> EpisodeTest:
    """Keep episodes whose return is in [low, high] and that are at least `min_length` steps."""
    if low is not None and high is not None and low > high:
        raise ValueError(
            f"--min-return {low:g} is above --max-return {high:g}: no episode can pass"
        )
    if min_length is not None and min_length < 0:
        raise ValueError(f"--min-length must be >= 0, got {min_length}")

    def keep(episode: StoredEpisode) -> bool:
        return (
            (low is None or episode.episode_return >= low)
            and (high is None or episode.episode_return <= high)
            and (min_length is None or episode.length >= min_length)
        )

    return keep
