"""How much of a student's score is its fit's seed? K fits of one dataset, differing only there.

    uv run python bench/fit_seeds.py --preset spaceinvaders-guided --shards 4 --epochs 3 \
        --seeds 0 1 2 3 4 --jsonl results/spaceinvaders-guided-scaling/fit-seeds.jsonl

A point of `fil-learn scale`'s curve is one fit (fit seed 0). On SpaceInvaders, fits of one
dataset that differ only in their seed have scored 295 to 973 (journal 2026-12-05-1), wider
than most gaps between the curve's points. This measures the spread where the curve stands:
for each seed it fits the scale preset's first `--shards` shards (runs/scale/PRESET, which
`fil-learn scale` collects) for `--epochs` with the preset's own fit settings, the seed alone
changed, then plays the policy 30 episodes under v5 on the preset's evaluation seeds (never
collected on). One JSON line per fit goes to `--jsonl`; the summary (mean, standard deviation,
best, worst) is printed. Resumable: a seed whose line exists is skipped, and a fit folder
continues where it stopped.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from fil_learn.children import children_cpu_seconds, run_child
from fil_learn.config import fit_argv
from fil_learn.outputs import write_atomic
from fil_learn.scaling_plan import (
    PRESETS,
    Preset,
    apply_overrides,
    eval_argv,
    read_shard,
    shard_path,
    trained_epochs,
)

EXIT_USAGE = 2


def fit_and_play(args: argparse.Namespace, preset: Preset, seed: int) -> dict[str, Any]:
    """One seed's fit (continued if stopped) and its v5 evaluation, as a row."""
    shards = [shard_path(args.runs, preset, k) for k in range(args.shards)]
    run_dir = args.runs / preset.folder / f"seeds-{args.shards:02d}shards-{args.epochs}ep-s{seed}"
    config = dataclasses.replace(preset.fit_config(args.epochs), seed=seed)
    started = children_cpu_seconds()
    if trained_epochs(run_dir) < args.epochs:
        learn("fit", *shards, "--out", run_dir, *fit_argv(config), "--quiet")
    result = run_dir / "eval-v5.json"
    if not result.exists():
        learn(*eval_argv(preset, run_dir, "v5", result))
    scores = json.loads(result.read_text())
    return {
        "preset": preset.name, "shards": args.shards, "epochs": args.epochs, "fit_seed": seed,
        "v5_mean": scores["mean"], "v5_ci95": scores["ci95"],
        "v5_distinct_games": scores.get("distinct_games"),
        "eval_seeds": [preset.eval_seed, preset.eval_seed + preset.eval_episodes - 1],
        "eval_max_steps": preset.eval_max_steps,
        "run": str(run_dir), "cpu_seconds": round(children_cpu_seconds() - started, 1),  # this call's
    }  # fmt: skip


def learn(*args: object) -> None:
    """`fil-learn ARGS` under this interpreter (no other environment is synced)."""
    run_child([sys.executable, "-m", "fil_learn", *map(str, args)], print, show_output=False)


def summary(rows: list[dict[str, Any]]) -> str:
    means = [row["v5_mean"] for row in rows]
    spread = statistics.stdev(means) if len(means) > 1 else float("nan")
    return (
        f"{len(means)} fits: mean {statistics.mean(means):,.1f}, standard deviation "
        f"{spread:,.1f}, best {max(means):,.1f}, worst {min(means):,.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="spaceinvaders-guided", choices=sorted(PRESETS))
    parser.add_argument("--shards", type=int, required=True, help="fit shards 0..N-1")
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", required=True)
    parser.add_argument("--jsonl", type=Path, required=True, help="one line per fit (appended)")
    parser.add_argument("--runs", type=Path, default=Path("runs/scale"))
    parser.add_argument(
        "--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
        help="the preset's settings as `fil-learn scale --set` gave them (trials, tests)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    try:
        preset = apply_overrides(PRESETS[args.preset], args.sets)
    except ValueError as error:
        print(f"fit_seeds: {error}", file=sys.stderr)
        return EXIT_USAGE
    missing = [k for k in range(args.shards) if not read_shard(args.runs, preset, k).complete]
    if args.shards < 1 or args.epochs < 1 or missing:
        what = f"shard(s) {missing} are not complete" if missing else "--shards and --epochs >= 1"
        print(f"fit_seeds: {what}: run fil-learn scale --preset {preset.name}", file=sys.stderr)
        return EXIT_USAGE
    lines = args.jsonl.read_text().splitlines() if args.jsonl.exists() else []
    rows = [json.loads(line) for line in lines if line.strip()]
    done = {(r["preset"], r["shards"], r["epochs"], r["fit_seed"]) for r in rows}
    for seed in args.seeds:
        if (preset.name, args.shards, args.epochs, seed) in done:
            continue
        row = fit_and_play(args, preset, seed)
        print(f"[seed {seed}] {args.shards} shards, {args.epochs} epochs: v5 {row['v5_mean']:,.1f}")
        rows.append(row)
        args.jsonl.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(args.jsonl, "".join(json.dumps(r) + "\n" for r in rows))
    point = (preset.name, args.shards, args.epochs)
    print(summary([r for r in rows if (r["preset"], r["shards"], r["epochs"]) == point]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
