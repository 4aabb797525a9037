"""A run folder of `fil-learn fit`, and what a call of `fit` does in it.

The folder holds run.json (the settings and the stages of training), metrics.jsonl (one row an
epoch, and TensorBoard event files beside it), checkpoints/ (the latest training state, to
resume) and best/ (the parameters `eval` plays), and training.png. The same command run again
continues what it started; other data starts a new stage from the best parameters (see
`plan_stages`). This module decides which, before any training; it imports no JAX.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from fil_learn.config import RESUME_SETTINGS, FitConfig, run_model
from fil_learn.outputs import write_atomic

if TYPE_CHECKING:
    from fil_learn.checkpoint import CheckpointStore

LATEST, BEST = "checkpoints", "best"
"""The folders of the latest training state (two kept) and of the best parameters (one)."""
RUN_FILES = ("run.json", "metrics.jsonl", "training.png", LATEST, BEST)
"""What `fit` writes into a run folder: all that `--force` removes, never anything else."""


@dataclass(frozen=True)
class EpochMetrics:
    """One epoch's results: a row of metrics.jsonl (with the stage), and what `fit` returns."""

    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    samples_per_second: float
    seconds: float


METRIC_FIELDS = tuple(f.name for f in dataclasses.fields(EpochMetrics))
ROW_FIELDS = (*METRIC_FIELDS, "stage")


@dataclass(frozen=True, kw_only=True)
class Stage:
    """One stage of a run: `epochs` epochs on one set of data, counted on from `first_epoch`.

    Runs written by earlier versions lack some fields (None here, absent in run.json).
    """

    datasets: tuple[str, ...]
    """The paths the data was given by (informative: `data` decides what is the same)."""
    data: tuple[str, ...] | None = None
    """The datasets' checksums, in order: the data's identity."""
    content: dict[str, int] | None = None
    """Episodes and samples, which told data apart before checksums were kept."""
    first_epoch: int
    epochs: int | None = None
    fit: dict[str, Any] | None = None
    """The stage's `FitConfig`, as `dataclasses.asdict` writes it."""
    start_val_loss: float | None = None
    """The validation loss of the policy a later stage started from: the bar its epochs must
    beat to replace `best/`."""

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> Stage:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in entry.items() if k in known}
        for key in ("datasets", "data"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        """The stage as run.json keeps it: fields that are None are left out."""
        entry: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is not None:
                entry[field.name] = list(value) if isinstance(value, tuple) else value
        return entry

    @property
    def bar(self) -> float:
        """The validation loss an epoch of this stage must beat to become `best/`."""
        return math.inf if self.start_val_loss is None else self.start_val_loss


@dataclass(frozen=True)
class StagePlan:
    """What this call of `fit` does in the run folder, decided before any training."""

    stages: tuple[Stage, ...]
    """The run's stages, the one this call trains last."""
    last_epoch: int
    """The last epoch the folder holds a checkpoint of (0: none)."""
    final_epoch: int
    """The last epoch this call trains up to (epochs count on across stages)."""
    nothing_to_do: bool
    text: str
    """The plan in words, said before any work so that a user sees what the same command
    means now."""

    @property
    def stage(self) -> Stage:
        return self.stages[-1]

    @property
    def number(self) -> int:
        """The current stage's number, from 1."""
        return len(self.stages)

    @property
    def first_new_epoch(self) -> int:
        """The first epoch this call trains (the stage's first, or the one after a kill)."""
        return self.last_epoch + 1

    @property
    def resumes_stage(self) -> bool:
        """An interrupted stage: the latest checkpoint continues it exactly where it stopped."""
        return self.last_epoch >= self.stage.first_epoch

    def stages_json(self) -> list[dict[str, Any]]:
        return [stage.to_json() for stage in self.stages]

    def with_bar(self, start_val_loss: float) -> StagePlan:
        """The plan with the current stage's bar (`Stage.start_val_loss`) set."""
        stage = dataclasses.replace(self.stage, start_val_loss=start_val_loss)
        return dataclasses.replace(self, stages=(*self.stages[:-1], stage))


def plan_stages(
    previous: dict[str, Any] | None,
    datasets: list[str],
    digests: list[str],
    content: dict[str, int],
    config: FitConfig,
    last_epoch: int,
    out: Path,
) -> StagePlan:
    """The run's training stages, the current one last, and what this call does.

    `fit` again on the same data continues the current stage up to `--epochs` (an interrupted
    fit, or more epochs); on other data it starts a new stage of `--epochs` more epochs from the
    best parameters, so each round fine-tunes the policy that played. Data is the same when its
    content is: the files' checksums in order (`digests`), whatever paths name them; a file
    that `fil-collect` appended to under the same name is new data (the seed notebook's loop
    grows one file). Every stage keeps its own settings; a continued stage must keep those that
    shape its training (`RESUME_SETTINGS`).
    """
    new = Stage(
        datasets=tuple(datasets),
        data=tuple(digests),
        content=content,
        first_epoch=last_epoch + 1,
        epochs=config.epochs,
        fit=dataclasses.asdict(config),
    )
    stages, text = _stages(previous, new, config, last_epoch, out)
    final_epoch = stages[-1].first_epoch + config.epochs - 1
    nothing_to_do = previous is not None and final_epoch <= last_epoch
    return StagePlan(tuple(stages), last_epoch, final_epoch, nothing_to_do, text)


def _stages(
    previous: dict[str, Any] | None, new: Stage, config: FitConfig, last_epoch: int, out: Path
) -> tuple[list[Stage], str]:
    """`plan_stages`'s stages and words; `new` is this call's data as a stage of its own."""
    epochs, fit_settings = config.epochs, dataclasses.asdict(config)
    stages = [Stage.from_json(s) for s in (previous or {}).get("stages", [])]
    if previous is not None and not stages:  # a run written before stages existed
        stages = [Stage(datasets=tuple(previous["datasets"]), first_epoch=1)]
    if not stages:
        return [dataclasses.replace(new, first_epoch=1)], f"new run {out}: {epochs} epoch(s)"
    current = stages[-1]
    if not _same_data(current, new):
        return [*stages, new], (
            f"{out} holds a fit on other data: stage {len(stages) + 1} trains "
            f"{epochs} epoch(s) on this data from the best parameters so far"
        )
    done = last_epoch - current.first_epoch + 1
    earlier = current.fit if current.fit is not None else (previous or {}).get("fit", {})
    changed = [k for k in RESUME_SETTINGS if k in earlier and earlier[k] != fit_settings[k]]
    if changed and done > 0:
        was = ", ".join(f"--{k.replace('_', '-')} {earlier[k]}" for k in changed)
        raise ValueError(
            f"{out} trained this data with {was}: give the same to continue it, or --force "
            "to start a fresh run"
        )
    number = len(stages)
    if epochs <= done:
        return stages, (
            f"{out} already trained stage {number} for {done} epoch(s) on this data "
            f"(--epochs {epochs} is the stage's total): nothing to do; raise --epochs "
            "to train more, or --force to start over"
        )
    stages[-1] = dataclasses.replace(current, epochs=epochs, fit=fit_settings, data=new.data)
    what = "continues" if done else "starts"
    return stages, (
        f"{out} {what} stage {number} on the same data: epochs {done + 1}-{epochs} of {epochs}"
    )


def _same_data(current: Stage, new: Stage) -> bool:
    """By checksums; a stage written before they were kept, by paths and content."""
    if current.data is not None:
        return current.data == new.data
    content = current.content if current.content is not None else new.content
    return current.datasets == new.datasets and content == new.content


def check_resumable(previous: dict[str, Any], game: str, model: Any, size: str, out: Path) -> None:
    """The run in `out` must be of the same game, the same `--model` size (runs from before
    sizes were named are `nature`) and the same model (a `ModelConfig`)."""
    if previous["game"] != game:
        raise ValueError(
            f"{out} is a {previous['game']} run, the data is {game}: choose another --out"
        )
    trained = run_model(previous)
    if trained != size:
        raise ValueError(
            f"{out} holds a --model {trained} network, not {size}: give --model {trained} to "
            "continue it, or another --out"
        )
    # a field added to ModelConfig since the run was written has its default there
    defaults = {
        f.name: f.default for f in dataclasses.fields(model) if f.default is not dataclasses.MISSING
    }
    stored = json.loads(json.dumps({**defaults, **previous["model"]}))
    if stored.get("history") != model.history:
        raise ValueError(
            f"{out} holds a network that looks at {stored.get('history')} frame(s), not "
            f"{model.history}: give --history {stored.get('history')} to continue it, or another --out"
        )
    if stored != json.loads(json.dumps(dataclasses.asdict(model))):
        raise ValueError(f"{out} holds a model of another shape: choose another --out")


class Checkpoints(NamedTuple):
    latest: CheckpointStore
    """The whole training state of the last two epochs (and each epoch's metrics row)."""
    best: CheckpointStore
    """The parameters of the epoch with the best validation loss: what `eval` plays."""


class RunDir:
    """A run folder: run.json (settings), metrics.jsonl (and TensorBoard event files), checkpoints,
    best parameters, plot."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.settings_file = path / "run.json"
        self.metrics_file = path / "metrics.jsonl"
        self.plot_file = path / "training.png"

    def read_settings(self) -> dict[str, Any] | None:
        if not self.settings_file.exists():
            return None
        return json.loads(self.settings_file.read_text())

    def write_settings(self, settings: dict[str, Any]) -> None:
        write_atomic(self.settings_file, json.dumps(settings, indent=2) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        if not self.metrics_file.exists():
            return []
        return [
            json.loads(line) for line in self.metrics_file.read_text().splitlines() if line.strip()
        ]

    def write_metrics(self, rows: list[dict[str, Any]]) -> None:
        write_atomic(self.metrics_file, "".join(json.dumps(r) + "\n" for r in rows))

    def history(self, last_epoch: int, saved_row: np.ndarray | None = None) -> list[dict[str, Any]]:
        """The metrics rows up to `last_epoch`, the epoch training goes on from. A fit killed
        after saving a checkpoint and before writing metrics.jsonl lost the row there; the
        checkpoint saved it (`saved_row`), and it comes back."""
        rows = self.read_metrics()
        if saved_row is not None and all(row["epoch"] != last_epoch for row in rows):
            rows.append(row_from_array(saved_row))
        return [row for row in rows if row["epoch"] <= last_epoch]

    @contextlib.contextmanager
    def checkpoints(self) -> Iterator[Checkpoints]:
        """The folder's two checkpoint stores, open for the block (orbax, so JAX, is imported
        here, not with this module)."""
        from fil_learn.checkpoint import CheckpointStore

        latest = CheckpointStore(self.path, LATEST, keep=2)
        best = CheckpointStore(self.path, BEST, keep=1)
        try:
            yield Checkpoints(latest, best)
        finally:
            latest.close()
            best.close()

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


def row_to_array(row: dict[str, Any]) -> np.ndarray:
    """A metrics row as numbers (None as NaN), to be saved inside a checkpoint."""
    values = [row[k] for k in ROW_FIELDS]
    return np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)


def row_from_array(values: np.ndarray) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key, value in zip(ROW_FIELDS, np.asarray(values).tolist(), strict=True):
        row[key] = None if math.isnan(value) else value
    row["epoch"], row["stage"] = int(row["epoch"]), int(row["stage"])
    return row


def restore_latest(store: CheckpointStore, step: int, params: Any, opt_state: Any) -> Any:
    """The training state of `step`, with its metrics row where the checkpoint has one
    (checkpoints written before rows were saved in them restore without)."""
    like = {"params": params, "opt_state": opt_state, "best_val": np.float64(0)}
    try:
        return store.restore(step, {**like, "row": np.zeros(len(ROW_FIELDS), np.float64)})
    except ValueError:  # orbax: the tree on disk has no "row"
        return store.restore(step, like)
