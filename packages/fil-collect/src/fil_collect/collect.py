"""A collection run: independent swarm episodes, in worker processes, written by one writer.

Episode `i` depends only on the settings and `(seed, i)`, never on which worker ran it or in
which order episodes finished, so the same command gives the same dataset with any `--workers`,
and an interrupted run, continued, gives the episodes an uninterrupted one would have.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fil_collect.dataset import Compression, CompressionName
from fil_collect.env import AtariEmulator, EnvConfig
from fil_collect.format import SWARM_FORMAT_VERSION, EpisodeRecord, file_header
from fil_collect.games import resolve_game
from fil_collect.guide import GuideConfig, load_guide
from fil_collect.jobs import EpisodeJobs
from fil_collect.replay import check_return, expand, replay
from fil_collect.swarm import SwarmConfig, SwarmResult
from fil_collect.widening import search_episode
from fil_collect.workers import EpisodeProgress, TaskProgress, local_workers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CollectConfig:
    """Everything that determines the episodes of a dataset."""

    env: EnvConfig
    swarm: SwarmConfig
    raw_frames: bool = False
    """Also store the full 210x160 RGB screens (about 15x the size of the 84x84 frames)."""
    seed: int = 0
    """Base seed; episode i uses a seed derived from (seed, i)."""
    guide: GuideConfig | None = None
    """A policy that walkers draw their actions from (expert iteration), else uniform draws."""

    def validate(self) -> None:
        self.env.validate()
        for name, value in asdict(self.swarm).items():  # NaN passes every comparison below
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"--{name.replace('_', '-')} must be a finite number, got {value}")
        self.swarm.validate()
        if self.guide is not None:
            self.guide.validate()
        if self.seed < 0:
            raise ValueError(f"--seed must be >= 0, got {self.seed}")

    @classmethod
    def from_options(
        cls,
        *,
        game: str,
        frameskip: int,
        max_episode_frames: int,
        walkers: int,
        epochs: int | None,
        max_frames: int | None,
        minutes: float | None,
        policy: Path | None,
        policy_temperature: float,
        policy_epsilon: float,
        raw_frames: bool,
        seed: int,
        **swarm: Any,
    ) -> CollectConfig:
        """The config the command-line options describe; `swarm` are the options named as
        `SwarmConfig` fields (`min_dt`, `reward_scale`, ...). `max_frames` 0 means no limit."""
        return cls(
            env=EnvConfig(
                resolve_game(game), frameskip=frameskip, max_episode_frames=max_episode_frames
            ),
            swarm=SwarmConfig(
                n_walkers=walkers,
                max_epochs=epochs,
                max_frames=max_frames or None,
                max_minutes=minutes,
                **swarm,
            ),
            raw_frames=raw_frames,
            seed=seed,
            guide=None
            if policy is None
            else GuideConfig(policy, temperature=policy_temperature, epsilon=policy_epsilon),
        )

    def settings(self) -> dict[str, Any]:
        """The settings that every episode of one file must share (the seed may differ)."""
        return {
            "game": self.env.game.rom,
            "frameskip": self.env.frameskip,
            "max_episode_frames": self.env.max_episode_frames,
            "repeat_action_probability": 0.0,
            "raw_frames": self.raw_frames,
            **{f"swarm.{k}": v for k, v in asdict(self.swarm).items()},
            **({} if self.guide is None else self.guide.settings()),
        }


def episode_seed(base_seed: int, index: int) -> int:
    """The seed of episode `index`: independent streams for every (base seed, index) pair."""
    return int(np.random.SeedSequence(base_seed, spawn_key=(index,)).generate_state(1)[0])


def collect_episode(
    config: CollectConfig, index: int, progress: TaskProgress | None = None
) -> EpisodeRecord:
    """Run one swarm, replay its best branch from the start state, and check the replay."""
    started = time.perf_counter()
    seed = episode_seed(config.seed, index)
    replay_emulator = AtariEmulator(config.env, seed)
    root = replay_emulator.clone()
    guide = None if config.guide is None else load_guide(config.guide, config.env)

    def on_epoch(epoch: int, score: float) -> None:
        if progress is not None:
            progress(epoch, config.swarm.max_epochs, score)

    def emulators(count: int) -> list[AtariEmulator]:
        return [AtariEmulator(config.env, seed) for _ in range(count)]

    search = search_episode(emulators, config.swarm, seed, root, on_epoch, guide)
    result = search.result
    demo = replay(replay_emulator, root, expand(result.branch), raw_frames=config.raw_frames)
    check_return(demo, result.score)
    return EpisodeRecord(
        index=index,
        demo=demo,
        start_state=root.serialize(),
        extra_arrays=decision_arrays(result),
        attrs={
            "seed": seed,
            "base_seed": config.seed,
            "swarm_score": result.score,
            "terminated": bool(demo.terminations[-1]) if demo.length else False,
            "truncated": bool(demo.truncations[-1]) if demo.length else False,
            "swarm_epochs": result.epochs,
            "swarm_stop_reason": result.stop_reason,
            "emulator_frames": result.emulator_frames,
            "wall_seconds": time.perf_counter() - started,
            **search.attrs(),
        },
    )


def decision_arrays(result: SwarmResult) -> dict[str, np.ndarray]:
    """Per agent step, (T, n_actions) each: the swarm's judgement of the decision the step
    belongs to, repeated over the decision's dt steps. `visit_counts` are the walkers counted
    under each action, `visit_shares` the same normalized (soft targets, version 3),
    `action_values` their mean reward after the decision (NaN where none was counted)."""
    n_actions = len(result.root_votes)
    if result.decisions is None or not result.branch:
        counts = np.zeros((0, n_actions), dtype=np.int64)
        values = np.zeros((0, n_actions), dtype=np.float64)
    else:
        repeats = [step.dt for step in result.branch]
        counts = np.repeat(result.decisions.counts, repeats, axis=0)
        values = np.repeat(result.decisions.values, repeats, axis=0)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    return {
        "visit_shares": shares.astype(np.float32),
        "visit_counts": counts.astype(np.int32),
        "action_values": values.astype(np.float32),
    }


def dataset_header(config: CollectConfig) -> dict[str, Any]:
    """File attributes of a new dataset of swarm episodes."""
    return file_header(config.env, config.settings(), SWARM_FORMAT_VERSION)


@dataclass(frozen=True)
class EpisodeWritten:
    """An episode is on disk: from here on no interruption can lose it."""

    index: int
    episode_return: float
    length: int
    epochs: int
    emulator_frames: int
    wall_seconds: float


Event = EpisodeProgress | EpisodeWritten

MAX_EPISODES = 100_000
"""Most episodes one file is planned to hold: every planned episode is a task object, so a
mistyped `--episodes 1000000000` must be refused, not planned until memory runs out."""


def plan_indices(existing: set[int], episodes: int) -> list[int]:
    """The `episodes` smallest indices not in the file yet: an interrupted run's gaps first."""
    planned: list[int] = []
    index = 0
    while len(planned) < episodes:
        if index not in existing:
            planned.append(index)
        index += 1
    return planned


class Collection(EpisodeJobs[EpisodeWritten]):
    """A checked collection run: construction validates everything before any search starts,
    so bad input costs nothing and damages nothing; `run` then does the work."""

    work = staticmethod(collect_episode)

    def __init__(
        self,
        config: CollectConfig,
        path: Path,
        episodes: int,
        workers: int,
        compression: Compression,
        force: bool = False,
        ray_address: str | None = None,
        total_frames: int | None = None,
    ) -> None:
        """`episodes` is the total the file should hold, so the same command continues an
        interrupted run (and adds nothing to a complete one). `ray_address` (e.g. 'auto') runs
        the swarms as tasks on that Ray cluster instead of in `workers` local processes.

        `total_frames` budgets the file in emulator frames instead: episodes are added in index
        order until those in the file cost that many frames in all (`episodes` is then the
        most). A game whose episodes run long gets fewer of them for the same cost, so every
        game's collection costs the same; the written order makes the file the same with any
        number of workers."""
        config.validate()
        if total_frames is not None and total_frames < 1:
            raise ValueError(f"--total-frames must be at least 1, got {total_frames}")
        self.total_frames = total_frames
        self.in_order = total_frames is not None
        self.frames = 0  # emulator frames of the episodes in the file (`plan`, `enough`)
        if config.guide is not None:  # a policy for another game fails before any work
            load_guide(config.guide, config.env)
        if episodes < 1:
            raise ValueError(f"--episodes must be at least 1, got {episodes}")
        if episodes > MAX_EPISODES:
            raise ValueError(
                f"--episodes {episodes:,} is more than one file holds ({MAX_EPISODES:,}; each "
                "episode is minutes of search): collect in several files and `fil-collect merge`"
            )
        self.config = config
        self.episodes = episodes
        super().__init__(path, compression, workers, ray_address, force)

    @classmethod
    def from_options(
        cls,
        *,
        out_path: Path | None,
        episodes: int,
        workers: int | None,
        ray: str | None,
        compression: CompressionName,
        compression_level: int,
        force: bool,
        total_frames: int | None = None,
        **settings: Any,
    ) -> Collection:
        """The run the command-line options describe (`settings`: `CollectConfig.from_options`)."""
        if settings.get("game") is None or out_path is None:
            raise ValueError(
                "give --game and --out, e.g. fil-collect --game SpaceInvaders --out ds.h5"
            )
        return cls(
            CollectConfig.from_options(**settings),
            out_path,
            episodes,
            local_workers(workers, ray),
            Compression(compression, compression_level),
            force=force,
            ray_address=ray,
            total_frames=total_frames,
        )

    def header(self) -> dict[str, Any]:
        return dataset_header(self.config)

    def plan(self, existing: dict[int, int]) -> list[int]:
        self.frames = sum(existing.values())
        if self.total_frames is not None and self.frames >= self.total_frames:
            return []
        return plan_indices(set(existing), max(self.episodes - len(existing), 0))

    def enough(self, record: EpisodeRecord) -> bool:
        self.frames += int(record.attrs["emulator_frames"])
        return self.total_frames is not None and self.frames >= self.total_frames

    def task(self, index: int) -> CollectConfig:
        return self.config

    def written(self, record: EpisodeRecord) -> EpisodeWritten:
        return EpisodeWritten(
            index=record.index,
            episode_return=record.demo.episode_return,
            length=record.demo.length,
            epochs=record.attrs["swarm_epochs"],
            emulator_frames=record.attrs["emulator_frames"],
            wall_seconds=record.attrs["wall_seconds"],
        )
