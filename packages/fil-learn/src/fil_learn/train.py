"""Behaviour cloning: cross-entropy on the demonstrated action, jitted steps, a resumable loop.

The frame array goes to the device once; a jitted call receives only sample indices and runs
`steps_per_call` minibatch steps with `lax.scan`, gathering each batch's stacks on the device.
Shapes never change between calls (the last partial batch of an epoch is dropped and the data
reshuffled every epoch), so the step compiles once. With several local devices the batch is
split over them and the parameters replicated (`jax.sharding`); one device runs the same code.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import fil_learn
from fil_learn.board import MetricsBoard
from fil_learn.checkpoint import CheckpointStore
from fil_learn.config import FitConfig
from fil_learn.data import Demonstrations, dataset_digest, load, split_by_episode
from fil_learn.model import ModelConfig, NatureCNN, param_count

log = logging.getLogger(__name__)


def cross_entropies(logits: jax.Array, labels: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Per-sample cross-entropy and correctness. `labels` are actions (B,), target
    distributions (B, A) (the swarm's visit shares), or pooled targets (B, A, A)
    (`data.pooled_targets`). A distribution's "correct" is its most likely action; a pooled
    target's, any action equivalent to it."""
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


def cross_entropy(logits: jax.Array, labels: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Mean cross-entropy on the demonstrated actions (or target distributions), and accuracy."""
    losses, correct = cross_entropies(logits, labels)
    return losses.mean(), correct.mean()


def device_stacks(frames: jax.Array, stacks: jax.Array) -> jax.Array:
    """(batch, 4) row indices -> (batch, 84, 84, 4) uint8 observations, on the device."""
    return jnp.moveaxis(frames[stacks], 1, -1)


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
        self, model: NatureCNN, optimizer: optax.GradientTransformation, mesh: Mesh | None = None
    ) -> None:
        self.graphdef, params = nnx.split(model, nnx.Param)
        self.optimizer = optimizer
        self.mesh = mesh if mesh is not None else data_mesh()
        self.replicated = NamedSharding(self.mesh, P())
        calls = NamedSharding(self.mesh, P(None, "data"))  # (K, B, ...): split B
        batch = NamedSharding(self.mesh, P("data"))  # (B, ...)
        rep = self.replicated
        self.train_calls = jax.jit(
            self._train_calls,
            donate_argnums=(0, 1),
            in_shardings=(rep, rep, rep, calls, calls),
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
        self, params: Any, opt_state: Any, frames: jax.Array, stacks: jax.Array, actions: jax.Array
    ) -> tuple[Any, Any, jax.Array, jax.Array]:
        """`stacks` (K, B, 4) and `actions` (K, B) or target distributions (K, B, n_actions):
        K Adam steps, mean loss and accuracy."""

        def loss_fn(
            p: Any, observations: jax.Array, labels: jax.Array
        ) -> tuple[jax.Array, jax.Array]:
            return cross_entropy(self._forward(p, observations), labels)

        def step(carry: tuple[Any, Any], batch: tuple[jax.Array, jax.Array]) -> tuple[Any, Any]:
            p, state = carry
            rows, labels = batch
            (loss, accuracy), grads = jax.value_and_grad(loss_fn, has_aux=True)(
                p, device_stacks(frames, rows), labels
            )
            updates, state = self.optimizer.update(grads, state, p)
            return (optax.apply_updates(p, updates), state), (loss, accuracy)

        if stacks.shape[0] == 1:  # no scan around a single step
            (params, opt_state), (loss, accuracy) = step(
                (params, opt_state), (stacks[0], actions[0])
            )
            return params, opt_state, loss, accuracy
        (params, opt_state), (losses, accuracies) = jax.lax.scan(
            step, (params, opt_state), (stacks, actions)
        )
        return params, opt_state, losses.mean(), accuracies.mean()

    def _eval_batch(
        self,
        params: Any,
        frames: jax.Array,
        stacks: jax.Array,
        actions: jax.Array,
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
    soft: bool = False,
    pool: str = "ignore",
) -> tuple[float, float]:
    """Loss and accuracy over every sample of `data`, in fixed-size padded batches."""
    total_loss = total_correct = 0.0
    n = data.n_samples
    if n == 0:
        raise ValueError("no labelled sample to evaluate: every held-out step is unlabelled")
    for start in range(0, n, batch_size):
        rows = data.stacks[start : start + batch_size]
        labels = data.labels(soft, pool)[start : start + batch_size]
        pad = batch_size - rows.shape[0]
        weights = np.concatenate([np.ones(rows.shape[0], np.float32), np.zeros(pad, np.float32)])
        rows = np.concatenate([rows, np.zeros((pad, rows.shape[1]), rows.dtype)])
        labels = np.concatenate([labels, np.zeros((pad, *labels.shape[1:]), labels.dtype)])
        loss, correct = trainer.eval_batch(params, frames, rows, labels, weights)
        total_loss += float(loss)
        total_correct += float(correct)
    return total_loss / n, total_correct / n


@dataclass(frozen=True)
class EpochMetrics:
    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    samples_per_second: float
    seconds: float


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

METRIC_FIELDS = tuple(f.name for f in dataclasses.fields(EpochMetrics))
RUN_FILES = ("run.json", "metrics.jsonl", "training.png", "checkpoints", "best")
"""What `fit` writes into a run folder: all that `--force` removes, never anything else."""
RESUME_SETTINGS = (
    "batch_size", "learning_rate", "val_fraction", "seed", "target", "equivalent",
)  # fmt: skip
"""Settings a continued stage must keep: they decide the split, the batches, the steps and
the loss."""


class RunDir:
    """A run folder: run.json (settings), metrics.jsonl (and TensorBoard event files), checkpoints,
    best parameters, plot."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def settings_file(self) -> Path:
        return self.path / "run.json"

    @property
    def metrics_file(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def plot_file(self) -> Path:
        return self.path / "training.png"

    def read_settings(self) -> dict[str, Any] | None:
        if not self.settings_file.exists():
            return None
        return json.loads(self.settings_file.read_text())

    def write_settings(self, settings: dict[str, Any]) -> None:
        _write_atomic(self.settings_file, json.dumps(settings, indent=2) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        if not self.metrics_file.exists():
            return []
        return [
            json.loads(line) for line in self.metrics_file.read_text().splitlines() if line.strip()
        ]

    def write_metrics(self, rows: list[dict[str, Any]]) -> None:
        _write_atomic(self.metrics_file, "".join(json.dumps(r) + "\n" for r in rows))

    def prepare(self, force: bool) -> bool:
        """Make the folder writable before any data is read; `force` removes an earlier run's
        files (only those `fit` writes). Returns whether the folder was created."""
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"--out {self.path} is a file: give a folder for the run")
        created = not self.path.exists()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / f".write-test-{os.getpid()}"
            probe.touch()
            probe.unlink()
        except OSError as error:
            raise ValueError(
                f"cannot write the run folder {self.path}: {error.strerror}; choose another --out"
            ) from None
        if force:
            for name in RUN_FILES:
                target = self.path / name
                if target.is_dir():
                    shutil.rmtree(target)
                else:
                    target.unlink(missing_ok=True)
        return created


def _write_atomic(path: Path, text: str) -> None:
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(text)
    temp.replace(path)


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
    parameters so far (see `_stages`). `force` starts a fresh run in `out`.
    """
    config.validate()
    run = RunDir(out)
    created = run.prepare(force)
    try:
        return _fit(dataset_paths, run, config, model_config, on_event)
    except BaseException:
        if created and not any(out.iterdir()):
            out.rmdir()  # a run that never started leaves no trace
        raise


def _fit(
    dataset_paths: list[Path],
    run: RunDir,
    config: FitConfig,
    model_config: dict[str, Any] | None,
    on_event: Callable[[Event], None],
) -> list[EpochMetrics]:
    out = run.path
    soft = config.target == "visits"  # fit the swarm's visit shares, not one action
    pool = config.equivalent  # how equivalent actions are fitted where files mark them
    data = load(dataset_paths, stack=(model_config or {}).get("stack", ModelConfig.stack))
    model_settings = ModelConfig(n_actions=data.n_actions, **(model_config or {}))
    previous = run.read_settings()
    if previous is not None:
        _check_resumable(previous, data, model_settings, out)
    train, val = split_by_episode(data, config.val_fraction, config.seed)
    if train.n_samples < config.batch_size:
        raise ValueError(
            f"{train.n_samples} training samples are fewer than --batch-size {config.batch_size}: "
            "lower the batch size or collect more episodes"
        )
    model = NatureCNN(model_settings, nnx.Rngs(config.seed))
    trainer = Trainer(model, optax.adam(config.learning_rate))
    trainer.check_batch_size(config.batch_size)
    latest = CheckpointStore(out, "checkpoints", keep=2)
    best_store = CheckpointStore(out, "best", keep=1)
    last_epoch = latest.latest_step() or 0
    content = {"episodes": data.n_episodes, "samples": data.n_samples}
    digests = [dataset_digest(p) for p in dataset_paths]
    stages, plan = _stages(
        previous, [str(p) for p in dataset_paths], digests, content, config, last_epoch, out
    )
    on_event(FitPlan(plan))
    stage = stages[-1]
    if stage["first_epoch"] + config.epochs - 1 <= last_epoch and previous is not None:
        latest.close()
        best_store.close()
        return []  # nothing to train; run.json keeps what was trained
    settings = {
        "game": data.game,
        "env_id": data.env_id,
        "frameskip": data.frameskip,
        "n_actions": data.n_actions,
        "action_meanings": list(data.action_meanings),
        "datasets": stage["datasets"],
        "stages": stages,
        "model": dataclasses.asdict(model_settings),
        "fit": dataclasses.asdict(config),
        "parameters": param_count(model),
        "train_samples": train.n_samples,
        "train_episodes": int(np.unique(train.episode_of).size),
        "val_episodes": int(np.unique(val.episode_of).size) if val else 0,
        "fil_learn_version": fil_learn.__version__,
        "jax_version": jax.__version__,
        "device_count": trainer.device_count,
        "devices": [str(d) for d in trainer.mesh.devices.flat],
    }
    run.write_settings(settings)
    params, opt_state = trainer.init()
    frames = jax.device_put(data.frames, trainer.replicated)
    history = run.read_metrics()
    start_epoch = stage["first_epoch"]
    best_val = math.inf
    if last_epoch >= start_epoch:  # an interrupted stage: continue exactly where it stopped
        restored = _restore_latest(latest, last_epoch, params, opt_state)
        params, opt_state = restored["params"], restored["opt_state"]
        best_val = float(restored["best_val"])
        if "row" in restored and all(row["epoch"] != last_epoch for row in history):
            # killed after the checkpoint and before metrics.jsonl: its row is in the checkpoint
            history.append(_row_from_array(restored["row"]))
        log.info("continuing %s after epoch %d", out, last_epoch)
    elif last_epoch and (best_epoch := best_store.latest_step()) is not None:
        # A new stage starts from the best policy so far (the one `eval` played and whose states
        # were relabelled), not from the last epoch, which noisy labels may have overfitted;
        # the optimizer starts afresh for the new data.
        params = best_store.restore(best_epoch, {"params": params})["params"]
        log.info("stage %d of %s starts from the best epoch %d", len(stages), out, best_epoch)
        if val is not None:
            # The starting policy is the bar on the new validation data: an epoch that does not
            # beat it does not replace it, so a round of poor labels cannot make `best/` worse.
            best_val = evaluate_split(trainer, params, frames, val, config.batch_size, soft, pool)[
                0
            ]
            stage["start_val_loss"] = best_val
            run.write_settings(settings)
    start_epoch = last_epoch + 1
    history = [row for row in history if row["epoch"] <= last_epoch]
    final_epoch = stage["first_epoch"] + config.epochs - 1
    steps_per_epoch = train.n_samples // config.batch_size
    k = min(config.steps_per_call, steps_per_epoch)
    full_calls, single_steps = divmod(steps_per_epoch, k)
    calls = full_calls + single_steps
    stale = _epochs_since_best(
        [row for row in history if row.get("stage", 1) == len(stages)],
        stage.get("start_val_loss", math.inf),
    )
    results: list[EpochMetrics] = []
    labels = train.labels(soft, pool)
    board = MetricsBoard(out)
    try:
        for epoch in range(start_epoch, final_epoch + 1):
            if config.patience and stale >= config.patience:
                log.info("early stop: %d epochs without a better validation loss", stale)
                break
            on_event(EpochStarted(epoch, calls, final_epoch))
            order = np.random.default_rng([config.seed, epoch]).permutation(train.n_samples)
            order = order[: steps_per_epoch * config.batch_size]
            batches = [
                *order[: full_calls * k * config.batch_size].reshape(
                    full_calls, k, config.batch_size
                ),
                *order[full_calls * k * config.batch_size :].reshape(
                    single_steps, 1, config.batch_size
                ),
            ]
            started = time.perf_counter()
            losses, accuracies, weights = [], [], []
            for rows in batches:
                params, opt_state, loss, accuracy = trainer.train_calls(
                    params, opt_state, frames, train.stacks[rows], labels[rows]
                )
                losses.append(loss)
                accuracies.append(accuracy)
                weights.append(rows.shape[0])
                on_event(CallDone(epoch, float(loss)))
            train_loss = float(np.average([float(x) for x in losses], weights=weights))
            seconds = time.perf_counter() - started
            val_loss = val_accuracy = None
            if val is not None:
                val_loss, val_accuracy = evaluate_split(
                    trainer, params, frames, val, config.batch_size, soft, pool
                )
            metrics = EpochMetrics(
                epoch=epoch,
                train_loss=train_loss,
                train_accuracy=float(np.average([float(x) for x in accuracies], weights=weights)),
                val_loss=val_loss,
                val_accuracy=val_accuracy,
                samples_per_second=steps_per_epoch * config.batch_size / seconds,
                seconds=seconds,
            )
            score = val_loss if val_loss is not None else train_loss
            if score < best_val:
                best_val = score
                stale = 0
                best_store.save(epoch, {"params": params})
            else:
                stale += 1
            row = {**dataclasses.asdict(metrics), "stage": len(stages)}
            latest.save(
                epoch,
                {
                    "params": params,
                    "opt_state": opt_state,
                    "best_val": np.float64(best_val),
                    "row": _row_to_array(row),  # saved with the state: no kill can lose it
                },
            )
            history.append(row)
            run.write_metrics(history)
            board.add_epoch(history[-1])
            results.append(metrics)
            on_event(metrics)
    finally:
        best_epoch = best_store.latest_step()
        board.close()
        latest.close()
        best_store.close()
    from fil_learn.plots import plot_history

    title = f"{data.game}: behaviour cloning"
    plot_history(history, run.plot_file, title, data.n_actions, best_epoch)
    return results


def _stages(
    previous: dict[str, Any] | None,
    datasets: list[str],
    digests: list[str],
    content: dict[str, int],
    config: FitConfig,
    last_epoch: int,
    out: Path,
) -> tuple[list[dict[str, Any]], str]:
    """The run's training stages, the current one last, and what this call does, in words.

    `fit` again on the same data continues the current stage up to `--epochs` (an interrupted
    fit, or more epochs); on other data it starts a new stage of `--epochs` more epochs from the
    best parameters, so each round fine-tunes the policy that played. Data is the same when its
    content is: the files' checksums in order (`digests`), whatever paths name them; a file
    that `fil-collect` appended to under the same name is new data (the seed notebook's loop
    grows one file). Every stage keeps its own settings; a continued stage must keep those that
    shape its training (`RESUME_SETTINGS`).
    """
    stages: list[dict[str, Any]] = list((previous or {}).get("stages", []))
    if previous is not None and not stages:  # a run written before stages existed
        stages = [{"datasets": previous["datasets"], "first_epoch": 1}]
    fit_settings = dataclasses.asdict(config)
    if not stages:
        stage = _new_stage(datasets, digests, content, fit_settings, 1)
        return [stage], f"new run {out}: {config.epochs} epoch(s)"
    current = stages[-1]
    same = (
        current["data"] == digests
        if "data" in current
        else current["datasets"] == datasets and current.get("content", content) == content
    )
    if not same:
        stage = _new_stage(datasets, digests, content, fit_settings, last_epoch + 1)
        return [*stages, stage], (
            f"{out} holds a fit on other data: stage {len(stages) + 1} trains "
            f"{config.epochs} epoch(s) on this data from the best parameters so far"
        )
    done = last_epoch - current["first_epoch"] + 1
    earlier = current.get("fit", previous.get("fit", {}) if previous else {})
    changed = [k for k in RESUME_SETTINGS if k in earlier and earlier[k] != fit_settings[k]]
    if changed and done > 0:
        was = ", ".join(f"--{k.replace('_', '-')} {earlier[k]}" for k in changed)
        raise ValueError(
            f"{out} trained this data with {was}: give the same to continue it, or --force "
            "to start a fresh run"
        )
    number = len(stages)
    if config.epochs <= done:
        return stages, (
            f"{out} already trained stage {number} for {done} epoch(s) on this data "
            f"(--epochs {config.epochs} is the stage's total): nothing to do; raise --epochs "
            "to train more, or --force to start over"
        )
    stages[-1] = {**current, "epochs": config.epochs, "fit": fit_settings, "data": digests}
    what = "continues" if done else "starts"
    return stages, (
        f"{out} {what} stage {number} on the same data: epochs {done + 1}-{config.epochs} "
        f"of {config.epochs}"
    )


def _new_stage(
    datasets: list[str],
    digests: list[str],
    content: dict[str, int],
    fit_settings: dict[str, Any],
    first_epoch: int,
) -> dict[str, Any]:
    return {
        "datasets": datasets,
        "data": digests,
        "content": content,
        "first_epoch": first_epoch,
        "epochs": fit_settings["epochs"],
        "fit": fit_settings,
    }


def _row_to_array(row: dict[str, Any]) -> np.ndarray:
    """A metrics row as numbers (None as NaN), to be saved inside a checkpoint."""
    values = [row[k] for k in (*METRIC_FIELDS, "stage")]
    return np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)


def _row_from_array(values: np.ndarray) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key, value in zip((*METRIC_FIELDS, "stage"), np.asarray(values).tolist(), strict=True):
        row[key] = None if math.isnan(value) else value
    row["epoch"], row["stage"] = int(row["epoch"]), int(row["stage"])
    return row


def _restore_latest(store: CheckpointStore, step: int, params: Any, opt_state: Any) -> Any:
    """The training state of `step`, with its metrics row where the checkpoint has one
    (checkpoints written before rows were saved in them restore without)."""
    like = {"params": params, "opt_state": opt_state, "best_val": np.float64(0)}
    try:
        return store.restore(step, {**like, "row": np.zeros(len(METRIC_FIELDS) + 1, np.float64)})
    except ValueError:  # orbax: the tree on disk has no "row"
        return store.restore(step, like)


def _epochs_since_best(history: list[dict[str, Any]], bar: float = math.inf) -> int:
    best, stale = bar, 0
    for row in history:
        score = row["val_loss"] if row["val_loss"] is not None else row["train_loss"]
        if score < best:
            best, stale = score, 0
        else:
            stale += 1
    return stale


def _check_resumable(
    previous: dict[str, Any], data: Demonstrations, model: ModelConfig, out: Path
) -> None:
    if previous["game"] != data.game:
        raise ValueError(
            f"{out} is a {previous['game']} run, the data is {data.game}: choose another --out"
        )
    if previous["model"] != json.loads(json.dumps(dataclasses.asdict(model))):
        raise ValueError(f"{out} holds a model of another shape: choose another --out")


@dataclass(frozen=True)
class BestPolicy:
    """A run's best parameters, loaded: what `eval` plays and `export` writes."""

    settings: dict[str, Any]
    trainer: Trainer
    params: Any
    epoch: int

    def forward(self, observations: np.ndarray) -> np.ndarray:
        """(batch, 84, 84, 4) uint8 -> (batch, n_actions) logits, jitted."""
        return np.asarray(self.trainer.forward(self.params, observations))

    def model(self) -> NatureCNN:
        """The network with these parameters (to read its weights)."""
        return nnx.merge(self.trainer.graphdef, self.params)


def load_best(run_dir: Path) -> BestPolicy:
    """The run's settings and its best epoch's parameters (`best/`)."""
    from fil_learn.policy import read_run_settings

    settings = read_run_settings(run_dir)
    model_settings = ModelConfig(
        **{**settings["model"], "channels": tuple(settings["model"]["channels"])}
    )
    trainer = Trainer(NatureCNN(model_settings, nnx.Rngs(0)), optax.adam(1e-3))
    params, _ = trainer.init()
    store = CheckpointStore(run_dir, "best", keep=1)
    step = store.latest_step()
    if step is None:
        store.close()
        raise FileNotFoundError(
            f"{run_dir} has no checkpoint yet: let `fil-learn fit` finish an epoch"
        )
    params = store.restore(step, {"params": params})["params"]
    store.close()
    return BestPolicy(settings, trainer, params, step)


def load_policy(run_dir: Path) -> tuple[dict[str, Any], Callable[[np.ndarray], np.ndarray]]:
    """The run's settings and a jitted function from (batch, 84, 84, 4) uint8 to logits."""
    best = load_best(run_dir)
    return best.settings, best.forward
