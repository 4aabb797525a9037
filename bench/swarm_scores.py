"""Demonstration quality of the swarm: one episode per (game, setting, seed), one core each.

    uv run python bench/swarm_scores.py                         # the held-in table, defaults
    uv run python bench/swarm_scores.py --seeds 1 --set max_frames=500000 \
        --vary lives_scale=0,1                                  # compare one setting
    uv run python bench/swarm_scores.py --held-out --seeds 1    # games the defaults never saw

Each run is one swarm episode (what `fil-collect` does per episode, without the replay) in its
own process; the table gives the return, the CPU minutes of that one core, the emulator frames,
how the episode stopped, and the Nature DQN and human reference scores beside it, so defaults
are chosen by a table over many games, not by one. Budgets are equal across settings.
`--json runs.jsonl` keeps every run as it ends; the same command after an interruption runs only
what is missing and prints the whole table. `--baselines DIR` adds random play and the best
constant action under v5, from the files `bash results/swarm/baselines.sh` writes there.

    uv run python bench/swarm_scores.py --atari57 --markdown docs/atari57.md

`--atari57` is the table over the standard 57 games (references in bench/atari57_references.py):
seed 0 of every game first, then seeds 1 and 2 of the games whose three runs fit in 10 CPU
minutes (seed 0 took at most 10/3), kept in results/swarm/atari57.jsonl unless --json says
otherwise; `--markdown` writes the table, the command and the budget to a page.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import multiprocessing
import os
import shlex
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from atari57_references import ATARI57, GO_EXPLORE_SOURCE, HARD_EXPLORATION, HELD_IN, NATURE

from fil_collect.collect import episode_seed
from fil_collect.env import AtariEmulator, EnvConfig
from fil_collect.games import resolve_game
from fil_collect.swarm import SwarmConfig
from fil_collect.widening import follows_rule, search_episode

# Nature DQN (no-op starts) and the human reference of each game, from
# bench/atari57_references.py (sources there). Skiing is not among Nature's 49 games.
REFERENCES: dict[str, tuple[float | None, float]] = {
    game: (ATARI57[game].dqn if ATARI57[game].dqn_source == NATURE else None, ATARI57[game].human)
    for game in [
        *HELD_IN,
        # games outside the set the defaults were chosen on: the check that they carry over
        "Asterix", "BeamRider", "Boxing", "Freeway", "Frostbite", "Hero", "Riverraid",
        "MontezumaRevenge",
    ]
}  # fmt: skip
HELD_OUT = [game for game in REFERENCES if game not in HELD_IN]
REUSED = ("results/swarm/held-in.jsonl", "results/swarm/held-out.jsonl")
LARGER_BUDGET = "results/swarm/budget-8m.jsonl"
"""The games below DQN played again with 4x the frames (the same seed): is the budget why?"""
DQN_EPISODE_STEPS = 4_500
"""Nature DQN's evaluation episodes: at most 5 minutes of play, 18,000 frames, 4 a step."""
"""Tables whose default-settings runs --atari57 reads instead of rerunning them."""


def _parse_value(text: str) -> object:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if text.lower() == "none":
        return None
    try:
        return int(text)
    except ValueError:
        return float(text)


def run_one(task: tuple[str, SwarmConfig, int]) -> dict:
    """One swarm episode in this process; CPU time is this process's own."""
    game, config, seed = task
    env = EnvConfig(resolve_game(game))
    cpu = time.process_time()
    search = search_episode(
        lambda count: [AtariEmulator(env, seed) for _ in range(count)],
        config,
        seed,
        AtariEmulator(env, seed).clone(),
    )
    result = search.result
    return {
        "game": game,
        "seed": seed,
        "score": result.score,
        "steps": sum(step.dt for step in result.branch),
        "epochs": result.epochs,
        "stop": result.stop_reason,
        "rewinds": result.rewinds,
        "cpu_minutes": (time.process_time() - cpu) / 60,
        "frames": result.emulator_frames,
        "attempts": [dataclasses.asdict(attempt) for attempt in search.attempts],
        "kept_attempt": search.kept,
    }


def _key(game: str, config: SwarmConfig, seed: int) -> str:
    return json.dumps([game, dataclasses.asdict(config), seed], sort_keys=True)


def _kept_runs(*paths: str | None) -> dict[str, dict]:
    """Runs already in the JSON-lines files, by (game, settings, seed); a later file wins."""
    kept: dict[str, dict] = {}
    for path in paths:
        if path and os.path.exists(path):
            with open(path) as handle:
                for row in map(json.loads, handle):
                    key = _todays_key(row.pop("key"), row)
                    if key is not None:
                        kept[key] = row
    return kept


def _todays_key(key: str, row: dict) -> str | None:
    """The key a recorded run has under today's widening rule, or None where the rule would
    search it otherwise (so it runs again). A run recorded before `SwarmConfig.widen` existed
    ran without widening: it is today's default run where the rule would not have fired on it,
    else a run of `widen=False`."""
    game, settings, seed = json.loads(key)
    config = SwarmConfig(**{"widen": True, **settings})
    attempts = row.get("attempts") or [
        {"walkers": config.n_walkers, "emulator_frames": row["frames"], "stop_reason": row["stop"]}
    ]
    same_today = follows_rule(config, attempts)
    if "widen" not in settings:
        return _key(game, dataclasses.replace(config, widen=same_today), seed)
    return key if same_today else None


def _indexed(item: tuple[int, tuple[str, SwarmConfig, int]]) -> tuple[int, dict]:
    return item[0], run_one(item[1])


def _measured_baselines(game: str, folder: str | None) -> tuple[float, float, str] | None:
    """Random play's mean, the best constant action's mean and name under v5 (measured by
    `fil-learn baselines`), or None where the game's file is missing."""
    path = Path(folder or "") / f"{game}-v5.json"
    if not folder or not path.exists():
        return None
    measured = json.loads(path.read_text())
    best = measured["best_constant_action"]
    return measured["random"]["mean"], measured["best_constant_mean"], best


def _baseline_cells(game: str, mean: float, baselines: str | None) -> tuple[str, str]:
    """The random and best-constant-action cells of a game's row, and a mark where the swarm's
    `mean` is below that constant action."""
    measured = _measured_baselines(game, baselines)
    if measured is None:
        return "— | — |", ""
    random_mean, constant_mean, constant = measured
    below = " below a constant action" if mean < constant_mean else ""
    return f"{random_mean:,.1f} | {constant_mean:,.1f} ({constant}) |", below


def _row(game: str, value: object, rows: list[dict], baselines: str | None = None) -> str:
    dqn, human = REFERENCES.get(game, (None, float("nan")))
    mean = statistics.mean(r["score"] for r in rows)
    stops = Counter(r["stop"] for r in rows)
    marks = ("≥DQN " if dqn is not None and mean >= dqn else "") + (
        "≥human" if mean >= human else ""
    )
    cells, below = _baseline_cells(game, mean, baselines)
    marks += below
    return (
        f"| {game} | {value} | {mean:,.0f} | "
        f"{', '.join(format(r['score'], ',.0f') for r in rows)} | "
        f"{statistics.mean(r['steps'] for r in rows):,.0f} | "
        f"{statistics.mean(r['cpu_minutes'] for r in rows):.1f} | "
        f"{statistics.mean(r['frames'] for r in rows) / 1e6:.2f}M | "
        f"{', '.join(f'{k} x{n}' for k, n in stops.items())} | "
        f"{sum(r['rewinds'] for r in rows)} | "
        f"{cells} "
        f"{'—' if dqn is None else format(dqn, ',.1f')} | {human:,.1f} | {marks} |"
    )


Task = tuple[str, SwarmConfig, int]


def _run_missing(
    tasks: list[Task], kept: dict[str, dict], args: argparse.Namespace, field: str | None
) -> list[dict | None]:
    """Each task's run: from `kept` where it is there, else run now (none under --report) on
    args.workers processes, each appended to args.json as it ends; progress names `field`."""
    results: list[dict | None] = [kept.get(_key(*task)) for task in tasks]
    todo = [] if args.report else [(i, t) for i, t in enumerate(tasks) if results[i] is None]
    if not todo:
        return results
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
        done = pool.imap_unordered(_indexed, todo, chunksize=1)
        for finished, (i, run) in enumerate(done, start=1):
            results[i] = run
            kept[_key(*tasks[i])] = run
            if args.json:  # one line per run as it finishes: a rerun skips what is here
                with open(args.json, "a") as handle:
                    print(json.dumps({"key": _key(*tasks[i]), **run}), file=handle)
            setting = f" {getattr(tasks[i][1], field)}" if field else ""
            print(
                f"[{finished}/{len(todo)}] {run['game']}{setting}: {run['score']:,.0f} in "
                f"{run['cpu_minutes']:.1f} CPU min ({run['stop']})",
                file=sys.stderr,
                flush=True,
            )
    return results


def seeds_that_fit(first_minutes: float, seeds: int, fit_minutes: float) -> int:
    """How many seeds a game gets: all `seeds` where that many runs as long as its first fit in
    `fit_minutes` CPU minutes, else the first alone."""
    return seeds if seeds * first_minutes <= fit_minutes else 1


def _cell(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def _atari57_row(game: str, rows: list[dict], baselines: str | None) -> tuple[str, bool, bool]:
    """The table row of one game and whether its mean is at or above DQN, and human."""
    reference = ATARI57[game]
    mean = statistics.mean(r["score"] for r in rows)
    above_dqn = reference.dqn is not None and mean >= reference.dqn
    above_human = mean >= reference.human
    marks = ("≥DQN " if above_dqn else "") + ("≥human" if above_human else "")
    cells, below = _baseline_cells(game, mean, baselines)
    marks += below
    go_explore = _cell(reference.go_explore) if game in HARD_EXPLORATION else ""
    stops = Counter(r["stop"] for r in rows)
    row = (
        f"| {game} | {len(rows)} | {mean:,.0f} | "
        f"{', '.join(format(r['score'], ',.0f') for r in rows)} | {cells} "
        f"{_cell(reference.dqn)} ({reference.dqn_source}) | {reference.human:,.1f} | "
        f"{go_explore} | {statistics.mean(r['frames'] for r in rows) / 1e6:.2f}M | "
        f"{statistics.mean(r['steps'] for r in rows):,.0f} | "
        f"{statistics.mean(r['cpu_minutes'] for r in rows):.1f} | "
        f"{', '.join(f'{k} x{n}' for k, n in stops.items())} | {marks.strip()} |"
    )
    return row, above_dqn, above_human


def below_dqn(
    games: list[str], by_game: dict[str, list[dict]], budget: int, larger: str | None
) -> list[str]:
    """What the runs measured for each game below DQN: how its episodes stopped and how long
    they were, and the same game with a larger frame budget where it was played (`larger`, a
    JSON-lines file of runs): the reason a reader needs before trusting the row."""
    more = _kept_runs(larger) if larger and Path(larger).exists() else {}
    lines = []
    for game in games:
        rows, dqn = by_game[game], ATARI57[game].dqn
        if not rows or statistics.mean(r["score"] for r in rows) >= dqn:
            continue
        steps = statistics.mean(r["steps"] for r in rows)
        stops = sorted({r["stop"] for r in rows})
        if "frames" in stops:
            why = "the frame budget ended it" + (
                f", shorter than DQN's {DQN_EPISODE_STEPS:,}-step episodes"
                if steps < DQN_EPISODE_STEPS
                else ""
            )
        else:
            why = _ended_early(rows, budget)
        text = f"- {game}: {steps:,.0f} agent steps; {why}"
        for run in (r for r in more.values() if r["game"] == game):
            verdict = "at or above DQN" if run["score"] >= dqn else "still below DQN"
            text += (
                f"; with {run['frames'] / 1e6:.0f}M frames: {run['score']:,.0f} in "
                f"{run['steps']:,} steps after {run['rewinds']:,} rewinds (at 2M: "
                f"{sum(r['rewinds'] for r in rows) / len(rows):,.0f}), {verdict}"
            )
        lines.append(text + ".")
    return lines


def _ended_early(rows: list[dict], budget: int) -> str:
    """Why a game that ended before the budget kept its score: its widened searches (runs
    that record them), or too little of the budget left to widen."""
    spent = statistics.mean(r["frames"] for r in rows) / 1e6
    widened = [r for r in rows if len(r.get("attempts", [])) > 1]
    if not widened:
        return (
            f"the game ended (lives or its clock) with {spent:.2f}M of the {budget / 1e6:.0f}M "
            "frames spent, too few to widen the search (that needs 2.5 times the frames spent left)"
        )
    searches = "; ".join(
        ", then ".join(
            f"{a['walkers']} walkers {a['score']:,.0f} ({a['emulator_frames'] / 1e6:.2f}M frames)"
            for a in run["attempts"]
        )
        for run in widened
    )
    return (
        f"the game ended (lives or its clock) before the budget, and the wider searches on the "
        f"frames left did not reach DQN: {searches}"
    )


def atari57(args: argparse.Namespace, base: SwarmConfig) -> None:
    """Seed 0 of every game, then the other seeds of the games whose runs fit (resumable
    through --json); print the table and write it to --markdown."""
    games = args.games or list(ATARI57)
    unknown = [game for game in games if game not in ATARI57]
    if unknown:
        raise SystemExit(f"not among the Atari-57 references: {', '.join(unknown)}")
    args.json = args.json or "results/swarm/atari57.jsonl"
    args.baselines = args.baselines or "results/swarm/baselines"
    started = time.perf_counter()
    # a run is fixed by its key (game, every setting, seed): the held-in and held-out tables'
    # runs at the same settings are the same episodes, so they are read, not rerun
    kept = _kept_runs(*REUSED, args.json)
    first = _run_missing([(g, base, episode_seed(0, 0)) for g in games], kept, args, None)
    more = [
        (game, base, episode_seed(0, seed))
        for seed in range(1, args.seeds)
        for game, run in zip(games, first, strict=True)
        if run is not None
        and seeds_that_fit(run["cpu_minutes"], args.seeds, args.fit_minutes) > seed
    ]
    _run_missing(more, kept, args, None)
    wall = (time.perf_counter() - started) / 60
    by_game = {
        game: [
            kept[_key(game, base, episode_seed(0, seed))]
            for seed in range(args.seeds)
            if _key(game, base, episode_seed(0, seed)) in kept
        ]
        for game in games
    }
    runs = [run for rows in by_game.values() for run in rows]
    cpu = sum(r["cpu_minutes"] for r in runs)
    frames = sum(r["frames"] for r in runs)
    lines = [
        "| game | seeds | mean return | returns | random (v5) | best constant action (v5) | "
        "DQN (source) | human | Go-Explore | frames | agent steps | CPU min | stop | |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    dqn_count = human_count = 0
    for game in games:
        if by_game[game]:
            row, above_dqn, above_human = _atari57_row(game, by_game[game], args.baselines)
            lines.append(row)
            dqn_count += above_dqn
            human_count += above_human
    with_dqn = sum(ATARI57[game].dqn is not None for game in games)
    played = sum(bool(rows) for rows in by_game.values())
    summary = (
        f"At or above DQN on {dqn_count} of {len(games)} games (target 50 of 57; {with_dqn} "
        f"of them have a DQN number), at or above human on {human_count} of {len(games)} (target 40 "
        f"of 57); {played} of {len(games)} games played."
    )
    notes = [
        f"DQN: {NATURE} (Mnih et al. 2015, Extended Data Table 2, no-op starts) where it lists "
        "the game, else the DQN column of Bellemare et al. 2017 (the C51 paper, no-op starts, all 57 "
        "games; DQN Zoo's own per-game numbers were not found in a stored source); random and human: fil_learn.games (as dqn_zoo/atari_data.py). "
        "Go-Explore: "
        f"{GO_EXPLORE_SOURCE}, on the hard-exploration games. — where a source gives no number.",
        "",
        "Agent steps: the demonstration's length (4 frames a step); Nature DQN's evaluation "
        "episodes lasted at most 5 minutes of play (18,000 frames, 4,500 steps). Stop: `frames`, "
        "the swarm's frame budget ran out while the game went on (the return is what the swarm "
        "had reached by then); `all walkers dead`, the game ended (lives or the game's clock).",
    ]
    below = below_dqn(games, by_game, base.max_frames, LARGER_BUDGET)
    if below:
        notes += [
            "",
            f"Below DQN, what the runs measured (the larger budget: `{LARGER_BUDGET}`, the "
            "same seed with `--set max_frames=8000000`):",
            "",
            *below,
        ]
    budget = (
        f"{len(runs)} runs, {frames / 1e6:,.1f}M emulator frames, {cpu:,.1f} CPU minutes "
        f"({cpu / 60:,.2f} core-hours)"
    )
    print(f"\n{base}\n{budget}, {wall:.1f} min wall on {args.workers} processes\n")
    print("\n".join([*lines, "", summary, "", *notes]))
    if args.markdown:
        command = shlex.join(["uv", "run", "python", "bench/swarm_scores.py", *sys.argv[1:]])
        page = [
            "# Swarm scores on Atari-57",
            "",
            "One swarm episode per game and seed (seed 0 for every game, then up to "
            f"{args.seeds} seeds where a game's {args.seeds} runs fit in {args.fit_minutes:g} "
            "CPU minutes), one core each, "
            "beside random play, the best constant action, DQN and the human reference. Made "
            f"by `{command}`, which reads and extends `{args.json}` (a rerun runs only what is "
            f"missing and rewrites this page), and reads the runs of {' and '.join(REUSED)} "
            "at the same settings and seeds (the same episodes). Random and best constant action: "
            "`bash results/swarm/baselines.sh 3 atari57`.",
            "",
            f"Settings: `{base}`.",
            "",
            f"Budget: {budget}.",
            "",
            *lines,
            "",
            summary,
            "",
            *notes,
            "",
        ]
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text("\n".join(page))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", nargs="+", help=f"default: {' '.join(HELD_IN)}")
    parser.add_argument(
        "--held-out", action="store_true", help="the games outside the set (--games is ignored)"
    )
    parser.add_argument(
        "--atari57",
        action="store_true",
        help="the standard 57 games (or --games among them): seed 0 of each, then the other "
        "seeds of the games whose runs fit in --fit-minutes; --json defaults to "
        "results/swarm/atari57.jsonl, --baselines to results/swarm/baselines",
    )
    parser.add_argument(
        "--fit-minutes",
        type=float,
        default=10.0,
        help="--atari57: a game gets all --seeds when that many runs as long as its seed 0 fit "
        "in these CPU minutes (default 10)",
    )
    parser.add_argument("--markdown", help="--atari57: write the table to this page")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--vary", default="", help="FIELD=V1,V2,...: a SwarmConfig field to compare"
    )
    parser.add_argument(
        "--set", nargs="*", default=[], metavar="FIELD=V", help="SwarmConfig fields for all runs"
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument(
        "--report", action="store_true", help="print the table of the runs in --json, run none"
    )
    parser.add_argument(
        "--json", help="JSON-lines file of runs: each run is added as it ends, a rerun skips them"
    )
    parser.add_argument(
        "--baselines",
        help="folder of `fil-learn baselines --json` files, GAME-v5.json "
        "(results/swarm/baselines.sh): random and best-constant-action columns",
    )
    args = parser.parse_args()
    fixed = {k: _parse_value(v) for k, v in (item.split("=") for item in args.set)}
    base = SwarmConfig(**fixed)
    if args.atari57:
        if args.vary or args.held_out:
            parser.error("--atari57 runs the default settings (and --set): no --vary, --held-out")
        atari57(args, base)
        return
    if args.markdown:
        parser.error("--markdown goes with --atari57")
    args.games = HELD_OUT if args.held_out else args.games or HELD_IN
    field, values = args.vary.split("=") if args.vary else ("n_walkers", "")
    settings = [_parse_value(v) for v in values.split(",")] if values else [base.n_walkers]
    # seed-major: an interrupted run has whole rounds over every game, not all seeds of a few
    runs = sorted(
        itertools.product(args.games, settings, range(args.seeds)), key=lambda run: run[2]
    )
    tasks = [
        (game, dataclasses.replace(base, **{field: v}), episode_seed(0, seed))
        for game, v, seed in runs
    ]
    started = time.perf_counter()
    results = _run_missing(tasks, _kept_runs(args.json), args, field)
    wall = (time.perf_counter() - started) / 60
    print(f"\n{base}\n{args.seeds} seeds each, {wall:.1f} min wall on {args.workers} processes\n")
    print(
        f"| game | {field} | mean return | returns | mean steps | CPU min | frames | stop | "
        "rewinds | random (v5) | best constant action (v5) | DQN | human | |"
    )
    print(
        "| --- | --- | ---: | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: "
        "| --- |"
    )
    by_row = sorted(
        zip(tasks, results, strict=True),
        key=lambda tr: (args.games.index(tr[0][0]), settings.index(getattr(tr[0][1], field))),
    )
    for (game, value), group in itertools.groupby(
        by_row, key=lambda tr: (tr[0][0], getattr(tr[0][1], field))
    ):
        rows = [r for _, r in group if r is not None]
        if rows:
            print(_row(game, value, rows, args.baselines))


if __name__ == "__main__":
    main()
