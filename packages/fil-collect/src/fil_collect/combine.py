"""New datasets from existing ones: merge several files, or keep the episodes that pass a test.

Inputs are only read. The output is written to a temporary file and moved into place at the
end, so a failure leaves nothing half-made, and an existing output needs `force`. Episode
groups are copied by HDF5 itself, so chunking and compression stay as they were, and every
episode keeps its attributes plus where it came from (`source_file`, `source_index`,
`config_json` of its collection).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import h5py

from fil_collect.checksum import DamagedEpisodeError, array_digest, group_arrays
from fil_collect.dataset import (
    DatasetError,
    check_format,
    episode_names,
    open_dataset,
    require_attrs,
    write_file_totals,
)

EpisodeTest = Callable[[h5py.Group], bool]


def copy_episodes(inputs: list[Path], out: Path, keep: EpisodeTest, force: bool = False) -> int:
    """Write the episodes of `inputs` that `keep` accepts to `out`; returns how many."""
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
    headers = []
    for path in inputs:
        with open_dataset(path) as handle:
            require_attrs(handle, path, ("game", "format_version", "config_json"))
            headers.append(dict(handle.attrs))
    first = headers[0]
    for path, header in zip(inputs[1:], headers[1:], strict=True):
        if header["game"] != first["game"]:
            raise DatasetError(
                f"{path} holds {header['game']} episodes, {inputs[0]} holds {first['game']}: merge one game at a time"
            )
        if int(header["format_version"]) != int(first["format_version"]):
            raise DatasetError(
                f"{path} is format version {header['format_version']}, {inputs[0]} is "
                f"{first['format_version']}: convert them to one version first"
            )
    _refuse_duplicates(inputs)
    temp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    written = 0
    try:
        with h5py.File(temp, "w") as target:
            for key, value in first.items():
                if key not in ("sha256", "total_episodes", "total_steps"):
                    target.attrs[key] = value
            settings = {h["config_json"] for h in headers}
            if len(settings) > 1:
                target.attrs["config_json"] = json.dumps(
                    {"mixed": "see each episode's config_json"}
                )
            target.attrs["merged_from"] = json.dumps([str(p) for p in inputs])
            for path, header in zip(inputs, headers, strict=True):
                with h5py.File(path, "r") as source:
                    check_format(source, path)
                    for name in episode_names(source):
                        group = source[name]
                        if not keep(group):
                            continue
                        new_name = f"episode_{written}"
                        source.copy(group, target, name=new_name)
                        copied = target[new_name]
                        copied.attrs["index"] = written
                        copied.attrs["source_file"] = str(path)
                        copied.attrs["source_index"] = int(group.attrs.get("index", int(name[8:])))
                        copied.attrs.setdefault("config_json", header["config_json"])
                        written += 1
            if not written:
                raise ValueError(
                    f"no episode of {', '.join(map(str, inputs))} is kept, so nothing was "
                    "written: loosen the limits (`fil-collect info` shows the returns)"
                )
            write_file_totals(target)
        os.replace(temp, out)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return written


def _refuse_duplicates(inputs: list[Path]) -> None:
    """Raise ValueError if one episode (by its sha256) would be copied twice: `merge a.h5 a.h5`,
    or a file merged with a copy or a filtered subset of itself, would train on it twice."""
    seen: dict[str, str] = {}
    for path in inputs:
        with open_dataset(path) as handle:
            for name in episode_names(handle):
                digest = handle[name].attrs.get("sha256")
                if digest is None:
                    continue
                where = f"{name} of {path}"
                if str(digest) in seen:
                    raise ValueError(
                        f"{where} is the same episode as {seen[str(digest)]} (same sha256): "
                        "give each dataset once"
                    )
                seen[str(digest)] = where


def intact(group: h5py.Group) -> bool:
    """Whether an episode decompresses and matches its sha256 (`filter --drop-damaged`)."""
    try:
        arrays = group_arrays(group)
    except DamagedEpisodeError:
        return False
    stored = group.attrs.get("sha256")
    return stored is None or array_digest(arrays) == stored


def all_of(*tests: EpisodeTest) -> EpisodeTest:
    """Keep an episode that passes every test."""
    return lambda group: all(test(group) for test in tests)


def return_between(low: float | None, high: float | None, min_length: int | None) -> EpisodeTest:
    """Keep episodes whose return is in [low, high] and that are at least `min_length` steps."""
    if low is not None and high is not None and low > high:
        raise ValueError(
            f"--min-return {low:g} is above --max-return {high:g}: no episode can pass"
        )
    if min_length is not None and min_length < 0:
        raise ValueError(f"--min-length must be >= 0, got {min_length}")

    def keep(group: h5py.Group) -> bool:
        episode_return = float(group.attrs["episode_return"])
        length = int(group.attrs["length"])
        return (
            (low is None or episode_return >= low)
            and (high is None or episode_return <= high)
            and (min_length is None or length >= min_length)
        )

    return keep
