"""Fractal Monte Carlo: a swarm of walkers that act at random and clone towards promise.

The algorithm is the one in `shared/design/fmc.md`, written from its description. Each epoch
every walker repeats a uniform random action for a Gaussian number of agent steps, then walkers
compare a virtual reward (score x novelty, both relativized) with a random companion's and jump
onto better companions with a probability that grows with the gap. Dead walkers always jump.

Speed: each walker owns an emulator, so the hot loop is emulation; only cloning walkers pay for
`cloneState`/`restoreState`, and each source is cloned at most once per epoch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from ale_py import ALEState

from fil_collect.env import AtariEmulator
from fil_collect.tree import ROOT, HistoryTree, Step

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SwarmConfig:
    """FMC settings. Defaults are the seed notebook's (SpaceInvaders)."""

    n_walkers: int = 16
    """Walkers in the swarm; more walkers find better games at proportionally more emulation."""
    max_epochs: int = 1000
    """Swarm iterations per episode; long games need more."""
    min_dt: int = 3
    """Fewest agent steps an action is repeated for."""
    max_dt: int = 1000
    """Most agent steps an action is repeated for."""
    loc_dt: float = 4.0
    """Mean of the Gaussian the repeat count is drawn from (before truncation)."""
    scale_dt: float = 2.0
    """Standard deviation of that Gaussian."""
    reward_scale: float = 2.0
    """Exponent of the relativized score in the virtual reward."""
    distance_scale: float = 1.0
    """Exponent of the relativized RAM distance (diversity) in the virtual reward."""
    life_loss_is_death: bool = False
    """Treat losing a life as death (the walker must clone), not only game over."""
    elitism: bool = True
    """Copy the best walker onto the last walker each epoch, so cloning never loses it."""
    prune_tree: bool = True
    """Drop history no walker can reach any more, keeping memory flat over long runs."""

    def validate(self) -> None:
        """Raise ValueError naming the first setting the swarm cannot run with."""
        if self.n_walkers < 2:
            raise ValueError(f"--walkers must be at least 2, got {self.n_walkers}")
        if self.max_epochs < 1:
            raise ValueError(f"--epochs must be at least 1, got {self.max_epochs}")
        if self.min_dt < 1:
            raise ValueError(f"--min-dt must be at least 1, got {self.min_dt}")
        if self.max_dt < self.min_dt:
            raise ValueError(f"--max-dt ({self.max_dt}) must be >= --min-dt ({self.min_dt})")
        if self.scale_dt < 0:
            raise ValueError(f"--scale-dt must be >= 0, got {self.scale_dt}")
        if self.reward_scale < 0 or self.distance_scale < 0:
            raise ValueError("--reward-scale and --distance-scale must be >= 0")


@dataclass(frozen=True)
class SwarmResult:
    """What a swarm run found: the best walker's branch and the effort it took."""

    branch: list[Step]
    score: float
    epochs: int
    emulator_frames: int
    ended: bool
    """The best walker reached game over or the frame cap (its episode cannot go on)."""
    stop_reason: str
    tree_size: int
    """History nodes alive at the end: with pruning, about the branch length plus the walkers'
    recent divergence; without, 1 + walkers x epochs."""
    root_votes: np.ndarray
    """Walkers at the end by the first action of their branch (n_actions counts): cloning
    moves walkers onto promising branches, so the counts are the swarm's judgement of the first
    move, far less noisy than the one random action the best branch happened to start with."""
    best_root: int
    """The first action of the best walker's branch (-1 if no walker left the root)."""
    best_lives: int
    """Lives the best walker has left."""

    def decision(self) -> int:
        """The swarm's first move: the most-voted first action, ties to the best walker's."""
        top = np.flatnonzero(self.root_votes == self.root_votes.max())
        if self.best_root in top or top.size == 0:
            return self.best_root
        return int(top[0])


def relativize(values: np.ndarray) -> np.ndarray:
    """Standardize, then map to positive numbers: 1 + ln(1 + z) above the mean, exp(z) below.

    The log keeps one outlier from dominating the swarm; exp keeps every value positive, so a
    product of relativized signals never vanishes. A constant signal carries no information and
    becomes all ones.
    """
    std = values.std()
    if std == 0:
        return np.ones_like(values, dtype=np.float64)
    z = (values - values.mean()) / std
    return np.where(z > 0, 1.0 + np.log1p(np.maximum(z, 0.0)), np.exp(np.minimum(z, 0.0)))


def sample_dt(rng: np.random.Generator, config: SwarmConfig, size: int) -> np.ndarray:
    """Repeat counts: int(clip(Normal(loc, scale), min, max)), truncated as fragile did."""
    draws = rng.normal(config.loc_dt, config.scale_dt, size=size)
    return np.clip(draws, config.min_dt, config.max_dt).astype(np.int64)


@dataclass
class _Best:
    score: float
    node: int
    state: ALEState
    ram: np.ndarray
    lives: int
    ended: bool
    root: int


@dataclass
class _Walkers:
    """What the swarm tracks of each walker besides its emulator state."""

    nodes: np.ndarray
    ram: np.ndarray
    lives: np.ndarray
    cum: np.ndarray
    roots: np.ndarray
    """The first action of each walker's branch (-1 while it stands on the root)."""

    def take(
        self,
        tree: HistoryTree,
        walkers: Any,
        nodes: Any,
        ram: Any,
        lives: Any,
        cum: Any,
        roots: Any,
    ) -> None:
        """Move `walkers` onto other history nodes with their signals (cloning, elitism).

        The new nodes are held before the old ones are released, so a walker moving onto a
        descendant of its own node never lets the shared branch be pruned.
        """
        for node in np.atleast_1d(nodes):
            tree.hold(int(node))
        for walker in np.atleast_1d(walkers):
            tree.release(int(self.nodes[walker]))
        self.nodes[walkers] = nodes
        self.ram[walkers] = ram
        self.lives[walkers] = lives
        self.cum[walkers] = cum
        self.roots[walkers] = roots


ProgressFn = Callable[[int, float], None]


class Swarm:
    """One FMC search from a root state; `run` returns the best branch found."""

    def __init__(
        self,
        emulators: list[AtariEmulator],
        config: SwarmConfig,
        rng: np.random.Generator,
    ) -> None:
        if len(emulators) != config.n_walkers:
            raise ValueError(f"need {config.n_walkers} emulators, got {len(emulators)}")
        self.emulators = emulators
        self.config = config
        self.rng = rng

    def run(
        self,
        root: ALEState,
        progress: ProgressFn | None = None,
        first_action: int | None = None,
    ) -> SwarmResult:
        """Search from `root` until the epoch budget, the frame cap or a swarm-wide death.

        `first_action` makes every walker begin with that action (relabelling compares the
        futures of each first move this way); later actions stay random.
        """
        cfg, rng, emus = self.config, self.rng, self.emulators
        n = cfg.n_walkers
        n_actions = emus[0].n_actions
        for emu in emus:
            emu.restore(root)
        tree = HistoryTree(prune=cfg.prune_tree)
        tree.hold(ROOT, n)  # every walker stands on the root
        first = emus[0]
        w = _Walkers(
            nodes=np.full(n, ROOT, dtype=np.int64),
            ram=np.repeat(first.ram()[None, :].astype(np.float32), n, axis=0),
            lives=np.full(n, first.lives(), dtype=np.int64),
            cum=np.zeros(n, dtype=np.float64),
            roots=np.full(n, -1, dtype=np.int64),
        )
        best = _Best(0.0, ROOT, root, w.ram[0].copy(), int(w.lives[0]), ended=False, root=-1)
        tree.hold(ROOT)
        frames = 0
        stop_reason = "epochs"
        epoch = 0
        last_report = time.monotonic()
        for epoch in range(1, cfg.max_epochs + 1):
            actions = rng.integers(n_actions, size=n)
            if epoch == 1 and first_action is not None:
                actions[:] = first_action
            dts = sample_dt(rng, cfg, n)
            rewards = np.zeros(n, dtype=np.float64)
            ended = np.zeros(n, dtype=bool)
            new_lives = np.empty(n, dtype=np.int64)
            for i, emu in enumerate(emus):
                reward, steps, used, over = emu.run(int(actions[i]), int(dts[i]))
                frames += used
                rewards[i] = reward
                ended[i] = over
                new_lives[i] = emu.lives()
                w.ram[i] = emu.ram()
                if w.nodes[i] == ROOT:
                    w.roots[i] = actions[i]
                node = tree.add(int(w.nodes[i]), int(actions[i]), steps, reward)
                tree.hold(node)
                tree.release(int(w.nodes[i]))
                w.nodes[i] = node
            w.cum += rewards
            lost_life = new_lives < w.lives
            w.lives = new_lives
            truncated = np.array(
                [e and emu.truncated() for e, emu in zip(ended, emus, strict=True)]
            )
            dead = ended & ~truncated
            if cfg.life_loss_is_death and (~(dead | lost_life)).any():
                # A life lost by every walker at once was unavoidable: accept it and go on,
                # rather than end an episode that still has lives.
                dead |= lost_life

            candidates = np.flatnonzero(~dead)
            if candidates.size:
                top = int(candidates[np.argmax(w.cum[candidates])])
                # >= moves the record forward in time on ties: a longer demonstration, and
                # elitism restarts the last walker from a recent state, not an early one.
                if w.cum[top] >= best.score:
                    tree.hold(int(w.nodes[top]))
                    tree.release(best.node)
                    best = _Best(
                        float(w.cum[top]),
                        int(w.nodes[top]),
                        emus[top].clone(),
                        w.ram[top].copy(),
                        int(w.lives[top]),
                        ended=bool(truncated[top]),
                        root=int(w.roots[top]),
                    )
            if best.ended:
                stop_reason = "frame cap"
                break
            unavailable = dead | ended
            alive = np.flatnonzero(~unavailable)
            if alive.size == 0:
                stop_reason = "all walkers dead"
                break

            self._clone(tree, w, unavailable, alive)
            if cfg.elitism:
                self._restore_best(tree, w, best)
            if progress is not None and time.monotonic() - last_report > 0.5:
                progress(epoch, best.score)
                last_report = time.monotonic()
        if progress is not None:
            progress(epoch, best.score)
        log.debug("swarm stopped after %d epochs (%s), score %s", epoch, stop_reason, best.score)
        return SwarmResult(
            branch=tree.branch(best.node),
            score=best.score,
            epochs=epoch,
            emulator_frames=frames,
            ended=best.ended,
            stop_reason=stop_reason,
            tree_size=len(tree),
            root_votes=np.bincount(w.roots[w.roots >= 0], minlength=n_actions),
            best_root=best.root,
            best_lives=best.lives,
        )

    def _clone(
        self, tree: HistoryTree, w: _Walkers, unavailable: np.ndarray, alive: np.ndarray
    ) -> None:
        """Move walkers onto better companions (all at once, from the pre-clone swarm)."""
        cfg, rng, n = self.config, self.rng, self.config.n_walkers
        companions = rng.permutation(n)
        distance = np.linalg.norm(w.ram - w.ram[companions], axis=1)
        virtual = relativize(w.cum) ** cfg.reward_scale * relativize(distance) ** cfg.distance_scale
        targets = np.concatenate([rng.permutation(alive), rng.choice(alive, n - alive.size)])
        probability = (virtual[targets] - virtual) / virtual
        clone = ((probability > rng.random(n)) | unavailable) & (targets != np.arange(n))
        walkers = np.flatnonzero(clone)
        if walkers.size == 0:
            return
        sources = targets[walkers]
        states = {int(k): self.emulators[int(k)].clone() for k in np.unique(sources)}
        for i, k in zip(walkers, sources, strict=True):
            self.emulators[int(i)].restore(states[int(k)])
        w.take(
            tree,
            walkers,
            w.nodes[sources],
            w.ram[sources],
            w.lives[sources],
            w.cum[sources],
            w.roots[sources],
        )

    def _restore_best(self, tree: HistoryTree, w: _Walkers, best: _Best) -> None:
        """Elitism: the last walker becomes the best walker seen so far."""
        last = self.config.n_walkers - 1
        if w.nodes[last] == best.node:
            return
        self.emulators[last].restore(best.state)
        w.take(tree, last, best.node, best.ram, best.lives, best.score, best.root)
