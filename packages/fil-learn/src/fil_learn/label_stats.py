"""How informative relabelled files are (`fil-learn label-stats`): cost per label, label spread,
vote concentration, ties, agreement with the learner.

Reads relabelled fil datasets (format v2, `datasets/README.md`) through `open_dataset`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fil_learn.data import Episode, open_dataset


def _examined(episode: Episode, actions: np.ndarray) -> np.ndarray:
    """Steps a swarm was run from: `label_examined`, or for files written before it existed,
    the labelled steps and the steps with `value` evidence (a full tie is unlabelled)."""
    if "label_examined" in episode.datasets:
        return episode.read("label_examined")
    examined = actions >= 0
    if "label_scores" in episode.datasets:
        evidence = (episode.read("label_scores") != 0) | (episode.read("label_lives") != 0)
        examined |= evidence.any(axis=1)
    return examined


def label_stats(paths: Sequence[Path]) -> list[str]:
    """The report, one finding a line."""
    labels, learner, votes, scores, lives = [], [], [], [], []
    frames = seconds = swarms = 0.0
    for path in paths:
        with open_dataset(path) as dataset:
            for episode in dataset:
                if "behaviour_actions" not in episode.datasets:
                    raise ValueError(f"{path} holds swarm episodes, not relabelled ones")
                chosen = _examined(episode, episode.actions)
                frames += float(episode.attrs["label_emulator_frames"])
                seconds += float(episode.attrs["label_seconds"])
                swarms += int(episode.attrs["labels"])
                labels.append(episode.actions[chosen])
                learner.append(episode.read("behaviour_actions")[chosen])
                if "label_votes" in episode.datasets:
                    votes.append(episode.read("label_votes")[chosen])
                if "label_scores" in episode.datasets:
                    scores.append(episode.read("label_scores")[chosen])
                    lives.append(episode.read("label_lives")[chosen])
    if not labels or not swarms:
        raise ValueError("no examined states in the given files")
    examined = np.concatenate(labels)
    label = examined[examined >= 0]
    played = np.concatenate(learner)[examined >= 0]
    n_actions = int(max(label.max(initial=0), played.max(initial=0))) + 1
    share = np.round(np.bincount(label, minlength=n_actions) / max(label.size, 1), 3)
    played_share = np.round(np.bincount(played, minlength=n_actions) / max(label.size, 1), 3)
    lines = [
        f"cost per examined state ({swarms:,.0f}): {frames / swarms:,.0f} emulator frames, "
        f"{seconds / swarms:.2f} s of one core",
        f"{examined.size} states examined, {label.size} labelled "
        f"({label.size / examined.size:.3f}), in {len(paths)} file(s)",
        f"label share per action: {share}",
        f"learner share per action: {played_share}",
        f"label = learner's action: {np.mean(label == played):.3f}",
    ]
    if votes:
        v = np.concatenate(votes)
        concentration = np.mean(v.max(1) / np.maximum(v.sum(1), 1))
        lines.append(f"mean share of walkers on the winning first action: {concentration:.3f}")
    if scores:
        s, life = np.concatenate(scores), np.concatenate(lives)
        tied = (s.max(1) == s.min(1)) & (life.max(1) == life.min(1))
        lines.append(
            f"states where every first action tied (same lives and score): {tied.mean():.3f}"
        )
        lines.append(
            f"states where some first action loses a life: {np.mean(life.min(1) < life.max(1)):.3f}"
        )
    return lines
