"""`fil-learn scale`: collect -> fit -> evaluate -> publish, one resumable command.

Runs span sessions whose machine may be lost, so nothing here keeps state in memory: what is
done is read from the files each time (`fil_learn.scaling_plan`), shards are regenerated from
their seeds, fits continue "up to this many epochs", evaluations are cached beside their
run, and each row goes to `results/<game>-scaling/curve.jsonl` (with `--commit`, into git)
as soon as it is measured. Every stage is a subprocess (`fil-collect`, `fil-learn fit/eval`),
and its CPU time is measured from the kernel's accounting of finished children.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fil_learn
from fil_learn.children import children_cpu_seconds, run_child
from fil_learn.config import fit_argv
from fil_learn.records import changed_settings
from fil_learn.run_folder import write_atomic
from fil_learn.scaling_plan import (
    EXTENDABLE,
    PRESETS,
    RECORD_DEFAULTS,
    DataSize,
    Preset,
    Shard,
    apply_overrides,
    collect_argv,
    cost_path,
    data_refusal,
    data_size,
    describe,
    eval_argv,
    existing_shards,
    fit_folder,
    milestone_epochs,
    read_shard,
    row_key,
    shard_path,
    trained_epochs,
)
from fil_learn.scaling_publish import Publisher
from fil_learn.scaling_report import write_report

Echo = Callable[[str], None]


@dataclass(frozen=True)
class ScaleOptions:
    """What the command line asks of one session."""

    preset: Preset
    runs: Path = Path("runs/scale")
    results: Path = Path("results")
    max_shards: int | None = None
    """Collect no shard with an index at or past this (this session)."""
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    commit: bool = False
    force: bool = False
    """Let publishing replace a results/best file that `scale` did not write."""
    overrides: tuple[str, ...] = ()
    """The `--set` assignments, kept for the command that reproduces a published row."""

    @classmethod
    def from_command(
        cls,
        preset: str,
        assignments: list[str],
        runs: Path,
        results: Path,
        max_shards: int | None,
        workers: int | None,
        commit: bool,
        force: bool,
    ) -> ScaleOptions:
        """The options the command line gives, the preset looked up and `--set` applied."""
        if preset not in PRESETS:
            raise ValueError(f"--preset {preset}: unknown; choose from {', '.join(PRESETS)}")
        chosen = apply_overrides(PRESETS[preset], assignments)
        chosen.validate()
        if max_shards is not None and max_shards < 0:
            raise ValueError(f"--max-shards must be 0 or more, got {max_shards}")
        if workers is not None and workers < 1:
            raise ValueError(f"--workers must be at least 1, got {workers}")
        return cls(
            chosen, runs, results, max_shards, workers or os.cpu_count() or 1, commit, force,
            tuple(assignments),
        )  # fmt: skip

    @property
    def curve_dir(self) -> Path:
        return self.results / f"{self.preset.folder}-scaling"

    @property
    def rows_file(self) -> Path:
        return self.curve_dir / "curve.jsonl"

    @property
    def preset_file(self) -> Path:
        return self.curve_dir / "preset.json"


def read_rows(options: ScaleOptions) -> list[dict[str, Any]]:
    if not options.rows_file.exists():
        return []
    lines = options.rows_file.read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def check_record(options: ScaleOptions) -> None:
    """The results folder's recorded preset must be this one (but for `EXTENDABLE` settings,
    which a rerun may change: the record then says the latest). A setting the record lacks was
    added to `Preset` after it was written, and its rows were measured at the default."""
    if not options.preset_file.exists():
        return
    recorded = json.loads(options.preset_file.read_text())
    differ, old = changed_settings(recorded, options.preset.as_json(), RECORD_DEFAULTS, EXTENDABLE)
    if differ:
        was = ", ".join(f"{k}={old.get(k)}" for k in differ)
        raise ValueError(
            f"{options.curve_dir} holds rows measured with {was}: use the same settings, "
            "or another --results folder for a trial"
        )


class Session:
    """One session of the recipe: the steps not done yet, each a subprocess."""

    def __init__(self, options: ScaleOptions, echo: Echo = print) -> None:
        self.options = options
        self.preset = options.preset
        self.echo = echo
        self.rows = read_rows(options)
        self.done = {row_key(row) for row in self.rows}
        self.publisher = Publisher(options, self.learn, echo)

    def learn(self, *args: object) -> None:
        """Run `fil-learn ARGS`. Only `fit` speaks: `eval`'s tables are in its JSON, which
        the progress line after it summarizes."""
        argv = [sys.executable, "-m", "fil_learn", *map(str, args)]
        run_child(argv, self.echo, show_output=args[0] == "fit")

    def run(self) -> None:
        """Every data size in turn: its shards, then its milestones."""
        self.settle()
        for size in self.preset.data_sizes:
            shards = self.shards(size)
            if shards is None:
                return
            self.check_seeds(shards)
            data = data_size(shards, self.preset.fit_config(1))
            for milestone, epochs in milestone_epochs(
                self.preset.milestones, data.train_samples, self.preset.max_epochs
            ):
                if (size, epochs) not in self.done:
                    self.row(data, milestone, epochs)
        self.echo(f"[scale] done: {len(self.rows)} row(s) in {self.options.rows_file}")

    def settle(self) -> None:
        """Finish what a killed session may have left between a row and its commit: redraw
        the report from the rows (and the preset as this session gives it), and commit the
        results files that differ from git."""
        if not self.rows:
            return
        if fill_distinct_games(self.options.runs, self.preset, self.rows):
            rows = "".join(json.dumps(row) + "\n" for row in self.rows)
            write_atomic(self.options.rows_file, rows)
        written = write_report(self.options.curve_dir, self.preset, self.rows)
        if self.options.commit:
            paths = [self.options.rows_file, self.options.preset_file, *written]
            message = "scale: the record as a session starts (a stopped session's rows, the preset)"
            git_commit([*paths, *self.publisher.files()], message)

    def shards(self, size: int) -> list[Shard] | None:
        """Shards 0..size-1, collecting what is missing; None when `--max-shards` stops it."""
        found = []
        for index in range(size):
            shard = read_shard(self.options.runs, self.preset, index)
            if not shard.complete:
                cap = self.options.max_shards
                if cap is not None and index >= cap:
                    self.echo(
                        f"[scale] stopping: data size {size} needs shard {index:02d}, past "
                        f"--max-shards {cap}; rerun to continue"
                    )
                    return None
                shard = self.collect(shard)
            found.append(shard)
        return found

    def collect(self, shard: Shard) -> Shard:
        from fil_learn.loop import fil_collect_executable

        have = len(shard.episodes)
        self.echo(
            f"[collect] shard {shard.index:02d}: {have}/{shard.wanted} episodes, "
            f"collecting {shard.wanted - have} more into {shard.path}"
        )
        shard.path.parent.mkdir(parents=True, exist_ok=True)
        argv = collect_argv(self.options.runs, self.preset, shard.index, self.options.workers)
        ledger = Ledger(cost_path(shard.path))
        try:
            with ledger.charge("collect"):
                run_child([fil_collect_executable(), *argv], self.echo)
        finally:  # the episodes this cost bought, interrupted or not
            found = read_shard(self.options.runs, self.preset, shard.index)
            earlier = {e.index for e in shard.episodes} - found.measured
            ledger.note("collected", sorted({e.index for e in found.episodes} - earlier))
        found = read_shard(self.options.runs, self.preset, shard.index)
        if not found.complete:
            raise ValueError(f"{found.path} holds {len(found.episodes)} episodes after collection")
        return found

    def check_seeds(self, shards: list[Shard]) -> None:
        """The shards are the preset's data: no evaluation seed among them, the preset's guide."""
        refusal = data_refusal(shards, self.preset)
        if refusal is not None:
            raise ValueError(refusal)

    def row(self, data: DataSize, milestone: int, epochs: int) -> None:
        """Fit up to `epochs`, evaluate, publish if best, then write and commit the row."""
        run_dir = fit_folder(self.options.runs, self.preset, data.shards)
        self.fit(data, run_dir, epochs)
        ledger = fit_ledger(run_dir)
        v5 = self.evaluate(run_dir, epochs, "v5", ledger)
        row = make_row(self.preset, data, milestone, epochs, run_dir, v5, ledger)
        self.echo(
            f"[eval] {data.shards} shards, {epochs} epoch(s), {row['samples_processed']:,} "
            f"samples processed: v5 {v5['mean']:,.1f} ± {v5['ci95']:,.1f}"
        )
        published = self.publisher.consider(
            row, run_dir, lambda: self.evaluate(run_dir, epochs, "noop30", ledger)
        )
        self.rows.append(row)
        self.done.add(row_key(row))
        append_row(self.options.rows_file, row)
        written = write_report(self.options.curve_dir, self.preset, self.rows)
        if self.options.commit:
            paths = [self.options.rows_file, self.options.preset_file, *written, *published]
            git_commit(paths, f"scale: {self.preset.folder} {data.shards} shards, {epochs} "
                       f"epoch(s): v5 {v5['mean']:,.1f}")  # fmt: skip

    def fit(self, data: DataSize, run_dir: Path, epochs: int) -> None:
        trained = trained_epochs(run_dir)
        if trained > epochs:
            raise ValueError(
                f"{run_dir} is trained to epoch {trained}, past epoch {epochs} whose row is "
                "missing: move that folder away and rerun to refit"
            )
        if trained == epochs:
            return
        self.echo(
            f"[fit] {data.shards} shards ({data.train_samples:,} training samples): "
            f"epochs {trained + 1}-{epochs} into {run_dir}"
        )
        shards = [shard_path(self.options.runs, self.preset, k) for k in range(data.shards)]
        config = self.preset.fit_config(epochs)
        with fit_ledger(run_dir).charge("fit"):
            self.learn("fit", *shards, "--out", run_dir, *fit_argv(config), "--quiet")

    def evaluate(self, run_dir: Path, epochs: int, protocol: str, ledger: Ledger) -> dict[str, Any]:
        """The run's policy at `epochs` under `protocol` (kept beside the run once played)."""
        result = run_dir / f"eval-epoch{epochs:03d}-{protocol}.json"
        if not result.exists():
            self.echo(f"[eval] {run_dir.name} epoch {epochs}: {protocol}, "
                      f"{self.preset.eval_episodes} episodes")  # fmt: skip
            with ledger.charge(f"eval-{epochs}-{protocol}"):
                self.learn(*eval_argv(self.preset, run_dir, protocol, result))
        return json.loads(result.read_text())


class Ledger:
    """CPU seconds spent on a shard or a fit folder, by stage (a stage adds up over its
    calls), kept beside them so that a later session's row still counts earlier sessions'."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, Any]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def note(self, key: str, value: Any) -> None:
        if self.path.parent.is_dir():
            write_atomic(self.path, json.dumps({**self.read(), key: value}, indent=2) + "\n")

    @contextlib.contextmanager
    def charge(self, stage: str) -> Iterator[None]:
        """Add the CPU time of the children that finish inside the block, interrupted too."""
        before = children_cpu_seconds()
        try:
            yield
        finally:
            self.note(stage, self.read().get(stage, 0.0) + children_cpu_seconds() - before)


def fit_ledger(run_dir: Path) -> Ledger:
    """A fit folder's costs: its fit calls and its evaluations."""
    return Ledger(run_dir / "scale-cost.json")


def make_row(
    preset: Preset,
    data: DataSize,
    milestone: int,
    epochs: int,
    run_dir: Path,
    v5: dict[str, Any],
    ledger: Ledger,
) -> dict[str, Any]:
    """One point of the curve: how much data and compute went in, and what the policy scored."""
    settings = json.loads((run_dir / "run.json").read_text())
    train_samples = int(settings["train_samples"])
    costs = ledger.read()
    return {
        "game": preset.game,
        "preset": preset.name,
        "shards": data.shards,
        "episodes": len(data.episodes),
        "milestone": milestone,
        "epochs": epochs,
        "samples_processed": epochs * train_samples,
        "unique_steps": train_samples,
        "model": settings["fit"].get("model", "nature"),
        "parameters": settings["parameters"],
        "v5_mean": v5["mean"],
        "v5_std": v5["std"],
        "v5_ci95": v5["ci95"],
        "eval_episodes": v5["episodes"],
        "eval_seeds": [preset.eval_seed, preset.eval_seed + preset.eval_episodes - 1],
        "eval_max_steps": preset.eval_max_steps,
        "v5_returns": v5["returns"],
        "v5_distinct_games": v5.get("distinct_games"),
        "teacher_mean_return": data.teacher_mean,
        "emulator_frames": data.emulator_frames,
        "core_hours": {
            "collect": data.collect_core_seconds / 3600,
            "collect_cpu_measured_episodes": data.measured_episodes,
            "fit": costs.get("fit", 0.0) / 3600,
            "eval": costs.get(f"eval-{epochs}-v5", 0.0) / 3600,
        },
        "fil_learn_version": fil_learn.__version__,
        "commit": git_head(),
        "written_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def fill_distinct_games(runs: Path, preset: Preset, rows: list[dict[str, Any]]) -> bool:
    """Give rows written before rows recorded it the number of distinct games their 30
    evaluation episodes played (a greedy policy may play a handful of games 30 times, and its
    interval then describes a handful), from the evaluation's own file where the fit folder
    still holds it and its returns are the row's. True when a row changed."""
    changed = False
    for row in rows:
        if "v5_distinct_games" in row or row.get("preset") != preset.name:
            continue
        played = fit_folder(runs, preset, row["shards"]) / f"eval-epoch{row['epochs']:03d}-v5.json"
        if played.exists():
            result = json.loads(played.read_text())
            if result.get("returns") == row["v5_returns"] and "distinct_games" in result:
                row["v5_distinct_games"] = result["distinct_games"]
                changed = True
    return changed


def append_row(path: Path, row: dict[str, Any]) -> None:
    """One JSON line, flushed to disk before anything depends on it."""
    with path.open("a") as handle:
        handle.write(json.dumps(row) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def git_head() -> str | None:
    """The commit the code ran at (with `-dirty` for uncommitted changes), None outside git."""
    here = Path(__file__).parent
    try:
        head = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
        status = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--", "."],
                                capture_output=True, text=True, check=True).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("-dirty" if status.strip() else "")


def check_git(folder: Path) -> None:
    """`--commit` needs the results folder inside a git work tree: checked before any work."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["git", "-C", str(folder), "rev-parse", "--show-toplevel"],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode:
        raise ValueError(f"--commit: {folder} is not in a git work tree; drop --commit")


def git_commit(paths: list[Path], message: str) -> None:
    """Commit exactly `paths` (never anything else that is staged or changed), if they
    differ from the last commit."""
    existing = [str(p.resolve()) for p in paths if p.exists()]
    folder = str(Path(existing[0]).parent)
    subprocess.run(["git", "-C", folder, "add", "--", *existing], check=True)
    same = subprocess.run(["git", "-C", folder, "diff", "--cached", "--quiet", "HEAD", "--",
                           *existing])  # fmt: skip
    if same.returncode == 0:
        return
    subprocess.run(["git", "-C", folder, "commit", "--quiet", "-m", message, "--", *existing],
                   check=True)  # fmt: skip


def start(options: ScaleOptions, echo: Echo = print) -> Session:
    """Check everything that can be checked before any work, record the preset, and return
    the session to run."""
    options.preset.validate()
    from fil_learn.loop import check_requirements

    check_requirements()
    refusal = data_refusal(existing_shards(options.runs, options.preset), options.preset)
    if refusal is not None:
        raise ValueError(refusal)
    check_record(options)
    if options.commit:
        check_git(options.curve_dir)
    options.curve_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(options.preset_file, json.dumps(options.preset.as_json(), indent=2) + "\n")
    return Session(options, echo)


def plan_lines(options: ScaleOptions) -> list[str]:
    """`--plan`: the state of shards, fits and rows, and what is left, and the curve's page
    redrawn from its rows (what the next points cost changes as the code learns to say it);
    runs nothing."""
    check_record(options)
    rows = read_rows(options)
    if rows:
        write_report(options.curve_dir, options.preset, rows)
    lines = describe(options.runs, options.preset, rows)
    refusal = data_refusal(existing_shards(options.runs, options.preset), options.preset)
    if refusal is not None:
        lines.append(f"  refused at start: {refusal}")
    return [*lines, f"  results: {options.curve_dir}"]
