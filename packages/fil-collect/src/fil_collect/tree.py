"""The history of walker steps, from which the best walker's branch is read out.

Every walker step adds a node (parent, action, dt, reward). A node stays alive while something
refers to it: a walker standing on it, the best-walker record, or a child. When a walker clones
away, its old leaf may lose its last reference; it is then removed, and so is its parent if that
was its only child, and so on towards the root. What remains is the walkers' ancestry, which
coalesces into one trunk: memory grows with the length of the demonstration, not with
walkers x epochs.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

ROOT = 0


class Step(NamedTuple):
    """One walker step: the action, how many agent steps it was repeated, the reward it got."""

    action: int
    dt: int
    reward: float


class Decisions(NamedTuple):
    """What the swarm found at each decision of a branch, per action (`decisions_along`)."""

    counts: np.ndarray
    """(decisions, n_actions) int: walkers counted under each action."""
    values: np.ndarray
    """(decisions, n_actions) float: their mean reward after the decision; NaN where none."""


class HistoryTree:
    """Nodes with reference counts; `prune=False` keeps everything (for debugging and tests)."""

    def __init__(self, prune: bool = True) -> None:
        self.prune = prune
        self._parent: dict[int, int] = {ROOT: -1}
        self._step: dict[int, Step] = {}
        self._refs: dict[int, int] = {ROOT: 0}
        self._visits: dict[int, dict[int, int]] = {}
        """Per node: walkers counted below it, by the action of the child they went through."""
        self._scores: dict[int, dict[int, float]] = {}
        """Per node: the sum of those walkers' scores, by the same action (for their mean)."""
        self._next_id = ROOT + 1

    def __len__(self) -> int:
        return len(self._parent)

    def add(self, parent: int, action: int, dt: int, reward: float) -> int:
        """Add a child of `parent`; the caller holds no reference to it yet."""
        node = self._next_id
        self._next_id += 1
        self._parent[node] = parent
        self._step[node] = Step(action, dt, reward)
        self._refs[node] = 0
        self._refs[parent] += 1
        return node

    def hold(self, node: int, count: int = 1) -> None:
        self._refs[node] += count

    def release(self, node: int) -> None:
        """Drop one reference; prune the node and its childless ancestors once unreferenced."""
        self._refs[node] -= 1
        if not self.prune:
            return
        while node != ROOT and self._refs[node] == 0:
            parent = self._parent.pop(node)
            del self._step[node]
            del self._refs[node]
            self._visits.pop(node, None)
            self._scores.pop(node, None)
            self._refs[parent] -= 1
            node = parent

    def count_visit(self, node: int, generations: int, score: float = 0.0) -> None:
        """Count the walker standing on `node` at its ancestor `generations` steps up, under
        the action of the child it descends through (AlphaZero's visit counts, for FMC), and
        add its `score` there, so that each action's walkers have a mean score (its value)."""
        child = node
        for _ in range(generations - 1):
            if child == ROOT:
                return
            child = self._parent[child]
        if child == ROOT:
            return
        parent, action = self._parent[child], self._step[child].action
        counts = self._visits.setdefault(parent, {})
        counts[action] = counts.get(action, 0) + 1
        scores = self._scores.setdefault(parent, {})
        scores[action] = scores.get(action, 0.0) + score

    def decisions_along(self, node: int, n_actions: int, generations: int) -> Decisions:
        """For each step of `branch(node)`, at the node it was chosen from: the walkers counted
        under each action and the mean reward they collected after it (NaN where none was).
        The branch itself is counted once under its own action, with the reward it collected
        in its next `generations` steps: its walker went through it, also where no other
        walker lived long enough to be counted."""
        choices = self._choices(node)
        done = np.concatenate([[0.0], np.cumsum([step.reward for _, step in choices])])
        counts = np.zeros((len(choices), n_actions), dtype=np.int64)
        sums = np.zeros((len(choices), n_actions), dtype=np.float64)
        for i, (parent, step) in enumerate(choices):
            for action, count in self._visits.get(parent, {}).items():
                counts[i, action] = count
                sums[i, action] = self._scores[parent][action] - count * done[i]
            counts[i, step.action] += 1
            sums[i, step.action] += done[min(i + generations, len(choices))] - done[i]
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        return Decisions(counts, values)

    def _choices(self, node: int) -> list[tuple[int, Step]]:
        """Each step of the branch to `node` with the node it was chosen from, in playing
        order: one walk up the tree serves both `branch` and `decisions_along`."""
        choices: list[tuple[int, Step]] = []
        while node != ROOT:
            parent = self._parent[node]
            choices.append((parent, self._step[node]))
            node = parent
        choices.reverse()
        return choices

    def branch(self, node: int) -> list[Step]:
        """The steps from the root to `node`, in playing order."""
        return [step for _, step in self._choices(node)]
