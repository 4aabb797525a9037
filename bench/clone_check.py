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
import subprocess
from pathlib import Path

import h5py

from fil_collect.checksum import array_digest
from fil_collect.dataset import write_attrs
from fil_collect.env import EnvConfig
from fil_collect.format import file_header, file_totals
from fil_collect.games import resolve_game

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
    parser.add_argument("--out", type=Path, default=Path("runs/clone-check"))
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
        f"fit-{args.model}" + ("" if args.history == 4 else f"-history{args.history}")
    )
    rows = []
    for epochs in sorted(args.epochs):
        scores = fit / f"eval-epoch{epochs:03d}-v5.json"
        if not scores.exists():
            fil_learn(
                "fit", str(dataset), "--out", str(fit), "--epochs", str(epochs), "--model",
                args.model, "--batch-size", "256", "--keep", "last", "--target", "action",
                "--history", str(args.history),
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


if __name__ == "__main__":
    main()
