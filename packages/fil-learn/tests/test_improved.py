"""`--target improved`: the target built from the swarm's per-action counts and values (format
v5) and the network's own policy, on hand-made rows, on a real v5 file, and through `fit`."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from fil_learn.cli import app
from fil_learn.config import fit_argv
from fil_learn.data import ValueTargets, load, unequal_values
from fil_learn.scaling_plan import PRESETS, apply_overrides
from fil_learn.train import cross_entropy, improved_targets

from .conftest import MEANINGS, write_dataset

runner = CliRunner()
NAN = np.nan
A = len(MEANINGS)


def add_action_values(path: Path) -> Path:
    """Format v5 arrays on every episode: action 0 and the demonstrated action are visited;
    on even steps the visited values are their action's index (unequal unless the action is
    0, then one action was visited), on odd steps all 1.0 (equal)."""
    with h5py.File(path, "a") as f:
        f.attrs["format_version"] = 5
        for name in [k for k in f if k.startswith("episode_")]:
            actions = f[name]["actions"][()]
            steps = actions.shape[0]
            counts = np.zeros((steps, A), np.int32)
            counts[:, 0] = 2
            counts[np.arange(steps), actions] += 1
            values = np.where(counts > 0, 1.0, NAN).astype(np.float32)
            even = np.zeros(steps, bool)
            even[::2] = True
            values[even] = np.where(counts[even] > 0, np.arange(A, dtype=np.float32), NAN)
            f[name].create_dataset("visit_counts", data=counts)
            f[name].create_dataset("action_values", data=values)
    return path


ROWS = {  # (counts, values)
    "equal": ([3, 2, 0, 0, 0, 1], [1.5, 1.5, NAN, NAN, NAN, 1.5]),
    "one visited": ([0, 0, 4, 0, 0, 0], [NAN, NAN, -2.0, NAN, NAN, NAN]),
    "none visited": ([0] * A, [NAN] * A),
    "higher": ([5, 5, 0, 0, 0, 0], [0.0, 10.0, NAN, NAN, NAN, NAN]),
}


def _rows() -> tuple[jax.Array, ValueTargets]:
    logits = jax.random.normal(jax.random.key(0), (len(ROWS), A))
    counts = jnp.asarray([c for c, _ in ROWS.values()], jnp.float32)
    values = jnp.asarray([v for _, v in ROWS.values()], jnp.float32)
    return logits, ValueTargets(jnp.zeros(len(ROWS), jnp.int32), counts, values)


def test_equal_values_keep_the_policy_and_a_higher_value_gains_mass() -> None:
    logits, labels = _rows()
    prior = jax.nn.softmax(logits)
    target = improved_targets(logits, labels.counts, labels.values)
    assert bool(jnp.isfinite(target).all())
    assert jnp.allclose(target.sum(-1), 1.0)
    for row in (0, 1, 2):  # equal, one visited, none visited: the policy itself
        assert jnp.array_equal(target[row], prior[row]), list(ROWS)[row]
    higher = 3
    assert target[higher, 1] > prior[higher, 1] and target[higher, 0] < prior[higher, 0]
    # sigma = (50 + 5) * 0.1 * q_hat: the winner's logit gains 5.5 over the loser's, and the
    # unvisited actions, completed with a value between the two, gain less than the winner
    gained = jnp.log(target[higher] / prior[higher])
    assert jnp.allclose(gained[1] - gained[0], 5.5, atol=1e-4)
    assert (gained[2:] < gained[1]).all() and (gained[2:] > gained[0]).all()

    grads = jax.grad(lambda z: cross_entropy(z, labels)[0])(logits)
    assert bool(jnp.isfinite(grads).all())
    assert jnp.allclose(grads[:3], 0.0, atol=1e-7)  # no push to copy a draw
    assert float(jnp.abs(grads[higher]).max()) > 1e-3


def test_a_v5_file_loads_counts_and_values_of_the_labelled_steps(tmp_path: Path) -> None:
    path = add_action_values(write_dataset(tmp_path / "v5.h5", episodes=2, steps=10, version=5))
    with h5py.File(path, "a") as f:
        actions = f["episode_1/actions"][()]
        actions[[0, 3]] = -1  # unlabelled steps are no samples, nor their values
        f["episode_1/actions"][...] = actions
        expected = f["episode_1/action_values"][()][actions != -1]
    assert load([path]).counts is None  # read only when asked for
    data = load([path], values=True)
    assert data.counts.shape == data.values.shape == (18, A)
    assert np.array_equal(data.values[10:], expected, equal_nan=True)
    assert (data.counts[np.arange(18), data.actions] >= 1).all()
    even = np.concatenate([np.arange(10) % 2 == 0, (np.arange(10) % 2 == 0)[actions != -1]])
    assert np.array_equal(unequal_values(data.counts, data.values), even & (data.actions != 0))
    labels = data.labels("improved")
    assert isinstance(labels, ValueTargets) and labels.actions is data.actions
    assert data.subset(np.array([1])).values.shape == (8, A)


@pytest.mark.slow
def test_fit_target_improved_trains_and_records_the_target(tmp_path: Path) -> None:
    path = add_action_values(write_dataset(tmp_path / "v5.h5", episodes=3, steps=40, version=5))
    out = tmp_path / "run"
    args = ["fit", str(path), "--out", str(out), "--epochs", "1", "--batch-size", "16"]
    args += ["--steps-per-call", "3"]  # a scanned call and single steps
    result = runner.invoke(app, [*args, "--target", "improved", "--model", "tiny"])
    assert result.exit_code == 0, result.output
    assert "--target improved: " in result.output and "epoch 1: train loss" in result.output
    settings = json.loads((out / "run.json").read_text())
    assert settings["fit"]["target"] == "improved" and settings["train_valued_steps"] > 0
    row = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert np.isfinite(row["train_loss"]) and np.isfinite(row["val_loss"])
    again = runner.invoke(app, [*args, "--model", "tiny"])  # the run's target is kept
    assert again.exit_code == 2 and "--target improved" in again.output


@pytest.mark.parametrize(
    ("version", "extra", "message"),
    [
        (4, [], "is format version 4 and its episode_0 has no action_values: --target improved "
         "needs version 5 episodes; re-collect with a fil-collect that writes format version 5"),
        (5, [], "is format version 5 and its episode_0 has no action_values"),
        (5, ["--equivalent", "pool"], "--target improved takes no --equivalent pool"),
    ],
)  # fmt: skip
def test_improved_without_values_is_one_line_and_exit_2(
    tmp_path: Path, version: int, extra: list[str], message: str
) -> None:
    path = write_dataset(tmp_path / "ds.h5", episodes=2, steps=10, version=version)
    args = ["fit", str(path), "--out", str(tmp_path / "r"), "--target", "improved", *extra]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not (tmp_path / "r").exists()


def test_scale_set_fit_target_improved_reaches_fit() -> None:
    preset = apply_overrides(PRESETS["atlantis"], ["fit.target=improved"])
    preset.validate()
    config = preset.fit_config(2)
    assert config.target == "improved"
    command = typer.main.get_command(app).commands["fit"]  # type: ignore[attr-defined]
    assert command.make_context("fit", ["ds.h5", *fit_argv(config)]).params["target"] == (
        "improved"
    )


def test_a_prior_replaces_the_networks_own_policy_in_the_target() -> None:
    """With `fit --prior`, equal values fit the prior's policy (a gradient towards it, none
    once the network matches it), and a higher value moves the prior, not the network."""
    logits, labels = _rows()
    prior_logits = jax.random.normal(jax.random.key(1), logits.shape)
    with_prior = labels._replace(prior=prior_logits)
    loss, _ = cross_entropy(logits, with_prior)
    target = improved_targets(prior_logits, labels.counts, labels.values)
    for row in (0, 1, 2):
        assert jnp.allclose(target[row], jax.nn.softmax(prior_logits[row]))
    gained = jnp.log(target[3] / jax.nn.softmax(prior_logits[3]))
    assert jnp.allclose(gained[1] - gained[0], 5.5, atol=1e-4)
    grads = jax.grad(lambda z: cross_entropy(z, with_prior)[0])
    assert float(jnp.abs(grads(logits)[:3]).max()) > 1e-3  # pulled towards the prior
    assert jnp.allclose(grads(prior_logits)[:3], 0.0, atol=1e-7)  # at the prior: no push
    assert float(loss) > float(cross_entropy(prior_logits, with_prior)[0])


@pytest.fixture(scope="module")
def prior_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny policy trained one epoch on a synthetic SpaceInvaders file: the prior."""
    folder = tmp_path_factory.mktemp("prior")
    path = write_dataset(folder / "teacher.h5", episodes=3, steps=40, seed=1)
    args = ["fit", str(path), "--out", str(folder / "run"), "--epochs", "1", "--batch-size", "16"]
    result = runner.invoke(app, [*args, "--model", "tiny"])
    assert result.exit_code == 0, result.output
    return folder / "run"


def test_prior_logits_are_the_policys_and_unvalued_episodes_fit_it(
    tmp_path: Path, prior_run: Path
) -> None:
    from fil_learn.policy import load_policy
    from fil_learn.prior import load_prior, with_prior

    valued = add_action_values(write_dataset(tmp_path / "v5.h5", episodes=2, steps=10, version=5))
    played = write_dataset(tmp_path / "v1.h5", episodes=1, steps=10, seed=3)  # no values
    with pytest.raises(ValueError, match="or give --prior POLICY"):
        load([valued, played], values=True)
    loaded = load([valued, played], values=True, prior_only=True)
    data = with_prior(loaded, load_prior(prior_run, loaded))
    stacks = data.frames[data.stacks]
    assert np.allclose(data.prior, load_policy(prior_run).logits(stacks), atol=1e-5)
    unvalued = data.episode_of == 2
    assert (data.counts[unvalued] == 0).all() and np.isnan(data.values[unvalued]).all()
    labels = data.labels("improved")
    target = improved_targets(jnp.asarray(labels.prior), labels.counts, labels.values)
    policy = jax.nn.softmax(data.prior)
    assert jnp.allclose(target[unvalued], policy[unvalued], atol=1e-6)
    moved = unequal_values(data.counts, data.values)
    assert moved.any() and not jnp.allclose(target[moved], policy[moved], atol=1e-3)
    assert data.subset(np.array([2])).prior.shape == (10, A)


@pytest.mark.slow
def test_fit_with_a_prior_trains_on_unvalued_episodes_and_records_it(
    tmp_path: Path, prior_run: Path
) -> None:
    """Swarm episodes with values, a format-1 file without, and a policy's real recorded play
    (`eval --save-states` in ALE, a visited-states file): with a prior all three train; the
    recorded play is refused without one, saying how to use it."""
    from fil_learn.policy import load_policy
    from fil_learn.prior import load_prior, with_prior

    valued = add_action_values(write_dataset(tmp_path / "v5.h5", episodes=3, steps=40, version=5))
    played = write_dataset(tmp_path / "v1.h5", episodes=2, steps=40, seed=3)
    visited = tmp_path / "play.h5"
    record = ["eval", str(prior_run), "--episodes", "2", "--max-steps", "30", "--quiet"]
    recorded = runner.invoke(app, [*record, "--save-states", str(visited)])
    assert recorded.exit_code == 0, recorded.output
    out = tmp_path / "run"
    args = ["fit", str(valued), str(played), str(visited), "--out", str(out), "--epochs", "1"]
    args += ["--batch-size", "16", "--model", "tiny", "--target", "improved"]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2 and "--target improved --prior POLICY" in refused.output
    result = runner.invoke(app, [*args, "--prior", str(prior_run)])
    assert result.exit_code == 0, result.output
    assert "the target is the prior's policy" in " ".join(result.output.split())
    settings = json.loads((out / "run.json").read_text())
    assert settings["fit"]["prior"] == str(prior_run) and settings["train_valued_steps"] > 0
    row = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert np.isfinite(row["train_loss"]) and np.isfinite(row["val_loss"])
    loaded = load([visited], values=True, prior_only=True)
    data = with_prior(loaded, load_prior(prior_run, loaded))
    assert data.n_samples == 60 and (data.counts == 0).all()  # 2 episodes of 30 steps
    assert np.allclose(data.prior, load_policy(prior_run).logits(data.frames[data.stacks]))


@pytest.mark.parametrize(
    ("game", "extra", "message"),
    [
        ("SpaceInvaders", ["--target", "action"], "--prior is the prior of --target improved, "
         "not of --target action: add --target improved or drop --prior"),
        ("Atlantis", ["--target", "improved"], "plays SpaceInvaders with actions NOOP, FIRE"),
    ],
)  # fmt: skip
def test_a_wrong_prior_is_one_line_and_exit_2(
    tmp_path: Path, prior_run: Path, game: str, extra: list[str], message: str
) -> None:
    path = add_action_values(write_dataset(tmp_path / "ds.h5", game=game, steps=10, version=5))
    args = ["fit", str(path), "--out", str(tmp_path / "r"), "--prior", str(prior_run), *extra]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not (tmp_path / "r").exists()
