"""The best policy so far, where a reader looks for it: `results/best/<game>.onnx` and its card
`results/best/<game>.json` (what it scores, what it cost, the command that reproduces it).

A row replaces them only when its v5 mean beats the card's. Files that `scale` did not write
(a best policy published by other means, with or without a card) are replaced only with
`--force`: a card says `"written_by": "fil-learn scale"` when this module wrote it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fil_learn.games import game_key
from fil_learn.run_folder import write_atomic

if TYPE_CHECKING:
    from fil_learn.scaling import ScaleOptions

WRITTEN_BY = "fil-learn scale"
NOT_SET_IN_REPRODUCTION = ("data_sizes", "milestones")
"""Settings the reproducing command gives itself: the row's data size and milestone."""


class Publisher:
    """Decides whether a row becomes the best policy, and writes it there."""

    def __init__(
        self,
        options: ScaleOptions,
        learn: Callable[..., None],
        echo: Callable[[str], None],
    ) -> None:
        self.options = options
        self.learn = learn
        self.echo = echo
        folder = options.results / "best"
        self.card = folder / f"{game_key(options.preset.game)}.json"
        self.policy = folder / f"{game_key(options.preset.game)}.onnx"

    def files(self) -> list[Path]:
        """The published policy and its card, when this module wrote them."""
        card = self.read_card()
        written = card is not None and card.get("written_by") == WRITTEN_BY
        return [self.policy, self.card] if written else []

    def read_card(self) -> dict[str, Any] | None:
        return json.loads(self.card.read_text()) if self.card.exists() else None

    def refusal(self, row: dict[str, Any]) -> str | None:
        """Why the row is not published (None: it is), in words for the progress line."""
        card = self.read_card()
        if card is not None and row["v5_mean"] <= card["v5"]["mean"]:
            return f"does not beat {self.card} (v5 {card['v5']['mean']:,.1f})"
        if self.options.force:
            return None
        if card is not None and card.get("written_by") != WRITTEN_BY:
            return f"{self.card} was not written by fil-learn scale: --force replaces it"
        if card is None and self.policy.exists():
            return f"{self.policy} exists without a card: --force replaces it"
        return None

    def consider(
        self, row: dict[str, Any], run_dir: Path, noop30: Callable[[], dict[str, Any]]
    ) -> list[Path]:
        """Publish the row's policy if it is the best; marks the row; returns what it wrote."""
        if self.is_card_of(row):  # published before a kill kept the row from being written
            row["published"] = True
            return [self.policy, self.card]
        refusal = self.refusal(row)
        row["published"] = refusal is None
        if refusal is not None:
            self.echo(f"[publish] not published: {refusal}")
            return []
        noop = noop30()
        exported = run_dir / f"policy-epoch{row['epochs']:03d}.onnx"
        if not exported.exists():
            self.learn("export", run_dir, "--out", exported, "--quiet")
        self.card.parent.mkdir(parents=True, exist_ok=True)
        temp = self.policy.with_name(f".{self.policy.name}.tmp")
        shutil.copyfile(exported, temp)
        temp.replace(self.policy)
        write_atomic(self.card, json.dumps(self.card_json(row, noop), indent=2) + "\n")
        self.echo(f"[publish] {self.policy} and {self.card}: v5 {row['v5_mean']:,.1f}")
        return [self.policy, self.card]

    def is_card_of(self, row: dict[str, Any]) -> bool:
        """Whether the card describes this very row (same data size, epochs and score)."""
        card = self.read_card()
        return card is not None and card.get("written_by") == WRITTEN_BY and all(
            card.get(k) == row[k] for k in ("shards", "epochs", "samples_processed")
        ) and card["v5"]["mean"] == row["v5_mean"]  # fmt: skip

    def card_json(self, row: dict[str, Any], noop: dict[str, Any]) -> dict[str, Any]:
        preset = self.options.preset
        return {
            "written_by": WRITTEN_BY,
            "game": preset.game,
            "policy": self.policy.name,
            "settings": preset.as_json(),
            "shards": row["shards"],
            "epochs": row["epochs"],
            "samples_processed": row["samples_processed"],
            "unique_steps": row["unique_steps"],
            "emulator_frames": row["emulator_frames"],
            "core_hours": row["core_hours"],
            "model": row["model"],
            "parameters": row["parameters"],
            "v5": _score(row["v5_mean"], row["v5_std"], row["v5_ci95"], row),
            "noop30": _score(noop["mean"], noop["std"], noop["ci95"], row),
            "teacher_mean_return": row["teacher_mean_return"],
            "commit": row["commit"],
            "reproduce": self.command(row),
        }

    def command(self, row: dict[str, Any]) -> str:
        """The one command that measures this row again (in another results folder)."""
        kept = [
            a for a in self.options.overrides
            if a.partition("=")[0].strip() not in NOT_SET_IN_REPRODUCTION
        ]  # fmt: skip
        sets = [*kept, f"data_sizes={row['shards']}", f"milestones={row['milestone']}"]
        return f"fil-learn scale --preset {self.options.preset.name} " + " ".join(
            f"--set {a}" for a in sets
        )


def _score(mean: float, std: float, ci95: float, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "mean": mean,
        "std": std,
        "ci95": ci95,
        "episodes": row["eval_episodes"],
        "seeds": row["eval_seeds"],
        "max_steps": row["eval_max_steps"],
    }
