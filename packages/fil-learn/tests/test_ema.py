"""`fit --ema`: the moving average of the parameters is what a fit validates, keeps in `best/`
and continues when resumed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from fil_learn.checkpoint import CheckpointStore
from fil_learn.config import FitConfig
from fil_learn.model import ModelConfig, NatureCNN
from fil_learn.policy import load_best
from fil_learn.run_folder import LATEST, restore_latest
from fil_learn.train import Trainer, averaged, fit, fit_optimizer, policy_params

from .conftest import TINY_MODEL


def test_the_average_is_the_debiased_decayed_mean_of_the_stepped_parameters() -> None:
    decay, gradients = 0.5, [3.0, -1.0, 2.0]
    optimizer = averaged(optax.sgd(1.0), decay)
    params = {"w": jnp.array([1.0])}
    state = optimizer.init(params)
    assert policy_params(params, state) is params  # nothing averaged yet
    stepped = []
    for g in gradients:
        updates, state = optimizer.update({"w": jnp.array([g])}, state, params)
        params = optax.apply_updates(params, updates)
        stepped.append(float(params["w"][0]))
    assert stepped == [-2.0, -1.0, -3.0]
    weights = [(1 - decay) * decay ** (len(stepped) - 1 - i) for i in range(len(stepped))]
    expected = sum(w * p for w, p in zip(weights, stepped, strict=True)) / sum(weights)
    assert float(policy_params(params, state)["w"][0]) == pytest.approx(expected)
    assert expected != pytest.approx(stepped[-1])
    assert policy_params(params, optax.sgd(1.0).init(params)) is params  # no average kept


@pytest.mark.slow
def test_best_holds_the_average_and_a_resumed_fit_continues_it(
    dataset: Path, tmp_path: Path
) -> None:
    config = FitConfig(epochs=2, batch_size=16, learning_rate=1e-3, ema=0.9, keep="last")
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    fit([dataset], straight, config, model_config=TINY_MODEL)
    fit([dataset], resumed, replace(config, epochs=1), model_config=TINY_MODEL)
    fit([dataset], resumed, config, model_config=TINY_MODEL)

    trainer = Trainer(NatureCNN(ModelConfig(6, **TINY_MODEL), nnx.Rngs(0)), fit_optimizer(config))
    like_params, like_state = trainer.init()
    store = CheckpointStore(straight, LATEST, keep=2)
    latest = restore_latest(store, 2, like_params, like_state)
    store.close()
    best = load_best(straight).params
    average = policy_params(latest["params"], latest["opt_state"])
    leaves = zip(jax.tree.leaves(best), jax.tree.leaves(average), strict=True)
    assert all(np.allclose(b, a, atol=1e-6) for b, a in leaves)  # best/ is the average
    raw = zip(jax.tree.leaves(best), jax.tree.leaves(latest["params"]), strict=True)
    assert max(float(np.max(np.abs(b - p))) for b, p in raw) > 1e-4  # not the raw parameters
    again = zip(jax.tree.leaves(best), jax.tree.leaves(load_best(resumed).params), strict=True)
    assert all(np.allclose(b, r, atol=1e-5) for b, r in again)  # resuming kept the average

    with pytest.raises(ValueError, match=r"--ema 0.9: give the same"):
        fit([dataset], resumed, replace(config, epochs=3, ema=0.5), model_config=TINY_MODEL)


def test_ema_must_be_a_decay_below_one() -> None:
    for bad in (-0.1, 1.0, float("nan")):
        with pytest.raises(ValueError, match="--ema must be in"):
            FitConfig(ema=bad).validate()
    FitConfig(ema=0.0).validate()
