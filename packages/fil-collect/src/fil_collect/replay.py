"""Turn a swarm's best branch into a demonstration by replaying it from the exact start state.

The branch is a list of (action, dt); expanded, it is sum(dt) agent steps, one (observation,
action) pair per step. Replaying it in a fresh emulator reset with the episode's seed records
the observations that belong to the swarm's path (the seed notebook recorded them in an
environment that had begun with random no-ops). The replayed return must equal the swarm's
score: if it does not, the emulator was not deterministic and the data would be a lie.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ale_py import ALEState

from fil_collect.env import AtariEmulator
from fil_collect.format import Demonstration
from fil_collect.observation import OBS_SIZE, PooledFrames
from fil_collect.tree import Step


class ReplayMismatchError(RuntimeError):
    """The replayed episode differs from what the swarm saw."""


def expand(branch: list[Step]) -> np.ndarray:
    """One action per agent step: (action, dt) repeated dt times."""
    if not branch:
        return np.zeros(0, dtype=np.int64)
    return np.repeat([s.action for s in branch], [s.dt for s in branch]).astype(np.int64)


def replay(
    emulator: AtariEmulator,
    root: ALEState,
    actions: np.ndarray,
    *,
    raw_frames: bool = False,
    classes: bool = True,
) -> Demonstration:
    """Play `actions` from `emulator`'s current (just reset) state and record everything.

    `emulator` must be freshly reset, not restored: after a restore the screen is stale until
    the next frame, and the first observation would be wrong. An episode that the swarm's
    budget cut off before game over ends with a truncation, as Minari requires every episode
    to end with a termination or a truncation. With `classes`, every step also records which
    actions were equivalent there (`equivalent_actions`).
    """
    if not emulator.clone().equals(root):
        raise ReplayMismatchError(
            "the emulator reset with the episode's seed does not reach its root state (start_state)"
        )
    frameskip = emulator.config.frameskip
    pool = PooledFrames(frameskip)
    pool.on_reset(emulator)
    steps = actions.shape[0]
    record = _Recording.start(emulator, pool, steps, raw_frames, classes)
    for t in range(steps):
        if emulator.ended():
            raise ReplayMismatchError(f"the replayed game ended before step {t} of {steps}")
        if record.classes is not None:
            record.classes[t] = equivalent_actions(emulator, frameskip)
        action = int(actions[t])
        for frame in range(frameskip):
            record.rewards[t] += emulator.act_frame(action)
            if emulator.ended():
                break
            pool.on_frame(emulator, frame)
        record.after_step(t, emulator, pool)
    return record.demonstration(actions)


@dataclass
class _Recording:
    """The arrays of a replayed episode, filled step by step."""

    observations: np.ndarray
    raw: np.ndarray | None
    rewards: np.ndarray
    terminations: np.ndarray
    truncations: np.ndarray
    lives: np.ndarray
    classes: np.ndarray | None

    @classmethod
    def start(
        cls, emulator: AtariEmulator, pool: PooledFrames, steps: int, raw: bool, classes: bool
    ) -> _Recording:
        """Empty arrays for `steps` steps, with row 0 (the reset state) filled in."""
        record = cls(
            observations=np.empty((steps + 1, OBS_SIZE, OBS_SIZE), dtype=np.uint8),
            raw=np.empty((steps + 1, 210, 160, 3), dtype=np.uint8) if raw else None,
            rewards=np.zeros(steps, dtype=np.float64),
            terminations=np.zeros(steps, dtype=bool),
            truncations=np.zeros(steps, dtype=bool),
            lives=np.empty(steps + 1, dtype=np.int32),
            classes=np.empty((steps, emulator.n_actions), dtype=np.int8) if classes else None,
        )
        record.observations[0] = pool.observation()
        if record.raw is not None:
            record.raw[0] = emulator.rgb()
        record.lives[0] = emulator.lives()
        return record

    def after_step(self, t: int, emulator: AtariEmulator, pool: PooledFrames) -> None:
        """What step `t` produced: the next observation, lives and how the episode stands."""
        self.observations[t + 1] = pool.observation()
        if self.raw is not None:
            self.raw[t + 1] = emulator.rgb()
        self.lives[t + 1] = emulator.lives()
        self.terminations[t] = emulator.terminated()
        self.truncations[t] = emulator.truncated()

    def demonstration(self, actions: np.ndarray) -> Demonstration:
        """The episode; one cut off before game over ends with a truncation."""
        if actions.size and not (self.terminations[-1] or self.truncations[-1]):
            self.truncations[-1] = True
        return Demonstration(
            self.observations, actions, self.rewards, self.terminations, self.truncations,
            self.lives, self.raw, self.classes,
        )  # fmt: skip


def equivalent_actions(emulator: AtariEmulator, frames: int) -> np.ndarray:
    """(n_actions,) int8: class numbers (0, 1, ... in order of first appearance) such that two
    actions share one exactly when `frames` emulator frames of each, from the current state,
    end in the same emulator state; the emulator is left where it was.

    Equal states mean equal futures, so the choice among equivalent actions made no difference
    and a learner should not be asked to predict it: in SpaceInvaders FIRE does nothing while
    a shot is in flight, which was the case at 64% of a swarm's steps (fil-learn's
    `fit --equivalent`). The screen is not part of the state and stays stale after the
    restore, which the next step's frames overwrite before they are read.
    """
    start = emulator.clone()
    outcomes: dict[bytes, int] = {}
    classes = np.empty(emulator.n_actions, dtype=np.int8)
    for action in range(emulator.n_actions):
        emulator.restore(start)
        for _ in range(frames):
            emulator.act_frame(action)
            if emulator.ended():
                break
        classes[action] = outcomes.setdefault(bytes(emulator.clone().serialize()), len(outcomes))
    emulator.restore(start)
    return classes


def check_return(demo: Demonstration, swarm_score: float) -> None:
    """Raise ReplayMismatchError unless the replay earned exactly the swarm's score."""
    if demo.episode_return != swarm_score:
        raise ReplayMismatchError(
            f"replayed return {demo.episode_return} differs from the swarm's score {swarm_score}: "
            "the emulator was not deterministic; the episode was not written"
        )
