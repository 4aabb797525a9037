from __future__ import annotations

import numpy as np

from fil_collect.tree import ROOT, HistoryTree, Step


def test_branch_reads_root_to_leaf_in_playing_order() -> None:
    tree = HistoryTree()
    a = tree.add(ROOT, action=1, dt=3, reward=0.0)
    tree.hold(a)
    b = tree.add(a, action=2, dt=4, reward=5.0)
    tree.hold(b)
    assert tree.branch(b) == [Step(1, 3, 0.0), Step(2, 4, 5.0)]


def test_released_leaves_are_pruned_up_to_a_shared_ancestor() -> None:
    tree = HistoryTree()
    tree.hold(ROOT)
    trunk = tree.add(ROOT, 0, 3, 0.0)
    tree.hold(trunk)
    left = tree.add(trunk, 1, 3, 0.0)
    right = tree.add(trunk, 2, 3, 0.0)
    tree.hold(left)
    tree.hold(right)
    tree.release(trunk)  # the walker moved on to `left`
    leaf = tree.add(right, 3, 3, 0.0)
    tree.hold(leaf)
    tree.release(right)
    assert len(tree) == 5
    tree.release(leaf)  # that walker cloned away: leaf and right go, trunk stays (left needs it)
    assert len(tree) == 3
    assert tree.branch(left) == [Step(0, 3, 0.0), Step(1, 3, 0.0)]


def test_without_pruning_everything_stays() -> None:
    tree = HistoryTree(prune=False)
    node = tree.add(ROOT, 0, 3, 0.0)
    tree.hold(node)
    tree.release(node)
    assert len(tree) == 2


def test_decisions_count_walkers_and_average_the_reward_they_collected_after() -> None:
    """At the branch's second decision (5 points scored before it) two walkers were counted
    under action 1 (scores 10 and 20) and one under action 2 (score 5); the branch itself
    went through action 1 and collected 0 + 7 in its next two steps. Counts 3 and 1, values
    (5 + 15 + 7) / 3 = 9 and 0; untried actions have no value."""
    tree = HistoryTree(prune=False)
    first = tree.add(ROOT, action=0, dt=3, reward=5.0)
    under_1 = tree.add(first, action=1, dt=3, reward=0.0)
    under_2 = tree.add(first, action=2, dt=3, reward=0.0)
    tree.count_visit(tree.add(under_1, 0, 3, 5.0), generations=2, score=10.0)
    tree.count_visit(tree.add(under_1, 0, 3, 15.0), generations=2, score=20.0)
    tree.count_visit(tree.add(under_2, 0, 3, 0.0), generations=2, score=5.0)
    leaf = tree.add(under_1, 3, 4, 7.0)  # the branch: first -> under_1 -> leaf
    found = tree.decisions_along(leaf, n_actions=4, generations=2)
    assert found.counts.tolist() == [[1, 0, 0, 0], [0, 3, 1, 0], [0, 0, 0, 1]]
    assert found.values[0, 0] == 5.0  # the branch alone: 5 + 0 in its first two steps
    assert found.values[1, 1] == 9.0 and found.values[1, 2] == 0.0
    assert found.values[2, 3] == 7.0  # the last decision: what is left of the branch
    assert (np.isnan(found.values) == (found.counts == 0)).all()
