from __future__ import annotations

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
