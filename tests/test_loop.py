"""The whole DAgger loop at a tiny size: collect -> fit -> export -> eval --save-states ->
relabel -> fit (a second stage from the best parameters) -> eval, then the final evaluation,
through `fil-learn loop` and the real commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

import fil_learn

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "--game", "SpaceInvaders", "--rounds", "2", "--episodes", "2", "--swarm-epochs", "40",
    "--epochs", "1", "--batch-size", "32", "--eval-episodes", "2", "--eval-max-steps", "40",
    "--state-every", "2", "--max-labels", "4", "--label-walkers", "4", "--label-epochs", "3",
    "--final-episodes", "2", "--baseline-episodes", "1", "--workers", "1",
]  # fmt: skip


def _loop(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "fil_learn",
            "loop",
            *TINY,
            "--workdir",
            str(workdir),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=1800,  # a guard against hangs: CI machines may be loaded
    )


def _labelled_steps(path: Path) -> int:
    """The steps of a dataset that carry an action label (read with h5py alone)."""
    with h5py.File(path) as f:
        return sum(int((f[n]["actions"][()] >= 0).sum()) for n in f if n.startswith("episode_"))


@pytest.mark.slow
def test_two_rounds_relabel_and_fine_tune(tmp_path: Path) -> None:
    work = tmp_path / "loop"
    done = _loop(work)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    record = json.loads((work / "rounds.json").read_text())
    rounds = record["rounds"]
    assert [r["round"] for r in rounds] == [0, 1]
    labelled = _labelled_steps(work / "relabel-0.h5")
    assert labelled == 2 * 4  # 2 visited episodes, --max-labels 4 each
    stats = subprocess.run(
        [sys.executable, "-m", "fil_learn", "label-stats", str(work / "relabel-0.h5")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "8 states examined, 8 labelled (1.000), in 1 file(s)" in stats.stdout
    assert "mean share of walkers on the winning first action" in stats.stdout
    mixed = [str(work / "relabel-0.h5"), str(work / "demos.h5")]
    wrong = subprocess.run(
        [sys.executable, "-m", "fil_learn", "label-stats", *mixed], capture_output=True, text=True
    )
    assert wrong.returncode == 2 and "give relabelled files alone" in wrong.stderr
    assert rounds[1]["samples"] == rounds[0]["samples"] + labelled
    assert rounds[1]["emulator_frames"] > rounds[0]["emulator_frames"]
    stages = json.loads((work / "run" / "run.json").read_text())["stages"]
    assert [s["first_epoch"] for s in stages] == [1, 2]
    assert set(record["final"]) == {f"round-{r}/{p}" for r in (0, 1) for p in ("v5", "noop30")}
    assert (work / "policies" / "round-0" / "run.json").exists()
    # every round's policy is exported, ready for a command that takes an .onnx policy
    for r in (0, 1):
        policy = fil_learn.load_policy(work / "policies" / f"round-{r}" / "policy.onnx")
        assert policy.game == "SpaceInvaders" and policy.n_actions == 6
    # the reference lines: constant actions measured under the same protocol (cut at 40 steps)
    baselines = record["baselines"]
    assert set(baselines["constant"]) == {"NOOP", "FIRE", "RIGHT", "LEFT", "RIGHTFIRE", "LEFTFIRE"}
    best = baselines["best_constant_action"]
    assert baselines["best_constant_mean"] == max(s["mean"] for s in baselines["constant"].values())
    table = (work / "rounds.md").read_text()
    assert "| 1 |" in table and "noop30" in table
    assert f"hold {best} (best constant action" in table and "human (literature): 1,668.7" in table
    assert "plain BC (round 0)" in table
    # which fit epoch each round plays, marked when a round kept the one before's
    epochs = [r["policy_epoch"] for r in rounds]
    assert epochs[0] == 1 and epochs[1] in (1, 2)
    assert (f"| {epochs[1]} (unchanged) |" in table) == (epochs[1] == 1)
    metrics = [
        json.loads(line) for line in (work / "run" / "metrics.jsonl").read_text().splitlines()
    ]
    by_epoch = {row["epoch"]: row["val_accuracy"] for row in metrics}
    assert [r["val_accuracy"] for r in rounds] == [by_epoch[e] for e in epochs]
    # every round is evaluated on the same seeds (--round-seeds fixed): an unchanged policy
    # replays its episodes exactly
    assert done.stdout.count("--protocol v5 --seed 1000 --save-states") == 2
    returns = [json.loads((work / f"eval-{r}.json").read_text())["returns"] for r in (0, 1)]
    assert (returns[0] == returns[1]) or epochs[1] != 1
    assert (work / "score.png").stat().st_size > 0
    # finished rounds are kept: running it again does no work
    again = _loop(work)
    assert again.returncode == 0 and "$ " not in again.stdout
    # another setting in the same folder is refused, not mixed in
    other = _loop(work, "--max-labels", "5")
    assert other.returncode == 2 and "other settings (--max-labels 4)" in other.stderr
    assert "Traceback" not in other.stderr


@pytest.mark.slow
def test_bc_mode_adds_swarm_episodes_and_trains_on_them(tmp_path: Path) -> None:
    """The seed notebook's loop: one demonstrations file grows every round, and `fit` must see
    the grown file as new data (a new stage), not as the finished fit of round 0."""
    work = tmp_path / "bc"
    done = _loop(work, "--mode", "bc", "--final-episodes", "0", "--baseline-episodes", "0")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rounds = json.loads((work / "rounds.json").read_text())["rounds"]
    with h5py.File(work / "demos.h5") as f:
        assert int(f.attrs["total_episodes"]) == 4  # 2 in round 0, 2 more in round 1
    assert rounds[1]["samples"] > rounds[0]["samples"]
    assert rounds[1]["emulator_frames"] > rounds[0]["emulator_frames"]
    stages = json.loads((work / "run" / "run.json").read_text())["stages"]
    assert [s["first_epoch"] for s in stages] == [1, 2]
    assert [s["content"]["episodes"] for s in stages] == [2, 4]
    assert not list(work.glob("relabel-*.h5"))


@pytest.mark.slow
def test_dagger_with_guided_relabel_hands_the_round_policy_to_the_label_swarms(
    tmp_path: Path,
) -> None:
    """`--guided-relabel`: the states round 0's policy visited are labelled by swarms that draw
    from that same policy (recorded in the relabelled file's settings)."""
    import hashlib

    work = tmp_path / "guided-dagger"
    done = _loop(
        work, "--guided-relabel", "--policy-epsilon", "0.5", "--final-episodes", "0",
        "--baseline-episodes", "0",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    policy = work / "policies" / "round-0" / "policy.onnx"
    with h5py.File(work / "relabel-0.h5") as f:
        settings = json.loads(f.attrs["config_json"])
        assert sum(n.startswith("episode_") for n in f) == 2
    assert settings["policy_sha256"] == hashlib.sha256(policy.read_bytes()).hexdigest()
    assert settings["policy_epsilon"] == 0.5


def test_help_lists_every_choice() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fil_learn", "loop", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", "TERM": "dumb"},
        check=True,
    )
    assert "dagger|bc" in done.stdout and "vote|best|value" in done.stdout
    assert "--baseline-episodes" in done.stdout and "--drop-demos" in done.stdout


def test_a_bad_fit_setting_is_refused_before_any_work(tmp_path: Path) -> None:
    """The fits' settings are checked when the loop starts, not after round 0's collection."""
    done = _loop(tmp_path / "w", "--shift", "20")
    assert done.returncode == 2, done.stderr
    assert "--shift must be between 0 and 16" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "w" / "demos.h5").exists()


def test_missing_fil_collect_is_one_line_naming_the_extra(tmp_path: Path) -> None:
    """An environment without fil-collect: nothing next to the interpreter, nothing on PATH."""
    code = (
        "import sys; sys.executable = '/nonexistent/python'; from fil_learn.cli import main; main()"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "loop",
            "--game",
            "SpaceInvaders",
            "--workdir",
            str(tmp_path / "w"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": str(tmp_path)},
        timeout=120,
    )
    assert done.returncode == 2
    assert "fil-learn[loop]" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "w").exists()


@pytest.mark.slow
def test_expert_iteration_collects_with_the_best_policy_and_fits_its_visit_shares(
    tmp_path: Path,
) -> None:
    """Three `exit` rounds: each guided by the best round so far at a falling epsilon, each
    fit on round 0 and the last guided round only (`--window 1`), the best round's policy
    evaluated and kept as the loop's `policy.onnx`."""
    import hashlib

    work = tmp_path / "exit"
    exit_args = [
        "--mode", "exit", "--target", "visits", "--rounds", "3", "--policy-epsilon", "0.6",
        "--policy-epsilon-step", "0.2", "--window", "1", "--final-episodes", "1",
        "--baseline-episodes", "0", "--keep", "last",
    ]  # fmt: skip
    done = _loop(work, *exit_args)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    record = json.loads((work / "rounds.json").read_text())
    rounds = record["rounds"]
    for index, epsilon in ((1, 0.6), (2, 0.4)):
        earlier = rounds[:index]
        best = max(earlier, key=lambda r: (r["eval_mean"], r["round"]))["round"]
        assert rounds[index]["guided_by"] == best
        guide = work / "policies" / f"round-{best}" / "policy.onnx"
        with h5py.File(work / f"guided-{index}.h5") as f:
            settings = json.loads(f.attrs["config_json"])
            assert sum(n.startswith("episode_") for n in f) == 2
            assert all("visit_shares" in f[n] for n in f if n.startswith("episode_"))
        assert settings["policy_sha256"] == hashlib.sha256(guide.read_bytes()).hexdigest()
        assert abs(settings["policy_epsilon"] - epsilon) < 1e-9
    run = json.loads((work / "run" / "run.json").read_text())
    assert [s["first_epoch"] for s in run["stages"]] == [1, 2, 3]
    assert [Path(p).name for p in run["stages"][2]["datasets"]] == ["demos.h5", "guided-2.h5"]
    assert '"visits"' in json.dumps(run)
    # --keep last: every round plays its own fit's last epoch, never the round before's
    assert [r["policy_epoch"] for r in rounds] == [1, 2, 3]
    assert "(unchanged)" not in (work / "rounds.md").read_text()
    assert rounds[1]["samples"] > rounds[0]["samples"]  # round 1 added the guided episodes
    # fine-tuned: each round's policy carries what the round before's had processed
    steps = json.loads((work / "run" / "run.json").read_text())["train_samples"]
    assert rounds[2]["samples_processed"] == rounds[1]["samples_processed"] + steps
    assert rounds[2]["emulator_frames"] > rounds[1]["emulator_frames"]  # all data counted
    best = max(rounds, key=lambda r: (r["eval_mean"], r["round"]))["round"]
    assert sorted(record["final"]) == sorted(
        f"round-{r}/{p}" for r in {0, best} for p in ("v5", "noop30")
    )
    kept = (work / "policies" / f"round-{best}" / "policy.onnx").read_bytes()
    assert (work / "policy.onnx").read_bytes() == kept
    fewer = _loop(work, *exit_args, "--rounds", "2")  # 3 rounds are played: 2 is refused
    assert fewer.returncode == 2 and "give --rounds 3 or more" in fewer.stderr


@pytest.mark.slow
def test_a_preset_runs_at_tiny_size_with_the_options_given_overriding_it(tmp_path: Path) -> None:
    """`--preset spaceinvaders-bc` sets the mode, target and swarm; the tiny options given next
    to it win over the preset's sizes, and what neither gives keeps the preset's value.
    `--total-frames 1`: the demonstrations stop at the first episode, which spends that
    budget, whatever `--episodes` says."""
    work = tmp_path / "preset"
    done = _loop(work, "--preset", "spaceinvaders-bc", "--rounds", "1", "--total-frames", "1")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    settings = json.loads((work / "rounds.json").read_text())["config"]
    preset = {k: settings[k] for k in ("mode", "target", "walkers", "keep_demos")}
    assert preset == {"mode": "bc", "target": "visits", "walkers": 16, "keep_demos": True}
    given = {k: settings[k] for k in ("rounds", "episodes", "swarm_epochs", "epochs")}
    assert given == {"rounds": 1, "episodes": 2, "swarm_epochs": 40, "epochs": 1}
    assert settings["total_frames"] == 1
    with h5py.File(work / "demos.h5") as f:
        assert sorted(n for n in f if n.startswith("episode_")) == ["episode_0"]
    assert (work / "policy.onnx").exists() and (work / "rounds.md").exists()


@pytest.mark.slow
def test_a_loop_from_a_start_policy_picks_the_best_of_fresh_candidates_and_publishes(
    tmp_path: Path,
) -> None:
    """`--start P --fresh --candidate-histories 1 --candidate-histories 4 --drop-demos --window
    1`: round 0 is the given policy (no demonstrations, no fit), round 1's swarm is guided by
    it, and round 1 trains two new networks on round 1's episodes alone, one that sees the
    current screen and one that sees four frames (fit seed 0 both; more `--candidates` add
    seeds, test_loop_config.py), keeping the one whose round evaluation is best; `--publish`
    holds the record and the best policy every round."""
    import hashlib

    start = ROOT / "results" / "best" / "spaceinvaders.onnx"
    work, results = tmp_path / "exit", tmp_path / "results" / "exit"
    settings = [
        "--mode", "exit", "--start", str(start), "--fresh", "--candidate-histories", "1",
        "--candidate-histories", "4", "--drop-demos", "--window", "1", "--model", "tiny",
        "--keep", "last",
        "--final-episodes", "1", "--baseline-episodes", "0",
    ]  # fmt: skip
    done = _loop(work, *settings, "--publish", str(results))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert not (work / "demos.h5").exists() and not (work / "run").exists()
    record = json.loads((work / "rounds.json").read_text())
    first, second = record["rounds"]
    digest = hashlib.sha256(start.read_bytes()).hexdigest()
    assert first["start_sha256"] == digest and first["samples"] == 0
    assert first["policy_epoch"] is None and first["samples_processed"] is None
    with h5py.File(work / "guided-1.h5") as f:
        assert json.loads(f.attrs["config_json"])["policy_sha256"] == digest
    means = [json.loads((work / f"eval-1-candidate-{j}.json").read_text())["mean"] for j in (0, 1)]
    assert second["candidate_means"] == means and second["candidate_histories"] == [1, 4]
    assert second["candidate"] == max((0, 1), key=lambda j: (means[j], -j))
    chosen = work / ("run-1" if second["candidate"] == 0 else "run-1-1")
    for j, folder in enumerate((work / "run-1", work / "run-1-1")):
        run = json.loads((folder / "run.json").read_text())
        assert run["fit"]["seed"] == 0 and run["model"]["history"] == (1, 4)[j]
        assert [Path(p).name for s in run["stages"] for p in s["datasets"]] == ["guided-1.h5"]
    kept = json.loads((work / "policies" / "round-1" / "run.json").read_text())
    assert kept == json.loads((chosen / "run.json").read_text())
    run = json.loads((chosen / "run.json").read_text())
    # a fresh network: what it processed is its own epochs of its own round's data
    assert second["samples_processed"] == second["policy_epoch"] * run["train_samples"] > 0
    assert second["cpu_seconds"] > 0
    assert (work / "eval-1.json").read_text() == (
        work / f"eval-1-candidate-{second['candidate']}.json"
    ).read_text()
    assert record["config"]["fresh"] is True and "publish" not in record["config"]
    assert json.loads((results / "rounds.json").read_text()) == record
    best = max(record["rounds"], key=lambda r: (r["eval_mean"], r["round"]))["round"]
    kept_policy = (work / "policies" / f"round-{best}" / "policy.onnx").read_bytes()
    assert (results / "policy.onnx").read_bytes() == kept_policy
    table = (results / "rounds.md").read_text()
    assert "the start policy (round 0)" in table
    assert f"| {means[0]:,.1f} (1f), {means[1]:,.1f} (4f) |" in table
    assert "(unchanged)" not in table
    assert "(round 0 = the start policy;" in table
    assert (results / "score.png").exists() and (results / "final-round-0-v5.json").exists()
    # the folder is not a setting of the loop: publishing elsewhere continues the same loop
    again = _loop(work, *settings)
    assert again.returncode == 0 and "$ " not in again.stdout
    other = _loop(work, *settings[:4], "--drop-demos", "--window", "1")
    assert other.returncode == 2 and "--fresh, " in other.stderr
    # a rerun from scratch (a reproduction on a fresh machine) leaves the longer record alone
    before = {path.name: path.read_bytes() for path in results.iterdir()}
    rerun = _loop(tmp_path / "rerun", *settings, "--rounds", "1", "--publish", str(results))
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert "holds a longer record (2 rounds) than this run (1): left as it is" in rerun.stdout
    assert {path.name: path.read_bytes() for path in results.iterdir()} == before


@pytest.mark.slow
def test_guide_labels_relabel_the_guides_own_states_and_train_on_them(tmp_path: Path) -> None:
    """`--guide-labels`: round 1 relabels the states its guide (the start policy, round 0)
    visited in round 0's evaluation, and both of its candidate fits train on those labels
    beside the guided episodes; a candidate's evaluation saves its states, and the kept
    candidate's become the round's (`visited-1.h5`, what a later round's labels start from)."""
    start = ROOT / "results" / "best" / "spaceinvaders.onnx"
    work = tmp_path / "exit"
    done = _loop(
        work, "--mode", "exit", "--start", str(start), "--fresh", "--candidate-histories", "1",
        "--candidate-histories", "4", "--drop-demos", "--window", "1", "--model", "tiny",
        "--guide-labels", "--rule", "value", "--final-episodes", "0", "--baseline-episodes", "0",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    record = json.loads((work / "rounds.json").read_text())
    assert record["config"]["guide_labels"] is True
    with h5py.File(work / "guide-labels-1.h5") as f:
        visited = {
            Path(str(f[n].attrs["visited_file"])).name for n in f if n.startswith("episode_")
        }
    labels = _labelled_steps(work / "guide-labels-1.h5")
    assert visited == {"visited-0.h5"} and 0 < labels <= 2 * 4  # 2 episodes, 4 labels each
    for folder in (work / "run-1", work / "run-1-1"):
        run = json.loads((folder / "run.json").read_text())
        names = [Path(p).name for s in run["stages"] for p in s["datasets"]]
        assert names == ["guided-1.h5", "guide-labels-1.h5"]
    second = record["rounds"][1]
    assert second["samples"] == _labelled_steps(work / "guided-1.h5") + labels
    kept = work / f"visited-1-candidate-{second['candidate']}.h5"
    assert (work / "visited-1.h5").read_bytes() == kept.read_bytes()
    refused = _loop(tmp_path / "w", "--guide-labels")
    assert refused.returncode == 2 and "--guide-labels needs --mode exit" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "w").exists()


@pytest.mark.slow
def test_prior_guide_fits_each_guided_round_to_its_own_guide(tmp_path: Path) -> None:
    """`--target improved --prior guide --guide-play 1`: round 1 records its guide (the start
    policy, round 0) playing one episode alone, from seed 20000, and its fit trains on that
    beside the guided episodes with the guide as its target's prior; the record keeps the
    settings as given and counts the recording's steps in the round's samples."""
    from fil_learn.data import file_sha256

    start = ROOT / "results" / "best" / "spaceinvaders.onnx"
    work = tmp_path / "exit"
    done = _loop(
        work, "--mode", "exit", "--start", str(start), "--fresh", "--drop-demos", "--window", "1",
        "--model", "tiny", "--target", "improved", "--prior", "guide", "--guide-play", "1",
        "--final-episodes", "0", "--baseline-episodes", "0",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    record = json.loads((work / "rounds.json").read_text())
    assert record["config"]["prior"] == "guide" and record["config"]["guide_play"] == 1
    run = json.loads((work / "run-1" / "run.json").read_text())
    guide = work / "policies" / "round-0" / "policy.onnx"
    assert run["fit"]["prior"] == str(guide)
    assert run["prior_sha256"] == file_sha256(guide)
    assert run["fit"]["target"] == "improved" and "train_valued_steps" in run
    names = [Path(p).name for s in run["stages"] for p in s["datasets"]]
    assert names == ["guided-1.h5", "guide-play-1.h5"]
    with h5py.File(work / "guide-play-1.h5") as f:
        assert f.attrs["format"] == "fil-visited" and f.attrs["policy"] == str(guide)
        assert [int(f[n].attrs["seed"]) for n in f if n.startswith("episode_")] == [20_000]
    played = _labelled_steps(work / "guide-play-1.h5")
    assert record["rounds"][1]["samples"] == _labelled_steps(work / "guided-1.h5") + played > 0
    for args, message in (
        (["--prior", "guide", "--target", "improved"], "--prior guide needs --mode exit"),
        (["--mode", "exit", "--prior", "guide"], "--prior is the prior of --target improved"),
        (["--target", "improved", "--prior", str(tmp_path / "no.onnx")], "no.onnx does not exist"),
        (["--mode", "exit", "--guide-play", "2"], "--guide-play needs --target improved --prior"),
    ):
        refused = _loop(tmp_path / "w", *args)
        assert refused.returncode == 2 and message in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr and not (tmp_path / "w").exists()


def test_start_and_candidates_are_refused_where_they_mean_nothing(tmp_path: Path) -> None:
    for args, message in (
        (["--candidates", "2"], "--candidates above 1 needs --fresh and --mode exit"),
        (["--start", str(tmp_path / "no.onnx"), "--mode", "exit"], "give an exported policy"),
        (["--start", str(ROOT / "results" / "best" / "spaceinvaders.onnx")], "needs --mode exit"),
    ):
        done = _loop(tmp_path / "w", *args)
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and not (tmp_path / "w").exists()


@pytest.mark.slow
def test_a_fixed_samples_budget_sets_each_fits_epochs(tmp_path: Path) -> None:
    """`--fit-samples N`: the fit trains round(N / the round's samples) epochs (at least 1)
    instead of `--epochs`, recorded in the fit's run.json and the loop's settings; what it
    processed is those epochs of its training share."""
    work = tmp_path / "budget"
    budget = 1000
    done = _loop(
        work, "--mode", "bc", "--rounds", "1", "--keep", "last", "--fit-samples", str(budget),
        "--final-episodes", "0", "--baseline-episodes", "0",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    record = json.loads((work / "rounds.json").read_text())
    assert record["config"]["fit_samples"] == budget and record["config"]["epochs"] == 1
    row = record["rounds"][0]
    run = json.loads((work / "run" / "run.json").read_text())
    epochs = max(1, round(budget / row["samples"]))
    assert run["fit"]["epochs"] == epochs > 1
    assert row["policy_epoch"] == epochs
    assert row["samples_processed"] == epochs * run["train_samples"] <= budget
    for refused_args, message in (
        (["--fit-samples", "-1"], "--fit-samples must be 0"),
        (["--total-frames", "0"], "--total-frames must be at least 1"),
        (["--mode", "bc", "--total-frames", "9"], "give --episodes instead"),
    ):
        refused = _loop(tmp_path / "w", *refused_args)
        assert refused.returncode == 2 and message in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr and not (tmp_path / "w").exists()
