"""The training curves a person looks at to see whether a fit learned."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def plot_history(history: list[dict[str, Any]], path: Path, title: str) -> None:
    """Loss and accuracy per epoch, training and validation, side by side."""
    if not history:
        return
    epochs = [row["epoch"] for row in history]
    figure, (loss_ax, accuracy_ax) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, key, label in (
        (loss_ax, "loss", "cross-entropy"),
        (accuracy_ax, "accuracy", "accuracy"),
    ):
        ax.plot(epochs, [row[f"train_{key}"] for row in history], "o-", label="train")
        if any(row[f"val_{key}"] is not None for row in history):
            ax.plot(epochs, [row[f"val_{key}"] for row in history], "s-", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    accuracy_ax.set_ylim(0, 1)
    figure.suptitle(title)
    figure.savefig(path, dpi=100)
    plt.close(figure)
