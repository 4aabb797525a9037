"""Observations as Gymnasium's `AtariPreprocessing` makes them, computed from our own emulator.

A policy trained on fil data is evaluated in a standard Gymnasium loop, so the stored frames must
be the ones that loop produces, bit for bit: grayscale screens of the last two frames of each
agent step, max-pooled, resized to 84x84 with INTER_AREA. The two-slot buffer below reproduces
Gymnasium's, including its behaviour on a step cut short by game over (the stale slots are kept)
and on reset (the second slot is black).
"""

from __future__ import annotations

import cv2
import numpy as np

from fil_collect.env import SCREEN_SHAPE, AtariEmulator

OBS_SIZE = 84


class PooledFrames:
    """The max-pool buffer of AtariPreprocessing for one episode."""

    def __init__(self, frameskip: int) -> None:
        self.frameskip = frameskip
        self._latest = np.zeros(SCREEN_SHAPE, dtype=np.uint8)
        self._previous = np.zeros(SCREEN_SHAPE, dtype=np.uint8)

    def on_reset(self, emulator: AtariEmulator) -> None:
        emulator.grayscale(self._latest)
        self._previous.fill(0)

    def on_frame(self, emulator: AtariEmulator, frame_in_step: int) -> None:
        """Record the screen after frame `frame_in_step` (0-based) of an agent step."""
        if frame_in_step == self.frameskip - 2:
            emulator.grayscale(self._previous)
        elif frame_in_step == self.frameskip - 1:
            emulator.grayscale(self._latest)

    def observation(self) -> np.ndarray:
        out = np.empty((OBS_SIZE, OBS_SIZE), dtype=np.uint8)
        pool_and_resize(self._latest, self._previous, self.frameskip, out)
        return out


def pool_and_resize(
    latest: np.ndarray, previous: np.ndarray, frameskip: int, out: np.ndarray
) -> None:
    """The observation of one agent step into `out`: the max of its last two grayscale screens
    (the last one alone with frameskip 1), resized to 84x84 with INTER_AREA. Overwrites
    `latest`."""
    if frameskip > 1:
        np.maximum(latest, previous, out=latest)
    cv2.resize(latest, (OBS_SIZE, OBS_SIZE), dst=out, interpolation=cv2.INTER_AREA)


class WalkerScreens:
    """The guided swarm's observations, made only where they are used.

    A walker's stack must show its last four agent steps exactly as the dataset would, but
    about half the walkers clone at the end of an epoch and take another walker's stack. So a
    step only keeps the two grayscale screens it ends with (cheap), and `finish` turns them into
    observations (max, INTER_AREA resize: the cost) for the walkers whose stack is read: before
    the policy runs, before a walker is copied or kept, never for a walker about to be
    overwritten (`discard`).
    """

    def __init__(self, n_walkers: int, frameskip: int, stack: int) -> None:
        self.frameskip = frameskip
        self.screens = np.zeros((n_walkers, stack, 2, *SCREEN_SHAPE), dtype=np.uint8)
        self.pending = np.zeros(n_walkers, dtype=np.int64)

    def run(
        self, walker: int, emulator: AtariEmulator, action: int, steps: int
    ) -> tuple[float, int, int, bool]:
        """`emulator.run`, keeping the screens of the last `stack` agent steps; earlier steps
        run at full speed. A step cut short ends the walker: nothing of it is kept."""
        depth = self.screens.shape[1]
        quiet = max(0, steps - depth)
        reward, begun, frames, ended = emulator.run(action, quiet)
        for step in range(quiet + 1, steps + 1):
            if ended:
                break
            slot = self.screens[walker, int(self.pending[walker]) % depth]
            gained, used, ended = emulator.run_screens(action, slot[0], slot[1])
            reward += gained
            frames += used
            begun = step
            if not ended:
                self.pending[walker] += 1
        return reward, begun, frames, ended

    def finish(self, stacks: np.ndarray, walkers: np.ndarray | None = None) -> None:
        """Push the pending observations of `walkers` (default all) onto their stacks."""
        depth = self.screens.shape[1]
        todo = np.flatnonzero(self.pending) if walkers is None else np.atleast_1d(walkers)
        for walker in todo:
            count = int(self.pending[walker])
            first = max(0, count - depth)
            for k in range(first, count):
                previous, latest = self.screens[walker, k % depth]
                stack = stacks[walker]
                stack[:-1] = stack[1:]
                pool_and_resize(latest, previous, self.frameskip, stack[-1])
            self.pending[walker] = 0

    def discard(self, walkers: np.ndarray | int | slice) -> None:
        """These walkers take another stack: their pending screens will never be read."""
        self.pending[walkers] = 0


def reset_stack(emulator: AtariEmulator, stack: np.ndarray) -> None:
    """The stack of a freshly reset episode: its first observation repeated, as
    FrameStackObservation pads at reset and fil-learn pads an episode's first steps."""
    pool = PooledFrames(emulator.config.frameskip)
    pool.on_reset(emulator)
    stack[:] = pool.observation()
