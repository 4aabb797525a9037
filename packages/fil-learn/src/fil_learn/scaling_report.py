"""The scaling curve as a person reads it: `curve.md` (a table) and `curve.png` (v5 score
against samples processed, log x), with the scores it must be compared to.

Redrawn from all rows after every new row, so the committed files always match curve.jsonl.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from fil_learn.scaling_plan import Preset


def references(preset: Preset) -> list[tuple[str, float]]:
    """(label, v5 score) of the horizontal reference lines: random play from `games.py`, then
    the preset's own."""
    random_score = preset.random_score()
    lines = [] if random_score is None else [("random (games.py)", random_score)]
    return lines + list(preset.references)


def write_report(folder: Path, preset: Preset, rows: list[dict[str, Any]]) -> list[Path]:
    """Write curve.md and curve.png into `folder`; returns their paths."""
    table, figure = folder / "curve.md", folder / "curve.png"
    table.write_text(curve_table(preset, rows))
    plot_curve(preset, rows, figure)
    return [table, figure]


def curve_table(preset: Preset, rows: list[dict[str, Any]]) -> str:
    """Markdown: one line per row, by data size then samples processed, and the references."""
    lines = [
        f"# {preset.game}: v5 score against samples processed (preset {preset.name})",
        "",
        "| shards | episodes | epochs | samples processed | unique steps | emulator frames "
        "| v5 mean ± 95% CI | teacher mean | core-h collect / fit / eval | published |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |",
    ]
    for row in sorted(rows, key=lambda r: (r["shards"], r["samples_processed"])):
        hours = row["core_hours"]
        lines.append(
            f"| {row['shards']} | {row['episodes']} | {row['epochs']} | "
            f"{row['samples_processed']:,} | {row['unique_steps']:,} | "
            f"{row['emulator_frames']:,} | {row['v5_mean']:,.1f} ± {_ci(row['v5_ci95'])} "
            f"({_episodes(row)}) | {row['teacher_mean_return']:,.1f} | "
            f"{hours['collect']:.2f} / {hours['fit']:.2f} / {hours['eval']:.2f} | "
            f"{'yes' if row.get('published') else ''} |"
        )
    if any(row.get("v5_distinct_games") is not None for row in rows):
        lines += ["", "N distinct: how many different games the evaluation episodes were. A "
                  "greedy policy may play one game again and again despite sticky actions; its "
                  "interval then describes N games, not 30."]  # fmt: skip
    lines += ["", "References under v5:", ""]
    lines += [f"- {label}: {value:,.1f}" for label, value in references(preset)]
    if preset.teacher_curve:
        points = ", ".join(f"{s / 1e6:g}M: {r:,.0f}" for s, r in preset.teacher_curve)
        lines.append(
            f"- Tuyls et al. 2023, BC of a PPO teacher (samples processed: best): {points}"
        )
    if preset.notes:
        lines += ["", "Reading the points:", "", *(f"- {note}" for note in preset.notes)]
    return "\n".join(lines + next_points(preset, rows)) + "\n"


def next_points(preset: Preset, rows: list[dict[str, Any]]) -> list[str]:
    """What each milestone past the curve would cost, at the rates its own rows measured: the
    largest fit continued where it is within `max_epochs` passes over its data, else the
    smallest larger data size that holds it (its missing shards collected, a fit from the
    start). A curve that stops short says how far it got and what going on costs."""
    if not rows:
        return []
    rates = _rates(rows)
    have = max(row["shards"] for row in rows)
    done = max(row["samples_processed"] for row in rows if row["shards"] == have)
    lines = []
    for milestone in (m for m in sorted(preset.milestones) if m > done * 1.1):
        sizes = (n for n in sorted(preset.data_sizes) if n >= have)
        shards = next(
            (n for n in sizes if milestone / (n * rates["steps_per_shard"]) <= preset.max_epochs),
            None,
        )
        if shards is None:
            lines.append(f"- {milestone / 1e6:g}M samples: more shards than the preset's sizes")
            continue
        collect = (shards - have) * rates["collect_per_shard"]
        fit = (milestone - (done if shards == have else 0)) / rates["samples_per_core_hour"]
        how = "the same fit continued" if shards == have else f"{shards - have} shards to collect"
        lines.append(
            f"- {milestone / 1e6:g}M samples: {shards} shards ({how}), "
            f"{milestone / (shards * rates['steps_per_shard']):.0f} epochs: collect "
            f"{collect:.2f} + fit {fit:.2f} = {collect + fit:.2f} CPU core-hours, at least "
            f"{(collect + fit) / 2:.1f} h on 2 cores"
        )
    if not lines:
        return []
    return [
        "",
        "What the next points cost, at this curve's own rates "
        f"({rates['collect_per_shard']:.2f} core-h to collect a shard of "
        f"~{rates['steps_per_shard']:,.0f} training steps; "
        f"{rates['samples_per_core_hour'] / 3600:,.0f} samples per core-second of fitting; "
        "evaluations not counted):",
        "",
        *lines,
    ]


def _rates(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Per shard collection core-hours and training steps, and fitting samples per core-hour,
    from the rows (the largest data size's rows: the most recent costs)."""
    largest = max(row["shards"] for row in rows)
    last = [row for row in rows if row["shards"] == largest]
    final = max(last, key=lambda row: row["samples_processed"])
    return {
        "collect_per_shard": final["core_hours"]["collect"] / largest,
        "steps_per_shard": final["unique_steps"] / largest,
        "samples_per_core_hour": final["samples_processed"] / max(final["core_hours"]["fit"], 1e-9),
    }


def _episodes(row: dict[str, Any]) -> str:
    """ "30 eps", and how many distinct games they were where the row knows it."""
    distinct = row.get("v5_distinct_games")
    return f"{row['eval_episodes']} eps" + ("" if distinct is None else f", {distinct} distinct")


def _ci(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:,.1f}"


def plot_curve(preset: Preset, rows: list[dict[str, Any]], path: Path) -> None:
    """One line per data size (mean ± 95% CI), the published curve, the reference lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(10, 5), constrained_layout=True)
    for shards in sorted({row["shards"] for row in rows}):
        mine = sorted((r for r in rows if r["shards"] == shards), key=lambda r: r["epochs"])
        ax.errorbar(
            [r["samples_processed"] for r in mine],
            [r["v5_mean"] for r in mine],
            yerr=[0.0 if math.isnan(r["v5_ci95"] or math.nan) else r["v5_ci95"] for r in mine],
            fmt="o-",
            capsize=4,
            label=f"{shards} shards ({mine[0]['episodes']} episodes)",
        )
    if preset.teacher_curve:
        samples, scores = zip(*preset.teacher_curve, strict=True)
        ax.plot(samples, scores, "k^--", alpha=0.6, label="Tuyls et al. 2023 (BC of PPO)")
    styles = ["--", ":", "-.", (0, (5, 1))]
    for i, (label, value) in enumerate(references(preset)):
        ax.axhline(value, linestyle=styles[i % len(styles)], color=f"C{7 + i % 3}",
                   linewidth=1.2, label=f"{label}: {value:,.0f}")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("samples processed (epochs x training samples)")
    ax.set_ylabel("v5 mean return")
    figure.suptitle(f"{preset.game}: behaviour cloning of FMC swarms, score vs samples processed")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    figure.savefig(path, dpi=100)
    plt.close(figure)
