"""Training metrics as TensorBoard event files, beside `metrics.jsonl` in the run folder.

`metrics.jsonl` is the record fil reads back; the event files are for people, because
TensorBoard is what CleanRL and Flax users open first (`tensorboard --logdir runs`).
tensorboardX writes them without TensorFlow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SCALARS = {
    "train_loss": "loss/train",
    "val_loss": "loss/validation",
    "train_accuracy": "accuracy/train",
    "val_accuracy": "accuracy/validation",
    "samples_per_second": "speed/samples_per_second",
}
"""metrics.jsonl key -> TensorBoard tag (loss and accuracy of both splits share a chart)."""


class MetricsBoard:
    """One event file per `fit` call in the run folder; a resumed fit adds a new one."""

    def __init__(self, folder: Path) -> None:
        from tensorboardX import SummaryWriter

        self._writer = SummaryWriter(logdir=str(folder))

    def add_epoch(self, row: dict[str, Any]) -> None:
        """The epoch's metrics (a metrics.jsonl row), on disk when this returns."""
        for key, tag in SCALARS.items():
            if row.get(key) is not None:
                self._writer.add_scalar(tag, row[key], global_step=row["epoch"])
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()
