"""Data-parallel fit over two (forced) CPU devices gives the numbers of a one-device fit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import optax
import pytest
from flax import nnx

from fil_learn.checkpoint import CheckpointStore
from fil_learn.model import ModelConfig, NatureCNN
from fil_learn.train import Trainer

from .conftest import TINY_MODEL

# XLA reads the device count when jax starts, so each fit runs in its own interpreter.
FIT = """
import json, sys
from pathlib import Path
from fil_learn.train import FitConfig, fit

dataset, out = Path(sys.argv[1]), Path(sys.argv[2])
model = json.loads(sys.argv[3])
fit([dataset], out, FitConfig(epochs=1, batch_size=16, seed=5), model_config=model)
try:
    fit([dataset], out.with_name("odd"), FitConfig(epochs=1, batch_size=15), model_config=model)
    print(json.dumps({"error": None}))
except ValueError as error:
    print(json.dumps({"error": str(error)}))
"""


def _fit_on(devices: int, dataset: Path, out: Path) -> str | None:
    """Fit on `devices` forced CPU devices; returns the error a batch of 15 gives there."""
    env = {
        **os.environ,
        "JAX_PLATFORMS": "cpu",
        "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
    }
    result = subprocess.run(
        [sys.executable, "-c", FIT, str(dataset), str(out), json.dumps(TINY_MODEL)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])["error"]


def _final_params(run: Path) -> list[np.ndarray]:
    like, _ = Trainer(NatureCNN(ModelConfig(6, **TINY_MODEL), nnx.Rngs(0)), optax.adam(1)).init()
    store = CheckpointStore(run, "best", keep=1)  # one epoch: the best are the final ones
    params = store.restore(store.latest_step(), {"params": like})["params"]
    store.close()
    return [np.asarray(leaf) for leaf in jax.tree.leaves(params)]


@pytest.mark.slow
def test_two_devices_give_the_numbers_of_one(dataset: Path, tmp_path: Path) -> None:
    one, two = tmp_path / "one" / "run", tmp_path / "two" / "run"
    assert _fit_on(1, dataset, one) is None
    error = _fit_on(2, dataset, two)
    assert error is not None and "--batch-size 15" in error and "multiple of 2" in error

    settings = [json.loads((run / "run.json").read_text()) for run in (one, two)]
    assert [s["device_count"] for s in settings] == [1, 2]
    assert len(settings[1]["devices"]) == 2
    metrics = [json.loads((run / "metrics.jsonl").read_text()) for run in (one, two)]
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(metrics[1][key], metrics[0][key], rtol=1e-4, atol=1e-5)
    for a, b in zip(_final_params(one), _final_params(two), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)
