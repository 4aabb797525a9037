"""How reproducible are relabelling's labels? The same states labelled twice, other seeds.

    uv run python bench/label_agreement.py runs/loop/visited-0.h5 --policy round-0.onnx \
        --walkers 4 16 --max-labels 20 --out runs/label-agreement --json FILE

A label that a second label swarm (same state, same settings, another seed) would give again
is a function of the state, which a network can learn; one that changes with the seed is the
continuation's noise. For each `--walkers` count this runs `fil-collect relabel --rule value`
on the visited file twice (seeds S and S+1, every option the same), then compares the two
files state by state: among the states both runs labelled (not a full tie), the share where
both chose the same action, beside the share two independent draws from the runs' own label
frequencies would agree by chance, and the share where the two runs' sets of best moves (ties
included) overlap. Also prints each run's full-tie share and its emulator
frames per examined state. Resumable: a finished relabelling file is reused.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from fil_collect.format import NO_LABEL
from fil_collect.relabel import best_first_moves
from fil_learn.data import open_dataset


def relabel(visited: Path, out: Path, walkers: int, seed: int, args: argparse.Namespace) -> None:
    """One relabelling run through the fil-collect CLI (fil-collect continues a partial file)."""
    command = [
        "fil-collect", "relabel", str(visited), "--out", str(out), "--rule", "value",
        "--walkers", str(walkers), "--epochs", str(args.epochs),
        "--max-labels", str(args.max_labels), "--seed", str(seed),
        "--workers", str(args.workers), "--quiet",
    ]  # fmt: skip
    if args.policy is not None:
        command += ["--policy", str(args.policy), "--policy-temperature", str(args.temperature)]
        command += ["--policy-epsilon", str(args.epsilon)]
    subprocess.run(command, check=True)


def labels(path: Path) -> dict[str, Any]:
    """Every visited step of every episode, concatenated: the label relabel wrote (-1 where not
    examined or fully tied), whether the step was examined, the best first moves at each
    examined step; and emulator frames per examined state."""
    label, examined, best = [], [], []
    frames = 0.0
    with open_dataset(path) as dataset:
        for episode in dataset:
            seen = episode.read("label_examined")
            scores, lives = episode.read("label_scores"), episode.read("label_lives")
            label.append(np.where(seen, episode.actions, NO_LABEL))
            examined.append(seen)
            best += [
                set(best_first_moves(s, n).tolist()) if e else set()
                for s, n, e in zip(scores, lives, seen, strict=True)
            ]
            frames += float(episode.attrs["label_emulator_frames"])
    seen = np.concatenate(examined)
    return {
        "label": np.concatenate(label),
        "examined": seen,
        "best": best,
        "frames_per_state": frames / max(int(seen.sum()), 1),
    }


def agreement(first: Path, second: Path) -> dict[str, Any]:
    """Compare two relabellings of one visited file, state by state."""
    a, b = labels(first), labels(second)
    both = (a["label"] != NO_LABEL) & (b["label"] != NO_LABEL)
    n = max(int(both.sum()), 1)
    n_actions = int(max(a["label"].max(), b["label"].max())) + 1
    share_a = np.bincount(a["label"][both], minlength=n_actions) / n
    share_b = np.bincount(b["label"][both], minlength=n_actions) / n
    overlap = sum(bool(a["best"][i] & b["best"][i]) for i in np.flatnonzero(both))
    return {
        "examined": int((a["examined"] & b["examined"]).sum()),
        "labelled_in_both": int(both.sum()),
        "same_label": float((a["label"][both] == b["label"][both]).sum() / n),
        "best_moves_overlap": overlap / n,
        "chance": float(share_a @ share_b),
        "full_tie": [
            float(
                (x["examined"] & (x["label"] == NO_LABEL)).sum() / max(int(x["examined"].sum()), 1)
            )
            for x in (a, b)
        ],
        "frames_per_state": a["frames_per_state"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("visited", type=Path, help="`fil-learn eval --save-states` file")
    parser.add_argument("--out", type=Path, required=True, help="folder for the relabellings")
    parser.add_argument("--walkers", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--max-labels", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--policy", type=Path, help="guide the label swarms (fil-learn export)")
    parser.add_argument("--temperature", type=float, default=0.5)
    parser.add_argument("--epsilon", type=float, default=0.2)
    parser.add_argument("--json", type=Path, help="append one JSON line per walker count")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print(
        "walkers  examined  labelled in both  same label  best overlap  chance  full ties  frames/state"
    )
    for walkers in args.walkers:
        runs = [args.out / f"w{walkers}-seed{args.seed + k}.h5" for k in range(2)]
        for k, run in enumerate(runs):
            relabel(args.visited, run, walkers, args.seed + k, args)
        row = {"walkers": walkers, **agreement(*runs), "visited": str(args.visited)}
        print(
            f"{walkers:7d}  {row['examined']:8d}  {row['labelled_in_both']:16d}  "
            f"{row['same_label']:10.3f}  {row['best_moves_overlap']:12.3f}  {row['chance']:6.3f}  "
            f"{row['full_tie'][0]:.3f}/{row['full_tie'][1]:.3f}  {row['frames_per_state']:12,.0f}"
        )
        if args.json is not None:
            with args.json.open("a") as f:
                settings = {k: str(v) for k, v in vars(args).items() if k != "walkers"}
                f.write(json.dumps({**settings, **row}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
