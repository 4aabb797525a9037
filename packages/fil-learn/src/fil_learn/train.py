"""Behaviour cloning: cross-entropy on the demonstrated action, jitted steps, a resumable loop.

The frame array goes to the device once; a jitted call receives only sample indices and runs
`steps_per_call` minibatch steps with `lax.scan`, gathering each batch's stacks on the device.
Shapes never change between calls (the last partial batch of an epoch is dropped and the data
reshuffled every epoch), so the step compiles once. With several local devices the batch is
split over them and the parameters replicated (`jax.sharding`); one device runs the same code.

`fit` -> `train_and_evaluate` reads top to bottom: load and split, plan (`run_folder`: run.json,
stages, what to resume), initial state, then `Epochs.run` and `Ledger.record` per epoch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import fil_learn
from fil_learn.board import MetricsBoard
from fil_learn.config import FitConfig
from fil_learn.data import (
    Demonstrations,
    Labels,
    ValueTargets,
    dataset_digest,
    file_sha256,
    load,
    split_by_episode,
    take_rows,
)
from fil_learn.model import ModelConfig, NatureCNN, param_count
from fil_learn.prior import load_prior, with_prior
from fil_learn.run_folder import (
    Checkpoints,
    EpochMetrics,
    RunDir,
    StagePlan,
    check_resumable,
    plan_stages,
    restore_latest,
    row_to_array,
)

log = logging.getLogger(__name__)

C_VISIT = 50.0
"""`--target improved`: visits added to the most visited action's count in the scale of the
values' push (`improved_targets`); mctx's default `maxvisit_init`."""
C_SCALE = 0.1
"""`--target improved`: the push per visit of a value rescaled to [0, 1]; mctx's default
`value_scale`."""


def improved_targets(logits: jax.Array, counts: jax.Array, values: jax.Array) -> jax.Array:
    """(B, A) target distributions of `--target improved`: the prior policy moved towards the
    actions the swarm valued higher, as Gumbel MuZero's improved policy (Danihelka et al.
    2022; mctx `qtransform_completed_by_mix_value`): softmax(logits + (C_VISIT + max N) *
    C_SCALE * q_hat). `logits` are the prior's: the network's own, or `fit --prior`'s policy.

    q_hat is the row's values min-max rescaled to [0, 1] after an unvisited action (count 0,
    value NaN) is completed with v_mix. The network has no value head, so v_mix is the
    prior-weighted mean of the visited actions' values alone (mctx also mixes in the root's
    value estimate). Where the visited values are all equal (or one action was visited) q_hat
    is 0 and the target is the prior itself (no gradient when the prior is the network's own).
    The target carries no gradient."""
    logits = jax.lax.stop_gradient(logits)
    prior = jax.nn.softmax(logits)
    visited = counts > 0
    q = jnp.where(visited & ~jnp.isnan(values), values, 0.0)  # NaN never reaches arithmetic
    seen = visited.any(-1, keepdims=True)
    low = jnp.where(seen, jnp.where(visited, q, jnp.inf).min(-1, keepdims=True), 0.0)
    high = jnp.where(seen, jnp.where(visited, q, -jnp.inf).max(-1, keepdims=True), 0.0)
    weights = jnp.where(visited, prior, 0.0)
    mass = jnp.maximum(weights.sum(-1, keepdims=True), jnp.finfo(weights.dtype).tiny)
    v_mix = (weights * q).sum(-1, keepdims=True) / mass
    v_mix = jnp.clip(v_mix, low, high)  # a mean of the visited values, rounding aside
    completed = jnp.where(visited, q, v_mix)
    q_hat = (completed - low) / jnp.maximum(high - low, 1e-8)
    sigma = (C_VISIT + counts.max(-1, keepdims=True)) * C_SCALE * q_hat
    return jax.nn.softmax(logits + sigma)


def cross_entropies(logits: jax.Array, labels: Any) -> tuple[jax.Array, jax.Array]:
    """Per-sample cross-entropy and correctness. `labels` are actions (B,), target
    distributions (B, A) (the swarm's visit shares), pooled targets (B, A, A)
    (`data.pooled_targets`), or `ValueTargets` (`improved_targets`). A distribution's
    "correct" is its most likely action; a pooled target's, any action equivalent to it;
    `ValueTargets`', the demonstrated action."""
    if isinstance(labels, ValueTargets):
        prior = logits if labels.prior is None else labels.prior
        targets = improved_targets(prior, labels.counts, labels.values)
        correct = logits.argmax(-1) == labels.actions
        return optax.softmax_cross_entropy(logits, targets), correct.astype(jnp.float32)
    if labels.ndim == logits.ndim + 1:
        return pooled_cross_entropies(logits, labels)
    if labels.ndim == logits.ndim:
        losses = optax.softmax_cross_entropy(logits, labels)
        labels = labels.argmax(-1)
    else:
        losses = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    return losses, (logits.argmax(-1) == labels).astype(jnp.float32)


def pooled_cross_entropies(logits: jax.Array, pooled: jax.Array) -> tuple[jax.Array, jax.Array]:
    """-sum_a q(a) log P(class of a), with q(a) = pooled[a, a] and a's class the b where
    pooled[a, b] > 0: the policy may spread a class's probability over its members as it likes
    (it learns which member also serves the states where they differ)."""
    log_p = jax.nn.log_softmax(logits)
    q = jnp.diagonal(pooled, axis1=-2, axis2=-1)
    same = pooled > 0
    log_class = jax.nn.logsumexp(jnp.where(same, log_p[..., None, :], -jnp.inf), axis=-1)
    losses = -jnp.sum(jnp.where(q > 0, q * log_class, 0.0), axis=-1)
    best = q.argmax(-1)
    chosen = logits.argmax(-1)
    hit = jnp.take_along_axis(pooled, best[..., None, None], axis=-2)[..., 0, :]
    correct = jnp.take_along_axis(hit, chosen[..., None], axis=-1)[..., 0] > 0
    return losses, correct.astype(jnp.float32)


def cross_entropy(logits: jax.Array, labels: Any) -> tuple[jax.Array, jax.Array]:
    """Mean cross-entropy on the demonstrated actions (or target distributions), and accuracy."""
    losses, correct = cross_entropies(logits, labels)
    return losses.mean(), correct.mean()


def device_stacks(frames: jax.Array, stacks: jax.Array) -> jax.Array:
    """(batch, 4) row indices -> (batch, 84, 84, 4) uint8 observations, on the device."""
    return jnp.moveaxis(frames[stacks], 1, -1)


def shifted(observations: jax.Array, offsets: jax.Array, pad: int) -> jax.Array:
    """Random-shift augmentation: pad (B, H, W, C) observations by `pad` pixels with copies of
    their edges and crop each back to (H, W) at its (row, column) offset in [0, 2 * pad]; an
    offset of (pad, pad) returns the observation unchanged."""
    _, height, width, channels = observations.shape
    padded = jnp.pad(observations, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="edge")

    def crop(image: jax.Array, offset: jax.Array) -> jax.Array:
        return jax.lax.dynamic_slice(image, (offset[0], offset[1], 0), (height, width, channels))

    return jax.vmap(crop)(padded, offsets)


def shift_offsets(rng: np.random.Generator, rows: np.ndarray, pad: int) -> np.ndarray:
    """One crop offset per sample of `rows` (any shape): uniform in [0, 2 * pad] per axis."""
    return rng.integers(0, 2 * pad + 1, size=(*rows.shape, 2), dtype=np.int32)


class Averaged(NamedTuple):
    """The state of an `averaged` optimizer."""

    inner: Any
    """The wrapped optimizer's state."""
    total: Any
    """The parameters after each step so far, the one t steps ago weighted (1 - decay) decay^t."""
    weight: jax.Array
    """The sum of those weights, 1 - decay^steps (0 before the first step): `total / weight` is
    the average, debiased (no pull towards the zeros it starts from)."""


def averaged(optimizer: optax.GradientTransformation, decay: float) -> optax.GradientTransformation:
    """`optimizer`, whose state also keeps an exponential moving average of the parameters it
    steps to (`FitConfig.ema`). Living in the optimizer state, the average is donated, sharded
    and checkpointed with it, so a resumed fit continues it exactly; a new stage's fresh
    optimizer starts a new average."""

    def init(params: Any) -> Averaged:
        zeros = jax.tree.map(jnp.zeros_like, params)
        return Averaged(optimizer.init(params), zeros, jnp.zeros((), jnp.float32))

    def update(updates: Any, state: Averaged, params: Any = None) -> tuple[Any, Averaged]:
        updates, inner = optimizer.update(updates, state.inner, params)
        stepped = optax.apply_updates(params, updates)
        total = jax.tree.map(lambda t, p: decay * t + (1 - decay) * p, state.total, stepped)
        return updates, Averaged(inner, total, decay * state.weight + (1 - decay))

    return optax.GradientTransformation(init, update)


def fit_optimizer(config: FitConfig) -> optax.GradientTransformation:
    """Adam at the fit's step size, keeping the parameters' moving average when `ema` is on."""
    adam = optax.adam(config.learning_rate)
    return averaged(adam, config.ema) if config.ema else adam


def policy_params(params: Any, opt_state: Any) -> Any:
    """The parameters a fit validates and keeps in `best/`: the moving average of an
    `averaged` optimizer once it has averaged a step, else `params`."""
    if isinstance(opt_state, Averaged) and float(opt_state.weight) > 0:
        return jax.tree.map(lambda t: t / opt_state.weight, opt_state.total)
    return params


def data_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
    """A one-axis mesh ("data") over `devices`, by default every local accelerator."""
    return Mesh(np.array(devices if devices is not None else jax.local_devices()), ("data",))


class Trainer:
    """The jitted functions of one model and optimizer, on pure (params, opt_state) pytrees.

    Data parallel over the devices of `mesh` through `jax.sharding`: each batch is split along
    its batch axis, while parameters, optimizer state and the frame array are replicated, so
    XLA inserts the gradient all-reduce. One device is the same code on a mesh of one.
    """

    def __init__(
        self,
        model: NatureCNN,
        optimizer: optax.GradientTransformation,
        mesh: Mesh | None = None,
        shift: int = 0,
    ) -> None:
        """`shift` > 0 crops every training observation at its sample's offset (`shifted`);
        0 compiles the step without the crop and ignores the offsets."""
        self.graphdef, params = nnx.split(model, nnx.Param)
        self.shift = shift
        self.optimizer = optimizer
        self.mesh = mesh if mesh is not None else data_mesh()
        self.replicated = NamedSharding(self.mesh, P())
        calls = NamedSharding(self.mesh, P(None, "data"))  # (K, B, ...): split B
        batch = NamedSharding(self.mesh, P("data"))  # (B, ...)
        rep = self.replicated
        self.train_calls = jax.jit(
            self._train_calls,
            donate_argnums=(0, 1),
            in_shardings=(rep, rep, rep, calls, calls, calls),
            out_shardings=rep,
        )
        self.eval_batch = jax.jit(
            self._eval_batch, in_shardings=(rep, rep, batch, batch, batch), out_shardings=rep
        )
        self.forward = jax.jit(self._forward)
        self._initial_params = params

    @property
    def device_count(self) -> int:
        return self.mesh.size

    def check_batch_size(self, batch_size: int) -> None:
        """Every device must get the same share of a batch."""
        if batch_size % self.device_count:
            raise ValueError(
                f"--batch-size {batch_size} does not split evenly over {self.device_count} "
                f"devices: use a multiple of {self.device_count}"
            )

    def init(self) -> tuple[Any, Any]:
        """Initial parameters and optimizer state, replicated over the mesh."""
        params = jax.device_put(self._initial_params, self.replicated)
        # all replicated, like the outputs of a step, so the second call hits the first's cache
        return params, jax.device_put(self.optimizer.init(params), self.replicated)

    def _forward(self, params: Any, observations: jax.Array) -> jax.Array:
        return nnx.merge(self.graphdef, params)(observations)

    def _train_calls(
        self,
        params: Any,
        opt_state: Any,
        frames: jax.Array,
        stacks: jax.Array,
        actions: Any,
        offsets: jax.Array,
    ) -> tuple[Any, Any, jax.Array, jax.Array]:
        """`stacks` (K, B, 4), `actions` (K, B) or any labels of `cross_entropies` with a
        leading (K, B), and crop `offsets` (K, B, 2) (`shift_offsets`): K Adam steps, mean
        loss and accuracy."""

        def loss_fn(p: Any, observations: jax.Array, labels: Any) -> tuple[jax.Array, jax.Array]:
            return cross_entropy(self._forward(p, observations), labels)

        def step(carry: tuple[Any, Any], batch: tuple[Any, ...]) -> tuple[Any, Any]:
            p, state = carry
            rows, labels, offset = batch
            observations = device_stacks(frames, rows)
            if self.shift:
                observations = shifted(observations, offset, self.shift)
            (loss, accuracy), grads = jax.value_and_grad(loss_fn, has_aux=True)(
                p, observations, labels
            )
            updates, state = self.optimizer.update(grads, state, p)
            return (optax.apply_updates(p, updates), state), (loss, accuracy)

        if stacks.shape[0] == 1:  # no scan around a single step
            (params, opt_state), (loss, accuracy) = step(
                (params, opt_state), (stacks[0], take_rows(actions, 0), offsets[0])
            )
            return params, opt_state, loss, accuracy
        (params, opt_state), (losses, accuracies) = jax.lax.scan(
            step, (params, opt_state), (stacks, actions, offsets)
        )
        return params, opt_state, losses.mean(), accuracies.mean()

    def _eval_batch(
        self,
        params: Any,
        frames: jax.Array,
        stacks: jax.Array,
        actions: Any,
        weights: jax.Array,
    ) -> tuple[jax.Array, jax.Array]:
        """Summed loss and correct count over a padded batch (padding has weight 0)."""
        logits = self._forward(params, device_stacks(frames, stacks))
        losses, correct = cross_entropies(logits, actions)
        return (losses * weights).sum(), (correct * weights).sum()


def evaluate_split(
    trainer: Trainer,
    params: Any,
    frames: jax.Array,
    data: Demonstrations,
    batch_size: int,
    target: str = "action",
    equivalent: str = "ignore",
) -> tuple[float, float]:
    """Loss and accuracy over every sample of `data`, in fixed-size padded batches."""
    total_loss = total_correct = 0.0
    n = data.n_samples
    if n == 0:
        raise ValueError("no labelled sample to evaluate: every held-out step is unlabelled")
    all_labels = data.labels(target, equivalent)  # built once: pooled targets are (n, A, A)
    for start in range(0, n, batch_size):
        rows = data.stacks[start : start + batch_size]
        labels = take_rows(all_labels, slice(start, start + batch_size))
        pad = batch_size - rows.shape[0]
        weights = np.concatenate([np.ones(rows.shape[0], np.float32), np.zeros(pad, np.float32)])
        rows, labels = _pad_rows((rows, labels), pad)
        loss, correct = trainer.eval_batch(params, frames, rows, labels, weights)
        total_loss += float(loss)
        total_correct += float(correct)
    return total_loss / n, total_correct / n


def _pad_rows(arrays: Any, pad: int) -> Any:
    """Every array of the pytree `arrays` with `pad` rows of zeros appended."""
    return jax.tree.map(
        lambda a: np.concatenate([a, np.zeros((pad, *a.shape[1:]), a.dtype)]), arrays
    )


@dataclass(frozen=True)
class EpochStarted:
    epoch: int
    calls: int
    final_epoch: int
    """The last epoch this fit will run (epochs count on across stages)."""


@dataclass(frozen=True)
class CallDone:
    epoch: int
    loss: float


@dataclass(frozen=True)
class FitPlan:
    """What this call of `fit` is about to do (a new run, a continued stage, a new stage, or
    nothing), said before any work so that a user sees what the same command means now."""

    text: str


Event = FitPlan | EpochStarted | CallDone | EpochMetrics


def fit(
    dataset_paths: list[Path],
    out: Path,
    config: FitConfig,
    model_config: dict[str, Any] | None = None,
    on_event: Callable[[Event], None] = lambda event: None,
    force: bool = False,
) -> list[EpochMetrics]:
    """Train a policy on the datasets, or continue the run in `out`; returns this call's epochs.

    The same data (by content, whatever the paths) continues an interrupted fit up to
    `config.epochs`; other data starts a new stage of `config.epochs` epochs from the best
    parameters so far (see `plan_stages`). `force` starts a fresh run in `out`.
    """
    config.validate()
    run = RunDir(out)
    created = run.prepare(force)
    try:
        return train_and_evaluate(dataset_paths, run, config, model_config, on_event)
    except BaseException:
        if created and not any(out.iterdir()):
            out.rmdir()  # a run that never started leaves no trace
        raise


def train_and_evaluate(
    dataset_paths: list[Path],
    run: RunDir,
    config: FitConfig,
    model_config: dict[str, Any] | None,
    on_event: Callable[[Event], None],
) -> list[EpochMetrics]:
    """Train in a prepared run folder, validating every epoch; returns this call's epochs.

    Reads and splits the data, decides what the call does (`plan_stages`), starts from fresh,
    resumed or best parameters (`_initial_state`), then trains epoch by epoch; each epoch is
    recorded (`Ledger`) before the next starts, so a kill loses at most the running one.
    """
    stack = (model_config or {}).get("stack", ModelConfig.stack)
    improved = config.target == "improved"
    data = load(dataset_paths, stack=stack, values=improved, prior_only=config.prior is not None)
    prior = None
    if config.prior is not None:  # checked now; its logits are computed once training is sure
        prior = load_prior(Path(config.prior), data)
    if config.keyframes:  # before any other mask: a change is read on the whole sequence
        data = data.keyframes()
    if config.compared_only:
        data = data.compared()
    # `history` counts the newest frames of the stack; a stack of fewer frames is seen whole
    history = min(config.history, stack)
    model_settings = ModelConfig.sized(
        config.model, data.n_actions, **{"history": history, **(model_config or {})}
    )
    previous = run.read_settings()
    if previous is not None:
        check_resumable(previous, data.game, model_settings, config.model, run.path)
    train, val = _split(data, config)
    model = NatureCNN(model_settings, nnx.Rngs(config.seed))
    trainer = Trainer(model, fit_optimizer(config), shift=config.shift)
    trainer.check_batch_size(config.batch_size)
    with run.checkpoints() as stores:
        plan = _plan(previous, dataset_paths, data, config, stores, run.path)
        on_event(FitPlan(plan.text))
        if plan.nothing_to_do:
            return []  # nothing to train; run.json keeps what was trained
        if improved:
            on_event(FitPlan(_valued_note(train, config.prior)))
        if prior is not None:
            train = with_prior(train, prior)
            val = None if val is None else with_prior(val, prior)
        settings = _run_settings(data, plan, model, model_settings, config, (train, val), trainer)
        run.write_settings(settings)
        frames = jax.device_put(data.frames, trainer.replicated)
        data, train = data.without_frames(), train.without_frames()
        val = None if val is None else val.without_frames()
        epochs = Epochs(trainer, frames, train, val, config)
        state, saved_row = _initial_state(trainer, stores, plan)
        measure_bar = state.from_best and config.keep == "best"
        if measure_bar and (bar := epochs.validate(state.policy)[0]) is not None:
            # The starting policy is the bar on the new validation data: an epoch that does not
            # beat it does not replace it, so a round of poor labels cannot make `best/` worse.
            state.best_val = bar
            plan = plan.with_bar(bar)
            run.write_settings({**settings, "stages": plan.stages_json()})
        history = run.history(plan.last_epoch, saved_row)
        state.stale = _epochs_since_best(history, plan)
        with contextlib.closing(MetricsBoard(run.path)) as board:
            ledger = Ledger(run, stores, board, history, plan.number, config.keep == "last")
            results = _train_epochs(epochs, state, plan, ledger, on_event)
        best_epoch = stores.best.latest_step()
    from fil_learn.plots import plot_history

    title = f"{data.game}: behaviour cloning"
    plot_history(history, run.plot_file, title, data.n_actions, best_epoch)
    return results


def _split(data: Demonstrations, config: FitConfig) -> tuple[Demonstrations, Demonstrations | None]:
    """Training and validation episodes; a training split smaller than a batch is an error."""
    train, val = split_by_episode(data, config.val_fraction, config.seed)
    if train.n_samples < config.batch_size:
        raise ValueError(
            f"{train.n_samples} training samples are fewer than --batch-size {config.batch_size}: "
            "lower the batch size or collect more episodes"
        )
    return train, val


def _valued_note(train: Demonstrations, prior: str | None) -> str:
    """How many training steps `--target improved` moves the policy at (said once a fit)."""
    valued, n = train.valued_steps, train.n_samples
    policy = "the policy itself" if prior is None else f"the prior's policy ({prior})"
    return (
        f"--target improved: {valued} of {n} training steps ({100 * valued / n:.0f}%) have "
        f"visited actions of unequal values; at the others the target is {policy}"
    )


def _plan(
    previous: dict[str, Any] | None,
    dataset_paths: list[Path],
    data: Demonstrations,
    config: FitConfig,
    stores: Checkpoints,
    out: Path,
) -> StagePlan:
    """`plan_stages` for this data and what the folder's checkpoints hold."""
    content = {"episodes": data.n_episodes, "samples": data.n_samples}
    digests = [dataset_digest(p) for p in dataset_paths]
    last_epoch = stores.latest.latest_step() or 0
    paths = [str(p) for p in dataset_paths]
    return plan_stages(previous, paths, digests, content, config, last_epoch, out)


def _run_settings(
    data: Demonstrations,
    plan: StagePlan,
    model: NatureCNN,
    model_settings: ModelConfig,
    config: FitConfig,
    split: tuple[Demonstrations, Demonstrations | None],
    trainer: Trainer,
) -> dict[str, Any]:
    """run.json: what the policy plays, how it was trained, on what and where."""
    train, val = split
    return {
        "game": data.game,
        "env_id": data.env_id,
        "frameskip": data.frameskip,
        "n_actions": data.n_actions,
        "action_meanings": list(data.action_meanings),
        "datasets": list(plan.stage.datasets),
        "stages": plan.stages_json(),
        "model": dataclasses.asdict(model_settings),
        "fit": dataclasses.asdict(config),
        "parameters": param_count(model),
        "train_samples": train.n_samples,
        "train_episodes": int(np.unique(train.episode_of).size),
        **({"train_valued_steps": train.valued_steps} if config.target == "improved" else {}),
        **_prior_digest(config.prior),
        "val_episodes": int(np.unique(val.episode_of).size) if val else 0,
        "fil_learn_version": fil_learn.__version__,
        "jax_version": jax.__version__,
        "device_count": trainer.device_count,
        "devices": [str(d) for d in trainer.mesh.devices.flat],
    }


def _prior_digest(prior: str | None) -> dict[str, str]:
    """run.json's `prior_sha256`: which policy file the targets were built from, as the loop's
    rows pin a start policy (a run folder as prior is named by its path alone)."""
    if prior is None or not Path(prior).is_file():
        return {}
    return {"prior_sha256": file_sha256(Path(prior))}


@dataclass
class TrainState:
    """What one epoch hands the next: the parameters and optimizer state, and the record that
    decides `best/` and early stopping."""

    params: Any
    opt_state: Any
    best_val: float = math.inf
    """The loss to beat: validation loss (training loss without a validation split)."""
    stale: int = 0
    """Epochs since `best_val` last improved."""
    from_best: bool = False
    """Started a new stage from `best/` (the bar on its validation data is still to measure)."""

    @property
    def policy(self) -> Any:
        """What validation measures and `best/` keeps (`policy_params`)."""
        return policy_params(self.params, self.opt_state)


def _initial_state(
    trainer: Trainer, stores: Checkpoints, plan: StagePlan
) -> tuple[TrainState, np.ndarray | None]:
    """Fresh parameters for a new run; the latest checkpoint for an interrupted stage (with the
    metrics row saved in it, if any); the best parameters so far for a new stage."""
    params, opt_state = trainer.init()
    if plan.resumes_stage:  # an interrupted stage: continue exactly where it stopped
        restored = restore_latest(stores.latest, plan.last_epoch, params, opt_state)
        log.info("continuing after epoch %d", plan.last_epoch)
        state = TrainState(restored["params"], restored["opt_state"], float(restored["best_val"]))
        return state, restored.get("row")
    if plan.last_epoch and (best_epoch := stores.best.latest_step()) is not None:
        # A new stage starts from the best policy so far (the one `eval` played and whose states
        # were relabelled), not from the last epoch, which noisy labels may have overfitted;
        # the optimizer starts afresh for the new data.
        params = stores.best.restore(best_epoch, {"params": params})["params"]
        log.info("stage %d starts from the best epoch %d", plan.number, best_epoch)
        return TrainState(params, opt_state, from_best=True), None
    return TrainState(params, opt_state), None


@dataclass(frozen=True)
class Epochs:
    """What every epoch of a fit uses: the jitted steps, the frames on the device, the splits.

    An epoch runs `steps_per_call` steps per jitted call, and the steps that do not fill a
    call one by one: two shapes, each compiled once.
    """

    trainer: Trainer
    frames: jax.Array
    train: Demonstrations
    val: Demonstrations | None
    config: FitConfig

    @cached_property
    def labels(self) -> Labels:
        return self.train.labels(self.config.target, self.config.equivalent)

    @property
    def steps(self) -> int:
        """Steps per epoch (the last partial batch is dropped: shapes never change)."""
        return self.train.n_samples // self.config.batch_size

    @property
    def calls(self) -> int:
        full_calls, single_steps = divmod(self.steps, self._steps_per_call)
        return full_calls + single_steps

    @property
    def _steps_per_call(self) -> int:
        return min(self.config.steps_per_call, self.steps)

    def batches(self, epoch: int) -> list[np.ndarray]:
        """The epoch's sample order (seeded by seed and epoch) as (steps, batch) index arrays,
        one a call."""
        batch, k = self.config.batch_size, self._steps_per_call
        full_calls, single_steps = divmod(self.steps, k)
        order = np.random.default_rng([self.config.seed, epoch]).permutation(self.train.n_samples)
        order = order[: self.steps * batch]
        return [
            *order[: full_calls * k * batch].reshape(full_calls, k, batch),
            *order[full_calls * k * batch :].reshape(single_steps, 1, batch),
        ]

    def run(self, epoch: int, state: TrainState, on_event: Callable[[Event], None]) -> EpochMetrics:
        """Train one epoch (updating `state`), then validate."""
        started = time.perf_counter()
        losses, accuracies, weights = [], [], []
        crops = np.random.default_rng([self.config.seed, epoch, 1])  # the epoch's shifts
        for rows in self.batches(epoch):
            state.params, state.opt_state, loss, accuracy = self.trainer.train_calls(
                state.params,
                state.opt_state,
                self.frames,
                self.train.stacks[rows],
                take_rows(self.labels, rows),
                shift_offsets(crops, rows, self.config.shift),
            )
            losses.append(loss)
            accuracies.append(accuracy)
            weights.append(rows.shape[0])
            on_event(CallDone(epoch, float(loss)))
        train_loss = float(np.average([float(x) for x in losses], weights=weights))
        seconds = time.perf_counter() - started
        val_loss, val_accuracy = self.validate(state.policy)
        return EpochMetrics(
            epoch=epoch,
            train_loss=train_loss,
            train_accuracy=float(np.average([float(x) for x in accuracies], weights=weights)),
            val_loss=val_loss,
            val_accuracy=val_accuracy,
            samples_per_second=self.steps * self.config.batch_size / seconds,
            seconds=seconds,
        )

    def validate(self, params: Any) -> tuple[float | None, float | None]:
        """Loss and accuracy on the validation split; None without one."""
        if self.val is None:
            return None, None
        return evaluate_split(
            self.trainer,
            params,
            self.frames,
            self.val,
            self.config.batch_size,
            self.config.target,
            self.config.equivalent,
        )


@dataclass
class Ledger:
    """Where each finished epoch goes: `best/` when it beats the bar, the latest checkpoint (with
    its metrics row, so that no kill can lose the row), metrics.jsonl and TensorBoard."""

    run: RunDir
    stores: Checkpoints
    board: MetricsBoard
    history: list[dict[str, Any]]
    stage: int
    keep_last: bool = False
    """`best/` takes every epoch (`FitConfig.keep` last), not only one that beats the bar."""

    def record(self, metrics: EpochMetrics, state: TrainState) -> None:
        score = metrics.val_loss if metrics.val_loss is not None else metrics.train_loss
        improved = score < state.best_val
        if improved:
            state.best_val = score
            state.stale = 0
        else:
            state.stale += 1
        if improved or self.keep_last:
            self.stores.best.save(metrics.epoch, {"params": state.policy})
        row = {**dataclasses.asdict(metrics), "stage": self.stage}
        checkpoint = {
            "params": state.params,
            "opt_state": state.opt_state,
            "best_val": np.float64(state.best_val),
            "row": row_to_array(row),
        }
        self.stores.latest.save(metrics.epoch, checkpoint)
        self.history.append(row)
        self.run.write_metrics(self.history)
        self.board.add_epoch(row)


def _train_epochs(
    epochs: Epochs,
    state: TrainState,
    plan: StagePlan,
    ledger: Ledger,
    on_event: Callable[[Event], None],
) -> list[EpochMetrics]:
    """The plan's epochs, each recorded before the next, until done or out of patience."""
    patience = epochs.config.patience
    results: list[EpochMetrics] = []
    for epoch in range(plan.first_new_epoch, plan.final_epoch + 1):
        if patience and state.stale >= patience:
            log.info("early stop: %d epochs without a better validation loss", state.stale)
            break
        on_event(EpochStarted(epoch, epochs.calls, plan.final_epoch))
        metrics = epochs.run(epoch, state, on_event)
        ledger.record(metrics, state)
        results.append(metrics)
        on_event(metrics)
    return results


def _epochs_since_best(history: list[dict[str, Any]], plan: StagePlan) -> int:
    """Epochs of the current stage since one beat the stage's bar or the best before it (what
    `--patience` counts, carried over a resumed stage)."""
    best, stale = plan.stage.bar, 0
    for row in (row for row in history if row.get("stage", 1) == plan.number):
        score = row["val_loss"] if row["val_loss"] is not None else row["train_loss"]
        if score < best:
            best, stale = score, 0
        else:
            stale += 1
    return stale
