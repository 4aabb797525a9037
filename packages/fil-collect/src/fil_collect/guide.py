"""A policy as the swarm's prior (expert iteration): walkers draw actions from a network.

The network is an ONNX policy as `fil-learn export` writes it (input `observations`, uint8
(N, 4, 84, 84) in Gymnasium's frame-stack layout; output `logits`, float32 (N, n_actions) in
the minimal action set's order; `game`, `frameskip` and `action_meanings` in its metadata), so
fil-collect needs only onnxruntime, never fil-learn. A walker draws from
p = (1 - epsilon) * softmax(logits / temperature) + epsilon / n_actions: temperature -> 0 and
epsilon = 0 play the policy itself; epsilon = 1 is plain FMC's uniform draw.

All walkers are evaluated in one batched call per epoch, on one intra-op thread: collection
already runs one swarm per core, and a single thread keeps the logits, hence the dataset,
identical for a seed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fil_collect.env import EnvConfig, minimal_actions
from fil_collect.games import name_key
from fil_collect.observation import OBS_SIZE

STACK = 4
"""Frames per observation, as Gymnasium's FrameStackObservation(..., 4) and fil-learn use."""


@dataclass(frozen=True)
class GuideConfig:
    """Which policy guides the walkers and how strongly; recorded in the dataset."""

    path: Path
    temperature: float = 1.0
    """Softmax temperature of the logits (lower: closer to the policy's own choice)."""
    epsilon: float = 0.25
    """Share of each draw that stays uniform, so the search can still correct the policy."""

    def validate(self) -> None:
        if not self.temperature > 0:
            raise ValueError(f"--policy-temperature must be > 0, got {self.temperature}")
        if not 0.0 <= self.epsilon <= 1.0:
            raise ValueError(f"--policy-epsilon must be in [0, 1], got {self.epsilon}")
        if not self.path.is_file():
            raise FileNotFoundError(
                f"{self.path} does not exist: give an ONNX policy from `fil-learn export`"
            )

    def settings(self) -> dict[str, object]:
        """What a dataset records of its guide: the exact network (sha256) and the mixing."""
        return {
            "policy_sha256": file_sha256(self.path),
            "policy_temperature": self.temperature,
            "policy_epsilon": self.epsilon,
        }


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class PolicyGuide:
    """An ONNX policy checked against the game it will guide; draws one action per walker."""

    def __init__(self, config: GuideConfig, game_rom: str, n_actions: int, frameskip: int) -> None:
        config.validate()
        try:
            import onnxruntime
        except ImportError:
            raise ValueError(
                "--policy needs onnxruntime: pip install 'fil-collect[guide]'"
            ) from None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        try:
            self.session = onnxruntime.InferenceSession(
                str(config.path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises its own types for any bad file
            raise ValueError(f"{config.path} is not an ONNX model: {error}") from None
        self.config = config
        self._check(game_rom, n_actions, frameskip)

    def _check(self, game_rom: str, n_actions: int, frameskip: int) -> None:
        """Refuse a policy for another game, action set or frameskip, naming what differs."""
        meta = self.session.get_modelmeta().custom_metadata_map
        name = self.config.path
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if [i.name for i in inputs] != ["observations"] or "logits" not in [
            o.name for o in outputs
        ]:
            raise ValueError(
                f"{name} is not a fil policy (input 'observations', output 'logits'): "
                "export one with `fil-learn export RUN --out policy.onnx`"
            )
        game = name_key(meta.get("game", ""))
        if game and game != name_key(game_rom):
            raise ValueError(f"{name} plays {meta['game']}, not {game_rom}")
        if "frameskip" in meta and int(meta["frameskip"]) != frameskip:
            raise ValueError(
                f"{name} was trained at frameskip {meta['frameskip']}, this swarm uses "
                f"{frameskip}: pass --frameskip {meta['frameskip']}"
            )
        meanings = json.loads(meta.get("action_meanings", "null"))
        if meanings is not None and len(meanings) != n_actions:
            raise ValueError(f"{name} has {len(meanings)} actions, the game has {n_actions}")

    def probabilities(self, stacks: np.ndarray) -> np.ndarray:
        """(N, 4, 84, 84) uint8 -> (N, n_actions): the tempered policy mixed with uniform.

        Walkers that cloned from one source share its stack: the network runs once per
        distinct stack."""
        first: dict[bytes, int] = {}
        rows = np.array([first.setdefault(s.tobytes(), i) for i, s in enumerate(stacks)])
        distinct, inverse = np.unique(rows, return_inverse=True)
        (logits,) = self.session.run(["logits"], {"observations": stacks[distinct]})
        logits = logits[inverse]
        scaled = logits.astype(np.float64) / self.config.temperature
        scaled -= scaled.max(axis=1, keepdims=True)
        policy = np.exp(scaled)
        policy /= policy.sum(axis=1, keepdims=True)
        eps = self.config.epsilon
        return (1.0 - eps) * policy + eps / policy.shape[1]

    def sample(self, rng: np.random.Generator, stacks: np.ndarray) -> np.ndarray:
        """One action per walker, by inverse CDF on one uniform draw each (seeded by `rng`)."""
        cdf = np.cumsum(self.probabilities(stacks), axis=1)
        draws = rng.random(stacks.shape[0])[:, None] * cdf[:, -1:]
        return np.minimum((draws >= cdf).sum(axis=1), cdf.shape[1] - 1)


def load_guide(config: GuideConfig, env: EnvConfig) -> PolicyGuide:
    """The guide, checked against the game, action set and frameskip `env` plays (the action
    set read from the cartridge, so a check before any work starts no emulator)."""
    n_actions = len(minimal_actions(env.game.rom))
    return PolicyGuide(config, env.game.rom, n_actions, env.frameskip)


def stack_rows(step: int) -> np.ndarray:
    """Rows of an episode's observations that make the policy's view before `step`: frames
    step-3..step, the first one repeated before the episode starts (as fil-learn stacks)."""
    return np.maximum(np.arange(step - STACK + 1, step + 1), 0)


def empty_stacks(n: int) -> np.ndarray:
    return np.zeros((n, STACK, OBS_SIZE, OBS_SIZE), dtype=np.uint8)
