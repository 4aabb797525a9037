"""What one append costs as a dataset grows: in place (now) against copy-and-rename (before).

    uv run python bench/append_speed.py [--sizes 10 1000] [--appends 5]

For each size N, builds a dataset of N real SpaceInvaders episodes (the sample file's three,
repeated by HDF5 object copy), then times appending one more real episode (gzip 6, fsync,
as `fil-collect` does) both ways on that same file, in the same run:

- in place: `DatasetWriter.append`, which writes the episode past the end of the file and
  rewrites the few metadata pages HDF5 changed through a redo journal (`journal.py`);
- copy-and-rename: the writer before it: copy the file, append to the copy, fsync, `os.replace`.

Prints the median of `--appends` appends per cell (the writer's first append, which reads the
totals of every episode once, is not timed) and the ratio.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import h5py

from fil_collect.dataset import Compression, DatasetWriter, write_episode, write_file_totals
from fil_collect.format import Demonstration, EpisodeRecord, episode_names

SAMPLE = Path(__file__).resolve().parent.parent / "datasets/samples/space_invaders-tiny.h5"


def sample_record(index: int) -> EpisodeRecord:
    """The sample's first episode, as the collector hands it to the writer."""
    with h5py.File(SAMPLE, "r") as source:
        group = source[episode_names(source)[0]]
        demo = Demonstration(
            observations=group["observations"][()],
            actions=group["actions"][()],
            rewards=group["rewards"][()],
            terminations=group["terminations"][()],
            truncations=group["truncations"][()],
            lives=group["infos/lives"][()],
            raw_observations=None,
        )
        start_state = group["start_state"][()].tobytes()
    return EpisodeRecord(index, demo, start_state)


def build(path: Path, episodes: int) -> dict[str, Any]:
    """A dataset of `episodes` real episodes; returns its header (the writer's `header`)."""
    with h5py.File(SAMPLE, "r") as source, h5py.File(path, "w") as target:
        header = dict(source.attrs)
        for key, value in header.items():
            target.attrs[key] = value
        names = episode_names(source)
        for index in range(episodes):
            source.copy(source[names[index % len(names)]], target, f"episode_{index}")
            target[f"episode_{index}"].attrs["index"] = index
        write_file_totals(target)
    return header


def copy_and_rename(path: Path, record: EpisodeRecord) -> None:
    """The append as it was: the whole file copied, the episode added to the copy, swapped in."""
    temp = path.with_name(f".{path.name}.tmp")
    shutil.copyfile(path, temp)
    with h5py.File(temp, "a") as handle:
        write_episode(handle, record, Compression())
        write_file_totals(handle)
    with open(temp, "rb") as written:
        os.fsync(written.fileno())
    os.replace(temp, path)


def time_appends(path: Path, header: dict[str, Any], appends: int, episodes: int) -> tuple:
    writer = DatasetWriter(path, header, Compression())
    writer.append([sample_record(episodes)])  # reads the totals once, as a collector's first
    in_place, copied = [], []
    for k in range(1, appends + 1):
        record = sample_record(episodes + k)
        start = time.perf_counter()
        writer.append([record])
        in_place.append(time.perf_counter() - start)
    for k in range(appends + 1, 2 * appends + 1):  # after: a new file would make the writer
        record = sample_record(episodes + k)  # re-read the totals
        start = time.perf_counter()
        copy_and_rename(path, record)
        copied.append(time.perf_counter() - start)
    return statistics.median(in_place), statistics.median(copied)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 1000])
    parser.add_argument("--appends", type=int, default=5)
    args = parser.parse_args()
    steps = sample_record(0).demo.length
    print(f"one appended episode: {steps:,} steps (the sample's first)\n")
    print("| episodes in file | file MiB | copy-and-rename s | in place s | ratio |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as folder:
        for episodes in args.sizes:
            path = Path(folder) / f"ds{episodes}.h5"
            header = build(path, episodes)
            size = path.stat().st_size / 2**20
            in_place, copied = time_appends(path, header, args.appends, episodes)
            print(
                f"| {episodes:,} | {size:,.0f} | {copied:.3f} | {in_place:.3f} | "
                f"{copied / in_place:,.1f}x |"
            )
            path.unlink()


if __name__ == "__main__":
    main()
