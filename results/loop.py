"""The full loop: collect -> fit -> eval (-> relabel), N rounds, resumable, with a results table.

Every stage is the package's own command run as a subprocess, so each stays rerunnable alone
and the loop adds only bookkeeping. Modes:
- `dagger`: round 0 collects swarm demonstrations; every later round relabels the states the
  last policy visited with short swarms (`fil-collect relabel`) and fine-tunes on everything.
- `bc`: the seed notebook's loop; every later round adds more swarm episodes instead.

Interrupt it at any point and run the same command again: collection tops up to its target,
`fit` continues its stage, `relabel` continues its file, and finished evaluations are kept.
Writes `<workdir>/rounds.md`, `rounds.json` and `score.png`.

    uv run python results/loop.py --game SpaceInvaders --rounds 4 --workdir runs/loop-si
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import h5py


@dataclass(frozen=True)
class LoopConfig:
    game: str
    workdir: Path
    rounds: int = 4
    mode: str = "dagger"
    episodes: int = 16
    """Swarm episodes of round 0 (and, in `bc` mode, added every later round)."""
    walkers: int = 16
    swarm_epochs: int = 1000
    epochs: int = 8
    """Training epochs per round (the first round trains from scratch, later ones fine-tune)."""
    batch_size: int = 128
    eval_episodes: int = 10
    """Episodes played (v5) per round; their visited states are what `dagger` relabels."""
    state_every: int = 4
    """Save and label every k-th visited state."""
    max_labels: int = 400
    """Most labels per visited episode (bounds the relabelling cost per round)."""
    label_walkers: int = 16
    label_epochs: int = 10
    rule: str = "vote"
    """How a visited state is labelled: `fil-collect relabel --rule` (vote, best, value)."""
    keep_demos: bool = True
    """Keep training on the swarm demonstrations after round 0 (`--drop-demos`: relabelled data
    only; FMC's own actions are uniform draws, so its labels are mostly noise)."""
    final_episodes: int = 30
    """Episodes per protocol (v5 and noop30) of the final evaluation; 0 skips it."""
    eval_max_steps: int | None = None
    """Cut evaluation episodes after this many steps (smoke tests only; None plays them out)."""
    workers: int | None = None
    seed: int = 0


class Loop:
    """One loop's files: everything lives in `workdir`, and the record in `rounds.json`."""

    def __init__(self, config: LoopConfig) -> None:
        self.config = config
        self.dir = config.workdir
        self.bin = Path(sys.executable).parent

    @property
    def demos(self) -> Path:
        return self.dir / "demos.h5"

    @property
    def run_dir(self) -> Path:
        return self.dir / "run"

    def relabelled(self, round_index: int) -> Path:
        return self.dir / f"relabel-{round_index}.h5"

    def visited(self, round_index: int) -> Path:
        return self.dir / f"visited-{round_index}.h5"

    def datasets(self, round_index: int) -> list[Path]:
        """What round `round_index` trains on: the demonstrations plus every relabelled file."""
        if self.config.mode == "bc":
            return [self.demos]
        everything = self.all_data(round_index)
        if len(everything) > 1 and not self.config.keep_demos:
            return everything[1:]
        return everything

    def all_data(self, round_index: int) -> list[Path]:
        """Everything the loop has emulated for up to this round, trained on or not."""
        if self.config.mode == "bc":
            return [self.demos]
        return [self.demos, *(self.relabelled(r) for r in range(round_index))]

    def command(self, tool: str, *args: object) -> None:
        cmd = [str(self.bin / tool), *map(str, args)]
        print("$", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)

    def workers(self) -> list[object]:
        return [] if self.config.workers is None else ["--workers", self.config.workers]

    def max_steps(self) -> list[object]:
        steps = self.config.eval_max_steps
        return [] if steps is None else ["--max-steps", steps]

    def collect(self, target: int) -> None:
        """Top the demonstrations up to `target` episodes (a rerun adds only what is missing)."""
        have = _episodes_in(self.demos)
        if have >= target:
            return
        c = self.config
        self.command(
            "fil-collect",
            "--game", c.game, "--out", self.demos, "--episodes", target,  # the file's total
            "--walkers", c.walkers, "--epochs", c.swarm_epochs, "--seed", c.seed,
            *self.workers(), "--quiet",
        )  # fmt: skip

    def fit(self, round_index: int) -> None:
        c = self.config
        self.command(
            "fil-learn", "fit", *self.datasets(round_index), "--out", self.run_dir,
            "--epochs", c.epochs, "--batch-size", c.batch_size, "--seed", c.seed, "--quiet",
        )  # fmt: skip

    def evaluate(self, round_index: int) -> dict[str, Any]:
        result = self.dir / f"eval-{round_index}.json"
        if not result.exists():
            c = self.config
            self.command(
                "fil-learn", "eval", self.run_dir, "--episodes", c.eval_episodes,
                "--protocol", "v5", "--seed", 1000 * (round_index + 1),
                "--save-states", self.visited(round_index), "--state-every", c.state_every,
                "--json", result, *self.max_steps(), "--quiet",
            )  # fmt: skip
        return json.loads(result.read_text())

    def relabel(self, round_index: int) -> None:
        c = self.config
        self.command(
            "fil-collect", "relabel", self.visited(round_index),
            "--out", self.relabelled(round_index), "--walkers", c.label_walkers,
            "--epochs", c.label_epochs, "--max-labels", c.max_labels, "--rule", c.rule,
            "--seed", c.seed,
            *self.workers(), "--quiet",
        )  # fmt: skip

    def policy(self, round_index: int) -> Path:
        """A copy of the policy a round ended with (settings and best parameters, ~7 MB)."""
        return self.dir / "policies" / f"round-{round_index}"

    def keep_policy(self, round_index: int) -> None:
        target = self.policy(round_index)
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(self.run_dir / "best", target / "best")
        shutil.copy2(self.run_dir / "run.json", target / "run.json")

    def final(self, round_index: int, protocol: str) -> dict[str, Any]:
        result = self.dir / f"final-round-{round_index}-{protocol}.json"
        if not result.exists():
            self.command(
                "fil-learn", "eval", self.policy(round_index),
                "--episodes", self.config.final_episodes,
                "--protocol", protocol, "--seed", 10_000, "--json", result,
                *self.max_steps(), "--quiet",
            )  # fmt: skip
        return json.loads(result.read_text())


def _episodes_in(path: Path) -> int:
    if not path.exists():
        return 0
    with h5py.File(path, "r") as handle:
        return int(handle.attrs.get("total_episodes", 0))


def _data_totals(paths: list[Path]) -> tuple[int, int]:
    """Labelled samples and emulator frames spent on them (swarm search plus relabelling)."""
    samples = frames = 0
    for path in paths:
        with h5py.File(path, "r") as handle:
            for name, group in handle.items():
                if not name.startswith("episode_"):
                    continue
                samples += int((group["actions"][()] >= 0).sum())
                frames += int(group.attrs.get("emulator_frames", 0))
    return samples, frames


def _val_accuracy(run_dir: Path) -> float | None:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return rows[-1]["val_accuracy"] if rows else None


def run_loop(config: LoopConfig) -> list[dict[str, Any]]:
    loop = Loop(config)
    config.workdir.mkdir(parents=True, exist_ok=True)
    record_file = config.workdir / "rounds.json"
    record = json.loads(record_file.read_text()) if record_file.exists() else {}
    if record and record["config"] != _jsonable(config):
        raise SystemExit(
            f"{config.workdir} holds a loop with other settings: use the same ones or another --workdir"
        )
    rows: list[dict[str, Any]] = record.get("rounds", [])
    for round_index in range(len(rows), config.rounds):
        started = time.perf_counter()
        extra = config.episodes * round_index if config.mode == "bc" else 0
        loop.collect(config.episodes + extra)
        if config.mode == "dagger" and round_index > 0:
            loop.relabel(round_index - 1)
        loop.fit(round_index)
        loop.keep_policy(round_index)
        summary = loop.evaluate(round_index)
        samples, _ = _data_totals(loop.datasets(round_index))
        _, frames = _data_totals(loop.all_data(round_index))
        rows.append(
            {
                "round": round_index,
                "samples": samples,
                "emulator_frames": frames,
                "seconds": time.perf_counter() - started,
                "val_accuracy": _val_accuracy(loop.run_dir),
                "eval_mean": summary["mean"],
                "eval_ci95": summary["ci95"],
                "eval_episodes": summary["episodes"],
                "human_normalized": summary["human_normalized"],
            }
        )
        _write_record(record_file, config, rows)
        write_table(config, rows)
        plot_rounds(config, rows)
    plot_rounds(config, rows)  # also when every round was done before (a rerun redraws it)
    finals = {}
    if config.final_episodes:
        # round 0 is plain behaviour cloning; the last round has every relabelled round in it.
        # The evaluations are independent processes: run as many at once as there are workers.
        jobs = [(r, p) for r in sorted({0, config.rounds - 1}) for p in ("v5", "noop30")]
        parallel = config.workers or os.cpu_count() or 1
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            results = pool.map(lambda job: loop.final(*job), jobs)
            finals = {
                f"round-{r}/{p}": result for (r, p), result in zip(jobs, results, strict=True)
            }
        _write_record(record_file, config, rows, finals)
        write_table(config, rows, finals)
    return rows


def _jsonable(config: LoopConfig) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()}


def _write_record(
    path: Path, config: LoopConfig, rows: list[dict[str, Any]], finals: dict[str, Any] | None = None
) -> None:
    payload = {"config": _jsonable(config), "rounds": rows, "final": finals or {}}
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(json.dumps(payload, indent=2) + "\n")
    temp.replace(path)


def write_table(
    config: LoopConfig, rows: list[dict[str, Any]], finals: dict[str, Any] | None = None
) -> None:
    lines = [
        f"# {config.game}, {config.mode}, {config.rounds} rounds",
        "",
        "| round | training samples | emulator frames (all so far) | wall time (min) | val accuracy | "
        "eval v5 mean ± 95% CI | human-normalized |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    elapsed = 0.0
    for row in rows:
        elapsed += row["seconds"]
        accuracy = "n/a" if row["val_accuracy"] is None else f"{row['val_accuracy']:.3f}"
        lines.append(
            f"| {row['round']} | {row['samples']:,} | {row['emulator_frames']:,} | "
            f"{row['seconds'] / 60:.1f} (total {elapsed / 60:.1f}) | {accuracy} | "
            f"{row['eval_mean']:,.1f} ± {_ci(row['eval_ci95'])} ({row['eval_episodes']} eps) | "
            f"{_percent(row['human_normalized'])} |"
        )
    if finals:
        lines += [
            "",
            f"Final evaluation, {config.final_episodes} episodes per protocol "
            "(round 0 = plain behaviour cloning):",
            "",
            "| policy | protocol | mean ± 95% CI | std | min | max | human-normalized |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for key, s in finals.items():
            policy, protocol = key.split("/")
            lines.append(
                f"| {policy} | {protocol} | {s['mean']:,.1f} ± {_ci(s['ci95'])} | {s['std']:,.1f} | "
                f"{s['min']:,.0f} | {s['max']:,.0f} | {_percent(s['human_normalized'])} |"
            )
    (config.workdir / "rounds.md").write_text("\n".join(lines) + "\n")


def _ci(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:,.1f}"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def plot_rounds(config: LoopConfig, rows: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    ax.errorbar(
        [r["round"] for r in rows],
        [r["eval_mean"] for r in rows],
        yerr=[0 if math.isnan(r["eval_ci95"] or math.nan) else r["eval_ci95"] for r in rows],
        fmt="o-",
        capsize=4,
        label=f"{config.mode} (v5, 95% CI)",
    )
    ax.set_xticks([row["round"] for row in rows])
    ax.set_xlabel("round")
    ax.set_ylabel("mean return")
    ax.set_title(f"{config.game}: score vs round")
    ax.grid(alpha=0.3)
    ax.legend()
    figure.savefig(config.workdir / "score.png", dpi=100)
    plt.close(figure)


def parse_args(argv: list[str] | None = None) -> LoopConfig:
    defaults = LoopConfig(game="", workdir=Path())
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--game", required=True)
    parser.add_argument("--workdir", type=Path)
    for field in (
        "rounds", "episodes", "walkers", "swarm_epochs", "epochs", "batch_size", "eval_episodes",
        "state_every", "max_labels", "label_walkers", "label_epochs", "final_episodes", "seed",
    ):  # fmt: skip
        parser.add_argument(
            f"--{field.replace('_', '-')}", type=int, default=getattr(defaults, field)
        )
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--eval-max-steps", type=int, default=None)
    parser.add_argument("--mode", choices=("dagger", "bc"), default=defaults.mode)
    parser.add_argument("--rule", choices=("vote", "best", "value"), default=defaults.rule)
    parser.add_argument("--drop-demos", dest="keep_demos", action="store_false")
    args = vars(parser.parse_args(argv))
    if args["workdir"] is None:
        args["workdir"] = Path("runs") / f"loop-{args['game'].lower()}-{args['mode']}"
    return LoopConfig(**args)


if __name__ == "__main__":
    try:
        run_loop(parse_args())
    except subprocess.CalledProcessError as error:
        sys.exit(f"a stage failed (exit {error.returncode}): {' '.join(error.cmd)}")
    except KeyboardInterrupt:
        sys.exit("interrupted: run the same command again to continue")
