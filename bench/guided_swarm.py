"""The policy-guided swarm (`fil-collect --policy`) against the uniform one: speed and scores.

    uv run python bench/guided_swarm.py speed                          # 16 walkers, one core
    uv run python bench/guided_swarm.py scores --policy round-3.onnx --game SpaceInvaders \
        --frames 500000 --seeds 3                                      # equal emulator frames

`speed` runs the same swarm (SpaceInvaders, `--walkers`, `--epochs`) uniform and guided by a
Nature-size network (random weights unless `--policy`: the cost does not depend on them),
alternating for `--rounds`, in this process pinned to one core; it prints emulator frames per
CPU second of each and their ratio (the guided one pays for rendering every walker's last four
observations and one batched onnxruntime call per epoch). `scores` runs one episode per seed
with each, at the same frame budget, and prints the returns: does the policy find better
demonstrations for the same emulation?
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from fil_collect.collect import episode_seed
from fil_collect.env import AtariEmulator, EnvConfig
from fil_collect.games import resolve_game
from fil_collect.guide import GuideConfig, load_guide
from fil_collect.swarm import Swarm, SwarmConfig


def run_swarm(game: str, config: SwarmConfig, seed: int, guide: GuideConfig | None) -> dict:
    env = EnvConfig(resolve_game(game))
    emulators = [AtariEmulator(env, seed) for _ in range(config.n_walkers)]
    policy = None if guide is None else load_guide(guide, emulators[0].config)
    cpu = time.process_time()
    result = Swarm(emulators, config, np.random.default_rng(seed), policy).run(emulators[0].clone())
    return {
        "score": result.score,
        "frames": result.emulator_frames,
        "cpu": time.process_time() - cpu,
        "steps": sum(step.dt for step in result.branch),
    }


def random_policy(folder: Path) -> Path:
    """A Nature-size network with random weights, exported by fil-learn (bench only)."""
    from flax import nnx

    from fil_learn.export import policy_graph
    from fil_learn.model import ModelConfig, NatureCNN

    model = NatureCNN(ModelConfig(n_actions=6), nnx.Rngs(0))
    path = folder / "random.onnx"
    meta = {"format": "fil-policy", "game": "SpaceInvaders", "frameskip": "4"}
    path.write_bytes(policy_graph(model, meta).SerializeToString())
    return path


def speed(args: argparse.Namespace, policy: Path) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    config = SwarmConfig(n_walkers=args.walkers, max_epochs=args.epochs, max_frames=None)
    guide = GuideConfig(policy, temperature=1.0, epsilon=0.25)
    rates: dict[str, list[float]] = {"uniform": [], "guided": []}
    for round_index in range(args.rounds):
        for name, g in (("uniform", None), ("guided", guide)):
            run = run_swarm(args.game, config, episode_seed(0, round_index), g)
            rates[name].append(run["frames"] / run["cpu"])
    uniform, guided = (statistics.median(rates[k]) for k in ("uniform", "guided"))
    print(
        f"{args.game}, {args.walkers} walkers, {args.epochs} epochs, {args.rounds} rounds, one core"
    )
    print("| swarm | frames per CPU second (median) | ratio |")
    print("| --- | ---: | ---: |")
    print(f"| uniform | {uniform:,.0f} | 1.00 |")
    print(f"| guided (onnxruntime, 1 thread) | {guided:,.0f} | {guided / uniform:.2f} |")


def scores(args: argparse.Namespace, policy: Path) -> None:
    config = SwarmConfig(n_walkers=args.walkers, max_frames=args.frames)
    guide = GuideConfig(policy, temperature=args.temperature, epsilon=args.epsilon)
    print(f"{args.game}, {args.walkers} walkers, {args.frames:,} frames per episode, {policy}")
    print("| swarm | returns | mean | steps | CPU min |")
    print("| --- | --- | ---: | ---: | ---: |")
    for name, g in (("uniform", None), (f"guided T={args.temperature} eps={args.epsilon}", guide)):
        runs = [run_swarm(args.game, config, episode_seed(0, s), g) for s in range(args.seeds)]
        returns = ", ".join(format(r["score"], ",.0f") for r in runs)
        print(
            f"| {name} | {returns} | "
            f"{statistics.mean(r['score'] for r in runs):,.0f} | "
            f"{statistics.mean(r['steps'] for r in runs):,.0f} | "
            f"{statistics.mean(r['cpu'] for r in runs) / 60:.1f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["speed", "scores"])
    parser.add_argument("--policy", type=Path, help="an exported policy (speed: random weights)")
    parser.add_argument("--game", default="SpaceInvaders")
    parser.add_argument("--walkers", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--frames", type=int, default=500_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--epsilon", type=float, default=0.25)
    args = parser.parse_args()
    if args.what == "scores" and args.policy is None:
        parser.error("scores needs --policy (a trained policy, e.g. a loop round's policy.onnx)")
    with tempfile.TemporaryDirectory() as folder:
        policy = args.policy or random_policy(Path(folder))
        (speed if args.what == "speed" else scores)(args, policy)


if __name__ == "__main__":
    main()
