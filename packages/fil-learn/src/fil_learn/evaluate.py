"""Play a trained policy in Gymnasium's own Atari pipeline, under a named protocol.

The observation pipeline is Gymnasium's `AtariPreprocessing` + `FrameStackObservation(4)`, the
same one the dataset's frames were checked against, so a score here means what it means in
the literature:
- `v5`: `ALE/<Game>-v5` with sticky actions (0.25), the full game up to the 108,000-frame cap;
- `noop30`: no sticky actions and 1-30 random no-ops at the start (the DQN papers' protocol).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np

from fil_learn.data import STACK
from fil_learn.failures import WriteFailed, environment_errno
from fil_learn.games import human_normalized, reference_scores
from fil_learn.outputs import replacing
from fil_learn.visited import VisitedRecorder

Protocol = Literal["v5", "noop30"]
PROTOCOLS: tuple[str, ...] = get_args(Protocol)


@dataclass(frozen=True)
class EvalConfig:
    """How episodes are played."""

    protocol: Protocol = "v5"
    """`v5` (sticky actions 0.25) or `noop30` (no sticky actions, 1-30 no-ops at reset)."""
    episodes: int = 10
    epsilon: float = 0.0
    """Probability of a uniformly random action at each step; 0 plays greedily."""
    seed: int = 0
    """Episode i resets with seed + i."""
    max_steps: int | None = None
    """Stop an episode after this many agent steps (for quick checks; None plays to the end)."""
    temperature: float = 0.0
    """0 plays the policy's most likely action; T > 0 draws from softmax(logits / T). A policy
    cloned from a stochastic teacher (the swarm's visit shares) is a distribution: drawing from
    it keeps the teacher's variety where greedy play repeats one button (measured on
    SpaceInvaders: greedy plays better; results/README.md)."""

    def validate(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(
                f"--protocol must be one of {', '.join(PROTOCOLS)}, got {self.protocol!r}"
            )
        if self.episodes < 1:
            raise ValueError(f"--episodes must be at least 1, got {self.episodes}")
        if not 0.0 <= self.epsilon <= 1.0:
            raise ValueError(f"--epsilon must be in [0, 1], got {self.epsilon}")
        if not (math.isfinite(self.temperature) and self.temperature >= 0.0):
            raise ValueError(f"--temperature must be 0 (greedy) or more, got {self.temperature}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"--max-steps must be at least 1, got {self.max_steps}")


def ci95(values: list[float]) -> float:
    """Half-width of the 95% confidence interval of the mean of `values` (Student t); NaN
    for fewer than two."""
    n = len(values)
    if n < 2:
        return math.nan
    from scipy import stats

    std = float(np.std(values, ddof=1))
    return float(stats.t.ppf(0.975, n - 1) * std / math.sqrt(n))


@dataclass(frozen=True)
class EvalReport:
    game: str
    protocol: str
    returns: list[float]
    lengths: list[int]
    action_counts: list[int] = field(default_factory=list)
    """Steps on which each action was played, over all episodes: a policy that presses one
    button all game shows at once."""
    interrupted: bool = False
    """Ctrl-C stopped the evaluation: the report holds the episodes that finished."""
    config: EvalConfig | None = None
    """How the episodes were played: the JSON names it, so a score read later says whether
    it was greedy, which seeds, and whether episodes were cut (`max_steps`)."""
    video_failed: WriteFailed | None = None
    """The video could not be written (a full disk): the scores stand, the mp4 is absent."""

    @property
    def mean(self) -> float:
        return float(np.mean(self.returns))

    @property
    def std(self) -> float:
        return float(np.std(self.returns, ddof=1)) if len(self.returns) > 1 else 0.0

    @property
    def ci95(self) -> float:
        """Half-width of the 95% confidence interval of the mean (Student t)."""
        return ci95(self.returns)

    @property
    def distinct_games(self) -> int:
        """Episodes that differ in return or length. A policy that holds its actions is barely
        perturbed by sticky actions, so 30 seeds can replay a handful of games, and the
        interval then describes those games, not the policy's spread."""
        return len(set(zip(self.returns, self.lengths, strict=True)))

    def summary(self) -> dict[str, Any]:
        scores = reference_scores(self.game)
        return {
            "game": self.game,
            "protocol": self.protocol,
            "episodes": len(self.returns),
            "mean": self.mean,
            "std": self.std,
            "ci95": self.ci95,
            "distinct_games": self.distinct_games,
            "min": float(np.min(self.returns)),
            "max": float(np.max(self.returns)),
            "mean_length": float(np.mean(self.lengths)),
            "human_normalized": human_normalized(self.mean, self.game),
            "random_score": scores[0] if scores else None,
            "human_score": scores[1] if scores else None,
            "returns": self.returns,
            "lengths": self.lengths,
            "action_counts": self.action_counts,
            "interrupted": self.interrupted,
            **self.played_as(),
        }

    def played_as(self) -> dict[str, Any]:
        """The settings that change a score (none for a report built without its config)."""
        if self.config is None:
            return {}
        c = self.config
        return {
            "seed": c.seed,
            "epsilon": c.epsilon,
            "temperature": c.temperature,
            "max_steps": c.max_steps,
        }


def make_env(
    env_id: str, protocol: str, render: bool = False, stack: int = STACK, frameskip: int = 4
) -> Any:
    """The Gymnasium environment of a protocol, with the standard Atari observation pipeline
    (`stack` frames per observation, as the policy was trained), stepping `frameskip` emulator
    frames per action: the rate the demonstrations were recorded at (`frameskip` of the
    dataset, kept in run.json)."""
    try:
        import ale_py
        import gymnasium as gym
        from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation
    except ImportError:
        raise ValueError("evaluation needs the emulator: pip install 'fil-learn[eval]'") from None
    gym.register_envs(ale_py)
    sticky = 0.25 if protocol == "v5" else 0.0
    env = gym.make(
        env_id,
        frameskip=1,
        repeat_action_probability=sticky,
        render_mode="rgb_array" if render else None,
    )
    env = AtariPreprocessing(
        env,
        frame_skip=frameskip,
        screen_size=84,
        grayscale_obs=True,
        noop_max=30 if protocol == "noop30" else 0,
    )
    return FrameStackObservation(env, stack)


Policy = Callable[[np.ndarray], np.ndarray]


def play_episode(
    env: Any,
    policy: Policy,
    rng: np.random.Generator,
    epsilon: float,
    seed: int,
    max_steps: int | None = None,
    temperature: float = 0.0,
    on_frame: Callable[[np.ndarray], None] | None = None,
    recorder: VisitedRecorder | None = None,
) -> tuple[float, np.ndarray]:
    """One episode; returns its return and the actions played. `on_frame` receives RGB screens
    for a video; `recorder` keeps the observations and emulator states for relabelling."""
    observation, _ = env.reset(seed=seed)
    if recorder is not None:
        recorder.start(env, observation, seed)
    n_actions = env.action_space.n
    total, steps, played = 0.0, 0, []
    while True:
        if on_frame is not None:
            on_frame(env.render())
        if recorder is not None:
            recorder.before_step(env, steps)
        if rng.random() < epsilon:
            action = int(rng.integers(n_actions))
        else:
            logits = policy(np.moveaxis(np.asarray(observation), 0, -1)[None])
            action = choose_action(logits[0], temperature, rng)
        observation, reward, terminated, truncated, _ = env.step(action)
        if recorder is not None:
            recorder.after_step(env, action, observation, float(reward), terminated, truncated)
        total += float(reward)
        steps += 1
        played.append(action)
        if terminated or truncated or (max_steps is not None and steps >= max_steps):
            return total, np.array(played, dtype=np.int64)


def choose_action(logits: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """The most likely action at temperature 0, else a draw from softmax(logits / T)."""
    if temperature == 0.0:
        return int(np.argmax(logits))
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    p = np.exp(scaled - scaled.max())
    return int(rng.choice(p.size, p=p / p.sum()))


def evaluate(
    policy: Policy,
    env_id: str,
    game: str,
    config: EvalConfig,
    video: Path | None = None,
    on_episode: Callable[[int, float, int], None] = lambda i, r, n: None,
    recorder: VisitedRecorder | None = None,
    stack: int = STACK,
    frameskip: int = 4,
) -> EvalReport:
    """Play `config.episodes` episodes; the first one is streamed to `video` if given, and
    every one recorded to `recorder` if given. Ctrl-C ends the evaluation with a report of the
    episodes that finished (`interrupted` set), so none of them is lost."""
    config.validate()
    if video is not None:
        _check_video_writer()
    env = make_env(
        env_id, config.protocol, render=video is not None, stack=stack, frameskip=frameskip
    )
    rng = np.random.default_rng(config.seed)
    returns: list[float] = []
    lengths: list[int] = []
    counts = np.zeros(env.action_space.n, dtype=np.int64)
    interrupted = False
    video_failed = None
    try:
        for i in range(config.episodes):
            recorded = video if i == 0 else None  # the video shows the first episode
            episode_return, actions, failed = _play_recorded(
                env, policy, rng, config, i, recorded, recorder
            )
            video_failed = video_failed or failed
            steps = len(actions)
            returns.append(episode_return)
            lengths.append(steps)
            counts += np.bincount(actions, minlength=counts.size)
            on_episode(i, episode_return, steps)
    except KeyboardInterrupt:
        interrupted = True
        if recorder is not None:
            del recorder.episodes[len(returns) :]  # the episode cut short is not a finished one
    finally:
        env.close()
    return EvalReport(
        game,
        config.protocol,
        returns,
        lengths,
        [int(c) for c in counts],
        interrupted,
        config,
        video_failed,
    )


def _play_recorded(
    env: Any,
    policy: Policy,
    rng: np.random.Generator,
    config: EvalConfig,
    index: int,
    video: Path | None,
    recorder: VisitedRecorder | None,
) -> tuple[float, np.ndarray, WriteFailed | None]:
    """Play episode `index`, streamed to `video` if given: its return, its actions, and the
    failure of a video that could not be written (the episode still counts)."""
    played: tuple[float, np.ndarray] | None = None
    try:
        with contextlib.ExitStack() as opened:
            writer = opened.enter_context(_video_writer(video)) if video else None
            played = play_episode(
                env,
                policy,
                rng,
                config.epsilon,
                config.seed + index,
                config.max_steps,
                config.temperature,
                writer,
                recorder,
            )
    except WriteFailed as error:
        if played is None:  # the video could not even start: nothing was played
            raise
        return *played, error
    return *played, None


def _check_video_writer() -> None:
    """Fail before playing, not after a long episode, when mp4 writing is not installed."""
    try:
        import imageio.v2  # noqa: F401
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        raise ValueError(
            "--video needs imageio and imageio-ffmpeg: pip install 'fil-learn[eval]'"
        ) from None


@contextlib.contextmanager
def _video_writer(path: Path) -> Iterator[Callable[[np.ndarray], None]]:
    """An mp4 that frames are appended to as they are played: memory stays one frame, not the
    whole episode (about 2.7 GB of RGB screens at the 27,000-step cap)."""
    import imageio.v2 as imageio

    try:
        with replacing(path, ".mp4") as temp:  # a full disk leaves no 0-byte or half mp4
            with (
                warnings.catch_warnings(),
                imageio.get_writer(
                    temp, fps=15, macro_block_size=1, ffmpeg_log_level="quiet"
                ) as writer,
            ):
                # imageio-ffmpeg forks ffmpeg; Python warns that JAX's threads may not like
                # fork, but the child only execs ffmpeg and never touches JAX.
                warnings.simplefilter("ignore", RuntimeWarning)
                failed: list[BaseException] = []

                def append(frame: np.ndarray) -> None:
                    """The episode goes on when ffmpeg stops: its score still counts."""
                    if not failed:
                        try:
                            writer.append_data(frame)
                        except (OSError, RuntimeError) as error:
                            failed.append(error)

                yield append
            if failed or not whole_mp4(temp):  # ffmpeg may stop at a full disk, exit 0
                raise WriteFailed(f"ffmpeg could not finish {path}")
    except (OSError, RuntimeError) as error:  # ffmpeg's broken pipe says nothing of the disk
        if (
            not isinstance(error, WriteFailed | BrokenPipeError)
            and environment_errno(error) is None
        ):
            raise
        raise WriteFailed(
            f"writing the video {path} failed (ffmpeg stopped: is the disk full or the folder "
            "read-only?); no partial mp4 was left"
        ) from None


def whole_mp4(path: Path) -> bool:
    """Whether an mp4 is complete: its top-level boxes tile the file and one is the `moov`
    index, which ffmpeg writes last (a write cut short by a full disk lacks it)."""
    size, position, boxes = path.stat().st_size, 0, set()
    with path.open("rb") as video:
        while position < size:
            video.seek(position)
            header = video.read(16)
            if len(header) < 8:
                return False
            length, kind = int.from_bytes(header[:4], "big"), header[4:8]
            if length == 1 and len(header) == 16:  # a 64-bit size follows the type
                length = int.from_bytes(header[8:16], "big")
            if length < 8:
                return False
            boxes.add(kind)
            position += length
    return position == size and b"moov" in boxes
