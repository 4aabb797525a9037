"""Tiny real configurations: real ALE emulation, a few walkers, a few epochs."""

from __future__ import annotations

import pytest

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
