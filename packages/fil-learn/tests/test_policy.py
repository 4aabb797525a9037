"""The shareable policy: ONNX export checked against JAX on real frames, and the public API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import fil_learn
from fil_learn.cli import app
from fil_learn.train import FitConfig, fit

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "datasets" / "samples" / "space_invaders-tiny.h5"
runner = CliRunner()


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A Nature-size policy trained one epoch on the real sample, and its ONNX export."""
    folder = tmp_path_factory.mktemp("policy")
    fit([SAMPLE], folder / "run", FitConfig(epochs=1, batch_size=64))
    result = runner.invoke(app, ["export", str(folder / "run"), "--out", str(folder / "si.onnx")])
    assert result.exit_code == 0, result.output
    assert "policy written to" in result.output
    return folder / "run", folder / "si.onnx"


def _real_stacks(count: int) -> tuple[np.ndarray, np.ndarray]:
    with fil_learn.open_dataset(SAMPLE) as dataset:
        episode = dataset[1]
        return episode.stacked_observations()[:count], episode.actions[:count]


@pytest.mark.slow
def test_onnx_logits_match_jax_on_real_frames(exported: tuple[Path, Path]) -> None:
    run, onnx_file = exported
    stacks, _ = _real_stacks(256)
    jax_policy = fil_learn.load_policy(str(run))  # a str works, not only a Path
    onnx_policy = fil_learn.load_policy(onnx_file, threads=1)
    ours, theirs = onnx_policy.logits(stacks), jax_policy.logits(stacks)
    assert ours.shape == (256, 6) and ours.dtype == np.float32
    assert np.max(np.abs(ours - theirs)) <= 1e-3
    assert np.ptp(theirs) > 0.1  # trained weights, not a constant function
    assert [onnx_policy.act(s) for s in stacks[:32]] == [jax_policy.act(s) for s in stacks[:32]]


@pytest.mark.slow
def test_onnx_runs_with_onnxruntime_alone_and_says_where_it_came_from(
    exported: tuple[Path, Path],
) -> None:
    """What datasets/README.md tells a stranger: onnxruntime + numpy, no fil-learn."""
    import onnxruntime

    run, onnx_file = exported
    session = onnxruntime.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    (entry,) = session.get_inputs()
    assert entry.name == "observations" and entry.type == "tensor(uint8)"
    assert entry.shape[1:] == [4, 84, 84]
    assert [o.name for o in session.get_outputs()] == ["logits"]
    assert meta["game"] == "SpaceInvaders" and meta["env_id"] == "ALE/SpaceInvaders-v5"
    assert json.loads(meta["action_meanings"])[:2] == ["NOOP", "FIRE"]
    assert meta["frameskip"] == "4" and meta["fil_learn_version"] == fil_learn.__version__
    settings = json.loads((run / "run.json").read_text())
    assert meta["epoch"] == "1" and meta["run"] == str(run.resolve())
    assert settings["frameskip"] == 4
    with fil_learn.open_dataset(SAMPLE) as dataset:
        assert json.loads(meta["datasets"]) == [{"path": str(SAMPLE), "sha256": dataset.sha256}]
    stacks, _ = _real_stacks(16)
    (logits,) = session.run(["logits"], {"observations": stacks})
    assert logits.shape == (16, 6)


@pytest.mark.slow
def test_act_takes_gymnasium_layout_and_explains_the_wrong_one(
    exported: tuple[Path, Path],
) -> None:
    policy = fil_learn.load_policy(exported[1])
    stacks, _ = _real_stacks(1)
    assert 0 <= policy.act(stacks[0]) < policy.n_actions
    rng = np.random.default_rng(0)
    explored = {policy.act(stacks[0], epsilon=1.0, rng=rng) for _ in range(60)}
    assert explored == set(range(6))  # epsilon 1: uniform over the minimal set
    with pytest.raises(ValueError, match=r"\(4, 84, 84\), got \(84, 84, 4\) \(channels last"):
        policy.act(np.moveaxis(stacks[0], 0, -1))
    with pytest.raises(ValueError, match="uint8"):
        policy.logits(stacks.astype(np.float32) / 255)
    with pytest.raises(ValueError, match="epsilon"):
        policy.act(stacks[0], epsilon=2)
    with pytest.raises(FileNotFoundError, match=r"run folder or an \.onnx"):
        fil_learn.load_policy("no/such/run")


def test_open_dataset_reads_the_sample_episode_by_episode() -> None:
    with fil_learn.open_dataset(str(SAMPLE)) as dataset:
        assert len(dataset) == 3 and dataset.game == "SpaceInvaders" and dataset.frameskip == 4
        returns = [episode.episode_return for episode in dataset]
        first = dataset[0]
        assert first.observations.shape == (first.length + 1, 84, 84)
        assert first.rewards.sum() == returns[0] and first.actions.dtype == np.int64
        stacks = first.stacked_observations()
        assert stacks.shape == (first.length + 1, 4, 84, 84)
        assert (stacks[0] == first.observations[0]).all()  # padded with the first frame
        assert (stacks[5, -1] == first.observations[5]).all()
        assert (stacks[5, 0] == first.observations[2]).all()
    assert returns == [1000.0, 720.0, 735.0]  # the sample regenerated at format v4
    with pytest.raises(FileNotFoundError, match="does not exist"):
        fil_learn.open_dataset(SAMPLE.with_name("missing.h5"))
    with pytest.raises(ValueError, match="is a folder"):
        fil_learn.open_dataset(SAMPLE.parent)


@pytest.mark.slow
def test_export_errors_are_one_line(exported: tuple[Path, Path], tmp_path: Path) -> None:
    run, _ = exported
    result = runner.invoke(app, ["export", str(tmp_path), "--out", str(tmp_path / "x.onnx")])
    assert result.exit_code == 2 and "not a fil-learn run" in result.output
    result = runner.invoke(app, ["export", str(run), "--out", str(tmp_path / "no" / "x.onnx")])
    assert result.exit_code == 2 and "does not exist" in result.output
    not_onnx = tmp_path / "bad.onnx"
    not_onnx.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a readable ONNX model"):
        fil_learn.load_policy(not_onnx)
    # without the [onnx] extra: one line naming it, exit 2 (the import is blocked, not mocked)
    blocked = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.modules['onnx'] = None; from fil_learn.cli import main; main()",
            "export",
            str(run),
            "--out",
            str(tmp_path / "y.onnx"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert blocked.returncode == 2, blocked.stderr
    assert "fil-learn[onnx]" in blocked.stderr and "Traceback" not in blocked.stderr
    assert not (tmp_path / "y.onnx").exists()


@pytest.mark.slow
def test_eval_plays_an_exported_policy_as_it_plays_its_run(
    exported: tuple[Path, Path], tmp_path: Path
) -> None:
    """A team handed only `policy.onnx` evaluates it under the same protocol, seeds and report
    as the run folder it came from, and can record its states for relabelling."""
    import h5py

    run, onnx_file = exported
    played = {}
    for name, source in (("run", run), ("onnx", onnx_file)):
        out = tmp_path / f"{name}.json"
        args = ["eval", str(source), "--episodes", "2", "--max-steps", "150", "--seed", "5"]
        args += ["--protocol", "noop30", "--epsilon", "0.05", "--json", str(out), "-q"]
        if name == "onnx":
            args += ["--save-states", str(tmp_path / "visited.h5"), "--state-every", "50"]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        played[name] = json.loads(out.read_text())
    for key in ("returns", "action_counts", "protocol", "game"):
        assert played["onnx"][key] == played["run"][key], key
    assert sum(played["onnx"]["action_counts"]) == 300
    # the JSON says how the episodes were played, not only what they scored
    assert played["onnx"]["lengths"] == [150, 150]
    assert {k: played["onnx"][k] for k in ("seed", "epsilon", "temperature", "max_steps")} == {
        "seed": 5,
        "epsilon": 0.05,
        "temperature": 0.0,
        "max_steps": 150,
    }
    with h5py.File(tmp_path / "visited.h5") as visited:
        assert visited.attrs["game"] == "SpaceInvaders" and visited.attrs["n_actions"] == 6
        assert visited.attrs["policy"] == str(onnx_file)
    blocked = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.modules['onnxruntime'] = None; from fil_learn.cli import main; main()",
            "eval",
            str(onnx_file),
            "--episodes",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert blocked.returncode == 2 and "Traceback" not in blocked.stderr
    assert "fil-learn[onnx]" in blocked.stderr


@pytest.mark.slow
def test_the_readme_example_runs(exported: tuple[Path, Path]) -> None:
    """docs/policies.md shows examples/policy_api.py verbatim; run it on the exported policy."""
    script = ROOT / "examples" / "policy_api.py"
    body = script.read_text().split('"""', 2)[2].strip()
    assert body in (ROOT / "docs" / "policies.md").read_text()
    done = subprocess.run(
        [sys.executable, str(script), str(exported[1]), "50"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "SpaceInvaders" in done.stdout and "return" in done.stdout
    assert done.stdout.count("agreement") == 3


def test_import_fil_learn_does_not_start_jax() -> None:
    code = "import sys, fil_learn; fil_learn.open_dataset; print('jax' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.slow
def test_a_run_plays_without_the_training_code(exported: tuple[Path, Path]) -> None:
    """Inference builds the network alone: loading and playing a run imports neither
    fil_learn.train nor an optimizer's state (issue #26: inference on its own)."""
    code = (
        "import sys, numpy as np, fil_learn\n"
        f"p = fil_learn.load_policy({str(exported[0])!r})\n"
        "print(p.logits(np.zeros((2, 4, 84, 84), np.uint8)).shape, 'fil_learn.train' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split()[-1] == "False", done.stdout
    assert "(2, 6)" in done.stdout


@pytest.mark.slow
def test_the_spec_example_runs_with_onnxruntime_alone(
    exported: tuple[Path, Path], tmp_path: Path
) -> None:
    """datasets/README.md's Policies block, run as a stranger would: no fil_learn imported."""
    spec = (ROOT / "datasets" / "README.md").read_text()
    section = spec.split("## Policies", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "policy.onnx").write_bytes(exported[1].read_bytes())
    guard = "import sys; sys.modules['fil_learn'] = None\n"
    done = subprocess.run(
        [sys.executable, "-c", guard + code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("SpaceInvaders [")


def test_eval_temperature_draws_from_the_softmax_and_zero_is_greedy() -> None:
    """`eval --temperature T`: T = 0 plays the most likely action, T > 0 draws from
    softmax(logits / T); a negative or infinite T is refused."""
    import math

    import numpy as np
    import pytest

    from fil_learn.evaluate import EvalConfig, choose_action

    rng = np.random.default_rng(0)
    logits = np.array([0.0, math.log(3.0), -50.0])
    assert all(choose_action(logits, 0.0, rng) == 1 for _ in range(20))
    draws = np.array([choose_action(logits, 1.0, rng) for _ in range(4000)])
    assert abs(np.mean(draws == 1) - 0.75) < 0.03 and not (draws == 2).any()
    hot = np.array([choose_action(logits, 1000.0, rng) for _ in range(3000)])
    assert abs(np.mean(hot == 2) - 1 / 3) < 0.05  # a high temperature is near uniform
    for bad in (-1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="--temperature"):
            EvalConfig(temperature=bad).validate()
