"""Does averaging several fits of the same data play better than the fits alone?

    uv run python bench/ensemble_eval.py runs/a.onnx runs/b.onnx runs/c.onnx --episodes 30 \
        --seed 10000 --json runs/ensemble.json

Fits of one data set differ by hundreds of points on SpaceInvaders (journal 2026-12-04-5): a
greedy policy's small differences compound over an episode. An ensemble plays the action with
the highest mean log-probability over its members, the usual way to cut that variance without
choosing among the fits (so no evaluation seed is spent on the choice). Each member is an
exported policy (.onnx); the ensemble plays through `fil_learn.evaluate` exactly as `fil-learn
eval` plays one policy, under the protocol and seeds given.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from fil_learn.evaluate import EvalConfig, evaluate
from fil_learn.policy import ExportedPolicy, Policy, load_policy


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def ensemble(paths: list[Path]) -> Policy:
    """One policy whose logits are the members' mean log-probabilities (same game and actions,
    else refused)."""
    members = [load_policy(path, threads=1) for path in paths]
    first = members[0]
    for member in members[1:]:
        if (member.env_id, member.action_meanings, member.frameskip) != (
            first.env_id, first.action_meanings, first.frameskip,
        ):  # fmt: skip
            raise SystemExit(
                f"{member.source} plays another game or action set than {first.source}"
            )

    def forward(batch: np.ndarray) -> np.ndarray:
        return np.mean([log_softmax(m.logits(batch)) for m in members], axis=0)

    names = ", ".join(path.name for path in paths)
    return Policy(forward, first.game, first.env_id, first.action_meanings, first.frameskip, names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("policies", type=Path, nargs="+", help="exported policies (.onnx)")
    parser.add_argument("--episodes", type=int, default=30)
    parser.add_argument("--seed", type=int, default=10_000)
    parser.add_argument("--protocol", default="v5")
    parser.add_argument("--max-steps", type=int, help="cut episodes (quick checks only)")
    parser.add_argument("--json", type=Path, help="write the report here")
    args = parser.parse_args()
    playable = ExportedPolicy(ensemble(args.policies))  # as `fil-learn eval` plays a file
    config = EvalConfig(
        protocol=args.protocol, episodes=args.episodes, seed=args.seed, max_steps=args.max_steps
    )
    config.validate()
    settings = playable.settings
    report = evaluate(
        playable.forward, settings["env_id"], settings["game"], config,
        frameskip=playable.frameskip,
    )  # fmt: skip
    summary = {
        "members": [str(path) for path in args.policies],
        "protocol": args.protocol,
        "seed": args.seed,
        "episodes": args.episodes,
        "mean": report.mean,
        "ci95": report.ci95,
        "returns": list(report.returns),
        "lengths": list(report.lengths),
        "action_counts": list(report.action_counts),
    }
    print(f"{len(args.policies)} members, {args.protocol}: {report.mean:,.1f} ± {report.ci95:,.1f}")
    if args.json is not None:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
