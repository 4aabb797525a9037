"""Collection speed: the swarm's emulator frames per second against raw ale-py, in one run.

    uv run python bench/collect_speed.py --game SpaceInvaders --rounds 3

Machines here are noisy, so every figure is a ratio against a baseline measured in the same
run, alternating baseline and subject in each round, and the median round is reported:
1. one core: raw ale-py (`act` in a loop, random actions repeated like the swarm's, reset at
   game over) vs the FMC swarm (restores, clones, RAM reads, tree, numpy included);
2. plangym's `step_batch` on the same core, when plangym is installed (optional);
3. a whole collection with 1 worker vs 2 workers (episodes per second).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from fil_collect.collect import CollectConfig, Collection
from fil_collect.dataset import Compression
from fil_collect.env import AtariEmulator, EnvConfig
from fil_collect.games import resolve_game
from fil_collect.swarm import Swarm, SwarmConfig, sample_dt


def raw_ale_fps(env: EnvConfig, config: SwarmConfig, seconds: float, seed: int) -> float:
    """Frames/s of bare emulation: one emulator, random actions for swarm-like repeat counts."""
    emulator = AtariEmulator(env, seed)
    root = emulator.clone()
    rng = np.random.default_rng(seed)
    frames = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        actions = rng.integers(emulator.n_actions, size=256)
        for action, dt in zip(actions, sample_dt(rng, config, 256), strict=True):
            _, _, used, ended = emulator.run(int(action), int(dt))
            frames += used
            if ended:
                emulator.restore(root)
    return frames / (time.perf_counter() - start)


def swarm_fps(env: EnvConfig, config: SwarmConfig, seed: int) -> float:
    emulators = [AtariEmulator(env, seed) for _ in range(config.n_walkers)]
    start = time.perf_counter()
    result = Swarm(emulators, config, np.random.default_rng(seed)).run(emulators[0].clone())
    return result.emulator_frames / (time.perf_counter() - start)


def plangym_fps(game: str, config: SwarmConfig, seconds: float, seed: int) -> float | None:
    """plangym's batched step from cloned states, as fragile drove it; None when not installed.

    plangym applies a frameskip passed to it twice (dt=1 emulates 16 frames with frameskip=4),
    so it gets frameskip=1 and dt in frames: the same emulation as the swarm's.
    """
    try:
        import plangym
    except ImportError:
        return None
    env = plangym.make(name=f"ALE/{game}-v5", frameskip=1, repeat_action_probability=0.0)
    env.reset()
    state = env.get_state()
    rng = np.random.default_rng(seed)
    n = config.n_walkers
    states = [state.copy() for _ in range(n)]
    frames = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        actions = rng.integers(env.action_space.n, size=n)
        dts = sample_dt(rng, config, n)
        data = env.step_batch(actions=actions, states=states, dt=dts * 4, return_state=True)
        states = list(data[0])
        frames += int(dts.sum()) * 4
    return frames / (time.perf_counter() - start)


def collection_fps(config: CollectConfig, episodes: int, workers: int) -> float:
    """Emulator frames per wall second of a whole collection (spawning, replay, writing included)."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        written = Collection(config, Path(folder) / "ds.h5", episodes, workers, Compression()).run()
        return sum(e.emulator_frames for e in written) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--game", default="SpaceInvaders")
    parser.add_argument("--walkers", type=int, default=SwarmConfig.n_walkers)
    parser.add_argument("--epochs", type=int, default=150, help="swarm epochs per timed run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker-epochs", type=int, default=300)
    parser.add_argument("--worker-episodes", type=int, default=4)
    parser.add_argument("--skip-workers", action="store_true")
    parser.add_argument("--skip-single", action="store_true", help="only the workers comparison")
    args = parser.parse_args()

    env = EnvConfig(resolve_game(args.game))
    swarm = SwarmConfig(n_walkers=args.walkers, max_epochs=args.epochs)
    cores = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cores[0]})
    raw, fmc, pg = [], [], []
    for round_ in range(0 if args.skip_single else args.rounds):
        start = time.perf_counter()
        fmc.append(swarm_fps(env, swarm, seed=round_))
        seconds = time.perf_counter() - start
        raw.append(raw_ale_fps(env, swarm, seconds, seed=round_))
        plangym = plangym_fps(env.game.name, swarm, seconds, seed=round_)
        if plangym is not None:
            pg.append(plangym)
        print(
            f"round {round_}: raw {raw[-1]:,.0f} fps, swarm {fmc[-1]:,.0f} fps"
            + (f", plangym {pg[-1]:,.0f} fps" if pg else ""),
            flush=True,
        )
    if raw:
        _print_single(env.game.name, args, raw, fmc, pg)
    if args.skip_workers:
        return
    os.sched_setaffinity(0, set(cores))
    if len(cores) < 2:
        print("\nonly one core: skipping the workers comparison")
        return
    _compare_workers(env, args)


def _print_single(
    game: str, args: argparse.Namespace, raw: list[float], fmc: list[float], pg: list[float]
) -> None:
    ratios = [s / r for s, r in zip(fmc, raw, strict=True)]
    print(f"\n## {game}, {args.walkers} walkers, one core, median of {args.rounds} rounds\n")
    print("| measure | frames/s | ratio to raw ale-py |")
    print("| --- | ---: | ---: |")
    print(f"| raw ale-py | {statistics.median(raw):,.0f} | 1.00 |")
    print(f"| fil FMC swarm | {statistics.median(fmc):,.0f} | {statistics.median(ratios):.2f} |")
    if pg:
        pg_ratio = statistics.median(p / r for p, r in zip(pg, raw, strict=True))
        print(f"| plangym step_batch | {statistics.median(pg):,.0f} | {pg_ratio:.2f} |")
    else:
        print("| plangym step_batch | not installed (`uv sync --extra plangym`) | |")


def _compare_workers(env: EnvConfig, args: argparse.Namespace) -> None:
    config = CollectConfig(env, SwarmConfig(n_walkers=args.walkers, max_epochs=args.worker_epochs))
    speedups = []
    for round_ in range(args.rounds):
        one = collection_fps(config, args.worker_episodes, workers=1)
        two = collection_fps(config, args.worker_episodes, workers=2)
        speedups.append(two / one)
        print(f"round {round_}: {one:,.0f} frames/s with 1 worker, {two:,.0f} with 2", flush=True)
    print(
        f"\n| workers | collection frames/s ratio ({args.worker_episodes} episodes of {args.worker_epochs} epochs) |"
    )
    print("| --- | ---: |")
    print("| 1 | 1.00 |")
    print(f"| 2 | {statistics.median(speedups):.2f} |")


if __name__ == "__main__":
    main()
