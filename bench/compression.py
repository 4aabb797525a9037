"""Which lossless compression for observations: size, write and read speed of each setting.

    uv run python bench/compression.py DATASET.h5

Rewrites the observations of every episode of DATASET with each setting (chunks of 64 frames,
as fil-collect writes them) and reports the compression ratio, the write speed and the time to
decompress everything back (what fil-learn does once at start-up). Ratios are against
uncompressed storage measured in the same run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

from fil_collect.dataset import OBS_CHUNK_ROWS
from fil_collect.format import open_dataset

SETTINGS: list[tuple[str, dict]] = [
    ("none", {}),
    ("lzf", {"compression": "lzf"}),
    ("gzip 1", {"compression": "gzip", "compression_opts": 1}),
    ("gzip 4", {"compression": "gzip", "compression_opts": 4}),
    ("gzip 6", {"compression": "gzip", "compression_opts": 6}),
    ("gzip 9", {"compression": "gzip", "compression_opts": 9}),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    args = parser.parse_args()
    with open_dataset(args.dataset) as source:
        frames = [episode.array("observations") for episode in source.episodes()]
    raw_bytes = sum(f.nbytes for f in frames)
    print(
        f"{len(frames)} episodes, {sum(len(f) for f in frames):,} frames, {raw_bytes / 2**20:,.1f} MiB raw\n"
    )
    print("| setting | ratio | write MB/s | read MB/s |")
    print("| --- | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as folder:
        for label, kwargs in SETTINGS:
            path = Path(folder) / f"{label}.h5"
            start = time.perf_counter()
            with h5py.File(path, "w") as out:
                for i, data in enumerate(frames):
                    out.create_dataset(
                        f"e{i}", data=data, chunks=(OBS_CHUNK_ROWS, 84, 84), **kwargs
                    )
            write = time.perf_counter() - start
            start = time.perf_counter()
            with h5py.File(path, "r") as back:
                total = sum(
                    int(np.count_nonzero(back[f"e{i}"][:] >= 0)) for i in range(len(frames))
                )
            read = time.perf_counter() - start
            assert total == sum(f.size for f in frames)
            size = path.stat().st_size
            print(
                f"| {label} | {raw_bytes / size:.1f}x | {raw_bytes / write / 1e6:,.0f} | {raw_bytes / read / 1e6:,.0f} |"
            )


if __name__ == "__main__":
    main()
