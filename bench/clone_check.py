"""Can fil-learn clone a teacher whose actions are a function of the screen? The control for
every swarm-label result.

    uv run python bench/clone_check.py --teacher results/best/spaceinvaders.onnx \
        --episodes 60 --epochs 1 2 4 8 --out runs/clone-check

Students of the swarm's demonstrations play near the best constant action whatever their data
size; that is either the labels (the swarm's draws are not predictable from the screen) or the
pipeline (observations, stacking, the model, the loss, evaluation). This separates the two: a
policy (an exported `.onnx`) plays `--episodes` v5 episodes greedily on seeds 20000+ (never an
evaluation seed), `fil-learn eval --save-states` records what it saw and what it pressed, the
recording becomes a fil dataset (format 1: observations, actions, rewards; the actions are the
pressed ones, so under sticky actions the file does not replay and says so in `config_json`),
and `fil-learn fit` clones it with the scaling preset's settings (tiny model, batch 256, the
demonstrated action as target, `--keep last`), evaluated after each of `--epochs` on the seeds
of every other result (v5, 30 episodes from 10000). A student near its teacher means the
pipeline copies what is learnable. Every stage is a CLI call; a rerun reuses what exists.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

import h5py

from fil_collect.checksum import array_digest
from fil_collect.dataset import write_attrs
from fil_collect.env import EnvConfig
from fil_collect.format import file_header, file_totals
from fil_collect.games import resolve_game
from fil_learn.games import game_key

TEACHER_SEED = 20_000
"""Seeds of the teacher's episodes: far from the evaluation seeds (10000-10029, 50000-)."""
ARRAYS = ("observations", "actions", "rewards", "terminations", "truncations", "infos/lives")


def as_dataset(visited: Path, out: Path, teacher: Path) -> None:
    """The recorded episodes as a format-1 fil dataset (the spec's file attributes and
    checksums, from fil-collect's own header and digest), under a temporary name then renamed:
    never half a file."""
    temp = out.with_suffix(".partial")
    with h5py.File(visited, "r") as source, h5py.File(temp, "w") as handle:
        names = sorted(
            (k for k in source if k.startswith("episode_")), key=lambda k: int(k.split("_")[1])
        )
        episodes: dict[int, tuple[str, int]] = {}
        for index, name in enumerate(names):
            arrays = {key: source[name][key][()] for key in ARRAYS}
            arrays["start_state"] = source[name]["states"][0]
            group = handle.create_group(f"episode_{index}")
            for key, data in arrays.items():
                group.create_dataset(key, data=data, compression="gzip")
            length = int(arrays["actions"].shape[0])
            episodes[index] = (array_digest(arrays), length)
            group.attrs.update(
                index=index,
                seed=int(source[name].attrs["seed"]),
                episode_return=float(arrays["rewards"].sum()),
                length=length,
                sha256=episodes[index][0],
                terminated=bool(arrays["terminations"][-1]),
                truncated=bool(arrays["truncations"][-1]),
            )
        played = {
            "teacher": str(teacher),
            "repeat_action_probability": 0.25,
            "note": "a policy's v5 play: the actions are the pressed ones (a sticky action may "
            "have repeated the previous one instead), so the file does not replay",
        }
        game = resolve_game(str(source.attrs["game"]))
        env = EnvConfig(game, frameskip=int(source.attrs["frameskip"]))
        write_attrs(handle, {**file_header(env, played, 1), **file_totals(episodes)})
    temp.rename(out)


def fil_learn(*args: str) -> None:
    subprocess.run(["fil-learn", *args, "--quiet"], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--teacher", type=Path, required=True, help="an exported policy (.onnx)")
    parser.add_argument("--episodes", type=int, default=60)
    parser.add_argument("--epochs", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--model", default="tiny")
    parser.add_argument(
        "--history", type=int, default=4, help="fit --history: frames of the stack it looks at"
    )
    parser.add_argument("--eval-episodes", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0, help="fit --seed (initialization, order)")
    parser.add_argument("--out", type=Path, default=Path("runs/clone-check"))
    parser.add_argument(
        "--card",
        action="store_true",
        help="also score the last epoch on seeds 50000+ (v5) and under noop30, export it, and "
        "write a leaderboard card (results/best/<game>.json's fields) beside it",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    visited, dataset = args.out / "teacher-visited.h5", args.out / "teacher.h5"
    if not dataset.exists():
        if not visited.exists():
            fil_learn(
                "eval", str(args.teacher), "--episodes", str(args.episodes), "--seed",
                str(TEACHER_SEED), "--save-states", str(visited), "--state-every", "1000000",
                "--json", str(args.out / "teacher-v5.json"),
            )  # fmt: skip
        as_dataset(visited, dataset, args.teacher)
    teacher = json.loads((args.out / "teacher-v5.json").read_text())
    with h5py.File(dataset, "r") as handle:
        steps = int(handle.attrs["total_steps"])
    print(f"teacher {args.teacher}: v5 {teacher['mean']:.1f} ± {teacher['ci95']:.1f} over "
          f"{args.episodes} episodes, {steps:,} steps")  # fmt: skip
    fit = args.out / (
        f"fit-{args.model}"
        + ("" if args.history == 4 else f"-history{args.history}")
        + (f"-seed{args.seed}" if args.seed else "")
    )
    rows = []
    for epochs in sorted(args.epochs):
        scores = fit / f"eval-epoch{epochs:03d}-v5.json"
        if not scores.exists():
            fil_learn(
                "fit", str(dataset), "--out", str(fit), "--epochs", str(epochs), "--model",
                args.model, "--batch-size", "256", "--keep", "last", "--target", "action",
                "--history", str(args.history), "--seed", str(args.seed),
            )  # fmt: skip
            fil_learn(
                "eval", str(fit), "--episodes", str(args.eval_episodes), "--seed", "10000",
                "--json", str(scores),
            )  # fmt: skip
        rows.append((epochs, json.loads(scores.read_text())))
    metrics = [json.loads(line) for line in (fit / "metrics.jsonl").read_text().splitlines()]
    # fit reads a repeated episode once (a greedy policy's v5 episodes can repeat exactly)
    train = json.loads((fit / "run.json").read_text())["train_samples"]
    print(f"training samples: {train:,} (episodes repeated exactly are read once)")
    print("| epochs | samples processed | v5 mean ± 95% CI | val accuracy |")
    print("| ---: | ---: | ---: | ---: |")
    for epochs, score in rows:
        accuracy = next((m.get("val_accuracy") for m in metrics if m.get("epoch") == epochs), None)
        shown = "—" if accuracy is None else f"{accuracy:.2f}"
        print(f"| {epochs} | {epochs * train:,} | {score['mean']:.1f} ± {score['ci95']:.1f} | "
              f"{shown} |")  # fmt: skip
    if args.card:
        write_card(fit, args, rows[-1], train, teacher, steps)


def write_card(
    fit: Path,
    args: argparse.Namespace,
    last: tuple[int, dict],
    train: int,
    teacher: dict,
    steps: int,
) -> None:
    """The last epoch as a leaderboard entry: its policy file, and a card with its scores on
    three protocols, its budget and the command that makes it again."""
    epochs, v5 = last
    scores = {"v5": v5}
    for name, protocol, seed in (("v5_held_out", "v5", 50_000), ("noop30", "noop30", 10_000)):
        path = fit / f"eval-epoch{epochs:03d}-{name}.json"
        if not path.exists():
            fil_learn(
                "eval", str(fit), "--episodes", str(args.eval_episodes), "--protocol", protocol,
                "--seed", str(seed), "--json", str(path),
            )  # fmt: skip
        scores[name] = json.loads(path.read_text())
    policy = fit / f"policy-epoch{epochs:03d}.onnx"
    if not policy.exists():
        fil_learn("export", str(fit), "--out", str(policy))
    metrics = [json.loads(line) for line in (fit / "metrics.jsonl").read_text().splitlines()]
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    options = [a for a in sys.argv[1:] if a != "--card"]
    teacher_at = options.index("--teacher") + 1
    teacher_path, options[teacher_at] = options[teacher_at], "runs/clone-teacher.onnx"
    reproduce = (
        f"git show {head}:{teacher_path} > runs/clone-teacher.onnx && uv run python "
        f"bench/clone_check.py {shlex.join(options)}"
    )
    run = json.loads((fit / "run.json").read_text())
    card = {
        "written_by": "bench/clone_check.py",
        "game": run["game"],
        "policy": f"{game_key(run['game'])}.onnx",
        "method": f"behaviour cloning of {args.teacher}'s own v5 play, {args.model} network, "
        f"history {args.history}, epoch {epochs}",
        **{name: _score(score) for name, score in scores.items()},
        "teacher_v5": _score(teacher),
        "emulator_frames": steps * run["frameskip"],
        "samples_processed": epochs * train,
        "unique_steps": train,
        "parameters": run["parameters"],
        "fit_core_hours": round(sum(m["seconds"] for m in metrics) * 2 / 3600, 3),
        "commit": head,
        "reproduce": reproduce,
    }
    (fit / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"card and policy: {fit / 'card.json'}, {policy}")


def _score(report: dict) -> dict:
    first = report.get("seed", 0)
    return {
        "mean": report["mean"],
        "std": report["std"],
        "ci95": report["ci95"],
        "episodes": report["episodes"],
        "seeds": [first, first + report["episodes"] - 1],
        "distinct_games": report["distinct_games"],
    }


if __name__ == "__main__":
    main()
