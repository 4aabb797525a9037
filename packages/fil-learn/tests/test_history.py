"""`fit --history N`: the network looks at the newest N frames of the stack and nothing else,
in JAX and in its ONNX export (whose input stays the 4-frame stack); a run keeps its history,
and runs written before the setting existed read as 4."""

from __future__ import annotations

import json
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from typer.testing import CliRunner

import fil_learn
from fil_learn.cli import app
from fil_learn.model import ModelConfig, NatureCNN, param_count

from .conftest import write_dataset

runner = CliRunner()


def test_a_one_frame_network_ignores_the_older_frames() -> None:
    model = NatureCNN(ModelConfig.sized("tiny", n_actions=6, history=1), nnx.Rngs(0))
    assert param_count(model) == 122_390 - 8 * 8 * 3 * 16  # the first layer sees 1 frame of 4
    frames = np.random.default_rng(0).integers(0, 256, (5, 84, 84, 4), dtype=np.uint8)
    changed = frames.copy()
    changed[..., :3] = 255 - changed[..., :3]
    np.testing.assert_array_equal(model(jnp.asarray(frames)), model(jnp.asarray(changed)))
    newest = frames.copy()
    newest[..., 3] = 255 - newest[..., 3]
    assert not np.allclose(model(jnp.asarray(frames)), model(jnp.asarray(newest)))


@pytest.mark.parametrize("history", [0, 5])
def test_a_history_outside_the_stack_is_refused_in_one_line(history: int, tmp_path: Path) -> None:
    dataset = write_dataset(tmp_path / "ds.h5", episodes=2, steps=8)
    result = runner.invoke(app, ["fit", str(dataset), "--history", str(history)])
    assert result.exit_code == 2
    assert "--history must be 1-4" in result.output and "\n" not in result.output.strip()


@pytest.mark.slow
def test_a_two_frame_run_exports_the_same_logits_and_keeps_its_history(tmp_path: Path) -> None:
    dataset = write_dataset(tmp_path / "ds.h5", episodes=4, steps=48)
    run, policy = tmp_path / "run", tmp_path / "policy.onnx"
    options = ["--model", "tiny", "--batch-size", "16", "--history", "2"]
    fit = runner.invoke(app, ["fit", str(dataset), "--out", str(run), "--epochs", "1", *options])
    assert fit.exit_code == 0, fit.output
    settings = json.loads((run / "run.json").read_text())
    assert settings["model"]["history"] == 2 and settings["fit"]["history"] == 2
    assert runner.invoke(app, ["export", str(run), "--out", str(policy)]).exit_code == 0

    with fil_learn.open_dataset(dataset) as episodes:
        stacks = episodes[0].stacked_observations()
    jax_logits = fil_learn.load_policy(run).logits(stacks)
    onnx_policy = fil_learn.load_policy(policy, threads=1)
    np.testing.assert_allclose(onnx_policy.logits(stacks), jax_logits, atol=1e-4)
    older = stacks.copy()
    older[:, :2] = 255 - older[:, :2]  # (N, 4, 84, 84): the two oldest frames
    np.testing.assert_allclose(onnx_policy.logits(older), jax_logits, atol=1e-4)

    other = runner.invoke(app, ["fit", str(dataset), "--out", str(run), "--epochs", "2",
                                "--model", "tiny", "--batch-size", "16"])  # fmt: skip
    assert other.exit_code == 2 and "--history 2" in other.output
    assert "\n" not in other.output.strip()


@pytest.mark.slow
def test_a_run_written_before_history_continues_as_four_frames(tmp_path: Path) -> None:
    dataset = write_dataset(tmp_path / "ds.h5", episodes=4, steps=48)
    run = tmp_path / "run"
    options = ["--out", str(run), "--model", "tiny", "--batch-size", "16"]
    assert runner.invoke(app, ["fit", str(dataset), *options, "--epochs", "1"]).exit_code == 0
    settings = json.loads((run / "run.json").read_text())
    del settings["model"]["history"], settings["fit"]["history"]
    (run / "run.json").write_text(json.dumps(settings))
    again = runner.invoke(app, ["fit", str(dataset), *options, "--epochs", "2"])
    assert again.exit_code == 0, again.output
    assert fil_learn.load_policy(run).logits(np.zeros((1, 4, 84, 84), np.uint8)).shape == (1, 6)
