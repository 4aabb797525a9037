"""The loop's round table, `rounds.md`: a row per round and the final evaluation, with the
reference scores (random, best constant action, human, round 0) a round must beat."""

from __future__ import annotations

import math
from typing import Any

from fil_learn.loop_config import LoopConfig


def references(
    rows: list[dict[str, Any]], baselines: dict[str, Any] | None
) -> list[tuple[str, float]]:
    """The reference scores of the plot and table: (label, v5 mean)."""
    lines: list[tuple[str, float]] = []
    first = rows[0] if rows else {}
    if first.get("random_score") is not None:
        lines.append(("random (literature)", first["random_score"]))
    if baselines is not None:
        lines.append(
            (
                f"random (measured, {baselines['episodes']} eps)",
                baselines["random"]["mean"],
            )
        )
        lines.append(
            (
                f"hold {baselines['best_constant_action']} (best constant action, "
                f"{baselines['episodes']} eps)",
                baselines["best_constant_mean"],
            )
        )
    if first.get("human_score") is not None:
        lines.append(("human (literature)", first["human_score"]))
    if rows:
        first_is = "the start policy" if rows[0].get("start_sha256") else "plain BC"
        lines.append((f"{first_is} (round 0)", rows[0]["eval_mean"]))
    return lines


def write_table(
    config: LoopConfig,
    rows: list[dict[str, Any]],
    baselines: dict[str, Any] | None,
    finals: dict[str, Any] | None = None,
) -> None:
    """Write `rounds.md`: what a person reads of the loop (the record is `rounds.json`)."""
    lines = [
        f"# {config.game}, {config.mode}, {config.rounds} rounds",
        "",
        "| round | training samples | samples processed | emulator frames (all so far) | "
        "wall time (min) | CPU hours | policy val accuracy | policy epoch | "
        "eval v5 mean ± 95% CI | human-normalized | fits compared (v5 means) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    elapsed = 0.0
    for index, row in enumerate(rows):
        elapsed += row["seconds"]
        accuracy = "n/a" if row["val_accuracy"] is None else f"{row['val_accuracy']:.3f}"
        fits = _candidates(row.get("candidate_means"), row.get("candidate_histories"))
        lines.append(
            f"| {row['round']} | {row['samples']:,} | {_count(row.get('samples_processed'))} | "
            f"{row['emulator_frames']:,} | {row['seconds'] / 60:.1f} (total {elapsed / 60:.1f}) | "
            f"{_hours(row.get('cpu_seconds'))} | {accuracy} | "
            f"{_policy_epoch(row, rows[index - 1] if index and not config.fresh else None)} | "
            f"{row['eval_mean']:,.1f} ± {ci_text(row['eval_ci95'])} ({row['eval_episodes']} eps) | "
            f"{_percent(row['human_normalized'])} | {fits} |"
        )
    lines += ["", "References under v5:", ""]
    lines += [f"- {label}: {value:,.1f}" for label, value in references(rows, baselines)]
    if finals:
        lines += _final_table(config, finals)
    (config.workdir / "rounds.md").write_text("\n".join(lines) + "\n")


def _policy_epoch(row: dict[str, Any], before: dict[str, Any] | None) -> str:
    """The epoch a round's policy comes from, marked when it is the round before's (its fit
    kept the earlier parameters; never with `fresh`, where every round has its own fit, so
    `before` is None); n/a in records written before it was kept."""
    epoch = row.get("policy_epoch")
    if epoch is None:
        return "n/a"
    same = before is not None and before.get("policy_epoch") == epoch
    return f"{epoch} (unchanged)" if same else str(epoch)


def _final_table(config: LoopConfig, finals: dict[str, Any]) -> list[str]:
    lines = [
        "",
        f"Final evaluation, {config.final_episodes} episodes per protocol (round 0 = "
        f"{'the start policy' if config.start else 'plain behaviour cloning'}; the other, the "
        "round with the best round evaluation):",
        "",
        "| policy | protocol | mean ± 95% CI | std | min | max | human-normalized |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, s in finals.items():
        policy, protocol = key.split("/")
        lines.append(
            f"| {policy} | {protocol} | {s['mean']:,.1f} ± {ci_text(s['ci95'])} | {s['std']:,.1f} | "
            f"{s['min']:,.0f} | {s['max']:,.0f} | {_percent(s['human_normalized'])} |"
        )
    return lines


def _candidates(means: list[float] | None, histories: list[int] | None = None) -> str:
    """The round's fits by their round evaluations (`--candidates`), one when there were none;
    with `--candidate-histories`, each mean says how many frames its network saw."""
    if not means:
        return "1"
    if not histories:
        return ", ".join(f"{mean:,.1f}" for mean in means)
    return ", ".join(f"{mean:,.1f} ({h}f)" for mean, h in zip(means, histories, strict=True))


def _count(value: int | None) -> str:
    """A count, n/a in rows recorded before it was kept."""
    return "n/a" if value is None else f"{value:,}"


def _hours(seconds: float | None) -> str:
    """CPU seconds as hours, n/a in rows recorded before they were measured."""
    return "n/a" if seconds is None else f"{seconds / 3600:.2f}"


def ci_text(value: float | None) -> str:
    """A 95% CI half-width, n/a where there is none (one episode)."""
    return "n/a" if value is None or math.isnan(value) else f"{value:,.1f}"


def _percent(value: float | None) -> str:
    """A human-normalized score, n/a for games without reference scores."""
    return "n/a" if value is None else f"{value:.1f}%"
