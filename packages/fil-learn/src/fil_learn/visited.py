"""The states a policy visited, saved for relabelling (`fil-learn eval --save-states`).

DAgger asks the teacher what to do in the learner's own states. fil-learn records, while it
plays, what the learner saw and the emulator state before each step; `fil-collect relabel` then
runs a short swarm from those states. The file is the `fil-visited` format of
`datasets/README.md`, readable with h5py alone, so the two packages share a format, not code.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

import fil_learn
from fil_learn.data import VISITED_FORMAT
from fil_learn.outputs import replacing
from fil_learn.policy import run_frameskip

VISITED_VERSION = 1


@dataclass
class VisitedEpisode:
    """One played episode: T steps, T+1 observations, states of the steps in `state_steps`."""

    seed: int
    observations: list[np.ndarray] = field(default_factory=list)
    actions: list[int] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    terminations: list[bool] = field(default_factory=list)
    truncations: list[bool] = field(default_factory=list)
    lives: list[int] = field(default_factory=list)
    state_steps: list[int] = field(default_factory=list)
    states: list[bytes] = field(default_factory=list)

    def arrays(self) -> dict[str, np.ndarray]:
        sizes = {len(s) for s in self.states}
        if len(sizes) > 1:
            raise ValueError(f"emulator states of one episode differ in size: {sorted(sizes)}")
        steps = len(self.actions)
        truncations = np.asarray(self.truncations, dtype=bool)
        if steps and not (self.terminations[-1] or truncations[-1]):
            truncations[-1] = True  # stopped by --max-steps: the episode was cut, as Minari marks
        return {
            "observations": np.stack(self.observations).astype(np.uint8),
            "actions": np.asarray(self.actions, dtype=np.int64),
            "rewards": np.asarray(self.rewards, dtype=np.float64),
            "terminations": np.asarray(self.terminations, dtype=bool),
            "truncations": truncations,
            "infos/lives": np.asarray(self.lives, dtype=np.int32),
            "state_steps": np.asarray(self.state_steps, dtype=np.int64),
            "states": np.stack([np.frombuffer(s, dtype=np.uint8) for s in self.states]),
        }


class VisitedRecorder:
    """Hooks for `play_episode`: the observation after every step, the state before some."""

    def __init__(self, state_every: int = 1) -> None:
        if state_every < 1:
            raise ValueError(f"--state-every must be at least 1, got {state_every}")
        self.state_every = state_every
        self.episodes: list[VisitedEpisode] = []

    def start(self, env: Any, observation: np.ndarray, seed: int) -> None:
        episode = VisitedEpisode(seed=seed)
        episode.observations.append(np.asarray(observation)[-1])
        episode.lives.append(_ale(env).lives())
        self.episodes.append(episode)

    def before_step(self, env: Any, step: int) -> None:
        """Save the emulator state the action is about to be taken in (every k-th step)."""
        if step % self.state_every == 0:
            episode = self.episodes[-1]
            episode.state_steps.append(step)
            episode.states.append(_ale(env).cloneState().serialize())

    def after_step(
        self,
        env: Any,
        action: int,
        observation: np.ndarray,
        reward: float,
        terminated: bool,
        truncated: bool,
    ) -> None:
        episode = self.episodes[-1]
        episode.observations.append(np.asarray(observation)[-1])
        episode.actions.append(action)
        episode.rewards.append(reward)
        episode.terminations.append(terminated)
        episode.truncations.append(truncated)
        episode.lives.append(_ale(env).lives())

    def write(
        self,
        path: Path,
        run: dict[str, Any],
        policy: str,
        protocol: str,
        epsilon: float,
        temperature: float = 0.0,
    ) -> None:
        """Write the episodes played so far, with what `fil-collect relabel` needs to replay
        them: the game, environment, frameskip and actions of the run (its run.json
        settings), which policy played and how."""
        header = {
            "game": run["game"],
            "env_id": run["env_id"],
            "frameskip": run_frameskip(run),
            "protocol": protocol,
            "epsilon": epsilon,
            "temperature": temperature,
            "n_actions": run["n_actions"],
            "action_meanings": run["action_meanings"],
            "policy": policy,
            "state_every": self.state_every,
        }
        write_visited(path, self.episodes, header)


def _ale(env: Any) -> Any:
    return env.unwrapped.ale


def write_visited(path: Path, episodes: list[VisitedEpisode], header: dict[str, Any]) -> None:
    """Write the file in one piece (temporary file, then rename): never a half-written file."""
    import ale_py

    attrs = {
        "format": VISITED_FORMAT,
        "format_version": VISITED_VERSION,
        "fil_learn_version": fil_learn.__version__,
        "ale_py_version": ale_py.__version__,
        "created_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "total_episodes": len(episodes),
        **header,
    }
    with replacing(path) as temp, h5py.File(temp, "w") as handle:
        for key, value in attrs.items():
            if isinstance(value, (list, tuple)):
                value = np.array(value, dtype=h5py.string_dtype())
            handle.attrs[key] = value
        for index, episode in enumerate(episodes):
            group = handle.create_group(f"episode_{index}")
            for name, data in episode.arrays().items():
                group.create_dataset(
                    name,
                    data=data,
                    chunks=(min(64, max(1, data.shape[0])), *data.shape[1:]),
                    compression="gzip",
                    compression_opts=6,
                )
            group.attrs["index"] = index
            group.attrs["seed"] = episode.seed
            group.attrs["episode_return"] = float(np.sum(episode.rewards))
            group.attrs["length"] = len(episode.actions)
