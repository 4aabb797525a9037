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


class HistoryTree:
    """Nodes with reference counts; `prune=False` keeps everything (for debugging and tests)."""

    def __init__(self, prune: bool = True) -> None:
        self.prune = prune
        self._parent: dict[int, int] = {ROOT: -1}
        self._step: dict[int, Step] = {}
        self._refs: dict[int, int] = {ROOT: 0}
        self._visits: dict[int, dict[int, int]] = {}
        """Per node: walkers counted below it, by the action of the child they went through."""
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
            self._refs[parent] -= 1
            node = parent

    def count_visit(self, node: int, generations: int) -> None:
        """Count the walker standing on `node` at its ancestor `generations` steps up, under
        the action of the child it descends through (AlphaZero's visit counts, for FMC)."""
        child = node
        for _ in range(generations - 1):
            if child == ROOT:
                return
            child = self._parent[child]
        if child == ROOT:
            return
        counts = self._visits.setdefault(self._parent[child], {})
        action = self._step[child].action
        counts[action] = counts.get(action, 0) + 1

    def visits_along(self, node: int, n_actions: int) -> np.ndarray:
        """For each step of `branch(node)`: the visits at the node it was chosen from,
        (len(branch), n_actions), plus one for the branch's own action (the demonstration's
        walker went through it, also where no walker lived long enough to be counted)."""
        rows: list[np.ndarray] = []
        while node != ROOT:
            parent, step = self._parent[node], self._step[node]
            row = np.zeros(n_actions, dtype=np.float64)
            for action, count in self._visits.get(parent, {}).items():
                row[action] = count
            row[step.action] += 1.0
            rows.append(row)
            node = parent
        rows.reverse()
        return np.array(rows).reshape(len(rows), n_actions)

    def branch(self, node: int) -> list[Step]:
        """The steps from the root to `node`, in playing order."""
        steps: list[Step] = []
        while node != ROOT:
            steps.append(self._step[node])
            node = self._parent[node]
        steps.reverse()
        return steps
