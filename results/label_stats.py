"""How informative relabelled files are: label spread, vote concentration, ties, agreement.

    uv run python results/label_stats.py runs/loop-si-v2/relabel-*.h5

Reads fil datasets of format v2 with h5py alone (the spec in `datasets/README.md`).
"""

from __future__ import annotations

import sys

import h5py
import numpy as np


def _examined(group: h5py.Group, actions: np.ndarray) -> np.ndarray:
    """Steps a swarm was run from: `label_examined`, or for files written before it existed,
    the labelled steps and the steps with `value` evidence (a full tie is unlabelled)."""
    if "label_examined" in group:
        return group["label_examined"][()]
    examined = actions >= 0
    if "label_scores" in group:
        evidence = (group["label_scores"][()] != 0) | (group["label_lives"][()] != 0)
        examined |= evidence.any(axis=1)
    return examined


def main(paths: list[str]) -> None:
    labels, learner, votes, scores, lives = [], [], [], [], []
    frames = seconds = swarms = 0.0
    for path in paths:
        with h5py.File(path, "r") as f:
            for name, group in f.items():
                if not name.startswith("episode_"):
                    continue
                actions = group["actions"][()]
                chosen = _examined(group, actions)
                frames += float(group.attrs["label_emulator_frames"])
                seconds += float(group.attrs["label_seconds"])
                swarms += int(group.attrs["labels"])
                labels.append(actions[chosen])
                learner.append(group["behaviour_actions"][()][chosen])
                if "label_votes" in group:
                    votes.append(group["label_votes"][()][chosen])
                if "label_scores" in group:
                    scores.append(group["label_scores"][()][chosen])
                    lives.append(group["label_lives"][()][chosen])
    examined = np.concatenate(labels)
    label = examined[examined >= 0]
    played = np.concatenate(learner)[examined >= 0]
    n_actions = int(max(label.max(), played.max())) + 1
    print(
        f"cost per examined state ({swarms:,.0f}): {frames / swarms:,.0f} emulator frames, "
        f"{seconds / swarms:.2f} s of one core"
    )
    print(
        f"{examined.size} states examined, {label.size} labelled "
        f"({label.size / examined.size:.3f}), in {len(paths)} file(s)"
    )
    print(
        "label share per action:", np.round(np.bincount(label, minlength=n_actions) / label.size, 3)
    )
    print(
        "learner share per action:",
        np.round(np.bincount(played, minlength=n_actions) / label.size, 3),
    )
    print(f"label = learner's action: {np.mean(label == played):.3f}")
    if votes:
        v = np.concatenate(votes)
        print(
            f"mean share of walkers on the winning first action: {np.mean(v.max(1) / v.sum(1)):.3f}"
        )
    if scores:
        s, life = np.concatenate(scores), np.concatenate(lives)
        tied = (s.max(1) == s.min(1)) & (life.max(1) == life.min(1))
        print(f"states where every first action tied (same lives and score): {tied.mean():.3f}")
        print(
            f"states where some first action loses a life: {np.mean(life.min(1) < life.max(1)):.3f}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
