"""Demonstration quality of swarm settings: score and length of the best walker's episode.

    uv run python bench/swarm_scores.py --games SpaceInvaders Atlantis --walkers 16 --epochs 1000 \
        --seeds 2 --vary life_loss_is_death=false,true

Runs one swarm per (game, setting, seed) on all cores and prints a table of mean score, mean
length, epochs and stop reasons, so defaults are chosen with numbers (fmc.md asks this for
`--life-loss-is-death`). Budgets are equal across settings: the same walkers and epochs.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import multiprocessing
import os
import statistics
import time
from collections import Counter

import numpy as np

from fil_collect.collect import episode_seed
from fil_collect.env import AtariEmulator, EnvConfig
from fil_collect.games import resolve_game
from fil_collect.swarm import Swarm, SwarmConfig


def _parse_value(text: str) -> object:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return int(text)
    except ValueError:
        return float(text)


def run_one(task: tuple[str, SwarmConfig, int]) -> dict:
    game, config, seed = task
    env = EnvConfig(resolve_game(game))
    emulators = [AtariEmulator(env, seed) for _ in range(config.n_walkers)]
    start = time.perf_counter()
    result = Swarm(emulators, config, np.random.default_rng(seed)).run(emulators[0].clone())
    return {
        "score": result.score,
        "steps": sum(step.dt for step in result.branch),
        "epochs": result.epochs,
        "stop": result.stop_reason,
        "seconds": time.perf_counter() - start,
        "frames": result.emulator_frames,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", nargs="+", default=["SpaceInvaders"])
    parser.add_argument("--walkers", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument(
        "--vary",
        default="life_loss_is_death=false,true",
        help="FIELD=V1,V2,...: the SwarmConfig field to compare",
    )
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="FIELD=V",
        help="other SwarmConfig fields, the same for every run",
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    args = parser.parse_args()
    field, values = args.vary.split("=")
    fixed = {k: _parse_value(v) for k, v in (item.split("=") for item in args.set)}
    base = SwarmConfig(n_walkers=args.walkers, max_epochs=args.epochs, **fixed)
    tasks = [
        (game, dataclasses.replace(base, **{field: _parse_value(v)}), episode_seed(0, seed))
        for game, v, seed in itertools.product(args.games, values.split(","), range(args.seeds))
    ]
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
        results = pool.map(run_one, tasks, chunksize=1)
    print(
        f"\n{args.walkers} walkers, {args.epochs} epochs, {args.seeds} seeds each, {fixed or ''}\n"
    )
    print(f"| game | {field} | mean score | scores | mean steps | epochs | stop | frames/s |")
    print("| --- | --- | ---: | --- | ---: | ---: | --- | ---: |")
    for (game, value), group in itertools.groupby(
        zip(tasks, results, strict=True), key=lambda tr: (tr[0][0], getattr(tr[0][1], field))
    ):
        rows = [r for _, r in group]
        stops = Counter(r["stop"] for r in rows)
        fps = sum(r["frames"] for r in rows) / sum(r["seconds"] for r in rows)
        print(
            f"| {game} | {value} | {statistics.mean(r['score'] for r in rows):,.0f} | "
            f"{', '.join(format(r['score'], ',.0f') for r in rows)} | "
            f"{statistics.mean(r['steps'] for r in rows):,.0f} | "
            f"{statistics.mean(r['epochs'] for r in rows):,.0f} | "
            f"{', '.join(f'{k} x{n}' for k, n in stops.items())} | {fps:,.0f} |"
        )


if __name__ == "__main__":
    main()
