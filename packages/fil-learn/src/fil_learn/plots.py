"""The training curves a person looks at to see whether a fit learned.

A loss means little without its reference: a policy that learned nothing predicts every action
with probability 1/A, so its cross-entropy is ln A and its accuracy about 1/A (exactly that for
balanced actions). Both are drawn, with the epoch `best/` keeps and where each stage of the run
(a fit on new data) began. The loop's score per round (`plot_rounds`) is drawn against the
same references its table lists.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

from fil_learn.loop_table import references

if TYPE_CHECKING:
    from fil_learn.loop_config import LoopConfig
from fil_learn.outputs import replacing


def plot_history(
    history: list[dict[str, Any]],
    path: Path,
    title: str,
    n_actions: int,
    best_epoch: int | None = None,
) -> None:
    """Loss and accuracy per epoch, training and validation, side by side."""
    if not history:
        return
    figure = history_figure(history, title, n_actions, best_epoch)
    try:
        with replacing(path, ".png") as temp:  # a full disk leaves the last whole plot
            figure.savefig(temp, dpi=100)
    finally:
        plt.close(figure)


def history_figure(
    history: list[dict[str, Any]], title: str, n_actions: int, best_epoch: int | None
) -> Any:
    """The figure `plot_history` saves (a matplotlib Figure)."""
    epochs = [row["epoch"] for row in history]
    chance = {"loss": math.log(n_actions), "accuracy": 1.0 / n_actions}
    figure, (loss_ax, accuracy_ax) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, key, label in (
        (loss_ax, "loss", "cross-entropy"),
        (accuracy_ax, "accuracy", "accuracy"),
    ):
        ax.plot(epochs, [row[f"train_{key}"] for row in history], "o-", label="train")
        if any(row[f"val_{key}"] is not None for row in history):
            ax.plot(epochs, [row[f"val_{key}"] for row in history], "s-", label="validation")
        ax.axhline(chance[key], color="gray", linestyle="--", label=f"chance ({n_actions} actions)")
        _mark_epochs(ax, history, best_epoch)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))  # no epoch 1.5
        ax.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    highest = max(max(row["train_loss"], row["val_loss"] or 0.0) for row in history)
    loss_ax.set_ylim(0, 1.1 * max(highest, chance["loss"]))
    accuracy_ax.set_ylim(0, 1)
    figure.suptitle(title)
    return figure


def _mark_epochs(ax: Any, history: list[dict[str, Any]], best_epoch: int | None) -> None:
    """A line where each stage after the first begins, and one at the epoch `best/` keeps."""
    starts = [
        row["epoch"]
        for before, row in itertools.pairwise(history)
        if row.get("stage", 1) != before.get("stage", 1)
    ]
    for number, epoch in enumerate(starts):
        ax.axvline(
            epoch - 0.5,
            color="tab:purple",
            linestyle=":",
            label="new stage" if not number else None,
        )
    if best_epoch is not None:
        ax.axvline(best_epoch, color="tab:green", alpha=0.6, label=f"best/ (epoch {best_epoch})")


def plot_rounds(
    config: LoopConfig, rows: list[dict[str, Any]], baselines: dict[str, Any] | None
) -> None:
    """Score vs round with its 95% CI, and the reference scores as horizontal lines."""
    figure, ax = plt.subplots(figsize=(9, 4.5), constrained_layout=True)
    ax.errorbar(
        [r["round"] for r in rows],
        [r["eval_mean"] for r in rows],
        yerr=[0 if math.isnan(r["eval_ci95"] or math.nan) else r["eval_ci95"] for r in rows],
        fmt="o-",
        capsize=4,
        label=f"{config.mode} (v5, 95% CI)",
    )
    colors = ["tab:red", "tab:orange", "tab:purple", "tab:green", "tab:gray", "tab:brown"]
    styles = ["--", ":", "-.", (0, (5, 1)), (0, (1, 2)), (0, (3, 1, 1, 1))]
    for i, (label, value) in enumerate(references(rows, baselines)):
        ax.axhline(
            value,
            linestyle=styles[i % len(styles)],
            color=colors[i % len(colors)],
            linewidth=1.2,
            label=f"{label}: {value:,.0f}",
        )
    ax.set_xticks([row["round"] for row in rows])
    ax.set_xlabel("round")
    ax.set_ylabel("mean return")
    ax.set_title(f"{config.game}: score vs round")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    figure.savefig(config.workdir / "score.png", dpi=100)
    plt.close(figure)
