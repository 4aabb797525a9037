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
  the actions or the swarm's visit shares (`--target`).

Interrupt it at any point and run the same command again: collection tops up to its target,
`fit` continues its stage, `relabel` continues its file, and finished evaluations are kept.
Each round keeps its policy in `policies/round-K/` (the run's best parameters and
`policy.onnx`), so a later round can hand the previous policy to another command.
Writes `rounds.md`, `rounds.json` and `score.png` into the work folder.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from fil_learn.config import FitConfig
from fil_learn.data import open_dataset
from fil_learn.run_folder import write_atomic

LOOP_EXTRA = "pip install 'fil-learn[loop]'"


class Mode(StrEnum):
    """What a round after round 0 adds to the training data."""

    dagger = "dagger"
    bc = "bc"
    exit = "exit"


class Target(StrEnum):
    """What `fil-learn fit` fits (`fit --target`)."""

    action = "action"
    visits = "visits"


class Guide(StrEnum):
    """`exit`: which round's policy guides the next swarm."""

    best = "best"
    last = "last"


GUIDES = tuple(g.value for g in Guide)


class RoundSeeds(StrEnum):
    """Which episodes a round's evaluation plays."""

    fixed = "fixed"
    per_round = "per-round"


ROUND_SEEDS = tuple(r.value for r in RoundSeeds)
FIRST_ROUND_SEED = 1000
"""Round evaluations start here; the final evaluation (seeds 10000 on) never overlaps them."""


class Rule(StrEnum):
    """How `fil-collect relabel` labels a visited state."""

    vote = "vote"
    best = "best"
    value = "value"


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
    """Keep training on the swarm demonstrations after round 0 (False: relabelled data only;
    FMC's own actions are uniform draws, so its labels are mostly noise)."""
    final_episodes: int = 30
    """Episodes per protocol (v5 and noop30) of the final evaluation; 0 skips it."""
    baseline_episodes: int = 3
    """Episodes (v5) of each constant action and of random play, the plot's reference lines;
    0 skips them."""
    eval_max_steps: int | None = None
    """Cut evaluation episodes after this many steps (smoke tests only; None plays them out)."""
    workers: int | None = None
    seed: int = 0
    target: str = "action"
    """What each fit trains on: the demonstrated actions, or the swarm's visit shares."""
    policy_temperature: float = 0.5
    """`exit`: softmax temperature of the guiding policy. 0.5 with epsilon 0.2 is the measured
    best on SpaceInvaders (468 under v5 after 3 guided rounds, against 362 at 1 and 0.5;
    results/README.md)."""
    policy_epsilon: float = 0.2
    """`exit`: share of each guided draw that stays uniform (in round 1)."""
    policy_epsilon_step: float = 0.0
    """`exit`: lower the uniform share by this much every round after round 1 (down to 0): a
    search that starts near plain FMC and trusts the policy more as it improves."""
    guide: str = "best"
    """`exit`: which policy guides a round's swarm, `best` (the best round evaluation so far)
    or `last` (the previous round's). With `best`, a round whose policy got worse does not
    guide the next one, so a collapse does not feed on itself."""
    guided_relabel: bool = False
    """`dagger`: the label swarms draw from the policy whose states they label
    (`fil-collect relabel --policy`, at `policy_temperature` and `policy_epsilon`)."""
    equivalent: str = "ignore"
    """Every fit's `--equivalent` (how actions that lead to the same state are fitted)."""
    shift: int = 0
    """Every fit's `--shift` (random-shift augmentation, pixels)."""
    compared_only: bool = False
    """Every fit's `--compared-only` (only the steps where the swarm compared outcomes)."""
    keep: str = "best"
    """Every fit's `--keep`: a round's policy is the fit's epoch with the best validation loss
    (a round whose epochs all lose to the previous policy keeps it unchanged), or its last."""
    round_seeds: str = RoundSeeds.fixed.value
    """Every round's evaluation plays the same seeds (`fixed`), so an unchanged policy scores
    the same and rounds differ only by their policies, or other seeds each round
    (`per-round`, loops recorded before this setting existed: 10-episode evaluations of one
    policy moved by up to 65 points on SpaceInvaders, enough to pick the wrong best round)."""
    window: int = 0
    """`exit`: train on round 0's demonstrations and only the last `window` rounds of guided
    episodes (0: all of them), so the policy's earlier, weaker choices fade out of the data."""

    @classmethod
    def from_options(cls, workdir: Path | None, **options: Any) -> LoopConfig:
        """The loop the command-line options describe: choices as their values, the work
        folder runs/loop-GAME-MODE unless one is given."""
        values = {k: v.value if isinstance(v, StrEnum) else v for k, v in options.items()}
        folder = workdir or Path("runs") / f"loop-{values['game'].lower()}-{values['mode']}"
        return cls(workdir=folder, **values)

    def validate(self) -> None:
        """Every count that must be positive, checked before any work starts."""
        at_least_one = (
            "rounds", "episodes", "walkers", "swarm_epochs", "epochs", "batch_size",
            "eval_episodes", "state_every", "max_labels", "label_walkers", "label_epochs",
        )  # fmt: skip
        for name in at_least_one:
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
        for name in ("final_episodes", "baseline_episodes"):
            if getattr(self, name) < 0:
                raise ValueError(f"--{name.replace('_', '-')} must be 0 (skip) or more")
        for name in ("eval_max_steps", "workers"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
        if self.mode not in {m.value for m in Mode}:
            raise ValueError(f"--mode must be one of {', '.join(m.value for m in Mode)}")
        if self.rule not in {r.value for r in Rule}:
            raise ValueError(f"--rule must be one of {', '.join(r.value for r in Rule)}")
        if self.target not in {t.value for t in Target}:
            raise ValueError(f"--target must be one of {', '.join(t.value for t in Target)}")
        if not self.policy_temperature > 0 or not 0 <= self.policy_epsilon <= 1:
            raise ValueError("--policy-temperature must be > 0 and --policy-epsilon in [0, 1]")
        if not 0 <= self.policy_epsilon_step <= 1:
            raise ValueError("--policy-epsilon-step must be in [0, 1]")
        if self.guide not in GUIDES:
            raise ValueError(f"--guide must be one of {', '.join(GUIDES)}")
        if self.round_seeds not in ROUND_SEEDS:
            raise ValueError(f"--round-seeds must be one of {', '.join(ROUND_SEEDS)}")
        if self.window < 0:
            raise ValueError("--window must be 0 (every guided round) or more")
        FitConfig(equivalent=self.equivalent, shift=self.shift, keep=self.keep).validate()

    def eval_seed(self, round_index: int) -> int:
        """The first seed of round `round_index`'s evaluation episodes."""
        if self.round_seeds == RoundSeeds.fixed.value:
            return FIRST_ROUND_SEED
        return FIRST_ROUND_SEED * (round_index + 1)

    def epsilon(self, round_index: int) -> float:
        """The uniform share of round `round_index`'s guided draws (round 1 first)."""
        return max(0.0, self.policy_epsilon - self.policy_epsilon_step * (round_index - 1))


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

    @property
    def run_dir(self) -> Path:
        return self.dir / "run"

    @property
    def baselines_file(self) -> Path:
        return self.dir / "baselines-v5.json"

    def guided(self, round_index: int) -> Path:
        """`exit`: the episodes collected in round `round_index` (>= 1) under the last policy."""
        return self.dir / f"guided-{round_index}.h5"

    def relabelled(self, round_index: int) -> Path:
        return self.dir / f"relabel-{round_index}.h5"

    def visited(self, round_index: int) -> Path:
        return self.dir / f"visited-{round_index}.h5"

    def round_dir(self, round_index: int) -> Path:
        """A copy of the policy a round ended with: `best/`, `run.json`, `policy.onnx`."""
        return self.dir / "policies" / f"round-{round_index}"

    def policy_onnx(self, round_index: int) -> Path:
        """The round's policy as ONNX: what a later round can hand to another command (e.g. a
        collection guided by the previous round's policy)."""
        return self.round_dir(round_index) / "policy.onnx"

    def datasets(self, round_index: int) -> list[Path]:
        """What round `round_index` trains on."""
        everything = self.all_data(round_index)
        if len(everything) > 1 and not self.config.keep_demos:
            return everything[1:]
        return everything

    def all_data(self, round_index: int) -> list[Path]:
        """What the loop trains on up to this round (before `keep_demos`); in `exit` mode with a
        `window`, the guided rounds outside it are left out (`emulated` counts them)."""
        if self.config.mode == Mode.bc.value:
            return [self.demos]
        if self.config.mode == Mode.exit.value:
            first = 1 if not self.config.window else max(1, round_index - self.config.window + 1)
            return [self.demos, *(self.guided(r) for r in range(first, round_index + 1))]
        return [self.demos, *(self.relabelled(r) for r in range(round_index))]

    def run(self, command: list[str], *args: object) -> None:
        full = [*command, *map(str, args)]
        self.echo("$ " + " ".join(full))
        subprocess.run(full, check=True)

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
        """Top the demonstrations up to `target` episodes (a rerun adds only what is missing)."""
        have = episodes_in(self.demos)
        if have >= target:
            return
        c = self.config
        self.collect(
            "--game", c.game, "--out", self.demos, "--episodes", target,  # the file's total
            "--walkers", c.walkers, "--epochs", c.swarm_epochs, "--seed", c.seed,
            *self.workers(), "--quiet",
        )  # fmt: skip

    def emulated(self, round_index: int) -> list[Path]:
        """Every file the loop has emulated for up to this round, trained on or not."""
        if self.config.mode == Mode.exit.value:
            return [self.demos, *(self.guided(r) for r in range(1, round_index + 1))]
        return self.all_data(round_index)

    def collect_guided(self, round_index: int, guide_round: int) -> None:
        """`exit`: swarm episodes whose walkers draw from the policy of round `guide_round`; a
        new seed per round, so every round plays other starts (a rerun tops the file up)."""
        c = self.config
        self.collect(
            "--game", c.game, "--out", self.guided(round_index), "--episodes", c.episodes,
            "--walkers", c.walkers, "--epochs", c.swarm_epochs,
            "--seed", c.seed + 1000 * round_index,
            "--policy", self.policy_onnx(guide_round),
            "--policy-temperature", c.policy_temperature,
            "--policy-epsilon", c.epsilon(round_index),
            *self.workers(), "--quiet",
        )  # fmt: skip

    def fit(self, round_index: int) -> None:
        c = self.config
        self.learn(
            "fit", *self.datasets(round_index), "--out", self.run_dir,
            "--epochs", c.epochs, "--batch-size", c.batch_size, "--seed", c.seed,
            "--target", c.target, "--equivalent", c.equivalent, "--shift", c.shift,
            "--keep", c.keep, *(["--compared-only"] if c.compared_only else []), "--quiet",
        )  # fmt: skip

    def keep_policy(self, round_index: int) -> None:
        """Copy the run's best parameters into the round's folder and export them as ONNX."""
        target = self.round_dir(round_index)
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(self.run_dir / "best", target / "best")
        shutil.copy2(self.run_dir / "run.json", target / "run.json")
        self.learn("export", target, "--out", self.policy_onnx(round_index), "--quiet")

    def evaluate(self, round_index: int) -> dict[str, Any]:
        result = self.dir / f"eval-{round_index}.json"
        if not result.exists():
            c = self.config
            self.learn(
                "eval", self.round_dir(round_index), "--episodes", c.eval_episodes,
                "--protocol", "v5", "--seed", c.eval_seed(round_index),
                "--save-states", self.visited(round_index), "--state-every", c.state_every,
                "--json", result, *self.max_steps(), "--quiet",
            )  # fmt: skip
        return json.loads(result.read_text())

    def relabel(self, round_index: int) -> None:
        """Label the states round `round_index`'s policy visited (continues a partial file);
        with `guided_relabel`, that policy also guides the label swarms."""
        c = self.config
        guide: list[object] = []
        if c.guided_relabel:
            guide = [
                "--policy", self.policy_onnx(round_index),
                "--policy-temperature", c.policy_temperature,
                "--policy-epsilon", c.policy_epsilon,
            ]  # fmt: skip
        self.collect(
            "relabel", self.visited(round_index), "--out", self.relabelled(round_index),
            "--walkers", c.label_walkers, "--epochs", c.label_epochs,
            "--max-labels", c.max_labels, "--rule", c.rule, "--seed", c.seed,
            *guide, *self.workers(), "--quiet",
        )  # fmt: skip

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
                "eval", self.round_dir(round_index), "--episodes", self.config.final_episodes,
                "--protocol", protocol, "--seed", 10_000, "--json", result,
                *self.max_steps(), "--quiet",
            )  # fmt: skip
        return json.loads(result.read_text())

    def play_round(self, round_index: int, rows: list[dict[str, Any]]) -> dict[str, Any]:
        """One round's stages after the rounds in `rows`; returns its row of the table."""
        c = self.config
        started = time.perf_counter()
        extra = c.episodes * round_index if c.mode == Mode.bc.value else 0
        self.top_up_demos(c.episodes + extra)
        if c.mode == Mode.dagger.value and round_index > 0:
            self.relabel(round_index - 1)
        guide_round = None
        if c.mode == Mode.exit.value and round_index > 0:
            guide_round = round_index - 1 if c.guide == "last" else best_round(rows)
            self.collect_guided(round_index, guide_round)
        self.fit(round_index)
        self.keep_policy(round_index)
        summary = self.evaluate(round_index)
        samples, _ = data_totals(self.datasets(round_index))
        _, frames = data_totals(self.emulated(round_index))
        kept = policy_epoch(self.round_dir(round_index))
        return {
            "round": round_index,
            "guided_by": guide_round,
            "policy_epsilon": c.epsilon(round_index) if guide_round is not None else None,
            "samples": samples,
            "emulator_frames": frames,
            "seconds": time.perf_counter() - started,
            "val_accuracy": val_accuracy(self.run_dir, kept),
            "policy_epoch": kept,
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
    for path in paths:
        with open_dataset(path) as dataset:
            for episode in dataset:
                samples += int((episode.actions >= 0).sum())
                frames += int(episode.attrs.get("emulator_frames", 0))
    return samples, frames


def policy_epoch(round_dir: Path) -> int:
    """The fit epoch whose parameters a round kept (the step of its `best/` checkpoint): the
    same as the round before's when no epoch of the round's fit replaced them."""
    return max(int(step.name) for step in (round_dir / "best").iterdir() if step.name.isdigit())


def val_accuracy(run_dir: Path, epoch: int) -> float | None:
    """The validation accuracy of the epoch a round plays (`metrics.jsonl`; its last row for
    that epoch, as a resumed fit may repeat one), not the fit's last epoch: under `--keep best`
    they differ whenever a later epoch did not improve. None without validation."""
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    rows = [row for line in lines if line.strip() and (row := json.loads(line))["epoch"] == epoch]
    return rows[-1]["val_accuracy"] if rows else None


def run_loop(config: LoopConfig, echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Play the rounds not played yet, then the final evaluation; returns the record."""
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
    plot_rounds(config, rows, baselines)  # also when every round was done before (a rerun)
    finals = loop.finals(rows) if config.final_episodes else {}
    write_record(config, rows, baselines, finals)
    write_table(config, rows, baselines, finals)
    return {"rounds": rows, "baselines": baselines, "final": finals}


def _jsonable(config: LoopConfig) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()}


EXTENDABLE = ("rounds",)
"""Settings a rerun may raise: more rounds continue the loop."""

PLAYED_BEFORE_RECORDED: dict[str, Any] = {"round_seeds": RoundSeeds.per_round.value}
"""How a loop recorded before a setting existed was played, where that differs from the
setting's default; any other missing setting counts as its default (which is what was played)."""


FLAGS = {"keep_demos": ("--keep-demos", "--drop-demos"), "compared_only": ("--compared-only", "")}
"""Switches whose command-line form is not --NAME/--no-NAME ("": the switch left out)."""


def _as_option(name: str, value: Any) -> str:
    """A recorded setting as the command line writes it, so a refusal says what to give."""
    flag = "--" + name.replace("_", "-")
    if isinstance(value, bool):
        on, off = FLAGS.get(name, (flag, f"--no-{flag[2:]}"))
        return (on if value else off) or f"no {on}"
    return f"no {flag}" if value is None else f"{flag} {value}"


def read_record(config: LoopConfig) -> dict[str, Any]:
    """The record of an earlier run of this loop; other settings in the same folder are
    refused rather than mixed in. A rerun with more `--rounds` plays the rounds that are
    missing (and evaluates the new last round); fewer is refused."""
    path = config.workdir / "rounds.json"
    if not path.exists():
        return {}
    record = json.loads(path.read_text())
    defaults = _jsonable(LoopConfig(config.game, config.workdir))
    old = {**defaults, **PLAYED_BEFORE_RECORDED, **record["config"]}
    new = _jsonable(config)
    differ = [k for k in new if k not in EXTENDABLE and old.get(k) != new[k]]
    if differ:
        recorded = ", ".join(_as_option(k, old.get(k)) for k in differ)
        raise ValueError(
            f"{config.workdir} holds a loop with other settings ({recorded}): "
            "use the same ones or another --workdir"
        )
    if config.rounds < len(record.get("rounds", [])):
        raise ValueError(
            f"{config.workdir} has played {len(record['rounds'])} rounds already: "
            f"give --rounds {len(record['rounds'])} or more"
        )
    return record


def write_record(
    config: LoopConfig,
    rows: list[dict[str, Any]],
    baselines: dict[str, Any] | None,
    finals: dict[str, Any] | None = None,
) -> None:
    payload = {
        "config": _jsonable(config),
        "rounds": rows,
        "baselines": baselines,
        "final": finals or {},
    }
    write_atomic(config.workdir / "rounds.json", json.dumps(payload, indent=2) + "\n")


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
        lines.append(("plain BC (round 0)", rows[0]["eval_mean"]))
    return lines


def write_table(
    config: LoopConfig,
    rows: list[dict[str, Any]],
    baselines: dict[str, Any] | None,
    finals: dict[str, Any] | None = None,
) -> None:
    lines = [
        f"# {config.game}, {config.mode}, {config.rounds} rounds",
        "",
        "| round | training samples | emulator frames (all so far) | wall time (min) | policy val accuracy | "
        "policy epoch | eval v5 mean ± 95% CI | human-normalized |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    elapsed = 0.0
    for index, row in enumerate(rows):
        elapsed += row["seconds"]
        accuracy = "n/a" if row["val_accuracy"] is None else f"{row['val_accuracy']:.3f}"
        lines.append(
            f"| {row['round']} | {row['samples']:,} | {row['emulator_frames']:,} | "
            f"{row['seconds'] / 60:.1f} (total {elapsed / 60:.1f}) | {accuracy} | "
            f"{_policy_epoch(row, rows[index - 1] if index else None)} | "
            f"{row['eval_mean']:,.1f} ± {_ci(row['eval_ci95'])} ({row['eval_episodes']} eps) | "
            f"{_percent(row['human_normalized'])} |"
        )
    lines += ["", "References under v5:", ""]
    lines += [f"- {label}: {value:,.1f}" for label, value in references(rows, baselines)]
    if finals:
        lines += _final_table(config, finals)
    (config.workdir / "rounds.md").write_text("\n".join(lines) + "\n")


def _policy_epoch(row: dict[str, Any], before: dict[str, Any] | None) -> str:
    """The epoch a round's policy comes from, marked when it is the round before's (its fit
    kept the earlier parameters); n/a in records written before it was kept."""
    epoch = row.get("policy_epoch")
    if epoch is None:
        return "n/a"
    same = before is not None and before.get("policy_epoch") == epoch
    return f"{epoch} (unchanged)" if same else str(epoch)


def _final_table(config: LoopConfig, finals: dict[str, Any]) -> list[str]:
    lines = [
        "",
        f"Final evaluation, {config.final_episodes} episodes per protocol (round 0 = plain "
        "behaviour cloning; the other, the round with the best round evaluation):",
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
    return lines


def _ci(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:,.1f}"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def plot_rounds(
    config: LoopConfig, rows: list[dict[str, Any]], baselines: dict[str, Any] | None
) -> None:
    """Score vs round with its 95% CI, and the reference scores as horizontal lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
