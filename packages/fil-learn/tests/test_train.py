from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from fil_learn.checkpoint import CheckpointStore
from fil_learn.data import DatasetError, compared_steps, inclusive_targets, load, pooled_targets
from fil_learn.model import ModelConfig, NatureCNN
from fil_learn.policy import load_best
from fil_learn.train import (
    CallDone,
    EpochStarted,
    FitConfig,
    Trainer,
    cross_entropy,
    fit,
    pooled_cross_entropies,
    shift_offsets,
    shifted,
)

from .conftest import ALIASED_CLASSES, TINY_MODEL, write_dataset


def test_the_jitted_step_compiles_once(dataset: Path) -> None:
    data = load([dataset])
    trainer = Trainer(NatureCNN(ModelConfig(6, **TINY_MODEL), nnx.Rngs(0)), optax.adam(1e-3))
    params, opt_state = trainer.init()
    frames = jax.device_put(data.frames)
    for start in (0, 16):
        rows = data.stacks[start : start + 16][None]
        labels = data.actions[start : start + 16][None]
        offsets = shift_offsets(np.random.default_rng(0), rows, 0)
        params, opt_state, loss, _ = trainer.train_calls(
            params, opt_state, frames, rows, labels, offsets
        )
    assert trainer.train_calls._cache_size() == 1
    assert np.isfinite(float(loss))


@pytest.mark.slow
def test_fit_learns_the_demonstrated_actions(dataset: Path, tmp_path: Path) -> None:
    config = FitConfig(epochs=12, batch_size=16, learning_rate=3e-3, val_fraction=0.34, seed=1)
    results = fit([dataset], tmp_path / "run", config, model_config=TINY_MODEL)
    accuracies = [m.val_accuracy for m in results if m.val_accuracy is not None]
    assert accuracies[0] < 0.5 and max(accuracies) > 0.9  # chance is 1/6
    assert results[-1].train_loss < results[0].train_loss
    run = tmp_path / "run"
    assert (run / "training.png").stat().st_size > 0
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == list(range(1, 13))
    assert all(r["samples_per_second"] > 0 for r in rows)
    board = _event_scalars(run)
    assert [step for step, _ in board["loss/validation"]] == list(range(1, 13))
    assert np.allclose([v for _, v in board["loss/train"]], [r["train_loss"] for r in rows])
    assert {"accuracy/train", "accuracy/validation", "speed/samples_per_second"} <= set(board)


def _event_scalars(run: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar of the run's TensorBoard event files: tag -> [(step, value)], read from the
    TFRecord framing (length, crc, event protobuf, crc) as TensorBoard reads it."""
    from tensorboardX.proto import event_pb2

    scalars: dict[str, list[tuple[int, float]]] = {}
    for path in sorted(run.glob("events.out.tfevents.*")):
        data, offset = path.read_bytes(), 0
        while offset < len(data):
            length = int.from_bytes(data[offset : offset + 8], "little")
            event = event_pb2.Event.FromString(data[offset + 12 : offset + 12 + length])
            offset += 12 + length + 4
            for value in event.summary.value:
                scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    return scalars


def test_the_plot_shows_chance_the_kept_epoch_and_stages() -> None:
    from fil_learn.plots import history_figure

    row = {"train_loss": 1.0, "val_loss": 1.2, "train_accuracy": 0.5, "val_accuracy": 0.4}
    history = [{**row, "epoch": e, "stage": 1 if e < 3 else 2} for e in (1, 2, 3)]
    figure = history_figure(history, "t", n_actions=6, best_epoch=2)
    loss_ax, accuracy_ax = figure.axes
    lines = {line.get_label(): line for line in loss_ax.get_lines()}
    assert np.allclose(lines["chance (6 actions)"].get_ydata(), np.log(6))
    assert list(lines["best/ (epoch 2)"].get_xdata()) == [2, 2]
    assert list(lines["new stage"].get_xdata()) == [2.5, 2.5]
    accuracy = {line.get_label(): line for line in accuracy_ax.get_lines()}
    assert np.allclose(accuracy["chance (6 actions)"].get_ydata(), 1 / 6)
    assert loss_ax.get_ylim()[1] > np.log(6)  # the chance line is inside the plot
    for rows in (history, history[:1]):  # short runs get whole epochs too
        ticks = history_figure(rows, "t", 6, None).axes[0].get_xticks()
        assert all(float(t).is_integer() for t in ticks)


@pytest.mark.slow
def test_the_frame_stack_follows_the_model_config(dataset: Path, tmp_path: Path) -> None:
    from fil_learn.evaluate import make_env

    run = tmp_path / "run"
    model = {**TINY_MODEL, "stack": 2}
    fit([dataset], run, FitConfig(epochs=1, batch_size=16), model_config=model)
    best = load_best(run)
    settings, policy = best.settings, best.forward
    assert best.stack == 2
    assert policy(np.zeros((1, 84, 84, 2), np.uint8)).shape == (1, 6)
    assert load([dataset], stack=2).stacks.shape[1] == 2
    env = make_env(settings["env_id"], "v5", stack=2)
    observation, _ = env.reset(seed=0)
    env.close()
    assert np.asarray(observation).shape == (2, 84, 84)


@pytest.mark.slow
def test_same_seed_same_training(dataset: Path, tmp_path: Path) -> None:
    config = FitConfig(epochs=1, batch_size=16, seed=3, steps_per_call=2)
    a = fit([dataset], tmp_path / "a", config, model_config=TINY_MODEL)
    b = fit([dataset], tmp_path / "b", config, model_config=TINY_MODEL)
    assert a[0].train_loss == b[0].train_loss and a[0].val_loss == b[0].val_loss


@pytest.mark.slow
def test_fit_again_continues_the_run(dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    first = fit([dataset], run, FitConfig(epochs=1, batch_size=16), model_config=TINY_MODEL)
    more = fit([dataset], run, FitConfig(epochs=3, batch_size=16), model_config=TINY_MODEL)
    assert [m.epoch for m in first] == [1] and [m.epoch for m in more] == [2, 3]
    best = load_best(run)
    settings, policy = best.settings, best.forward
    assert settings["game"] == "SpaceInvaders"
    assert policy(np.zeros((2, 84, 84, 4), np.uint8)).shape == (2, 6)


@pytest.mark.slow
def test_fit_with_new_data_starts_a_stage_from_the_best_parameters(
    dataset: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    more = write_dataset(tmp_path / "more.h5", episodes=3, seed=1)
    config = FitConfig(epochs=2, batch_size=16)
    fit([dataset], run, config, model_config=TINY_MODEL)
    stage = fit([dataset, more], run, config, model_config=TINY_MODEL)
    again = fit([dataset, more], run, config, model_config=TINY_MODEL)
    assert [m.epoch for m in stage] == [3, 4] and again == []
    settings = json.loads((run / "run.json").read_text())
    assert [s["first_epoch"] for s in settings["stages"]] == [1, 3]
    assert settings["datasets"] == [str(dataset), str(more)]
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["stage"] for r in rows] == [1, 1, 2, 2]
    # the stage fine-tunes: its first epoch starts from trained weights, not a fresh model
    fresh = fit(
        [dataset, more],
        tmp_path / "fresh",
        FitConfig(epochs=1, batch_size=16),
        model_config=TINY_MODEL,
    )
    assert stage[0].train_loss < fresh[0].train_loss
    # the starting policy is the bar on the new validation data: `best/` moves only past it
    bar = json.loads((run / "run.json").read_text())["stages"][1]["start_val_loss"]
    stage_two = [r["val_loss"] for r in rows if r["stage"] == 2]
    best_epoch = CheckpointStore(run, "best", keep=1).latest_step()
    if min(stage_two) < bar:
        assert best_epoch == 3 + int(np.argmin(stage_two))
    else:
        assert best_epoch <= 2


@pytest.mark.slow
def test_a_file_that_grew_under_the_same_name_is_new_data(tmp_path: Path) -> None:
    dataset = write_dataset(tmp_path / "ds.h5", episodes=4)
    run = tmp_path / "run"
    config = FitConfig(epochs=1, batch_size=16)
    fit([dataset], run, config, model_config=TINY_MODEL)
    assert fit([dataset], run, config, model_config=TINY_MODEL) == []  # nothing new: done
    write_dataset(dataset, episodes=8)  # more episodes in the same file, as collect appends
    grown = fit([dataset], run, config, model_config=TINY_MODEL)
    assert [m.epoch for m in grown] == [2]
    stages = json.loads((run / "run.json").read_text())["stages"]
    assert [s["content"]["episodes"] for s in stages] == [4, 8]


@pytest.mark.slow
def test_a_stage_that_cannot_beat_its_starting_policy_keeps_it(
    dataset: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    fit([dataset], run, FitConfig(epochs=1, batch_size=16), model_config=TINY_MODEL)
    more = write_dataset(tmp_path / "more.h5", episodes=3, seed=1)
    # a step size this small leaves the parameters as they were: no epoch beats the bar
    fit(
        [dataset, more],
        run,
        FitConfig(epochs=2, batch_size=16, learning_rate=1e-30),
        model_config=TINY_MODEL,
    )
    assert CheckpointStore(run, "best", keep=1).latest_step() == 1


@pytest.mark.slow
def test_sigkill_loses_at_most_the_running_epoch(tmp_path: Path) -> None:
    dataset = write_dataset(tmp_path / "ds.h5", episodes=8, steps=64)
    run = tmp_path / "run"
    command = [
        sys.executable,
        "-c",
        "from fil_learn.cli import main; main()",
        "fit",
        str(dataset),
        "--out",
        str(run),
        "--batch-size",
        "16",
        "--quiet",
    ]
    process = subprocess.Popen(
        [*command, "--epochs", "200"], stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL
    )
    metrics = run / "metrics.jsonl"
    deadline = time.monotonic() + 240
    while not (metrics.exists() and len(metrics.read_text().splitlines()) >= 2):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.2)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done = len(metrics.read_text().splitlines())
    resumed = subprocess.run(
        [*command, "--epochs", str(done + 1)], capture_output=True, text=True, timeout=240
    )
    assert resumed.returncode == 0, resumed.stderr
    epochs = [json.loads(line)["epoch"] for line in metrics.read_text().splitlines()]
    assert epochs == list(range(1, done + 2))


@pytest.mark.slow
def test_every_full_batch_of_an_epoch_is_trained(dataset: Path, tmp_path: Path) -> None:
    # 6 episodes x 48 steps, no validation: 288 samples = 18 batches of 16 = 2 calls of 8 + 2 of 1
    events: list[object] = []
    config = FitConfig(epochs=1, batch_size=16, steps_per_call=8, val_fraction=0.0)
    fit([dataset], tmp_path / "run", config, model_config=TINY_MODEL, on_event=events.append)
    assert [e.calls for e in events if isinstance(e, EpochStarted)] == [4]
    assert sum(isinstance(e, CallDone) for e in events) == 4


def test_visit_targets_train_on_distributions_and_one_hot_matches_actions() -> None:
    """Soft targets (format v3's visit shares) are a cross-entropy against a distribution;
    one-hot targets give exactly the loss of the integer labels."""
    logits = jnp.array([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]])
    actions = jnp.array([0, 2])
    hard = cross_entropy(logits, actions)
    one_hot = cross_entropy(logits, jax.nn.one_hot(actions, 3))
    assert jnp.allclose(hard[0], one_hot[0]) and hard[1] == one_hot[1] == 1.0
    shares = jnp.array([[0.5, 0.5, 0.0], [0.0, 0.2, 0.8]])
    loss, accuracy = cross_entropy(logits, shares)
    expected = -(shares * jax.nn.log_softmax(logits)).sum(-1).mean()
    assert jnp.allclose(loss, expected) and accuracy == 1.0


@pytest.mark.slow
def test_equivalent_actions_pool_or_move_to_the_most_inclusive_member() -> None:
    """Format v4 classes: `inclusive` moves a class's mass onto its highest-index member;
    `pool` fits the class's probability, which is plain cross-entropy when every action is
    its own class."""
    classes = np.array([[0, 0, 1, 2, 1, 2]], dtype=np.int8)
    shares = np.array([[0.25, 0.25, 0.1, 0.1, 0.2, 0.1]], dtype=np.float32)
    assert np.allclose(inclusive_targets(shares, classes), [[0, 0.5, 0, 0, 0.3, 0.2]])
    logits = jnp.array([[0.3, -1.0, 2.0, 0.1, 0.5, -0.2]])
    losses, correct = pooled_cross_entropies(logits, jnp.asarray(pooled_targets(shares, classes)))
    p = jax.nn.softmax(logits[0])
    by_class = jnp.array([p[0] + p[1], p[2] + p[4], p[3] + p[5]])
    expected = -(jnp.array([0.5, 0.3, 0.2]) * jnp.log(by_class)).sum()
    assert jnp.allclose(losses[0], expected, atol=1e-6)
    assert correct[0] == 0.0  # the target's best is {NOOP, FIRE}; the policy's is RIGHT
    own = np.tile(np.arange(6, dtype=np.int8), (1, 1))
    plain = optax.softmax_cross_entropy(logits, jnp.asarray(shares))
    assert jnp.allclose(pooled_cross_entropies(logits, pooled_targets(shares, own))[0], plain)


@pytest.mark.slow
def test_a_coin_flip_among_equivalent_actions_becomes_learnable(tmp_path: Path) -> None:
    """The frames show a class of equivalent actions and the label is a coin flip within it:
    fitted as drawn the best policy is right half the time; `inclusive` makes it learnable."""
    data = write_dataset(tmp_path / "aliased.h5", episodes=6, steps=48, version=4, aliased=True)
    config = FitConfig(epochs=12, batch_size=16, learning_rate=3e-3, val_fraction=0.34, seed=1)
    scores = {}
    for equivalent in ("ignore", "inclusive", "pool"):
        run = tmp_path / equivalent
        fit([data], run, dataclasses.replace(config, equivalent=equivalent), TINY_MODEL)
        policy = load_best(run).forward
        loaded = load([data])
        observations = np.moveaxis(loaded.frames[loaded.stacks], 1, -1)
        chosen = policy(observations).argmax(-1)
        right_class = ALIASED_CLASSES[chosen] == ALIASED_CLASSES[loaded.actions]
        scores[equivalent] = (right_class.mean(), (chosen == loaded.actions).mean())
    assert scores["inclusive"][0] > 0.9 and scores["pool"][0] > 0.9
    assert scores["ignore"][1] < 0.75  # a coin flip cannot be predicted


def test_a_shift_moves_the_picture_and_copies_the_edges() -> None:
    """The centre offset is the identity; offset (0, 0) moves the picture down and right by
    the padding, filling the gap with copies of the first row and column."""
    image = np.arange(6 * 5 * 2, dtype=np.uint8).reshape(1, 6, 5, 2)
    pad = 2
    same = shifted(jnp.asarray(image), jnp.array([[pad, pad]]), pad)
    np.testing.assert_array_equal(np.asarray(same), image)
    moved = np.asarray(shifted(jnp.asarray(image), jnp.array([[0, 0]]), pad))[0]
    np.testing.assert_array_equal(moved[pad:, pad:], image[0, :-pad, :-pad])
    np.testing.assert_array_equal(moved[:pad, pad:], np.repeat(image[0, :1, :-pad], pad, 0))
    np.testing.assert_array_equal(moved[:, 0], moved[:, 1])
    offsets = shift_offsets(np.random.default_rng(0), np.zeros((3, 500)), 4)
    assert offsets.shape == (3, 500, 2) and offsets.min() == 0 and offsets.max() == 8


@pytest.mark.slow
def test_fit_with_shifts_learns_and_records_the_setting(dataset: Path, tmp_path: Path) -> None:
    """Augmented training still fits the demonstrations (a shift of 2 keeps the picture), and
    the setting is one a continued stage must keep."""
    config = FitConfig(epochs=12, batch_size=16, learning_rate=3e-3, val_fraction=0.34, seed=1)
    shifted_config = dataclasses.replace(config, shift=2)
    results = fit([dataset], tmp_path / "run", shifted_config, model_config=TINY_MODEL)
    assert max(m.val_accuracy for m in results if m.val_accuracy is not None) > 0.9
    settings = json.loads((tmp_path / "run" / "run.json").read_text())
    assert settings["stages"][-1]["fit"]["shift"] == 2
    with pytest.raises(ValueError, match=r"--shift 2: give the same"):
        fit(
            [dataset],
            tmp_path / "run",
            dataclasses.replace(config, epochs=13),
            model_config=TINY_MODEL,
        )


def test_compared_steps_need_two_children_of_different_outcomes() -> None:
    """One explored child compares nothing; two children of one class (FIRE with a shot in
    flight beside NOOP) neither; two of different classes do."""
    shares = np.array(
        [
            [1, 0, 0, 0, 0, 0],
            [0.5, 0.5, 0, 0, 0, 0],
            [0.5, 0, 0.5, 0, 0, 0],
            [0, 0, 0, 0, 0.7, 0.3],
        ],
        dtype=np.float32,
    )
    classes = np.tile(ALIASED_CLASSES, (4, 1))
    assert compared_steps(shares, classes).tolist() == [False, False, True, True]
    assert compared_steps(shares, None).tolist() == [False, True, True, True]


def _half_compared(path: Path) -> Path:
    """A format v3 file where every other step is compared (visit shares on the shown action
    and one more) and shows its label, and the rest are one-hot on the *next* action: fitted
    whole, each picture has two labels; fitted on the compared steps, one."""
    write_dataset(path, episodes=8, steps=64, version=3)
    with h5py.File(path, "r+") as f:
        for group in f.values():
            shown = group["actions"][()]
            compared = np.arange(shown.size) % 2 == 0
            labels = np.where(compared, shown, (shown + 1) % 6)
            shares = np.zeros((shown.size, 6), dtype=np.float32)
            shares[np.arange(shown.size), labels] = np.where(compared, 0.8, 1.0)
            shares[np.flatnonzero(compared), (shown[compared] + 3) % 6] = 0.2
            del group["actions"]
            group["actions"] = labels
            group["visit_shares"] = shares
    return path


@pytest.mark.slow
def test_fit_on_compared_steps_only_learns_what_the_swarm_judged(tmp_path: Path) -> None:
    data_path = _half_compared(tmp_path / "half.h5")
    config = FitConfig(
        epochs=16, batch_size=16, learning_rate=3e-3, val_fraction=0.25, seed=1, target="visits"
    )
    loaded = load([data_path])
    compared = loaded.compared()
    assert compared.n_samples == loaded.n_samples // 2
    observations = np.moveaxis(compared.frames[compared.stacks], 1, -1)
    accuracy = {}
    for only in (False, True):
        run = tmp_path / f"run-{only}"
        fit([data_path], run, dataclasses.replace(config, compared_only=only), TINY_MODEL)
        chosen = load_best(run).forward(observations).argmax(-1)
        accuracy[only] = (chosen == compared.actions).mean()
        settings = json.loads((run / "run.json").read_text())
        assert settings["stages"][-1]["fit"]["compared_only"] is only
    assert accuracy[True] > 0.75 and accuracy[False] < accuracy[True] - 0.25  # 0.87, 0.43
    with pytest.raises(ValueError, match=r"--compared-only True: give the same"):
        fit([data_path], tmp_path / "run-True", dataclasses.replace(config, epochs=13), TINY_MODEL)


def test_compared_only_on_a_file_without_visit_shares_says_what_to_do(dataset: Path) -> None:
    with pytest.raises(DatasetError, match=r"has visit shares on two different outcomes"):
        load([dataset]).compared()


@pytest.mark.slow
def test_keep_last_plays_every_stage_s_last_epoch(dataset: Path, tmp_path: Path) -> None:
    """`--keep best` keeps the lowest validation loss and a new stage must beat its start;
    `--keep last` hands every epoch to best/, so a stage always reaches the policy."""
    config = FitConfig(epochs=6, batch_size=16, learning_rate=3e-3, val_fraction=0.34, seed=1)
    other = write_dataset(tmp_path / "other.h5", seed=5)
    for keep in ("best", "last"):
        run = tmp_path / keep
        first = fit([dataset], run, dataclasses.replace(config, keep=keep), TINY_MODEL)
        second = fit([other], run, dataclasses.replace(config, keep=keep), TINY_MODEL)
        kept = CheckpointStore(run, "best", keep=1)
        step = kept.latest_step()
        kept.close()
        losses = [m.val_loss for m in first + second]
        if keep == "last":
            assert step == 12
        else:  # the stage's lowest validation loss (each stage validates on its own episodes)
            stage = losses[:6] if step <= 6 else losses[6:]
            assert losses[step - 1] == min(stage)
