"""A student for every held-in game: the loop's recipe at one fixed budget, one table (issue #27).

    uv run python bench/student_table.py                      # the nine held-in games, in turn
    uv run python bench/student_table.py --games Pong Qbert   # run some of them
    uv run python bench/student_table.py --report             # the table from what exists

For each game it runs `fil-learn loop --preset student --game GAME --rounds 3 --fit-samples
300000` (the rounds and the budget are the preset's unless given) in runs/students/<game>,
publishing into results/students/<game>, then
rewrites results/students/README.md: the best round's finals under v5 and noop30 (seeds 10000
on, which no training or choice played) beside random play, the best constant action, the
teacher (the swarm episodes the kept round trained on), DQN and human, with what each policy
cost (emulator frames, samples processed, core-hours). One budget for every game, so the rows
compare games, not effort: `--fit-samples` makes every fit process about the same number of
samples whatever a game's episodes hold. A game whose published loop was played with other
settings than the recipe's is listed as missing, with what differs, and never mixed in.

Interrupt it and run it again: each loop continues where it stopped, and a finished one only
reads its record. The loop runs under this interpreter (`python -m fil_learn loop`, what
`uv run fil-learn loop` starts), so the table never syncs another environment.

A game's policy goes to `--best` (results/best/<game>.onnx and its card <game>.json) when the
leaderboard has none; a card this command wrote is replaced only by a higher v5 mean, one
written by other means never (the table says so). results/best/README.md is edited by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atari57_references import ATARI57, HELD_IN

from fil_learn.children import run_child
from fil_learn.data import open_dataset
from fil_learn.games import game_key
from fil_learn.loop import Loop, best_round
from fil_learn.loop_config import LoopConfig
from fil_learn.loop_record import other_settings
from fil_learn.loop_table import ci_text
from fil_learn.outputs import write_atomic
from fil_learn.presets import build_config

WRITTEN_BY = "bench/student_table.py"
"""The cards' `written_by`: the cards this command may replace."""
PAGE_MARK = "<!-- written by bench/student_table.py: rerun it rather than edit this page -->"
"""The page's second line: a page without it was not written here and is kept (--force)."""
PROTOCOLS = ("v5", "noop30")
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(ValueError):
    """Bad input or a failed loop: one line on stderr, exit 2."""


@dataclass(frozen=True)
class Table:
    """What the command was asked for: the games, the recipe, its budget and the folders."""

    games: list[str]
    """The games to run; the page lists `page_games`."""
    preset: str
    rounds: int
    fit_samples: int
    runs: Path
    results: Path
    best: Path
    max_steps: int | None
    sets: list[str]
    report: bool
    force: bool

    @property
    def page_games(self) -> list[str]:
        """Every game the page lists: the held-in nine, then any other game given, so that
        running some games never drops the rows of the others."""
        return [*HELD_IN, *(game for game in self.games if game not in HELD_IN)]

    def loop_args(self, game: str) -> list[str]:
        """`fil-learn loop`'s arguments for one game (its folders named by `game_key`)."""
        key = game_key(game)
        return [
            "loop", "--preset", self.preset, "--game", game, "--rounds", str(self.rounds),
            "--fit-samples", str(self.fit_samples), "--workdir", str(self.runs / key),
            "--publish", str(self.results / key), *self.extra_args(),
        ]  # fmt: skip

    def extra_args(self) -> list[str]:
        """The loop options given besides the recipe: `--max-steps` and `--set` (tests)."""
        smoke = [] if self.max_steps is None else ["--eval-max-steps", str(self.max_steps)]
        return smoke + [arg for item in self.sets for arg in _set_option(item)]

    def extra_names(self) -> list[str]:
        """The loop settings `extra_args` changes, which a row's record may hold as given."""
        names = [_set_option(item)[0][2:].replace("-", "_") for item in self.sets]
        return names + ([] if self.max_steps is None else ["eval_max_steps"])

    def loop_config(self, game: str) -> LoopConfig:
        """The loop the recipe plays for `game`, without `extra_args`: what a row must match."""
        given = {"game": game, "rounds": self.rounds, "fit_samples": self.fit_samples}
        return build_config(self.preset, {**given, "workdir": self.runs / game_key(game)})

    def command(self, game: str) -> str:
        """The command that reproduces one game's row, as a reader types it."""
        return "uv run fil-learn " + shlex.join(self.loop_args(game))


def _set_option(item: str) -> list[str]:
    """`--set KEY=VALUE` as the loop's option (`window=1` -> `--window 1`)."""
    name, equals, value = item.partition("=")
    if not equals or not name.strip():
        raise UsageError(f"--set {item}: give KEY=VALUE, e.g. --set walkers=4")
    return [f"--{name.strip().replace('_', '-')}", value.strip()]


@dataclass(frozen=True)
class Student:
    """A finished game: its loop record, the kept round and that round's finals."""

    game: str
    record: dict[str, Any]
    best: int
    finals: dict[str, dict[str, Any]]
    teacher: dict[str, Any] | None

    @property
    def rows(self) -> list[dict[str, Any]]:
        return self.record["rounds"]

    def cost(self) -> dict[str, Any]:
        """What the kept policy cost: the frames emulated and the samples and CPU time of its
        round and the rounds before (their policies guided its swarm), and the whole loop's
        CPU time (the later rounds included)."""
        kept = self.rows[: self.best + 1]
        return {
            "emulator_frames": self.rows[self.best]["emulator_frames"],
            "samples_processed": sum(row.get("samples_processed") or 0 for row in kept),
            "core_hours": sum(row["cpu_seconds"] for row in kept) / 3600,
            "core_hours_all_rounds": sum(row["cpu_seconds"] for row in self.rows) / 3600,
        }


def read_student(table: Table, game: str) -> Student | str:
    """A game's finished loop from its published folder, or why there is none yet."""
    folder = table.results / game_key(game)
    if not (folder / "rounds.json").exists():
        return "not run yet"
    record = json.loads((folder / "rounds.json").read_text())
    ignore = ["workdir", *table.extra_names()]  # the recipe matters, not where it ran
    differ = other_settings(record, table.loop_config(game), ignore=ignore)
    if differ:
        return f"played with other settings than this table's ({differ})"
    played = len(record["rounds"])
    if played < table.rounds:
        return f"{played} of {table.rounds} rounds played"
    best = best_round(record["rounds"])
    files = {p: folder / f"final-round-{best}-{p}.json" for p in PROTOCOLS}
    if not all(path.exists() for path in files.values()):
        return "the final evaluation is not played yet"
    finals = {p: json.loads(path.read_text()) for p, path in files.items()}
    return Student(game, record, best, finals, teacher(table, game, record, best))


def teacher(table: Table, game: str, record: dict[str, Any], best: int) -> dict[str, Any] | None:
    """The mean return of the swarm episodes the kept round trained on, read from the loop's
    datasets once and kept in results/students/<game>/teacher.json (runs/ is not committed, so
    `--report` elsewhere still has it). None where neither exists (or the round trained on
    nothing: a `start` policy)."""
    kept = table.results / game_key(game) / "teacher.json"
    known = json.loads(kept.read_text()) if kept.exists() else None
    if known is not None and known["round"] == best:
        return known
    settings = {**record["config"], "workdir": table.runs / game_key(game)}
    datasets = Loop(LoopConfig.from_settings(**settings)).datasets(best)
    if not datasets or not all(path.exists() for path in datasets):
        return None
    returns = [value for path in datasets for value in _returns(path)]
    found = {
        "round": best,
        "mean": sum(returns) / len(returns),
        "episodes": len(returns),
        "datasets": [path.name for path in datasets],
    }
    write_atomic(kept, json.dumps(found, indent=2) + "\n")
    return found


def _returns(path: Path) -> list[float]:
    """Every episode's return in a dataset (`episode_return`, as `fil_learn.data` reads it)."""
    with open_dataset(path) as dataset:
        return [episode.episode_return for episode in dataset]


def score(summary: dict[str, Any]) -> dict[str, Any]:
    """A final evaluation as the leaderboard's cards hold it."""
    first = int(summary["seed"])
    return {
        "mean": summary["mean"],
        "std": summary["std"],
        "ci95": summary["ci95"],
        "episodes": summary["episodes"],
        "seeds": [first, first + int(summary["episodes"]) - 1],
        "distinct_games": summary.get("distinct_games"),
        "max_steps": summary.get("max_steps"),
    }


def card(table: Table, student: Student) -> dict[str, Any]:
    """The leaderboard card of a student (results/best/<game>.json's fields)."""
    row = student.rows[student.best]
    return {
        "written_by": WRITTEN_BY,
        "game": student.game,
        "policy": f"{game_key(student.game)}.onnx",
        "method": f"fil-learn loop --preset {table.preset}, round {student.best} of "
        f"{len(student.rows)}, every fit {table.fit_samples:,} samples (--fit-samples)",
        "round": student.best,
        **{protocol: score(student.finals[protocol]) for protocol in PROTOCOLS},
        "round_evaluation": {"mean": row["eval_mean"], "episodes": row["eval_episodes"]},
        **student.cost(),
        "teacher_mean_return": None if student.teacher is None else student.teacher["mean"],
        "budget": {
            "preset": table.preset,
            "rounds": table.rounds,
            "fit_samples": table.fit_samples,
        },
        "reproduce": table.command(student.game),
    }


def publish(table: Table, student: Student) -> str:
    """Put a student on the leaderboard where it may go; returns the table's policy cell."""
    key = game_key(student.game)
    card_path, policy = table.best / f"{key}.json", table.best / f"{key}.onnx"
    held = json.loads(card_path.read_text()) if card_path.exists() else None
    new = card(table, student)
    if held is not None and held.get("written_by") != WRITTEN_BY:
        return f"not published: the leaderboard holds another policy ({_v5(held)})"
    if held is None and policy.exists():
        return f"not published: {policy.name} is there without a card"
    if held is not None and (held.get("round"), held["v5"]) == (new["round"], new["v5"]):
        return _link(table, policy)  # this very student, published by an earlier run
    if held is not None and new["v5"]["mean"] <= held["v5"]["mean"]:
        return f"not published: an earlier run's is better ({_v5(held)})"
    source = table.results / key / "policy.onnx"
    table.best.mkdir(parents=True, exist_ok=True)
    write_atomic(policy, source.read_bytes())
    write_atomic(card_path, json.dumps(new, indent=2) + "\n")
    print(f"published {policy} and {card_path}: v5 {new['v5']['mean']:,.1f}")
    return _link(table, policy)


def _v5(held: dict[str, Any]) -> str:
    return f"v5 {held['v5']['mean']:,.1f}"


def _link(table: Table, policy: Path) -> str:
    return f"[`{policy.name}`]({os.path.relpath(policy, table.results)})"


HEADER = (
    "| game | best round | v5 | noop30 | random (v5, measured) | best constant action (v5) | "
    "teacher | DQN | human | emulator frames | samples processed | core-hours | policy | "
    "command |"
)


def table_row(table: Table, student: Student, policy: str) -> str:
    """A finished game's row: its scores beside the references, and what it cost."""
    v5, noop = (student.finals[p] for p in PROTOCOLS)
    baselines = student.record.get("baselines")
    reference = ATARI57[student.game]
    cost = student.cost()
    teacher_cell = "n/a" if student.teacher is None else _teacher_text(student.teacher)
    cells = [
        student.game,
        _round_text(student.rows[student.best]),
        f"**{_mean(v5)}**",
        _mean(noop),
        "n/a" if baselines is None else f"{baselines['random']['mean']:,.1f}",
        "n/a" if baselines is None else _constant(baselines),
        teacher_cell,
        f"{reference.dqn:,.1f}",
        f"{reference.human:,.1f}",
        f"{cost['emulator_frames']:,}",
        f"{cost['samples_processed']:,}",
        f"{cost['core_hours']:.2f} ({cost['core_hours_all_rounds']:.2f})",
        policy,
        f"`{table.command(student.game)}`",
    ]
    return "| " + " | ".join(cells) + " |"


def _round_text(row: dict[str, Any]) -> str:
    """The kept round, and the input its policy sees where the round compared inputs
    (`2 (4f)`): which one a game needs is measured by the recipe, not set for it."""
    histories = row.get("candidate_histories")
    if not histories or row.get("candidate") is None:
        return str(row["round"])
    return f"{row['round']} ({histories[row['candidate']]}f)"


def _mean(summary: dict[str, Any]) -> str:
    return f"{summary['mean']:,.1f} ± {ci_text(summary['ci95'])}"


def _constant(baselines: dict[str, Any]) -> str:
    return f"{baselines['best_constant_mean']:,.1f} ({baselines['best_constant_action']})"


def _teacher_text(found: dict[str, Any]) -> str:
    return f"{found['mean']:,.1f} ({found['episodes']} eps, {', '.join(found['datasets'])})"


def budget_lines(table: Table, students: list[Student]) -> list[str]:
    """What every row was given, and what the table has cost so far."""
    preset = recipe(table, students)
    spent = sum(student.cost()["core_hours_all_rounds"] for student in students)
    extra = table.extra_args()
    given = f" with `{shlex.join(extra)}`" if extra else ""
    fits = len(preset.candidate_fits())  # seeds times histories (`--candidate-histories`)
    return [
        "## Budget",
        "",
        f"Every game: `fil-learn loop --preset {table.preset} --rounds {table.rounds} "
        f"--fit-samples {table.fit_samples}`{given}: round 0 clones {preset.collect.episodes} "
        f"plain swarm demonstrations ({preset.collect.walkers} walkers, at most "
        f"{preset.collect.swarm_epochs} epochs), each later round clones {preset.collect.episodes} "
        "swarm episodes guided by the best policy so far; every round trains "
        f"{fits} fresh network(s) ({_fits_text(preset)}) and keeps the best on the round "
        "evaluation (the best round's column names the input its policy sees).",
        f"Every fit trains round({table.fit_samples:,} / the round's samples) epochs, at least "
        "1 (`--fit-samples`): about the same samples for every game, of which a fit processes "
        "~90% (the rest of the episodes validate).",
        "",
        "- **emulator frames**: every swarm frame up to the kept round (evaluation not counted);",
        "- **samples processed**: training samples times epochs of the kept fit of every round "
        f"up to the kept one, as measured (each round trains {fits} such fits);",
        "- **core-hours**: CPU time of the loop's stages up to the kept round (in brackets: "
        "all its rounds), the baselines and finals not counted.",
        "",
        f"So far: {len(students)} of {len(table.page_games)} games, {spent:.2f} core-hours.",
    ]


def _fits_text(config: LoopConfig) -> str:
    """A round's fits in words: `fit seeds 0-2 at 1 and 4 frames`."""
    seeds = sorted({seed for seed, _ in config.candidate_fits()})
    frames = sorted({history for _, history in config.candidate_fits()})
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
    return f"fit {seed_text} at {' and '.join(map(str, frames))} frames"


def recipe(table: Table, students: list[Student]) -> LoopConfig:
    """The loop the rows played (the first finished game's record), or before any has
    finished the preset's."""
    if students:
        return LoopConfig.from_settings(**students[0].record["config"])
    return build_config(table.preset, {"game": table.games[0]})


def protocol_lines(students: list[Student]) -> list[str]:
    """How every number was measured, and where the references come from."""
    lines = [
        "## Protocols and seeds",
        "",
        "- **v5**: `ALE/<Game>-v5`, sticky actions 0.25, the full game; **noop30**: no sticky "
        "actions, 1-30 no-op starts.",
    ]
    for student in students:
        v5 = score(student.finals["v5"])
        cut = "" if v5["max_steps"] is None else f", cut at {v5['max_steps']} steps (smoke run)"
        lines.append(
            f"- {student.game}: finals {v5['episodes']} episodes a protocol, seeds "
            f"{v5['seeds'][0]}-{v5['seeds'][1]}{cut}; the round and the fits were chosen on "
            f"{student.rows[student.best]['eval_episodes']} v5 episodes from seed 1000."
        )
    lines += [
        "- random and the best constant action: `fil-learn baselines` under v5 (the loop's "
        "`baselines-v5.json`); teacher: the mean return of the swarm episodes the kept round "
        "trained on; human: the standard Atari-57 reference.",
    ]
    if students:
        lines.append(f"- DQN (bench/atari57_references.py): {_sources(students)}.")
    return lines


def _sources(students: list[Student]) -> str:
    by_source: dict[str, list[str]] = {}
    for student in students:
        by_source.setdefault(str(ATARI57[student.game].dqn_source), []).append(student.game)
    return "; ".join(f"{source} ({', '.join(games)})" for source, games in by_source.items())


def page(table: Table, rows: list[str], students: list[Student], missing: list[str]) -> str:
    """results/students/README.md: the table, then its budget, protocols and missing games."""
    lines = [
        "# A student for every held-in game, at one budget",
        PAGE_MARK,
        "",
        "Made by `uv run python bench/student_table.py` (resumable: rerun it to continue; "
        "`--report` rewrites this page from what exists). Each row is the best round of one "
        f"`fil-learn loop --preset {table.preset}` under the budget below; scores are mean ± "
        "95% CI of the finals, the best round's policy on seeds no training or choice played. "
        "The rows' policies are published in results/best (`<game>.onnx` and its card "
        "`<game>.json`, where the leaderboard had none; the leaderboard's own page, "
        "results/best/README.md, is edited by hand).",
        "",
        HEADER,
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- "
        "| --- |",
        *rows,
        "",
        *budget_lines(table, students),
        "",
        *protocol_lines(students),
    ]
    if missing:
        lines += ["", "## Missing", "", *missing]
    return "\n".join(lines) + "\n"


def write_page(table: Table, text: str) -> None:
    """Write the page when it changed; one this command did not write needs --force."""
    path = table.results / "README.md"
    old = path.read_text() if path.exists() else None
    if old == text:
        return
    if old is not None and PAGE_MARK not in old and not table.force:
        raise UsageError(f"{path} was not written by {WRITTEN_BY}: --force replaces it")
    write_atomic(path, text)
    print(f"table written to {path}")


def report(table: Table) -> None:
    """Rewrite the page from what exists: a row per finished game, a line per missing one."""
    rows, students, missing = [], [], []
    for game in table.page_games:
        found = read_student(table, game)
        if isinstance(found, str):
            missing.append(f"- {game}: {found} (`{table.command(game)}`)")
            continue
        students.append(found)
        rows.append(table_row(table, found, publish(table, found)))
    table.results.mkdir(parents=True, exist_ok=True)
    write_page(table, page(table, rows, students, missing))


def run_game(table: Table, game: str) -> None:
    """One game's loop, its output streamed; a failure is one line (exit 2)."""
    try:
        run_child([sys.executable, "-m", "fil_learn", *table.loop_args(game)], print)
    except subprocess.CalledProcessError as error:
        raise UsageError(
            f"the loop for {game} failed (exit {error.returncode}): fix what it says and run "
            "the same command to continue"
        ) from None


def parse(argv: list[str] | None = None) -> Table:
    """The command line, checked before any work."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--games", nargs="+", default=HELD_IN,
        help="the games to run (default: the held-in nine); the page lists every held-in game",
    )  # fmt: skip
    parser.add_argument("--preset", default="student", help="the recipe (docs/presets.md)")
    parser.add_argument("--rounds", type=int, help="rounds, round 0 included (the preset's: 3)")
    parser.add_argument(
        "--fit-samples", type=int, help="every fit's budget (the preset's: 300,000)"
    )
    parser.add_argument("--runs", type=Path, default=Path("runs/students"))
    parser.add_argument("--results", type=Path, default=Path("results/students"))
    parser.add_argument("--best", type=Path, default=Path("results/best"))
    parser.add_argument("--max-steps", type=int, help="cut evaluations (smoke runs, tests)")
    parser.add_argument(
        "--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
        help="another loop option, e.g. walkers=4 (smoke runs, tests)",
    )  # fmt: skip
    parser.add_argument("--report", action="store_true", help="only rewrite the table")
    parser.add_argument("--force", action="store_true", help="replace a page not written here")
    args = vars(parser.parse_args(argv))
    args["games"] = [_game_name(game) for game in args["games"]]
    recipe = build_config(args["preset"], {"game": args["games"][0]})  # an unknown preset too
    args["rounds"] = recipe.rounds if args["rounds"] is None else args["rounds"]
    args["fit_samples"] = recipe.fit_samples if args["fit_samples"] is None else args["fit_samples"]
    table = Table(**args)
    _check(table)
    return table


def _game_name(text: str) -> str:
    """The Atari-57 spelling of a game (`pong` -> `Pong`); the table needs its references."""
    names = {game_key(name): name for name in ATARI57}
    if game_key(text) not in names:
        raise UsageError(f"--games {text}: not an Atari-57 game (e.g. {', '.join(HELD_IN[:3])})")
    return names[game_key(text)]


def _check(table: Table) -> None:
    if table.rounds < 1 or table.fit_samples < 0:
        raise UsageError("--rounds must be at least 1 and --fit-samples 0 (off) or more")
    if table.max_steps is not None and table.max_steps < 1:
        raise UsageError("--max-steps must be at least 1")
    table.extra_args()  # a malformed --set, refused before any work


def main(argv: list[str] | None = None) -> int:
    """Run the missing games in turn, rewriting the table after each; 2 on bad input or a
    failed loop, 130 on Ctrl-C (everything done so far is kept)."""
    try:
        table = parse(argv)
        for game in [] if table.report else table.games:
            run_game(table, game)
            report(table)
        if table.report:
            report(table)
    except (UsageError, ValueError) as error:
        print(f"student_table: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted: run the same command again to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
