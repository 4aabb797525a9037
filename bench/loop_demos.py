"""Guided vs unguided demonstrations at equal emulator frames, from expert-iteration loops.

Every `fil-learn loop --mode exit` round collects its demonstrations with the same swarm
(walkers, epochs, so about the same emulator frames per episode) as round 0's unguided ones;
only the walkers' action draws differ (the guiding policy at a temperature, mixed with
uniform). The loops' own files therefore answer "does a guided swarm find better
demonstrations than an unguided one at equal frames" without another run: this reads them
and prints one row per file and the pooled comparison (Welch's t). Episodes that several
loops share (the same seed gives the same round-0 demonstrations) are counted once.

    uv run python bench/loop_demos.py runs/spaceinvaders-exit-visits-trust runs/...
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import h5py
from scipy import stats

from fil_learn.evaluate import ci95


def episodes(path: Path) -> dict[str, tuple[float, int]]:
    """sha256 -> (return, emulator frames) of every episode in a dataset file."""
    with h5py.File(path, "r") as handle:
        return {
            str(group.attrs["sha256"]): (
                float(group.attrs["episode_return"]),
                int(group.attrs["emulator_frames"]),
            )
            for name, group in handle.items()
            if name.startswith("episode_")
        }


def row(label: str, found: dict[str, tuple[float, int]]) -> str:
    returns = [r for r, _ in found.values()]
    frames = statistics.mean(f for _, f in found.values())
    return (
        f"| {label} | {len(returns)} | {statistics.mean(returns):,.0f} ± {ci95(returns):,.0f} "
        f"| {frames:,.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("loops", nargs="+", type=Path, help="loop work folders (rounds.json)")
    parser.add_argument(
        "--unguided",
        nargs="*",
        type=Path,
        default=[],
        help="more unguided files collected with the loops' swarm (walkers, epochs)",
    )
    args = parser.parse_args()
    unguided: dict[str, tuple[float, int]] = {}
    guided: dict[str, tuple[float, int]] = {}
    print("| file | episodes | return mean ± 95% CI | emulator frames per episode |")
    print("| --- | ---: | ---: | ---: |")
    for path in args.unguided:
        found = episodes(path)
        unguided.update(found)
        print(row(f"{path}: unguided", found))
    for loop in args.loops:
        record = json.loads((loop / "rounds.json").read_text())
        evals = {r["round"]: r.get("eval_mean") for r in record["rounds"]}
        found = episodes(loop / "demos.h5")
        unguided.update(found)
        print(row(f"{loop.name}: round 0, unguided", found))
        for entry in record["rounds"][1:]:
            path = loop / f"guided-{entry['round']}.h5"
            if not path.exists():
                continue
            found = episodes(path)
            guided.update(found)
            epsilon = entry.get("policy_epsilon", record["config"]["policy_epsilon"])
            by = entry.get("guided_by", entry["round"] - 1)  # first loops: the last round
            label = (
                f"{loop.name}: round {entry['round']}, guided by round {by} "
                f"(v5 {evals[by]:,.0f}), epsilon {epsilon:.2g}"
            )
            print(row(label, found))
    print()
    print("| swarm | episodes | return mean ± 95% CI | emulator frames per episode |")
    print("| --- | ---: | ---: | ---: |")
    print(row("unguided (distinct episodes)", unguided))
    print(row("guided (all rounds)", guided))
    test = stats.ttest_ind(
        [r for r, _ in guided.values()], [r for r, _ in unguided.values()], equal_var=False
    )
    print(f"\nWelch's t = {test.statistic:.2f}, p = {test.pvalue:.3f} (guided - unguided)")


if __name__ == "__main__":
    main()
