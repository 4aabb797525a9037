"""What a policy must beat, measured under the same protocol: each constant action, and random.

A policy that learned nothing about the screen can still score by holding one button (on
SpaceInvaders v5, holding FIRE scores 285 every episode), so "beats random" is not enough:
`fil-learn baselines` plays every action of the game's minimal set for a few episodes and
uniformly random actions, through the same `evaluate` as a trained policy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from fil_learn.evaluate import EvalConfig, evaluate, make_env
from fil_learn.games import game_key


def resolve_env_id(game: str) -> str:
    """The Gymnasium id of a game as users type it (`space_invaders` -> `ALE/SpaceInvaders-v5`)."""
    try:
        import ale_py
        import gymnasium as gym
    except ImportError:
        raise ValueError("baselines need the emulator: pip install 'fil-learn[eval]'") from None
    gym.register_envs(ale_py)
    key = game_key(game)
    for env_id in gym.registry:
        if env_id.startswith("ALE/") and env_id.endswith("-v5") and game_key(env_id) == key:
            return env_id
    raise ValueError(f"unknown game {game!r}: give an ALE game name such as SpaceInvaders")


def action_meanings(env_id: str) -> list[str]:
    """The minimal action set's names, in the order the environment (and a policy) uses."""
    env = make_env(env_id, "v5")
    try:
        return list(env.unwrapped.get_action_meanings())
    finally:
        env.close()


def constant_policy(action: int, n_actions: int) -> Callable[[np.ndarray], np.ndarray]:
    """Logits that always choose `action`, in the shape `evaluate` expects."""
    row = np.eye(n_actions, dtype=np.float32)[action]
    return lambda observations: np.tile(row, (observations.shape[0], 1))


def measure(
    game: str,
    config: EvalConfig,
    on_episode: Callable[[str, int, float, int], None] = lambda name, i, r, n: None,
) -> dict[str, Any]:
    """Play each constant action and random actions, `config.episodes` each (the same reset
    seeds for all); returns their summaries and the best constant action."""
    config.validate()
    env_id = resolve_env_id(game)
    meanings = action_meanings(env_id)
    name = env_id[4:-3]
    results: dict[str, Any] = {}
    for action, meaning in enumerate(meanings):
        report = evaluate(
            constant_policy(action, len(meanings)),
            env_id,
            name,
            config,
            on_episode=lambda i, r, n, m=meaning: on_episode(m, i, r, n),
        )
        results[meaning] = report.summary()
    randomly = dataclasses.replace(config, epsilon=1.0)
    random_report = evaluate(
        constant_policy(0, len(meanings)),
        env_id,
        name,
        randomly,
        on_episode=lambda i, r, n: on_episode("random", i, r, n),
    )
    best = max(meanings, key=lambda m: results[m]["mean"])
    return {
        "game": name,
        "env_id": env_id,
        "protocol": config.protocol,
        "episodes": config.episodes,
        "seed": config.seed,
        "max_steps": config.max_steps,
        "constant": results,
        "random": random_report.summary(),
        "best_constant_action": best,
        "best_constant_mean": results[best]["mean"],
    }
