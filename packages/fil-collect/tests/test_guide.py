"""The policy-guided swarm: walker frame stacks, batched onnxruntime draws, CLI and dataset."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from fil_collect.cli import app
from fil_collect.collect import CollectConfig, collect_episode
from fil_collect.env import AtariEmulator
from fil_collect.guide import GuideConfig, PolicyGuide, empty_stacks
from fil_collect.observation import WalkerScreens, reset_stack

runner = CliRunner()


def test_walker_stacks_are_the_datasets_observations(tiny_config: CollectConfig) -> None:
    record = collect_episode(tiny_config, index=0)
    obs, actions = record.demo.observations, record.demo.actions
    emulator = AtariEmulator(tiny_config.env, record.attrs["seed"])
    stack = empty_stacks(1)[0]
    reset_stack(emulator, stack)
    screens = WalkerScreens(1, tiny_config.env.frameskip, stack.shape[0])
    runs = np.flatnonzero(np.diff(actions)) + 1  # runs of one action, many longer than 4
    t = 0
    for run in np.split(actions, runs):
        screens.run(0, emulator, int(run[0]), len(run))
        screens.finish(stack[None])
        t += len(run)
        expected = obs[[max(0, s) for s in range(t - 3, t + 1)]]
        assert np.array_equal(stack, expected), f"stack after step {t} differs"
    assert max(len(r) for r in np.split(actions, runs)) > 4  # the fast path was exercised


def test_an_insistent_policy_steers_every_walker(
    tiny_config: CollectConfig, tmp_path: Path, insistent_policy
) -> None:
    guide = GuideConfig(insistent_policy(tmp_path / "p.onnx", action=2), epsilon=0.0)
    record = collect_episode(dataclasses.replace(tiny_config, guide=guide), index=0)
    assert set(record.demo.actions.tolist()) == {2}


@pytest.mark.slow
def test_guided_collection_is_deterministic_and_differs_from_uniform(
    tiny_config: CollectConfig, tmp_path: Path, sighted_policy
) -> None:
    guided = dataclasses.replace(
        tiny_config, guide=GuideConfig(sighted_policy(tmp_path / "p.onnx"))
    )
    first = collect_episode(guided, index=1)
    again = collect_episode(guided, index=1)
    plain = collect_episode(tiny_config, index=1)
    assert np.array_equal(first.demo.actions, again.demo.actions)
    assert np.array_equal(first.demo.observations, again.demo.observations)
    assert not np.array_equal(first.demo.actions, plain.demo.actions[: first.demo.length])


def test_probabilities_mix_the_tempered_policy_with_uniform(
    tmp_path: Path, insistent_policy
) -> None:
    path = insistent_policy(tmp_path / "p.onnx", action=4)
    guide = PolicyGuide(GuideConfig(path, temperature=1.0, epsilon=0.3), "space_invaders", 6, 4)
    p = guide.probabilities(empty_stacks(3))
    assert p.shape == (3, 6) and np.allclose(p.sum(axis=1), 1.0)
    assert p[0, 4] == pytest.approx(0.7 + 0.3 / 6)
    assert p[0, 0] == pytest.approx(0.3 / 6)
    actions = guide.sample(np.random.default_rng(0), empty_stacks(2000))
    assert abs((actions == 4).mean() - (0.7 + 0.05)) < 0.04


def test_cli_collects_with_a_policy_and_records_it(tmp_path: Path, sighted_policy) -> None:
    policy = sighted_policy(tmp_path / "p.onnx")
    out = tmp_path / "ds.h5"
    args = ["--game", "SpaceInvaders", "--walkers", "4", "--epochs", "10", "--seed", "1"]
    result = runner.invoke(
        app, [*args, "--out", str(out), "-n", "1", "--workers", "1", "--quiet", "--policy",
              str(policy), "--policy-epsilon", "0.5", "--policy-temperature", "2"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with h5py.File(out) as handle:
        settings = json.loads(handle.attrs["config_json"])
    assert settings["policy_epsilon"] == 0.5 and settings["policy_temperature"] == 2.0
    assert len(settings["policy_sha256"]) == 64
    verified = runner.invoke(app, ["verify", str(out)])
    assert verified.exit_code == 0, verified.output


@pytest.mark.parametrize(
    ("make", "message"),
    [
        ({"game": "Pong"}, "plays Pong, not space_invaders"),
        ({"frameskip": 2}, "pass --frameskip 2"),
        ("garbage", "is not an ONNX model"),
        ("missing", "does not exist"),
    ],
)
def test_a_wrong_policy_is_one_line_and_writes_nothing(
    tmp_path: Path, sighted_policy, make: dict | str, message: str
) -> None:
    policy = tmp_path / "p.onnx"
    if make == "garbage":
        policy.write_bytes(b"not a network")
    elif isinstance(make, dict):
        sighted_policy(policy, **make)
    out = tmp_path / "ds.h5"
    result = runner.invoke(
        app, ["--game", "SpaceInvaders", "--out", str(out), "--epochs", "2", "--quiet",
              "--policy", str(policy)],
    )  # fmt: skip
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()
