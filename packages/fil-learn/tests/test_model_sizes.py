"""`fit --model`: every size trains, records itself, plays from its run folder and exports to
ONNX with the same logits; a run keeps its size."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from typer.testing import CliRunner

import fil_learn
from fil_learn.cli import app
from fil_learn.config import MODEL_SIZES, MODELS

from .conftest import write_dataset

runner = CliRunner()


def _fit(dataset: Path, run: Path, *options: str) -> str:
    """`fil-learn fit` in this process; returns its output, failing on a non-zero exit."""
    result = runner.invoke(app, ["fit", str(dataset), "--out", str(run), *options])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("sizes") / "ds.h5", episodes=4, steps=48)


@pytest.mark.slow
@pytest.mark.parametrize("size", MODELS)
def test_each_size_trains_records_itself_and_exports_the_same_logits(
    size: str, dataset: Path, tmp_path: Path
) -> None:
    run, onnx_file = tmp_path / "run", tmp_path / "policy.onnx"
    _fit(dataset, run, "--model", size, "--epochs", "2", "--batch-size", "16")
    _fit(dataset, run, "--model", size, "--epochs", "2", "--batch-size", "16")  # nothing to do
    settings = json.loads((run / "run.json").read_text())
    widths = MODEL_SIZES[size]
    assert settings["fit"]["model"] == size
    assert settings["model"]["channels"] == list(widths.channels)
    assert settings["model"]["hidden"] == widths.hidden
    result = runner.invoke(app, ["export", str(run), "--out", str(onnx_file)])
    assert result.exit_code == 0, result.output

    graph = onnx.load(onnx_file)
    shapes = {t.name: tuple(t.dims) for t in graph.graph.initializer}
    assert shapes["conv1.weight"][0] == widths.channels[0]
    assert shapes["hidden.bias"] == (widths.hidden,)
    assert {p.key: p.value for p in graph.metadata_props}["model"] == size

    with fil_learn.open_dataset(dataset) as episodes:
        stacks = episodes[0].stacked_observations()
    jax_logits = fil_learn.load_policy(run).logits(stacks)
    onnx_logits = fil_learn.load_policy(onnx_file, threads=1).logits(stacks)
    assert jax_logits.shape == (stacks.shape[0], 6)
    assert np.ptp(jax_logits) > 1e-2  # trained weights, not a constant function
    np.testing.assert_allclose(onnx_logits, jax_logits, atol=1e-3)


@pytest.mark.slow
def test_a_run_refuses_another_size_in_one_line(dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    _fit(dataset, run, "--model", "tiny", "--epochs", "1", "--batch-size", "16")
    other = runner.invoke(
        app, ["fit", str(dataset), "--out", str(run), "--model", "small", "--epochs", "2"]
    )
    assert other.exit_code == 2
    message = other.output.strip()
    assert "--model tiny" in message and "not small" in message and "\n" not in message
    default = runner.invoke(app, ["fit", str(dataset), "--out", str(run), "--epochs", "2"])
    assert default.exit_code == 2 and "not nature" in default.output  # the default is a size too
    assert "continues stage 1" in _fit(
        dataset, run, "--model", "tiny", "--epochs", "2", "--batch-size", "16"
    )
