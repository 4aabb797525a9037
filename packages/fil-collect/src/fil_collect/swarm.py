"""Fractal Monte Carlo: a swarm of walkers that act at random and clone towards promise.

The algorithm is described step by step in the repository's `docs/fmc.md`. Each epoch
every walker repeats a uniform random action for a Gaussian number of agent steps, then walkers
compare a virtual reward (score x novelty x lives, each relativized) with a random companion's
and jump onto better companions with a probability that grows with the gap. Dead walkers always
jump.

Three rules keep the search going on games where lives matter or scores are negative, each in
one place of `Swarm.run`'s loop:
- `_record`: the best walker is the best by score whatever its sign, recorded from the first
  epoch, so a demonstration is never empty; a walker that reaches game over is a finished
  episode, kept as a candidate too.
- lives in the virtual reward (`lives_scale`): a walker that lost a life is worth less than its
  companions, so cloning leaves it before the last life's doomed branch takes the swarm.
- `_rewind`: on games with lives, a swarm-wide death restores the walkers saved a few dozen
  epochs earlier instead of ending the episode; the record is kept.

Speed: each walker owns an emulator, so the hot loop is emulation; only cloning walkers pay for
`cloneState`/`restoreState`, and each source is cloned at most once per epoch.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ale_py import ALEState

from fil_collect.env import AtariEmulator
from fil_collect.guide import STACK, PolicyGuide, empty_stacks
from fil_collect.observation import WalkerScreens, reset_stack
from fil_collect.tree import ROOT, Decisions, HistoryTree, Step

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SwarmConfig:
    """FMC settings. The dynamics are the seed notebook's (SpaceInvaders); the walker count,
    budget, lives term and rewind were chosen by `bench/swarm_scores.py` over nine games."""

    n_walkers: int = 64
    """Walkers in the swarm. Within the same frame budget, 64 beat 16 on the held-in table
    (`results/swarm/walkers.jsonl`): a wider swarm has a walker that avoids a lost point or a
    lost life where 16 all fail, at the cost of a shorter game for the frames."""
    max_epochs: int | None = None
    """Swarm iterations per episode (None: no epoch limit; the frame budget decides)."""
    max_frames: int | None = 2_000_000
    """Emulator frames per episode over all walkers (None: no limit). Deterministic, unlike a
    time budget: 2-4 minutes of one core at raw ALE speed (8-17k frames/s by machine)."""
    max_minutes: float | None = None
    """CPU minutes per episode (this process's CPU time). The outcome then depends on the
    machine's speed, so a seed no longer fixes it."""
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
    lives_scale: float = 1.0
    """Exponent of the relativized lives left in the virtual reward (0: lives ignored)."""
    rewind_every: int = 25
    """On games with lives, keep the walkers of every k-th epoch and restore them when every
    walker dies at once (0: a swarm-wide death ends the episode)."""
    visit_depth: int = 4
    """Generations below a decision at which walkers are counted for its visit shares (the
    soft targets): late enough that cloning has judged the children, early enough that the
    swarm has not yet collapsed onto one of them."""
    elite_patience: int = 1
    """Epochs the elite is retried before a lower-scoring continuation of its own game may
    replace it: a lost point that some walker can avoid is avoided (Pong), a clock that costs
    every walker points (Skiing) does not hold the swarm at the start. Only games with negative
    rewards are affected. With 64 walkers the width already avoids Pong's avoidable points
    (21 at 1, 3 and 10), and a longer wait holds Skiing back: at 10 its course was unfinished
    when 2M frames ran out, at 1 it finished (bench/swarm_scores.py, results/swarm)."""
    max_rewinds: int = 1000
    """Swarm-wide deaths survived by rewinding before the episode ends (the frame budget
    usually ends it first: 100 rewinds were spent in under a minute of SpaceInvaders)."""
    life_loss_is_death: bool = False
    """Treat losing a life as death (the walker must clone), not only game over."""
    elitism: bool = True
    """Copy the best walker onto the last walker each epoch, so cloning never loses it."""
    prune_tree: bool = True
    """Drop history no walker can reach any more, keeping memory flat over long runs."""
    widen: bool = True
    """When every walker reached game over with at least 2.5 times the frames spent still left in
    a `max_frames` budget, search the episode again with more walkers on the frames left
    (`fil_collect.widening`): games that end on their own clock otherwise waste the budget."""

    def validate(self) -> None:
        """Raise ValueError naming the first setting the swarm cannot run with."""
        if self.n_walkers < 2:
            raise ValueError(f"--walkers must be at least 2, got {self.n_walkers}")
        if self.max_epochs is not None and self.max_epochs < 1:
            raise ValueError(f"--epochs must be at least 1, got {self.max_epochs}")
        if self.max_frames is not None and self.max_frames < 1:
            raise ValueError(f"--max-frames must be at least 1, got {self.max_frames}")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ValueError(f"--minutes must be > 0, got {self.max_minutes}")
        if self.min_dt < 1:
            raise ValueError(f"--min-dt must be at least 1, got {self.min_dt}")
        if self.max_dt < self.min_dt:
            raise ValueError(f"--max-dt ({self.max_dt}) must be >= --min-dt ({self.min_dt})")
        if self.scale_dt < 0:
            raise ValueError(f"--scale-dt must be >= 0, got {self.scale_dt}")
        if min(self.reward_scale, self.distance_scale, self.lives_scale) < 0:
            raise ValueError("--reward-scale, --distance-scale and --lives-scale must be >= 0")
        if min(self.rewind_every, self.max_rewinds, self.elite_patience, self.visit_depth) < 0:
            raise ValueError(
                "--rewind-every, --max-rewinds, --elite-patience and --visit-depth must be >= 0"
            )


@dataclass(frozen=True)
class SwarmResult:
    """What a swarm run found: the best walker's branch and the effort it took."""

    branch: list[Step]
    score: float
    epochs: int
    emulator_frames: int
    ended: bool
    """The demonstration's episode cannot go on (game over or the frame cap)."""
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
    rewinds: int = 0
    """Swarm-wide deaths survived by restoring earlier walkers."""
    decisions: Decisions | None = None
    """Per decision of the branch and action: the walkers counted under it
    (`SwarmConfig.visit_depth` generations below) and their mean reward after it, the swarm's
    preference and its value estimate rather than its one draw."""

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


@dataclass(frozen=True)
class _Walker:
    """One walker's position, frozen: the record, the elite and finished episodes."""

    score: float
    node: int
    state: ALEState
    ram: np.ndarray
    lives: int
    root: int
    stack: np.ndarray
    ended: bool = False
    """Its episode cannot go on (game over, or the frame cap)."""


@dataclass
class _Walkers:
    """What the swarm tracks of each walker besides its emulator state."""

    nodes: np.ndarray
    ram: np.ndarray
    lives: np.ndarray
    cum: np.ndarray
    roots: np.ndarray
    """The first action of each walker's branch (-1 while it stands on the root)."""
    on_line: np.ndarray
    """Walkers standing on the elite's node or a descendant of it: the elite's game, played on."""
    stacks: np.ndarray
    """Each walker's last 4 observations when a policy guides the swarm, else (n, 0, 84, 84)."""

    def take(self, tree: HistoryTree, walkers: np.ndarray | int, source: _Walkers) -> None:
        """Move `walkers` onto other history nodes with their signals (cloning, elitism,
        rewind); `source` holds the new values, indexed like `walkers`.

        The new nodes are held before the old ones are released, so a walker moving onto a
        descendant of its own node never lets the shared branch be pruned.
        """
        for node in np.atleast_1d(source.nodes):
            tree.hold(int(node))
        for walker in np.atleast_1d(walkers):
            tree.release(int(self.nodes[walker]))
        self.nodes[walkers] = source.nodes
        self.ram[walkers] = source.ram
        self.lives[walkers] = source.lives
        self.cum[walkers] = source.cum
        self.roots[walkers] = source.roots
        self.on_line[walkers] = source.on_line
        self.stacks[walkers] = source.stacks

    def select(self, index: np.ndarray | int) -> _Walkers:
        """The signals of the walkers at `index` (copies)."""
        return _Walkers(
            self.nodes[index].copy(),
            self.ram[index].copy(),
            self.lives[index].copy(),
            self.cum[index].copy(),
            self.roots[index].copy(),
            self.on_line[index].copy(),
            self.stacks[index].copy(),
        )

    def frozen(self, index: int, state: ALEState, ended: bool = False) -> _Walker:
        return _Walker(
            float(self.cum[index]),
            int(self.nodes[index]),
            state,
            self.ram[index].copy(),
            int(self.lives[index]),
            int(self.roots[index]),
            self.stacks[index].copy(),
            ended,
        )


def _as_walkers(walker: _Walker) -> _Walkers:
    return _Walkers(
        np.array(walker.node),
        walker.ram,
        np.array(walker.lives),
        np.array(walker.score),
        np.array(walker.root),
        np.array(True),
        walker.stack,
    )


@dataclass(frozen=True)
class _Snapshot:
    """The walkers of one epoch, kept so that a swarm-wide death can return to them."""

    epoch: int
    walkers: _Walkers
    states: list[ALEState]


@dataclass(frozen=True)
class _Step:
    """What one epoch of acting did to the walkers."""

    dead: np.ndarray
    """Walkers that must clone (game over; or a lost life with `life_loss_is_death`)."""
    ended: np.ndarray
    """Walkers whose episode cannot go on (game over or the frame cap)."""
    truncated: np.ndarray
    """Walkers that reached the frame cap."""


ProgressFn = Callable[[int, float], None]


class Swarm:
    """One FMC search from a root state; `run` returns the best branch found."""

    def __init__(
        self,
        emulators: list[AtariEmulator],
        config: SwarmConfig,
        rng: np.random.Generator,
        guide: PolicyGuide | None = None,
    ) -> None:
        """`guide` (a policy) replaces the uniform action draw; every walker then keeps its
        own frame stack for it."""
        if len(emulators) != config.n_walkers:
            raise ValueError(f"need {config.n_walkers} emulators, got {len(emulators)}")
        self.emulators = emulators
        self.config = config
        self.rng = rng
        self.guide = guide
        self.screens = WalkerScreens(config.n_walkers, emulators[0].config.frameskip, STACK)

    def run(
        self,
        root: ALEState,
        progress: ProgressFn | None = None,
        first_action: int | None = None,
        root_stack: np.ndarray | None = None,
    ) -> SwarmResult:
        """Search from `root` until the budget, the frame cap or a swarm-wide death.

        `first_action` makes every walker begin with that action (relabelling compares the
        futures of each first move this way); later actions stay random. `root_stack` is the
        guide's view of `root` (4 observations); without it the emulators must be freshly
        reset, so that the root's screen is real, not stale after a restore.
        """
        self._start(root, root_stack)
        started = time.process_time()
        last_report = time.monotonic()
        stop_reason, epoch = "epochs", 0
        while True:
            epoch += 1
            step = self._step_walkers(epoch == 1 and first_action is not None, first_action)
            self._record(step)
            wiped = bool((step.dead | step.ended).all())
            stop_reason = self._stop_reason(epoch, started, wiped)
            if stop_reason:
                break
            if not wiped:  # else `_stop_reason` rewound the swarm: nobody needs to clone
                self._clone(step.dead | step.ended)
            if self.config.elitism:
                self._restore_elite()
            self._snapshot(epoch)
            self._count_visits()
            if progress is not None and time.monotonic() - last_report > 0.5:
                progress(epoch, self._demonstration(stop_reason).score)
                last_report = time.monotonic()
        if progress is not None:
            progress(epoch, self._demonstration(stop_reason).score)
        return self._result(epoch, stop_reason)

    # -- the named steps of one epoch -------------------------------------------------------

    def _start(self, root: ALEState, root_stack: np.ndarray | None) -> None:
        """Every walker on the root; the first epoch sets the record."""
        n = self.config.n_walkers
        stacks = empty_stacks(n) if self.guide else empty_stacks(n)[:, :0]
        if self.guide and root_stack is not None:
            stacks[:] = root_stack
        elif self.guide:
            reset_stack(self.emulators[0], stacks[0])
            stacks[1:] = stacks[0]
        for emu in self.emulators:
            emu.restore(root)
        self.tree = HistoryTree(prune=self.config.prune_tree)
        self.tree.hold(ROOT, n)  # every walker stands on the root
        first = self.emulators[0]
        self.walkers = _Walkers(
            nodes=np.full(n, ROOT, dtype=np.int64),
            ram=np.repeat(first.ram()[None, :].astype(np.float32), n, axis=0),
            lives=np.full(n, first.lives(), dtype=np.int64),
            cum=np.zeros(n, dtype=np.float64),
            roots=np.full(n, -1, dtype=np.int64),
            on_line=np.zeros(n, dtype=bool),
            stacks=stacks,
        )
        self.has_lives = first.lives() > 0
        self.frames = 0
        self.rewinds = 0
        self.record: _Walker | None = None
        self.elite: _Walker | None = None
        self.finished: _Walker | None = None
        self.record_follows_elite = True
        self.stale = 0  # epochs since a walker last matched the elite
        self.snapshots: deque[_Snapshot] = deque()

    def _step_walkers(self, forced: bool, first_action: int | None) -> _Step:
        """Every walker repeats one action for dt agent steps; the tree grows by one node each."""
        cfg, rng, w, tree = self.config, self.rng, self.walkers, self.tree
        n = cfg.n_walkers
        if self.guide is not None:
            self.screens.finish(w.stacks)
            actions = self.guide.sample(rng, w.stacks)
        else:
            actions = rng.integers(self.emulators[0].n_actions, size=n)
        if forced:
            actions[:] = first_action
        dts = sample_dt(rng, cfg, n)
        ended = np.zeros(n, dtype=bool)
        truncated = np.zeros(n, dtype=bool)
        new_lives = np.empty(n, dtype=np.int64)
        for i, emu in enumerate(self.emulators):
            if self.guide is not None:
                reward, steps, used, ended[i] = self.screens.run(
                    i, emu, int(actions[i]), int(dts[i])
                )
            else:
                reward, steps, used, ended[i] = emu.run(int(actions[i]), int(dts[i]))
            self.frames += used
            w.cum[i] += reward
            truncated[i] = ended[i] and emu.truncated()
            new_lives[i] = emu.lives()
            w.ram[i] = emu.ram()
            if w.nodes[i] == ROOT:
                w.roots[i] = actions[i]
            node = tree.add(int(w.nodes[i]), int(actions[i]), steps, reward)
            tree.hold(node)
            tree.release(int(w.nodes[i]))
            w.nodes[i] = node
        lost_life = new_lives < w.lives
        w.lives = new_lives
        dead = ended & ~truncated
        if cfg.life_loss_is_death and (~(dead | lost_life)).any():
            # A life lost by every walker at once was unavoidable: accept it and go on,
            # rather than end an episode that still has lives.
            dead |= lost_life
        return _Step(dead=dead, ended=ended, truncated=truncated)

    def _record(self, step: _Step) -> None:
        """Keep the elite, the record and the best finished episode.

        The elite is the best walker by score whatever its sign, except that after
        `elite_patience` epochs without a walker matching it, a continuation of the elite's own
        game replaces it even at a lower score: on games that cost points (Pong's lost rallies,
        Skiing's clock) the best score ever may be an early moment, and an elite stuck there
        would hold the swarm at the start. The record follows the elite,
        except after a rewind, when it keeps the best game found until the elite beats it.
        `>=` moves both forward in time on ties.
        """
        w = self.walkers
        eligible = ~step.dead
        if self.elite is not None:
            patience_over = self.stale >= self.config.elite_patience
            eligible &= (w.on_line & patience_over) | (w.cum >= self.elite.score)
        self.stale += 1
        if eligible.any():
            self.stale = 0
            index = np.flatnonzero(eligible)
            top = int(index[np.argmax(w.cum[index])])
            self._finish_stacks(top)
            best = w.frozen(top, self.emulators[top].clone(), bool(step.truncated[top]))
            self.elite = self._replace(self.elite, best)
            w.on_line[:] = False
            w.on_line[top] = True
            if self.record is None or self.record_follows_elite or best.score >= self.record.score:
                self.record = self._replace(self.record, best)
                self.record_follows_elite = True
        over = np.flatnonzero(step.ended & ~step.truncated)
        if over.size:
            top = int(over[np.argmax(w.cum[over])])
            if self.finished is None or w.cum[top] >= self.finished.score:
                self._finish_stacks(top)
                state = self.emulators[top].clone()
                self.finished = self._replace(self.finished, w.frozen(top, state, ended=True))

    def _replace(self, old: _Walker | None, new: _Walker | None) -> _Walker | None:
        """Swap a kept walker, moving the tree reference that keeps its branch alive."""
        if new is not None:
            self.tree.hold(new.node)
        if old is not None:
            self.tree.release(old.node)
        return new

    def _stop_reason(self, epoch: int, started: float, wiped: bool) -> str:
        """Why the episode ends now, or '' to go on. A swarm-wide death (`wiped`) on a game
        with lives rewinds the swarm instead, while rewinds are left."""
        cfg = self.config
        if self.record is not None and self.record.ended:
            return "frame cap"
        if wiped:
            if self.has_lives and self._rewind():
                return ""
            return "all walkers dead"
        if cfg.max_epochs is not None and epoch >= cfg.max_epochs:
            return "epochs"
        if cfg.max_frames is not None and self.frames >= cfg.max_frames:
            return "frames"
        if cfg.max_minutes is not None and time.process_time() - started >= 60 * cfg.max_minutes:
            return "minutes"
        return ""

    # -- moving walkers ---------------------------------------------------------------------

    def _clone(self, unavailable: np.ndarray) -> None:
        """Move walkers onto better companions (all at once, from the pre-clone swarm)."""
        cfg, rng, n, w = self.config, self.rng, self.config.n_walkers, self.walkers
        alive = np.flatnonzero(~unavailable)
        companions = rng.permutation(n)
        distance = np.linalg.norm(w.ram - w.ram[companions], axis=1)
        virtual = relativize(w.cum) ** cfg.reward_scale * relativize(distance) ** cfg.distance_scale
        if cfg.lives_scale:
            virtual = virtual * relativize(w.lives.astype(np.float64)) ** cfg.lives_scale
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
        self._finish_stacks(np.unique(sources))
        w.take(self.tree, walkers, w.select(sources))
        self.screens.discard(walkers)

    def _restore_elite(self) -> None:
        """Elitism: the last walker becomes the best walker of the current line of search."""
        last, elite = self.config.n_walkers - 1, self.elite
        if elite is None or self.walkers.nodes[last] == elite.node:
            return
        self.emulators[last].restore(elite.state)
        self.walkers.take(self.tree, last, _as_walkers(elite))
        self.screens.discard(last)

    def _finish_stacks(self, walkers: np.ndarray | int | None) -> None:
        """Make the stacks of `walkers` (None: all) current before they are read or copied."""
        if self.guide is not None:
            self.screens.finish(self.walkers.stacks, walkers)

    def _count_visits(self) -> None:
        """Where the walkers stand after cloning is the swarm's vote on earlier decisions."""
        if self.config.visit_depth:
            for node, score in zip(self.walkers.nodes, self.walkers.cum, strict=True):
                self.tree.count_visit(int(node), self.config.visit_depth, float(score))

    def _snapshot(self, epoch: int) -> None:
        """Keep every `rewind_every`-th epoch's walkers (the last three) for `_rewind`."""
        every = self.config.rewind_every
        if not (every and self.has_lives and epoch % every == 0):
            return
        self._finish_stacks(None)
        kept = _Snapshot(
            epoch, self.walkers.select(slice(None)), [e.clone() for e in self.emulators]
        )
        for node in kept.walkers.nodes:
            self.tree.hold(int(node))
        self.snapshots.append(kept)
        if len(self.snapshots) > 3:
            self._drop(self.snapshots.popleft())

    def _drop(self, snapshot: _Snapshot) -> None:
        for node in snapshot.walkers.nodes:
            self.tree.release(int(node))

    def _rewind(self) -> bool:
        """After a swarm-wide death, put the walkers back where they stood one or two snapshots
        ago (the newest is dropped: it is likely doomed too), so repeated deaths walk further
        back. The elite becomes the best of those walkers; the record is kept."""
        if not self.snapshots or self.rewinds >= self.config.max_rewinds:
            return False
        if len(self.snapshots) > 1:
            self._drop(self.snapshots.pop())
        target = self.snapshots[-1]
        for emu, state in zip(self.emulators, target.states, strict=True):
            emu.restore(state)
        n = self.config.n_walkers
        self.walkers.take(self.tree, np.arange(n), target.walkers.select(slice(None)))
        self.screens.discard(slice(None))
        top = int(np.argmax(self.walkers.cum))
        self.elite = self._replace(self.elite, self.walkers.frozen(top, target.states[top]))
        self.walkers.on_line[:] = False
        self.walkers.on_line[top] = True
        self.record_follows_elite = False
        self.rewinds += 1
        log.debug("swarm-wide death: rewound to epoch %d", target.epoch)
        return True

    # -- the answer -------------------------------------------------------------------------

    def _demonstration(self, stop_reason: str) -> _Walker:
        """The record, unless a finished episode is at least as good or nothing else is left:
        when every walker died, the honest demonstration is the best game that really ended."""
        if self.finished is not None and (
            self.record is None
            or stop_reason == "all walkers dead"
            or self.finished.score >= self.record.score
        ):
            return self.finished
        assert self.record is not None  # the first epoch records a walker or a finished one
        return self.record

    def _result(self, epoch: int, stop_reason: str) -> SwarmResult:
        demo = self._demonstration(stop_reason)
        w = self.walkers
        log.debug("swarm stopped after %d epochs (%s), score %s", epoch, stop_reason, demo.score)
        return SwarmResult(
            branch=self.tree.branch(demo.node),
            score=demo.score,
            epochs=epoch,
            emulator_frames=self.frames,
            ended=demo.ended,
            stop_reason=stop_reason,
            tree_size=len(self.tree),
            root_votes=np.bincount(w.roots[w.roots >= 0], minlength=self.emulators[0].n_actions),
            best_root=demo.root,
            best_lives=demo.lives,
            rewinds=self.rewinds,
            decisions=self.tree.decisions_along(
                demo.node, self.emulators[0].n_actions, self.config.visit_depth
            ),
        )
