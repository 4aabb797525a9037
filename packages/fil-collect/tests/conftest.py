"""Tiny real configurations: real ALE emulation, a few walkers, a few epochs; and real ONNX
policies for the guide's tests, written with onnx.helper in fil-learn's exported layout (input
`observations` uint8 (N, 4, 84, 84), output `logits` float32 (N, n_actions)).

The policies are small networks, not stand-ins: onnxruntime runs them exactly as it runs an
exported CNN. `logits = mean brightness of each stacked frame @ weights + bias`, so a policy can
depend on what each walker sees (random weights) or insist on one action (a large bias).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from fil_collect.collect import CollectConfig
from fil_collect.env import EnvConfig
from fil_collect.games import resolve_game
from fil_collect.swarm import SwarmConfig

GAME = "SpaceInvaders"


@pytest.fixture
def tiny_config() -> CollectConfig:
    return CollectConfig(
        env=EnvConfig(resolve_game(GAME)),
        swarm=SwarmConfig(n_walkers=4, max_epochs=15),
        seed=3,
    )


TINY_CLI = ["--game", GAME, "--walkers", "4", "--epochs", "15", "--seed", "3", "--quiet"]


def write_policy(
    path: Path,
    weights: np.ndarray,
    bias: np.ndarray,
    game: str = "SpaceInvaders",
    frameskip: int = 4,
) -> Path:
    """weights: (4, n_actions), bias: (n_actions,)."""
    n_actions = bias.shape[0]
    nodes = [
        helper.make_node("Cast", ["observations"], ["x"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["x", "axes"], ["brightness"], keepdims=0),
        helper.make_node("Gemm", ["brightness", "weights", "bias"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "test-policy",
        [helper.make_tensor_value_info("observations", TensorProto.UINT8, ["N", 4, 84, 84])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", n_actions])],
        initializer=[
            numpy_helper.from_array(np.array([2, 3], dtype=np.int64), "axes"),
            numpy_helper.from_array(weights.astype(np.float32), "weights"),
            numpy_helper.from_array(bias.astype(np.float32), "bias"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    meanings = ["NOOP", "FIRE", "RIGHT", "LEFT", "RIGHTFIRE", "LEFTFIRE"][:n_actions]
    for key, value in {
        "game": game,
        "frameskip": str(frameskip),
        "action_meanings": json.dumps(meanings),
    }.items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def _sighted_policy(path: Path, seed: int = 0, **meta: object) -> Path:
    """A policy whose choice depends on the stacked frames."""
    rng = np.random.default_rng(seed)
    return write_policy(path, rng.normal(0, 0.5, (4, 6)), np.zeros(6), **meta)  # type: ignore[arg-type]


def _insistent_policy(path: Path, action: int) -> Path:
    """A policy that all but always presses `action`."""
    bias = np.zeros(6)
    bias[action] = 50.0
    return write_policy(path, np.zeros((4, 6)), bias)


@pytest.fixture
def sighted_policy() -> Callable[..., Path]:
    return _sighted_policy


@pytest.fixture
def insistent_policy() -> Callable[..., Path]:
    return _insistent_policy
