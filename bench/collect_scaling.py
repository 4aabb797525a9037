"""Collection scale-out: episodes per hour for 1 process, all local cores, a 2-node Ray cluster.

    uv run python bench/collect_scaling.py --game SpaceInvaders --episodes 4 --walkers 16 \
        --epochs 100 --rounds 2

The same settings and seed in every setup, so each writes the same episodes. Each time covers
building the collection (the Ray driver's connection included) and running it; starting the
Ray cluster is a one-off, printed on its own. Each round measures every setup once, in turn;
the median over rounds is compared with the 1-process median of the same invocation. The
2-node cluster is two node processes on this machine, with `cpu_count // 2` CPUs each, so it
shows Ray's overhead against the local pool, not more cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from fil_collect.collect import CollectConfig, Collection
from fil_collect.dataset import Compression
from fil_collect.env import EnvConfig
from fil_collect.games import resolve_game
from fil_collect.ray_backend import local_cluster
from fil_collect.swarm import SwarmConfig


def episodes_per_hour(
    config: CollectConfig, episodes: int, out: Path, workers: int = 1, ray: str | None = None
) -> float:
    start = time.perf_counter()
    # force: a fresh file each time (--episodes is the file's total)
    collection = Collection(
        config, out, episodes, workers, Compression(), force=True, ray_address=ray
    )
    written = collection.run()
    seconds = time.perf_counter() - start
    assert len(written) == episodes
    return episodes * 3600 / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--game", default="SpaceInvaders")
    parser.add_argument("--episodes", type=int, default=4)
    parser.add_argument("--walkers", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    config = CollectConfig(
        env=EnvConfig(resolve_game(args.game)),
        swarm=SwarmConfig(n_walkers=args.walkers, max_epochs=args.epochs),
        seed=args.seed,
    )
    cores = os.cpu_count() or 1
    print(
        f"{args.game}: {args.episodes} episodes of {args.walkers} walkers x {args.epochs} epochs, "
        f"{cores} cores, load average {os.getloadavg()[0]:.1f} at start"
    )
    rates: dict[str, list[float]] = {}
    for round_ in range(args.rounds):  # every round measures each setup once, in turn
        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            for name, workers in (
                ("1 process", 1),
                (f"--workers {cores} (all local cores)", cores),
            ):
                rate = episodes_per_hour(config, args.episodes, work / f"{workers}.h5", workers)
                rates.setdefault(name, []).append(rate)
            started = time.perf_counter()
            with local_cluster(nodes=2, cpus_per_node=max(1, cores // 2)) as cluster:
                print(
                    f"round {round_ + 1}: 2-node local Ray cluster started in "
                    f"{time.perf_counter() - started:.1f} s (not counted)"
                )
                rate = episodes_per_hour(
                    config, args.episodes, work / "ray.h5", ray=cluster.address
                )
                rates.setdefault("--ray, 2-node local cluster", []).append(rate)
    baseline = statistics.median(rates["1 process"])
    print("\n| setup | episodes/hour (each round) | median | vs 1 process |")
    print("| --- | --- | ---: | ---: |")
    for name, values in rates.items():
        each = " / ".join(f"{v:,.0f}" for v in values)
        median = statistics.median(values)
        print(f"| {name} | {each} | {median:,.0f} | {median / baseline:.2f}x |")
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
