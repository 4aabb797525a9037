"""DAgger relabelling: the swarm says what it would do in the states a learner visited.

Plain behaviour cloning drifts: the learner reaches states the teacher never showed it. Our
teacher can start from any emulator state, so `fil-learn eval --save-states` saves the learner's
states and this module runs a short swarm from each chosen one. The label is the swarm's
decision (`SwarmResult.decision`: the first action most walkers' branches share after cloning),
not the first action of its best branch, which is one uniform random draw that happened to be
followed by a good future.

The output is a fil dataset (format v2) of the learner's episodes: its observations, with the
swarm's labels as `actions` (-1 where a step was not labelled), what the learner played as
`behaviour_actions`, and the evidence (`label_votes`, or `label_scores` and `label_lives`).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
from ale_py import ALEState

from fil_collect.dataset import Compression
from fil_collect.env import AtariEmulator, EnvConfig, state_from_bytes
from fil_collect.format import (
    NO_LABEL,
    RELABEL_FORMAT_VERSION,
    RELABEL_SOURCE,
    EpisodeRecord,
    VisitedEpisode,
    VisitedHeader,
    file_header,
    read_visited_episode,
    visited_header,
)
from fil_collect.games import Game, resolve_game
from fil_collect.guide import GuideConfig, PolicyGuide, load_guide, stack_rows
from fil_collect.jobs import EpisodeJobs
from fil_collect.swarm import Swarm, SwarmConfig, SwarmResult
from fil_collect.workers import EpisodeProgress, TaskProgress, local_workers

Rule = Literal["vote", "best", "value"]
RULES: tuple[str, ...] = get_args(Rule)


def label_swarm(
    n_walkers: int = 16, max_epochs: int = 10, max_dt: int = 8, life_loss_is_death: bool = True
) -> SwarmConfig:
    """A short label swarm: its horizon is the epoch count alone (no frame budget), and the
    collection rules for long episodes (lives in the virtual reward, rewinds) stay off, so a
    label compares first moves by what the swarm finds, not by how it survives."""
    return SwarmConfig(
        n_walkers=n_walkers,
        max_epochs=max_epochs,
        max_frames=None,
        max_dt=max_dt,
        life_loss_is_death=life_loss_is_death,
        lives_scale=0.0,
        rewind_every=0,
    )


@dataclass(frozen=True)
class RelabelConfig:
    """How each visited state is labelled; the cost per label is bounded by the swarm settings
    (at most n_walkers x max_epochs x max_dt agent steps) and the number of labels by `every`
    and `max_labels`."""

    swarm: SwarmConfig = field(default_factory=label_swarm)
    """A short swarm: 16 walkers x 10 epochs of ~4 steps look ~3 s of play ahead. Losing a life
    is death here (unlike collection): within so short a horizon the score alone cannot see
    that dying is bad."""
    every: int = 1
    """Label every k-th visited step that has a saved state."""
    max_labels: int | None = None
    """At most this many labels per episode, evenly spaced (bounds the cost of long episodes)."""
    rule: Rule = "vote"
    """`vote`: the swarm's majority first action; `best`: the best walker's first action;
    `value`: one swarm per first action (`swarm.n_walkers` walkers each), ranked by lives kept,
    then score; where all moves tie the state stays unlabelled, and other ties keep the
    learner's own move when it is among the best (see `_value_label`)."""
    seed: int = 0
    """Seeds each label's swarm together with the episode and step."""
    guide: GuideConfig | None = None
    """A policy the label swarms' walkers draw from (expert iteration's relabel): each swarm
    starts from the learner's own 4 observations of the state it labels."""

    def validate(self) -> None:
        self.swarm.validate()
        if self.guide is not None:
            self.guide.validate()
        if self.every < 1:
            raise ValueError(f"--every must be at least 1, got {self.every}")
        if self.max_labels is not None and self.max_labels < 1:
            raise ValueError(f"--max-labels must be at least 1, got {self.max_labels}")
        if self.rule not in RULES:
            raise ValueError(f"--rule must be one of {', '.join(RULES)}, got {self.rule!r}")

    def settings(self, env: EnvConfig) -> dict[str, Any]:
        """What every episode of one relabelled file shares (appending needs the same)."""
        return {
            "kind": "relabel",
            "game": env.game.rom,
            "frameskip": env.frameskip,
            "max_episode_frames": env.max_episode_frames,
            "repeat_action_probability": 0.0,
            "every": self.every,
            "max_labels": self.max_labels,
            "rule": self.rule,
            "seed": self.seed,
            **{f"swarm.{k}": v for k, v in asdict(self.swarm).items()},
            **({} if self.guide is None else self.guide.settings()),
        }


def chosen_steps(state_steps: np.ndarray, config: RelabelConfig) -> np.ndarray:
    """The steps to label: every k-th saved state, thinned evenly to `max_labels`."""
    steps = state_steps[:: config.every]
    if config.max_labels is not None and steps.size > config.max_labels:
        picks = np.linspace(0, steps.size - 1, config.max_labels).round().astype(np.int64)
        steps = steps[np.unique(picks)]
    return steps


@dataclass(frozen=True)
class Label:
    """The teacher's action in one state and the evidence for it."""

    action: int
    evidence: dict[str, np.ndarray]
    """`votes` (vote, best) or `scores` and `lives` per first action (value)."""
    emulator_frames: int


@dataclass(frozen=True)
class LabelSearch:
    """What every label swarm of one episode shares: the emulators, the settings and the
    guiding policy (None: uniform draws)."""

    emulators: list[AtariEmulator]
    config: RelabelConfig
    guide: PolicyGuide | None = None

    def run(
        self,
        state: ALEState,
        rng: np.random.Generator,
        stack: np.ndarray,
        first_action: int | None = None,
    ) -> SwarmResult:
        """One label swarm from `state`, whose observation (for a guide) is `stack`."""
        swarm = Swarm(self.emulators, self.config.swarm, rng, self.guide)
        return swarm.run(state, first_action=first_action, root_stack=stack)


def label_state(
    search: LabelSearch,
    state: ALEState,
    stack: np.ndarray,
    rng: np.random.Generator,
    learner_action: int,
) -> Label:
    """Ask short swarms from `state` (seen as `stack`) what to do there."""
    if search.config.rule == "value":
        return _label_by_value(search, state, stack, rng, learner_action)
    result = search.run(state, rng, stack)
    action = result.decision() if search.config.rule == "vote" else result.best_root
    return Label(action, {"votes": result.root_votes.astype(np.int32)}, result.emulator_frames)


def _label_by_value(
    search: LabelSearch,
    state: ALEState,
    stack: np.ndarray,
    rng: np.random.Generator,
    learner_action: int,
) -> Label:
    n_actions = search.emulators[0].n_actions
    scores = np.zeros(n_actions, dtype=np.float64)
    lives = np.zeros(n_actions, dtype=np.int32)
    frames = 0
    # Common random numbers: every first action's swarm draws the same random numbers, so a
    # difference in score comes from the first action more than from a luckier continuation.
    continuation_seed = int(rng.integers(2**63))
    for action in range(n_actions):
        swarm_rng = np.random.default_rng(continuation_seed)
        result = search.run(state, swarm_rng, stack, first_action=action)
        scores[action] = result.score
        # a first move after which every walker reaches game over is the worst there is
        lives[action] = -1 if result.stop_reason == "all walkers dead" else result.best_lives
        frames += result.emulator_frames
    return Label(
        _value_label(scores, lives, learner_action, rng), {"scores": scores, "lives": lives}, frames
    )


def best_first_moves(scores: np.ndarray, lives: np.ndarray) -> np.ndarray:
    """The first moves `--rule value` ranks best at one state (most lives kept, then highest
    score), as action indices; every index where all moves tie."""
    survivors = np.flatnonzero(lives == lives.max())
    return survivors[scores[survivors] == scores[survivors].max()]


def _value_label(
    scores: np.ndarray, lives: np.ndarray, learner_action: int, rng: np.random.Generator
) -> int:
    """The best first move: most lives kept, then highest score.

    Where every move ties, the search saw no difference, and the state stays unlabelled: keeping
    the learner's move would only reinforce whatever it already does (a learner that idles
    learns to idle more). Where the learner's move is among the best it is kept; other ties are
    broken at random, never by action index (index 0 is NOOP, and a fixed tie-break taught it).
    """
    best = best_first_moves(scores, lives)
    if best.size == scores.size:
        return NO_LABEL
    if learner_action in best:
        return learner_action
    return int(rng.choice(best))


@dataclass(frozen=True)
class RelabelTask:
    path: str
    episode: int
    game: str
    config: RelabelConfig
    frameskip: int = 4
    """Emulator frames per step of the visited episodes (the learner's; the labels use it too)."""


@dataclass
class _Labels:
    """The labels of one visited episode: an action or NO_LABEL per step, and the evidence."""

    actions: np.ndarray
    evidence: dict[str, np.ndarray]
    emulator_frames: int


def relabel_episode(
    task: RelabelTask, index: int, progress: TaskProgress | None = None
) -> EpisodeRecord:
    """Label the chosen steps of one visited episode with short swarms from their states."""
    started = time.perf_counter()
    visited = read_visited_episode(Path(task.path), task.episode)
    chosen = chosen_steps(visited.state_steps, task.config)
    labels = _label_steps(task, visited, chosen, progress)
    seconds = time.perf_counter() - started
    played = visited.played
    return EpisodeRecord(
        index=index,
        demo=dataclasses.replace(played, actions=labels.actions),
        start_state=visited.states[0].tobytes(),
        attrs={
            "source": RELABEL_SOURCE,
            "visited_file": task.path,
            "visited_index": task.episode,
            "seed": visited.seed,
            "terminated": bool(played.terminations[-1]) if played.length else False,
            "truncated": bool(played.truncations[-1]) if played.length else False,
            "labels": int(chosen.size),
            "label_emulator_frames": labels.emulator_frames,
            "label_seconds": seconds,
            "emulator_frames": labels.emulator_frames,
            "wall_seconds": seconds,
        },
        extra_arrays={
            "behaviour_actions": played.actions.astype(np.int64),
            "label_examined": np.isin(np.arange(played.length), chosen),
            **{f"label_{name}": values for name, values in labels.evidence.items()},
        },
    )


def _label_steps(
    task: RelabelTask, visited: VisitedEpisode, chosen: np.ndarray, progress: TaskProgress | None
) -> _Labels:
    """Run the label swarms from the saved states of the `chosen` steps."""
    config = task.config
    env = EnvConfig(resolve_game(task.game), frameskip=task.frameskip)
    emulators = [AtariEmulator(env, seed=0) for _ in range(config.swarm.n_walkers)]
    guide = None if config.guide is None else load_guide(config.guide, env)
    search = LabelSearch(emulators, config, guide)
    steps, n_actions = visited.played.length, emulators[0].n_actions
    labels = _Labels(np.full(steps, NO_LABEL, dtype=np.int64), {}, 0)
    state_of = {step: position for position, step in enumerate(visited.state_steps.tolist())}
    for done, step in enumerate(chosen.tolist(), start=1):
        state = state_from_bytes(visited.states[state_of[step]].tobytes())
        rng = np.random.default_rng([config.seed, task.episode, step])
        learner_action = int(visited.played.actions[step])
        stack = visited.played.observations[stack_rows(step)]
        label = label_state(search, state, stack, rng, learner_action)
        labels.actions[step] = label.action
        for name, values in label.evidence.items():
            shape = (steps, n_actions)
            labels.evidence.setdefault(name, np.zeros(shape, dtype=values.dtype))[step] = values
        labels.emulator_frames += label.emulator_frames
        if progress is not None:
            progress(done, len(chosen), None)
    return labels


def relabel_header(config: RelabelConfig, visited: VisitedHeader, game: Game) -> dict[str, Any]:
    """File attributes of a relabelled dataset: the spec's table, version 2, and the policy
    and protocol that played the visited episodes."""
    env = EnvConfig(game, frameskip=visited.frameskip)
    return {
        **file_header(env, config.settings(env), RELABEL_FORMAT_VERSION),
        "visited_policy": visited.policy,
        "visited_protocol": visited.protocol,
    }


@dataclass(frozen=True)
class LabelsWritten:
    """A relabelled episode is on disk."""

    index: int
    labels: int
    steps: int
    emulator_frames: int
    seconds: float
    learner_return: float


Event = EpisodeProgress | LabelsWritten


class Relabelling(EpisodeJobs[LabelsWritten]):
    """A checked relabelling run: everything is validated before the first swarm starts.

    Output episode `i` is visited episode `i`, so an interrupted run continues where it stopped
    and never labels an episode twice.
    """

    work = staticmethod(relabel_episode)

    def __init__(
        self,
        visited: Path,
        out: Path,
        config: RelabelConfig,
        workers: int,
        compression: Compression,
        force: bool = False,
        ray_address: str | None = None,
    ) -> None:
        """`ray_address` (e.g. 'auto') labels episodes as tasks on that Ray cluster instead of
        in `workers` local processes; the writer stays here either way."""
        config.validate()
        if out.resolve() == visited.resolve():
            raise ValueError(
                f"--out {out} is the visited-states file being relabelled: give a new file "
                "(relabelled.h5), which fil-learn fit trains on"
            )
        self.visited = visited
        self.config = config
        super().__init__(out, compression, workers, ray_address, force)

    @classmethod
    def from_options(
        cls,
        *,
        visited: Path,
        out_path: Path,
        workers: int | None,
        ray: str | None,
        force: bool,
        walkers: int,
        epochs: int,
        max_dt: int,
        life_loss_is_death: bool,
        policy: Path | None = None,
        policy_temperature: float = GuideConfig.temperature,
        policy_epsilon: float = GuideConfig.epsilon,
        **config: Any,
    ) -> Relabelling:
        """The run the command-line options describe (`config`: `RelabelConfig` fields)."""
        swarm = label_swarm(walkers, epochs, max_dt, life_loss_is_death)
        guide = None
        if policy is not None:
            guide = GuideConfig(policy, temperature=policy_temperature, epsilon=policy_epsilon)
        return cls(
            visited,
            out_path,
            RelabelConfig(swarm=swarm, guide=guide, **config),
            local_workers(workers, ray),
            Compression(),
            force=force,
            ray_address=ray,
        )

    def header(self) -> dict[str, Any]:
        """Read after the runner's checks: the visited file says the game and the rate."""
        self.source = visited_header(self.visited)
        self.game = resolve_game(self.source.game)
        if self.config.guide is not None:  # a policy for another game fails before any work
            env = EnvConfig(self.game, frameskip=self.source.frameskip)
            load_guide(self.config.guide, env)
        return relabel_header(self.config, self.source, self.game)

    def plan(self, existing: dict[int, int]) -> list[int]:
        return [i for i in range(self.source.episodes) if i not in existing]

    def task(self, index: int) -> RelabelTask:
        frameskip = self.source.frameskip
        return RelabelTask(str(self.visited), index, self.game.rom, self.config, frameskip)

    def written(self, record: EpisodeRecord) -> LabelsWritten:
        return LabelsWritten(
            index=record.index,
            labels=record.attrs["labels"],
            steps=record.demo.length,
            emulator_frames=record.attrs["label_emulator_frames"],
            seconds=record.attrs["label_seconds"],
            learner_return=record.demo.episode_return,
        )
