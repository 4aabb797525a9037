"""How often does a dataset's demonstrated action equal a policy's greedy choice on the same
screen? A measure of how consistent (learnable) a teacher's labels are.

    uv run python bench/policy_agreement.py runs/scale/spaceinvaders/shard-00.h5 \
        --policy results/best/spaceinvaders.onnx --episodes 10

A teacher that is a function of the screen (a policy's own play) agrees with that policy at
almost every step; the swarm's uniform draws agree with any policy at about the chance rate
(the sum over actions of the policy's choice share times the data's action share, printed
beside it). A swarm guided by a policy lies between: the printed share says how much of the
guide's consistency its demonstrations keep, and the agreement at the steps where the action
changes says whether the swarm's corrections follow the guide or not.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from fil_learn.data import keyframe_steps, open_dataset
from fil_learn.policy import load_policy

BATCH = 256


def agreement(dataset: Path, policy_path: Path, episodes: int) -> dict[str, float]:
    """Share of steps (and of action-changing steps) where the data's action is the policy's
    greedy one, and the share two independent draws from the marginals would agree."""
    policy = load_policy(policy_path, threads=1)
    chosen, demonstrated, episode_of = [], [], []
    with open_dataset(dataset) as data:
        for index, episode in zip(range(episodes), data, strict=False):
            frames = episode.stacked_observations()[:-1]
            logits = [policy.logits(frames[i : i + BATCH]) for i in range(0, len(frames), BATCH)]
            chosen.append(np.argmax(np.concatenate(logits), axis=1))
            demonstrated.append(episode.actions)
            episode_of.append(np.full(len(episode.actions), index))
    greedy, actions = np.concatenate(chosen), np.concatenate(demonstrated)
    keys = keyframe_steps(actions, np.concatenate(episode_of))
    n = policy.n_actions
    chance = float(
        np.dot(np.bincount(greedy, minlength=n) / greedy.size, np.bincount(actions, minlength=n))
        / actions.size
    )
    return {
        "steps": float(actions.size),
        "agree": float(np.mean(greedy == actions)),
        "agree_at_changes": float(np.mean(greedy[keys] == actions[keys])),
        "chance": chance,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("datasets", type=Path, nargs="+")
    parser.add_argument("--policy", type=Path, required=True, help="an exported policy (.onnx)")
    parser.add_argument("--episodes", type=int, default=10, help="first episodes of each file")
    args = parser.parse_args()
    print("| dataset | steps | agree with the policy | at action changes | chance |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for path in args.datasets:
        row = agreement(path, args.policy, args.episodes)
        print(
            f"| {path} | {row['steps']:,.0f} | {row['agree']:.1%} | "
            f"{row['agree_at_changes']:.1%} | {row['chance']:.1%} |"
        )


if __name__ == "__main__":
    main()
