"""The one place that talks to ale-py: one emulator, its state, and stepping with action repeat.

The swarm keeps one `AtariEmulator` per walker, so a walker that does not clone never pays for a
state restore; only cloning walkers move state between emulators. Settings mirror Gymnasium's
`ALE/<Game>-v5` (frame cap 108,000, seeding through `SeedSequence`) except that sticky actions
are off, because the swarm search and its replay must be deterministic.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache

import numpy as np
from ale_py import Action, ALEInterface, ALEState, LoggerMode, roms

from fil_collect.games import Game

SCREEN_SHAPE = (210, 160)


@dataclass(frozen=True)
class EnvConfig:
    """How an episode is emulated; recorded in every dataset."""

    game: Game
    frameskip: int = 4
    """Emulator frames per agent step, as in ALE v5 and DQN."""
    max_episode_frames: int = 108_000
    """Frame cap of one episode (ALE v5 default: 30 minutes of play at 60 Hz)."""

    def validate(self) -> None:
        """Raise ValueError for settings ALE cannot run."""
        if self.frameskip < 1:
            raise ValueError(f"frameskip must be >= 1, got {self.frameskip}")
        if self.max_episode_frames < 1:
            raise ValueError(f"max episode frames must be >= 1, got {self.max_episode_frames}")


@cache
def rom_md5(rom: str) -> str:
    """md5 of the ROM file, so a dataset names the exact cartridge that produced it."""
    with open(roms.get_rom_path(rom), "rb") as handle:
        return hashlib.md5(handle.read()).hexdigest()


@cache
def minimal_actions(rom: str) -> tuple[Action, ...]:
    """The game's minimal action set in ALE's order (what action index i means), read once per
    process from the cartridge: a dataset's header needs it before any episode is emulated, and
    it depends on the ROM alone, so no emulator is seeded, reset or stepped for it."""
    ALEInterface.setLoggerMode(LoggerMode.Error)
    ale = ALEInterface()
    ale.loadROM(roms.get_rom_path(rom))
    return tuple(ale.getMinimalActionSet())


def action_meanings(actions: tuple[Action, ...]) -> list[str]:
    """The actions' names as datasets record them (`NOOP`, `FIRE`, ...)."""
    return [action.name for action in actions]


def ale_action_ids(actions: tuple[Action, ...]) -> list[int]:
    """The actions' ALE ids (indices into ALE's full set of 18)."""
    return [int(action.value) for action in actions]


def ale_seed(seed: int) -> int:
    """The ALE `random_seed` Gymnasium's AtariEnv derives from `reset(seed=seed)`.

    Using the same derivation makes our start state the one `gym.make(...).reset(seed=seed)`
    gives, so a policy can be evaluated from exactly the states a dataset starts in.
    """
    _, seed_for_ale = np.random.SeedSequence(seed).generate_state(n_words=2)
    return int(np.int32(seed_for_ale))


class AtariEmulator:
    """One ALE instance: reset from a seed, step with action repeat, save and restore state."""

    def __init__(self, config: EnvConfig, seed: int) -> None:
        self.config = config
        ALEInterface.setLoggerMode(LoggerMode.Error)
        self._ale = ALEInterface()
        self._ale.setInt("random_seed", ale_seed(seed))
        self._ale.setFloat("repeat_action_probability", 0.0)
        self._ale.setInt("max_num_frames_per_episode", config.max_episode_frames)
        self._ale.loadROM(roms.get_rom_path(config.game.rom))
        self._ale.reset_game()
        self._actions = tuple(self._ale.getMinimalActionSet())

    @property
    def n_actions(self) -> int:
        return len(self._actions)

    @property
    def action_meanings(self) -> list[str]:
        return action_meanings(self._actions)

    @property
    def ale_actions(self) -> list[int]:
        return ale_action_ids(self._actions)

    def clone(self) -> ALEState:
        return self._ale.cloneState()

    def restore(self, state: ALEState) -> None:
        """Load a state. The screen stays stale until the next emulated frame."""
        self._ale.restoreState(state)

    def run(self, action: int, steps: int) -> tuple[float, int, int, bool]:
        """Repeat `action` for up to `steps` agent steps, stopping at game over or the frame cap.

        Returns (reward, agent steps begun, frames emulated, ended). A step cut short by game
        over counts as a step, as Gymnasium's AtariPreprocessing returns from a step cut short.
        """
        act, over = self._ale.act, self._ale.game_over
        ale_action = self._actions[action]
        frameskip = self.config.frameskip
        reward = 0
        for step in range(1, steps + 1):
            for frame in range(1, frameskip + 1):
                reward += act(ale_action)
                if over():
                    return float(reward), step, (step - 1) * frameskip + frame, True
        return float(reward), steps, steps * frameskip, False

    def run_screens(
        self, action: int, previous: np.ndarray, latest: np.ndarray
    ) -> tuple[float, int, bool]:
        """One agent step that also reads the grayscale screens of its last two frames (the
        guided swarm's observations). Returns (reward, frames emulated, ended); a step cut
        short by game over leaves the buffers as they were."""
        act, over, gray = self._ale.act, self._ale.game_over, self._ale.getScreenGrayscale
        ale_action = self._actions[action]
        frameskip = self.config.frameskip
        reward = 0
        for frame in range(1, frameskip + 1):
            reward += act(ale_action)
            if over():
                return float(reward), frame, True
            if frame == frameskip - 1:
                gray(previous)
            elif frame == frameskip:
                gray(latest)
        return float(reward), frameskip, False

    def act_frame(self, action: int) -> float:
        """Emulate one frame; used by replay, which needs the screens inside an agent step."""
        return float(self._ale.act(self._actions[action]))

    def ended(self) -> bool:
        """Game over or frame cap: nothing more can be emulated in this episode."""
        return self._ale.game_over()

    def terminated(self) -> bool:
        """Game over by the game's own rules (not the frame cap)."""
        return self._ale.game_over(with_truncation=False)

    def truncated(self) -> bool:
        """The episode reached the frame cap."""
        return self._ale.game_truncated()

    def lives(self) -> int:
        return self._ale.lives()

    def ram(self) -> np.ndarray:
        return self._ale.getRAM()

    def grayscale(self, out: np.ndarray) -> None:
        self._ale.getScreenGrayscale(out)

    def rgb(self) -> np.ndarray:
        return self._ale.getScreenRGB()


def state_from_bytes(data: bytes) -> ALEState:
    """Rebuild an ALE state saved with `ALEState.serialize()` (stored as `start_state`)."""
    return ALEState(data)
