"""A trained policy as Python users hold it: from a run folder (JAX) or an `.onnx` file.

Observations are taken exactly as Gymnasium gives them: `FrameStackObservation(
AtariPreprocessing(...), 4)` yields (4, 84, 84) uint8, frames first, and `Policy.logits` takes a
batch of those. The network itself is channels-last (`model.py`); the transposition happens
here, once, so no caller has to know. JAX is imported only for a run folder, and onnxruntime
only for an `.onnx` file, so `import fil_learn` stays light. `load_best` is the one loader of
a run's best parameters: `load_policy`, `fil-learn eval` and `fil-learn export` use it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fil_learn.data import STACK

if TYPE_CHECKING:
    from fil_learn.model import NatureCNN

SIZE = 84
"""Observation height and width (Gymnasium's AtariPreprocessing)."""
ONNX_EXTRA = "pip install 'fil-learn[onnx]'"


class Policy:
    """Action logits for stacked Atari frames, and the action to play.

    `game`, `env_id`, `action_meanings` (the minimal action set, in the order of the logits)
    and `frameskip` say which environment it plays: `gym.make(env_id, frameskip=1)` wrapped
    in `AtariPreprocessing(frame_skip=frameskip)` and `FrameStackObservation(4)`.
    """

    def __init__(
        self,
        forward: Callable[[np.ndarray], np.ndarray],
        game: str,
        env_id: str,
        action_meanings: Sequence[str],
        frameskip: int,
        source: str,
    ) -> None:
        self._forward = forward
        self.game = game
        self.env_id = env_id
        self.action_meanings = tuple(action_meanings)
        self.frameskip = frameskip
        self.source = source
        self._rng = np.random.default_rng()

    def __repr__(self) -> str:
        return f"Policy({self.game}, {self.n_actions} actions, from {self.source})"

    @property
    def n_actions(self) -> int:
        return len(self.action_meanings)

    def logits(self, observations: Any) -> np.ndarray:
        """(N, 4, 84, 84) uint8 -> (N, n_actions) float32 logits."""
        batch = np.asarray(observations)
        _check_frames(batch, (STACK, SIZE, SIZE), "observations", "(N, 4, 84, 84)")
        if batch.shape[0] == 0:  # the sharded JAX step cannot split no rows over devices
            return np.zeros((0, self.n_actions), dtype=np.float32)
        return np.asarray(self._forward(batch), dtype=np.float32)

    def act(
        self, observation: Any, epsilon: float = 0.0, rng: np.random.Generator | None = None
    ) -> Any:
        """The action for one (4, 84, 84) observation: greedy, or uniformly random with
        probability `epsilon` (drawn from `rng`, else from the policy's own generator). A batch
        (N, 4, 84, 84) gives (N,) int64 actions, each drawn so; an empty batch gives (0,)."""
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
        frames = np.asarray(observation)
        if frames.ndim == 4:  # a batch (N, 4, 84, 84); one observation has 3 axes
            actions = np.argmax(self.logits(frames), axis=1).astype(np.int64)
            rng = rng if rng is not None else self._rng
            random = rng.random(actions.shape[0]) < epsilon
            actions[random] = rng.integers(self.n_actions, size=int(random.sum()))
            return actions
        _check_frames(frames[None], (STACK, SIZE, SIZE), "observation", "(4, 84, 84)")
        if epsilon > 0.0:
            rng = rng if rng is not None else self._rng
            if rng.random() < epsilon:
                return int(rng.integers(self.n_actions))
        return int(np.argmax(self.logits(frames[None])[0]))


def _check_frames(batch: np.ndarray, shape: tuple[int, ...], what: str, layout: str) -> None:
    """The layout mistakes a user makes (channels last, one frame, floats) as one clear line."""
    if batch.ndim != len(shape) + 1 or batch.shape[1:] != shape:
        got = batch.shape[1:] if what == "observation" else batch.shape
        hint = ""
        if batch.shape[-1] == STACK and batch.shape[-3:-1] == (SIZE, SIZE):
            hint = " (channels last? give frames first, as FrameStackObservation does)"
        raise ValueError(f"{what} must have shape {layout}, got {got}{hint}")
    if batch.dtype != np.uint8:
        raise ValueError(
            f"{what} must be uint8 frames (0-255, unscaled) as AtariPreprocessing gives them, "
            f"got {batch.dtype}"
        )


def load_policy(path: str | PathLike[str], threads: int | None = None) -> Policy:
    """A run folder of `fil-learn fit` (its best epoch, in JAX) or a policy exported with
    `fil-learn export` (onnxruntime; `threads` sets its intra-op threads, default: its own)."""
    target = Path(path)
    if not target.exists():
        raise FileNotFoundError(f"{target} does not exist: give a run folder or an .onnx file")
    if target.is_dir():
        return _from_run(target)
    if target.suffix.lower() == ".onnx":
        return _from_onnx(target, threads)
    raise ValueError(f"{target} is neither a run folder nor an .onnx file")


def read_run_settings(run_dir: Path) -> dict[str, Any]:
    """A run folder's `run.json`, or a FileNotFoundError that says what to give instead."""
    settings_file = run_dir / "run.json"
    if not settings_file.is_file():
        raise FileNotFoundError(
            f"{run_dir} is not a fil-learn run (no run.json): give the --out of a fit"
        )
    return dict(json.loads(settings_file.read_text()))


def _from_run(run_dir: Path) -> Policy:
    best = load_best(run_dir)

    def forward(batch: np.ndarray) -> np.ndarray:
        return best.forward(np.moveaxis(batch, 1, -1))

    settings = best.settings
    return Policy(
        forward,
        settings["game"],
        settings["env_id"],
        settings["action_meanings"],
        best.frameskip,
        f"{run_dir} (epoch {best.epoch})",
    )


def run_frameskip(settings: dict[str, Any]) -> int:
    """The emulator frames per action a run was trained at (runs from before it was kept: 4)."""
    return int(settings.get("frameskip", 4))


@dataclass(frozen=True)
class BestPolicy:
    """A run's best parameters, loaded (JAX): what `eval` plays and `export` writes, and what
    `load_policy` wraps. Network layout: channels last, (batch, 84, 84, 4)."""

    settings: dict[str, Any]
    """The run's run.json."""
    graphdef: Any
    """The network's structure (`nnx.split`); with `params`, the network."""
    params: Any
    epoch: int
    """The epoch `best/` kept."""
    apply: Callable[[Any, np.ndarray], Any]
    """(params, (batch, 84, 84, 4) uint8) -> logits, jitted once per loaded policy."""

    @property
    def frameskip(self) -> int:
        return run_frameskip(self.settings)

    @property
    def stack(self) -> int:
        """Frames per observation."""
        return int(self.settings["model"]["stack"])

    def forward(self, observations: np.ndarray) -> np.ndarray:
        """(batch, 84, 84, 4) uint8 -> (batch, n_actions) logits, jitted."""
        return np.asarray(self.apply(self.params, observations))

    def model(self) -> NatureCNN:
        """The network with these parameters (to read its weights)."""
        from flax import nnx

        return nnx.merge(self.graphdef, self.params)


def load_best(run_dir: Path) -> BestPolicy:
    """The run's settings and its best epoch's parameters (`best/`): the one loader of a run's
    policy. A folder that is not a run fails before JAX is imported. Only the network is
    built: playing a policy needs no optimizer and no training code (`best/` holds the
    parameters alone)."""
    settings = read_run_settings(run_dir)
    import jax
    from flax import nnx

    from fil_learn.checkpoint import CheckpointStore
    from fil_learn.model import ModelConfig, NatureCNN
    from fil_learn.run_folder import BEST

    model_settings = ModelConfig(
        **{**settings["model"], "channels": tuple(settings["model"]["channels"])}
    )
    graphdef, params = nnx.split(NatureCNN(model_settings, nnx.Rngs(0)), nnx.Param)
    store = CheckpointStore(run_dir, BEST, keep=1)
    try:
        step = store.latest_step()
        if step is None:
            raise FileNotFoundError(
                f"{run_dir} has no checkpoint yet: let `fil-learn fit` finish an epoch"
            )
        params = store.restore(step, {"params": params})["params"]
    finally:
        store.close()

    def apply(params: Any, observations: Any) -> Any:
        return nnx.merge(graphdef, params)(observations)

    return BestPolicy(settings, graphdef, params, step, jax.jit(apply))


@dataclass(frozen=True)
class ExportedPolicy:
    """An exported policy (.onnx) seen through BestPolicy's interface, so `eval` plays a file
    handed on by another team under the same protocols as a run folder."""

    policy: Policy
    stack: int = STACK

    @property
    def settings(self) -> dict[str, Any]:
        """The run.json fields that playing and `--save-states` read, from the metadata."""
        return {
            "game": self.policy.game,
            "env_id": self.policy.env_id,
            "frameskip": self.policy.frameskip,
            "n_actions": self.policy.n_actions,
            "action_meanings": list(self.policy.action_meanings),
        }

    @property
    def frameskip(self) -> int:
        return self.policy.frameskip

    def forward(self, observations: np.ndarray) -> np.ndarray:
        """(batch, 84, 84, 4) uint8 -> (batch, n_actions) logits, as BestPolicy.forward."""
        return self.policy.logits(np.moveaxis(observations, -1, 1))


def load_playable(path: Path) -> BestPolicy | ExportedPolicy:
    """What `eval` plays: a run folder's best epoch (JAX), or an .onnx file from `fil-learn
    export` (onnxruntime, one thread: an episode is a batch of one)."""
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist: give a run folder (`fil-learn fit --out`) or an .onnx "
            "policy (`fil-learn export --out`)"
        )
    if path.is_dir():
        return load_best(path)
    if path.suffix.lower() != ".onnx":
        raise ValueError(
            f"{path} is neither a run folder nor an .onnx policy: give the --out of "
            "`fil-learn fit` or of `fil-learn export`"
        )
    return ExportedPolicy(_from_onnx(path, threads=1))


def onnx_session(path: Path | bytes, threads: int | None = None) -> Any:
    """An onnxruntime session on the CPU for a file (or a serialized model); a missing
    onnxruntime is a ValueError naming the extra."""
    try:
        import onnxruntime
        from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors
    except ImportError:
        raise ValueError(f"running an .onnx policy needs onnxruntime: {ONNX_EXTRA}") from None
    unreadable = (
        ort_errors.Fail,
        ort_errors.InvalidArgument,
        ort_errors.InvalidGraph,
        ort_errors.InvalidProtobuf,
        ort_errors.NoSuchFile,
        ort_errors.NotImplemented,
    )
    options = onnxruntime.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    try:
        return onnxruntime.InferenceSession(
            path if isinstance(path, bytes) else str(path),
            options,
            providers=["CPUExecutionProvider"],
        )
    except unreadable as error:
        where = "the model" if isinstance(path, bytes) else str(path)
        raise ValueError(f"{where} is not a readable ONNX model: {error}") from None


def _from_onnx(path: Path, threads: int | None) -> Policy:
    session = onnx_session(path, threads)
    meta = session.get_modelmeta().custom_metadata_map
    if meta.get("format") != "fil-policy":
        raise ValueError(f"{path} is not a fil policy (no format=fil-policy metadata)")

    def forward(batch: np.ndarray) -> np.ndarray:
        return session.run(["logits"], {"observations": batch})[0]

    return Policy(
        forward,
        meta["game"],
        meta["env_id"],
        json.loads(meta["action_meanings"]),
        int(meta["frameskip"]),
        str(path),
    )
