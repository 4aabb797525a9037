"""How informative labels are (`fil-learn label-stats`). Relabelled files: cost per label, label
spread, vote concentration, ties, agreement with the learner. Swarm files of format v4: how
often the drawn action had equivalent ones (`action_classes`), the label noise that
`fit --equivalent` removes.

Reads fil datasets (`datasets/README.md`) through `open_dataset`.
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
    with open_dataset(paths[0]) as dataset:
        swarm = not any("behaviour_actions" in episode.datasets for episode in dataset)
    return class_stats(paths) if swarm else relabel_stats(paths)


def class_stats(paths: Sequence[Path]) -> list[str]:
    """How the actions of swarm episodes split into classes of equivalent actions."""
    classes, played, shares, meanings = [], [], [], ()
    for path in paths:
        with open_dataset(path) as dataset:
            meanings = tuple(dataset.attrs["action_meanings"])
            for episode in dataset:
                if "action_classes" not in episode.datasets:
                    raise ValueError(
                        f"{path} holds swarm episodes without action_classes (format v4): "
                        "collect them with a current fil-collect"
                    )
                classes.append(episode.read("action_classes"))
                played.append(episode.actions)
                shares.append(episode.read("visit_shares"))
    c, a = np.concatenate(classes), np.concatenate(played)
    if not c.size:
        raise ValueError("no steps in the given files")
    outcomes = c.max(axis=1) + 1
    company = (c == c[np.arange(a.size), a][:, None]).sum(axis=1) > 1
    lines = [
        f"{a.size:,} steps in {len(paths)} file(s); distinct outcomes per step: "
        f"{outcomes.mean():.2f} of {c.shape[1]} on average",
        f"the drawn action had an equivalent one: {company.mean():.3f} of the steps",
        f"every action different: {np.mean(outcomes == c.shape[1]):.3f}; every action the "
        f"same: {np.mean(outcomes == 1):.3f}",
    ]
    v = np.concatenate(shares)
    contested = v.max(axis=1) < 1.0 - 1e-6
    lines.append(
        f"visit shares one-hot (one child explored): {1 - contested.mean():.3f} of the steps; "
        "elsewhere their most likely action is the drawn one at "
        f"{np.mean(v[contested].argmax(axis=1) == a[contested]):.3f}"
    )
    partitions, counts = np.unique(c, axis=0, return_counts=True)
    for i in np.argsort(-counts)[:3]:
        groups = [
            "{" + ", ".join(meanings[j] for j in np.flatnonzero(partitions[i] == k)) + "}"
            for k in range(partitions[i].max() + 1)
        ]
        lines.append(f"{counts[i] / a.size:.3f} of the steps: {' '.join(groups)}")
    return lines


def relabel_stats(paths: Sequence[Path]) -> list[str]:
    """Cost, spread, concentration and ties of relabelled files' labels."""
    labels, learner, votes, scores, lives = [], [], [], [], []
    frames = seconds = swarms = 0.0
    for path in paths:
        with open_dataset(path) as dataset:
            for episode in dataset:
                if "behaviour_actions" not in episode.datasets:
                    raise ValueError(f"{path} holds swarm episodes; give relabelled files alone")
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
