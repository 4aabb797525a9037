"""`fil-learn loop`: collect -> fit -> eval (-> relabel), N rounds, resumable, with a results table.

Every stage is a command run as a subprocess: `fil-collect` (the `fil-learn[loop]` extra; never
imported) for swarm demonstrations and relabelling, `fil-learn` itself for fit, eval, export and
baselines. Each stage stays rerunnable alone and the loop adds only bookkeeping. Modes:
- `dagger`: round 0 collects swarm demonstrations; every later round relabels the states the
  last policy visited with short swarms (`fil-collect relabel`, guided by that policy with
  `guided_relabel`) and fine-tunes on them.
- `bc`: the seed notebook's loop; every later round adds more swarm episodes instead.
- `exit` (expert iteration): every later round collects new swarm episodes with the last
  round's policy guiding the walkers (`fil-collect --policy`), and fine-tunes on them, against
  the actions or the swarm's visit shares (`--target`). With `guide_labels`, each such round
  also relabels the states its guide visited in its own round evaluation, as `dagger` does,
  and trains on both.

Interrupt it at any point and run the same command again: collection tops up to its target,
`fit` continues its stage, `relabel` continues its file, and finished evaluations are kept.
Each round keeps its policy in `policies/round-K/` (the run's best parameters and
`policy.onnx`), so a later round can hand the previous policy to another command.
Writes `rounds.md`, `rounds.json` and `score.png` into the work folder.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from fil_learn.children import children_cpu_seconds, run_child
from fil_learn.config import fit_argv, settings_argv
from fil_learn.data import file_sha256, open_dataset
from fil_learn.loop_config import GUIDE_PLAY_SEED, GUIDE_PRIOR, LoopConfig
from fil_learn.loop_record import other_settings, read_record, write_record
from fil_learn.loop_table import write_table
from fil_learn.plots import plot_rounds

LOOP_EXTRA = "pip install 'fil-learn[loop]'"


def fil_collect_executable() -> str:
    """`fil-collect` next to this interpreter (same environment) or on PATH."""
    name = "fil-collect.exe" if os.name == "nt" else "fil-collect"
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which("fil-collect")
    if found is None:
        raise ValueError(f"the loop runs fil-collect, which is not installed: {LOOP_EXTRA}")
    return found


def check_requirements() -> None:
    """Fail in a second, not after round 0's collection, when an extra is missing."""
    import importlib.util

    fil_collect_executable()
    for module, extra in (("onnx", "onnx"), ("onnxruntime", "onnx"), ("ale_py", "eval")):
        if importlib.util.find_spec(module) is None:
            raise ValueError(
                f"the loop needs {module} ({extra} extra), which is not installed: {LOOP_EXTRA}"
            )


class Loop:
    """One loop's files: everything lives in `workdir`, and the record in `rounds.json`."""

    def __init__(self, config: LoopConfig, echo: Callable[[str], None] = print) -> None:
        self.config = config
        self.dir = config.workdir
        self.echo = echo

    @property
    def demos(self) -> Path:
        return self.dir / "demos.h5"

    def run_dir(self, round_index: int, candidate: int = 0) -> Path:
        """The fit a round trains: one run fine-tuned round after round, or with `fresh` a new
        run per round (and per candidate after the first)."""
        if not self.config.fresh:
            return self.dir / "run"
        return self.dir / (f"run-{round_index}-{candidate}" if candidate else f"run-{round_index}")

    @property
    def baselines_file(self) -> Path:
        return self.dir / "baselines-v5.json"

    def guided(self, round_index: int) -> Path:
        """`exit`: the episodes collected in round `round_index` (>= 1) under the last policy."""
        return self.dir / f"guided-{round_index}.h5"

    def relabelled(self, round_index: int) -> Path:
        return self.dir / f"relabel-{round_index}.h5"

    def visited(self, round_index: int, candidate: int | None = None) -> Path:
        """The states a round's evaluation saved (or one candidate's, `visited-K-candidate-J`)."""
        tail = "" if candidate is None else f"-candidate-{candidate}"
        return self.dir / f"visited-{round_index}{tail}.h5"

    def guide_labels(self, round_index: int) -> Path:
        """`exit` with `guide_labels`: labels of the states round `round_index`'s guide visited."""
        return self.dir / f"guide-labels-{round_index}.h5"

    def guide_play(self, round_index: int) -> Path:
        """`exit` with `guide_play`: round `round_index`'s guide playing alone (visited states)."""
        return self.dir / f"guide-play-{round_index}.h5"

    def round_dir(self, round_index: int) -> Path:
        """A copy of the policy a round ended with: `best/`, `run.json`, `policy.onnx`."""
        return self.dir / "policies" / f"round-{round_index}"

    def policy_onnx(self, round_index: int) -> Path:
        """The round's policy as ONNX: what a later round can hand to another command (e.g. a
        collection guided by the previous round's policy)."""
        return self.round_dir(round_index) / "policy.onnx"

    def playable(self, round_index: int) -> Path:
        """What `eval` plays for a round: its parameters, or for a `start` policy the file."""
        if self.config.start is not None and round_index == 0:
            return self.policy_onnx(0)
        return self.round_dir(round_index)

    def datasets(self, round_index: int) -> list[Path]:
        """What round `round_index` trains on."""
        everything = self.all_data(round_index)
        if len(everything) > 1 and not self.config.keep_demos:
            return [path for path in everything if path != self.demos]
        return everything

    def own_demos(self) -> list[Path]:
        """Round 0's swarm demonstrations, which a loop from a `start` policy has not."""
        return [] if self.config.start is not None else [self.demos]

    def all_data(self, round_index: int) -> list[Path]:
        """What the loop trains on up to this round (before `keep_demos`); in `exit` mode with a
        `window`, the guided rounds outside it are left out (`emulated` counts them)."""
        if self.config.mode == "bc":
            return [self.demos]
        if self.config.mode == "exit":
            first = 1 if not self.config.window else max(1, round_index - self.config.window + 1)
            return [*self.own_demos(), *self.exit_rounds(range(first, round_index + 1))]
        return [self.demos, *(self.relabelled(r) for r in range(round_index))]

    def exit_rounds(self, rounds: range) -> list[Path]:
        """`exit`: what the guided rounds `rounds` added (their episodes, and their guides'
        labelled states with `guide_labels`)."""
        c = self.config
        added = [self.guided]
        added += [self.guide_labels] if c.guide_labels else []
        added += [self.guide_play] if c.guide_play else []
        return [path(r) for r in rounds for path in added]

    def run(self, command: list[str], *args: object) -> None:
        run_child([*command, *map(str, args)], self.echo)

    def collect(self, *args: object) -> None:
        self.run([fil_collect_executable()], *args)

    def learn(self, *args: object) -> None:
        self.run([sys.executable, "-m", "fil_learn"], *args)

    def workers(self) -> list[object]:
        return [] if self.config.workers is None else ["--workers", self.config.workers]

    def max_steps(self) -> list[object]:
        steps = self.config.eval_max_steps
        return [] if steps is None else ["--max-steps", steps]

    def top_up_demos(self, target: int) -> None:
        """Top the demonstrations up to `target` episodes (a rerun adds only what is missing;
        under a frame budget, fil-collect alone knows whether the file is complete)."""
        if self.config.collect.total_frames is None and episodes_in(self.demos) >= target:
            return
        self.collect(*self.demos_command(target))

    def demos_command(self, target: int) -> list[object]:
        """`fil-collect`'s arguments for the demonstrations, `target` episodes in the file."""
        c = self.config
        swarm = settings_argv(replace(c.collect, episodes=target))  # the file's total
        return [
            "--game", c.game, "--out", self.demos, *swarm, "--seed", c.seed,
            *self.workers(), "--quiet",
        ]  # fmt: skip

    def emulated(self, round_index: int) -> list[Path]:
        """Every file the loop has emulated for up to this round, trained on or not."""
        if self.config.mode == "exit":
            return [*self.own_demos(), *self.exit_rounds(range(1, round_index + 1))]
        return self.all_data(round_index)

    def collect_guided(self, round_index: int, guide_round: int) -> None:
        """`exit`: swarm episodes whose walkers draw from the policy of round `guide_round`; a
        new seed per round, so every round plays other starts (a rerun tops the file up)."""
        self.collect(*self.guided_command(round_index, guide_round))

    def guided_command(self, round_index: int, guide_round: int) -> list[object]:
        """`fil-collect`'s arguments for round `round_index`'s guided episodes."""
        c = self.config
        return [
            "--game", c.game, "--out", self.guided(round_index), *settings_argv(c.collect),
            "--seed", c.seed + 1000 * round_index,
            "--policy", self.policy_onnx(guide_round),
            "--policy-temperature", c.policy_temperature,
            "--policy-epsilon", c.epsilon(round_index),
            *self.workers(), "--quiet",
        ]  # fmt: skip

    def record_guide_play(self, round_index: int, guide_round: int) -> None:
        """`guide_play` episodes of round `round_index`'s guide playing alone, its states saved
        (kept once its summary is written; an interrupted recording is played again)."""
        c = self.config
        summary = self.guide_play(round_index).with_suffix(".json")
        if summary.exists():
            return
        self.learn(
            "eval", self.policy_onnx(guide_round), "--episodes", c.guide_play, "--protocol", "v5",
            "--seed", GUIDE_PLAY_SEED, "--save-states", self.guide_play(round_index),
            "--state-every", 1_000_000,  # frames and actions; no emulator state is needed
            "--json", summary, *self.max_steps(), "--quiet",
        )  # fmt: skip

    def fit(self, round_index: int, candidate: int = 0, guide_round: int | None = None) -> None:
        """Train (round 0) or fine-tune (later rounds) on what the round trains on."""
        self.learn(*self.fit_command(round_index, candidate, guide_round))

    def fit_command(
        self, round_index: int, candidate: int = 0, guide_round: int | None = None
    ) -> list[object]:
        """`fil-learn fit`'s arguments for a round: every fit setting, from `fit_argv`; a
        round's candidates differ only by the fit's seed and history (`candidate_fits`).
        `--prior guide` becomes the policy of `guide_round`, the round's guide (a round
        without one fits the network's own policy as the prior)."""
        datasets = self.datasets(round_index)
        out = self.run_dir(round_index, candidate)
        seed, history = self.config.candidate_fits()[candidate]
        prior = self.config.fit.prior
        if prior == GUIDE_PRIOR:
            prior = None if guide_round is None else str(self.policy_onnx(guide_round))
        fit = replace(
            self.config.fit,
            seed=seed,
            history=history,
            epochs=budget_epochs(self.config.fit_samples, datasets, self.config.fit.epochs),
            prior=prior,
        )
        return ["fit", *datasets, "--out", out, *fit_argv(fit), "--quiet"]

    def train(
        self, round_index: int, guide_round: int | None = None
    ) -> tuple[int, list[float] | None]:
        """Fit the round's candidates and keep the one whose round evaluation is best (the
        first on a tie); returns its index and every candidate's mean (None for one)."""
        fits = len(self.config.candidate_fits())
        if fits == 1:
            self.fit(round_index, guide_round=guide_round)
            self.keep_policy(round_index)
            return 0, None
        means = []
        for candidate in range(fits):
            self.fit(round_index, candidate, guide_round)
            means.append(self.evaluate_candidate(round_index, candidate)["mean"])
        chosen = max(range(len(means)), key=lambda j: (means[j], -j))
        self.keep_policy(round_index, chosen)
        result = self.eval_file(round_index)
        if not result.exists():  # the same policy on the same seeds: its evaluation is the round's
            states = self.visited(round_index, chosen)
            if states.exists():
                shutil.copy2(states, self.visited(round_index))
            shutil.copy2(self.eval_file(round_index, chosen), result)
        return chosen, means

    def eval_file(self, round_index: int, candidate: int | None = None) -> Path:
        """A round's evaluation, or one candidate's (`eval-K-candidate-J.json`)."""
        tail = "" if candidate is None else f"-candidate-{candidate}"
        return self.dir / f"eval-{round_index}{tail}.json"

    def evaluate_candidate(self, round_index: int, candidate: int) -> dict[str, Any]:
        """A candidate's round evaluation (the round seeds; kept once played)."""
        target = self.run_dir(round_index, candidate)
        states = self.visited(round_index, candidate)
        extra = self.save_states(states) if self.config.guide_labels else []
        return self.round_eval(round_index, target, self.eval_file(round_index, candidate), *extra)

    def save_states(self, path: Path) -> list[object]:
        """`eval`'s options that save the states it visits into `path` (what `relabel` labels)."""
        return ["--save-states", path, "--state-every", self.config.state_every]

    def round_eval(
        self, round_index: int, target: Path, result: Path, *extra: object
    ) -> dict[str, Any]:
        """`target` played on the round's seeds under v5 into `result` (kept once played)."""
        if not result.exists():
            c = self.config
            self.learn(
                "eval", target, "--episodes", c.eval_episodes, "--protocol", "v5",
                "--seed", c.eval_seed(round_index), *extra, "--json", result,
                *self.max_steps(), "--quiet",
            )  # fmt: skip
        return json.loads(result.read_text())

    def keep_policy(self, round_index: int, candidate: int = 0) -> None:
        """Copy the run's best parameters into the round's folder and export them as ONNX."""
        target = self.round_dir(round_index)
        source = self.run_dir(round_index, candidate)
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source / "best", target / "best")
        shutil.copy2(source / "run.json", target / "run.json")
        self.learn("export", target, "--out", self.policy_onnx(round_index), "--quiet")

    def evaluate(self, round_index: int) -> dict[str, Any]:
        """The round's policy on the round seeds, saving the states it visits (for `dagger`)."""
        return self.round_eval(
            round_index, self.playable(round_index), self.eval_file(round_index),
            *self.save_states(self.visited(round_index)),
        )  # fmt: skip

    def relabel(self, round_index: int, out: Path | None = None) -> None:
        """Label the states round `round_index`'s policy visited into `out` (`relabel-K`;
        continues a partial file); with `guided_relabel`, that policy also guides the label
        swarms."""
        self.collect(*self.relabel_command(round_index, out))

    def relabel_command(self, round_index: int, out: Path | None = None) -> list[object]:
        """`fil-collect relabel`'s arguments for the states round `round_index` visited."""
        c = self.config
        guide: list[object] = []
        if c.guided_relabel:
            guide = [
                "--policy", self.policy_onnx(round_index),
                "--policy-temperature", c.policy_temperature,
                "--policy-epsilon", c.policy_epsilon,
            ]  # fmt: skip
        return [
            "relabel", self.visited(round_index), "--out", out or self.relabelled(round_index),
            *settings_argv(c.relabel), "--seed", c.seed, *guide, *self.workers(), "--quiet",
        ]  # fmt: skip

    def baselines(self) -> dict[str, Any] | None:
        """Each constant action and random play under v5 (measured once, then kept)."""
        c = self.config
        if not c.baseline_episodes:
            return None
        if not self.baselines_file.exists():
            self.learn(
                "baselines", "--game", c.game, "--episodes", c.baseline_episodes,
                "--protocol", "v5", "--json", self.baselines_file, *self.max_steps(), "--quiet",
            )  # fmt: skip
        return json.loads(self.baselines_file.read_text())

    def final(self, round_index: int, protocol: str) -> dict[str, Any]:
        result = self.dir / f"final-round-{round_index}-{protocol}.json"
        if not result.exists():
            self.learn(
                "eval", self.playable(round_index), "--episodes", self.config.final_episodes,
                "--protocol", protocol, "--seed", 10_000, "--json", result,
                *self.max_steps(), "--quiet",
            )  # fmt: skip
        return json.loads(result.read_text())

    def play_round(self, round_index: int, rows: list[dict[str, Any]]) -> dict[str, Any]:
        """One round's stages after the rounds in `rows`; returns its row of the table."""
        c = self.config
        started, cpu = time.perf_counter(), children_cpu_seconds()
        if c.start is not None and round_index == 0:
            return self.start_round(started, cpu)
        if c.start is None:
            extra = c.collect.episodes * round_index if c.mode == "bc" else 0
            self.top_up_demos(c.collect.episodes + extra)
        if c.mode == "dagger" and round_index > 0:
            self.relabel(round_index - 1)
        guide_round = None
        if c.mode == "exit" and round_index > 0:
            guide_round = round_index - 1 if c.guide == "last" else best_round(rows)
            self.collect_guided(round_index, guide_round)
            if c.guide_labels:
                self.relabel(guide_round, self.guide_labels(round_index))
            if c.guide_play:
                self.record_guide_play(round_index, guide_round)
        chosen, means = self.train(round_index, guide_round)
        run_dir = self.run_dir(round_index, chosen)
        kept = policy_epoch(self.round_dir(round_index))
        before = rows[-1] if rows and not c.fresh else None
        return self.row(
            round_index, started, cpu,
            guided_by=guide_round,
            policy_epsilon=c.epsilon(round_index) if guide_round is not None else None,
            samples_processed=samples_processed(run_dir, kept, before),
            val_accuracy=val_accuracy(run_dir, kept),
            policy_epoch=kept,
            candidate=chosen if means is not None else None,
            candidate_means=means,
            candidate_histories=(
                [h for _, h in c.candidate_fits()] if c.candidate_histories else None
            ),
        )  # fmt: skip

    def start_round(self, started: float, cpu: float) -> dict[str, Any]:
        """Round 0 of a loop from a `start` policy: copy the file in and evaluate it."""
        target = self.policy_onnx(0)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            shutil.copy2(str(self.config.start), target)
        return self.row(0, started, cpu, start_sha256=file_sha256(target))

    def row(self, round_index: int, started: float, cpu: float, **facts: Any) -> dict[str, Any]:
        """A round's row: its data, its cost and its evaluation, and what the round adds."""
        summary = self.evaluate(round_index)
        samples, _ = data_totals(self.datasets(round_index))
        _, frames = data_totals(self.emulated(round_index))
        empty = dict.fromkeys(
            ("guided_by", "policy_epsilon", "samples_processed", "val_accuracy", "policy_epoch")
        )
        return {
            "round": round_index,
            **empty,
            **facts,
            "samples": samples,
            "emulator_frames": frames,
            "seconds": time.perf_counter() - started,
            "cpu_seconds": children_cpu_seconds() - cpu,
            "eval_mean": summary["mean"],
            "eval_ci95": summary["ci95"],
            "eval_episodes": summary["episodes"],
            "human_normalized": summary["human_normalized"],
            "random_score": summary["random_score"],
            "human_score": summary["human_score"],
        }

    def finals(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        """Round 0 (plain behaviour cloning) and the best round by the round evaluations under
        v5 and noop30, on other seeds than those evaluations; the evaluations are independent
        processes, run as many at once as there are workers. The best round's policy becomes
        the loop's `policy.onnx`."""
        c = self.config
        best = best_round(rows)
        shutil.copy2(self.policy_onnx(best), self.dir / "policy.onnx")
        jobs = [(r, p) for r in sorted({0, best}) for p in ("v5", "noop30")]
        parallel = c.workers or os.cpu_count() or 1
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            results = pool.map(lambda job: self.final(*job), jobs)
            return {f"round-{r}/{p}": result for (r, p), result in zip(jobs, results, strict=True)}

    def publish(self, folder: Path | None, rows: list[dict[str, Any]]) -> None:
        """Copy the record, its table and plot, the final evaluations and the best round's
        policy so far into `folder` (a results/ folder, committed as it grows), so that a lost
        machine or session loses at most the round in progress.

        A folder whose record has more rounds than this run is left alone: rerunning a
        published recipe on a fresh machine (the reproducing command of results/best) must not
        replace the record it reproduces with its own first rounds. So is one whose record was
        played with other settings (wherever it ran): it is another loop's result."""
        if folder is None or not rows:
            return
        why = self.not_ours(published_record(folder), rows)
        if why:
            self.echo(f"{folder} holds {why}: left as it is; this run's record is in {self.dir}")
            return
        folder.mkdir(parents=True, exist_ok=True)
        finals = sorted(p.name for p in self.dir.glob("final-round-*.json"))
        for name in ("rounds.json", "rounds.md", "score.png", *finals):
            if (self.dir / name).exists():
                shutil.copy2(self.dir / name, folder / name)
        shutil.copy2(self.policy_onnx(best_round(rows)), folder / "policy.onnx")

    def not_ours(self, record: dict[str, Any] | None, rows: list[dict[str, Any]]) -> str:
        """Why a published record must not be replaced by this run's ("" when it may be)."""
        if record is None:
            return ""
        if len(record["rounds"]) > len(rows):
            return f"a longer record ({len(record['rounds'])} rounds) than this run ({len(rows)})"
        differ = other_settings(record, self.config, ignore=("workdir",))
        return f"a loop with other settings ({differ})" if differ else ""


def published_record(folder: Path) -> dict[str, Any] | None:
    """A publish folder's loop record (None: none, or not a loop record)."""
    try:
        record = json.loads((folder / "rounds.json").read_text())
    except (OSError, ValueError):
        return None
    is_loop = isinstance(record, dict) and isinstance(record.get("config"), dict)
    return record if is_loop and isinstance(record.get("rounds"), list) else None


def best_round(rows: list[dict[str, Any]]) -> int:
    """The round whose policy scored best in its round evaluation (the later one on a tie)."""
    return max(rows, key=lambda row: (row["eval_mean"], row["round"]))["round"]


def episodes_in(path: Path) -> int:
    if not path.exists():
        return 0
    with open_dataset(path) as dataset:
        return len(dataset)


def data_totals(paths: list[Path]) -> tuple[int, int]:
    """Labelled samples and emulator frames spent on them (swarm search plus relabelling)."""
    samples = frames = 0
    for path in paths:  # a guide's recorded play (`guide_play`) too: samples, no swarm frames
        with open_dataset(path, states=True) as dataset:
            for episode in dataset:
                samples += int((episode.actions >= 0).sum())
                frames += int(episode.attrs.get("emulator_frames", 0))
    return samples, frames


def budget_epochs(fit_samples: int, datasets: list[Path], epochs: int) -> int:
    """The epochs of a fit under `--fit-samples` (0: `epochs`, the fit's own setting): the
    budget over the labelled samples of `datasets`, rounded, at least 1. The fit trains on ~90%
    of them (the rest validates), so it processes about 90% of the budget."""
    if not fit_samples:
        return epochs
    samples, _ = data_totals(datasets)
    return max(1, round(fit_samples / max(samples, 1)))


def policy_epoch(round_dir: Path) -> int:
    """The fit epoch whose parameters a round kept (the step of its `best/` checkpoint): the
    same as the round before's when no epoch of the round's fit replaced them."""
    return max(int(step.name) for step in (round_dir / "best").iterdir() if step.name.isdigit())


def samples_processed(run_dir: Path, kept: int, before: dict[str, Any] | None) -> int | None:
    """Training samples that went into the parameters a round plays: the epochs of its fit's
    last stage up to the kept one, on top of what the round before's policy had processed when
    the stage fine-tuned it (`before`; None for a fresh network). A round that kept the round
    before's parameters processed what they did; None where an earlier record lacks it."""
    settings = json.loads((run_dir / "run.json").read_text())
    stage = settings["stages"][-1]
    earlier = before.get("samples_processed") if before else 0
    if earlier is None:
        return None
    if kept < stage["first_epoch"]:
        return earlier
    return earlier + (kept - stage["first_epoch"] + 1) * int(settings["train_samples"])


def val_accuracy(run_dir: Path, epoch: int) -> float | None:
    """The validation accuracy of the epoch a round plays (`metrics.jsonl`; its last row for
    that epoch, as a resumed fit may repeat one), not the fit's last epoch: under `--keep best`
    they differ whenever a later epoch did not improve. None without validation."""
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    rows = [row for line in lines if line.strip() and (row := json.loads(line))["epoch"] == epoch]
    return rows[-1]["val_accuracy"] if rows else None


def run_loop(
    config: LoopConfig, echo: Callable[[str], None] = print, publish: Path | None = None
) -> dict[str, Any]:
    """Play the rounds not played yet, then the final evaluation; returns the record. With
    `publish`, the record and the best policy so far are copied there after every round."""
    config.validate()
    check_requirements()
    loop = Loop(config, echo)
    config.workdir.mkdir(parents=True, exist_ok=True)
    record = read_record(config)
    rows: list[dict[str, Any]] = record.get("rounds", [])
    baselines = loop.baselines()
    for round_index in range(len(rows), config.rounds):
        rows.append(loop.play_round(round_index, rows))
        write_record(config, rows, baselines)
        write_table(config, rows, baselines)
        plot_rounds(config, rows, baselines)
        loop.publish(publish, rows)
    plot_rounds(config, rows, baselines)  # also when every round was done before (a rerun)
    finals = loop.finals(rows) if config.final_episodes else {}
    write_record(config, rows, baselines, finals)
    write_table(config, rows, baselines, finals)
    loop.publish(publish, rows)
    return {"rounds": rows, "baselines": baselines, "final": finals}
