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

    @property
    def latest(self) -> np.ndarray:
        return self._latest

    @property
    def previous(self) -> np.ndarray:
        return self._previous

    def observation(self) -> np.ndarray:
        if self.frameskip > 1:
            np.maximum(self._latest, self._previous, out=self._latest)
        return cv2.resize(self._latest, (OBS_SIZE, OBS_SIZE), interpolation=cv2.INTER_AREA)

    def observe_into(self, out: np.ndarray) -> None:
        """`observation()` written into `out` (84x84 uint8), without a new array."""
        if self.frameskip > 1:
            np.maximum(self._latest, self._previous, out=self._latest)
        cv2.resize(self._latest, (OBS_SIZE, OBS_SIZE), dst=out, interpolation=cv2.INTER_AREA)


def run_observed(
    emulator: AtariEmulator, action: int, steps: int, pool: PooledFrames, stack: np.ndarray
) -> tuple[float, int, int, bool]:
    """`emulator.run`, but the last `len(stack)` agent steps also push their observation onto
    `stack` (oldest first), exactly as the dataset's observations are made: a guided walker
    shows its policy what the policy saw in training. Earlier steps run at full speed.

    Every observed step is complete (a step cut short ends the walker), so both pool slots are
    fresh and one scratch `pool` serves every walker.
    """
    quiet = max(0, steps - stack.shape[0])
    reward, begun, frames, ended = emulator.run(action, quiet)
    for step in range(quiet + 1, steps + 1):
        if ended:
            break
        gained, used, ended = emulator.run_screens(action, pool.previous, pool.latest)
        reward += gained
        frames += used
        begun = step
        if not ended:
            stack[:-1] = stack[1:]
            pool.observe_into(stack[-1])
    return reward, begun, frames, ended


def reset_stack(emulator: AtariEmulator, stack: np.ndarray) -> None:
    """The stack of a freshly reset episode: its first observation repeated, as
    FrameStackObservation pads at reset and fil-learn pads an episode's first steps."""
    pool = PooledFrames(emulator.config.frameskip)
    pool.on_reset(emulator)
    stack[:] = pool.observation()
