"""The stored frames must be what Gymnasium's own Atari pipeline shows a policy, bit for bit."""

from __future__ import annotations

import ale_py
import gymnasium as gym
import numpy as np
import pytest
from gymnasium.wrappers import AtariPreprocessing

from fil_collect.collect import CollectConfig, collect_episode
from fil_collect.env import AtariEmulator
from fil_collect.replay import ReplayMismatchError, check_return, expand, replay
from fil_collect.tree import Step


def test_expand_repeats_each_action_dt_times() -> None:
    branch = [Step(2, 3, 0.0), Step(0, 1, 5.0), Step(4, 2, 0.0)]
    assert expand(branch).tolist() == [2, 2, 2, 0, 4, 4]


def test_episode_matches_gymnasium_atari_preprocessing(tiny_config: CollectConfig) -> None:
    record = collect_episode(tiny_config, index=0)
    demo = record.demo
    assert demo.length > 0 and demo.episode_return == record.attrs["swarm_score"]
    gym.register_envs(ale_py)
    env = AtariPreprocessing(
        gym.make(tiny_config.env.game.env_id, frameskip=1, repeat_action_probability=0.0),
        noop_max=0,
    )
    observation, _ = env.reset(seed=record.attrs["seed"])
    assert np.array_equal(observation, demo.observations[0])
    assert env.unwrapped.ale.cloneState().equals(ale_py.ALEState(record.start_state))
    for t, action in enumerate(demo.actions):
        observation, reward, terminated, _, _ = env.step(int(action))
        assert np.array_equal(observation, demo.observations[t + 1]), f"frame {t + 1} differs"
        assert reward == demo.rewards[t]
        assert terminated == demo.terminations[t]
    env.close()


def test_raw_frames_are_full_rgb_screens(tiny_config: CollectConfig) -> None:
    config = CollectConfig(tiny_config.env, tiny_config.swarm, raw_frames=True, seed=1)
    demo = collect_episode(config, index=0).demo
    assert demo.raw_observations is not None
    assert demo.raw_observations.shape == (demo.length + 1, 210, 160, 3)
    assert demo.raw_observations.std() > 0


def test_a_wrong_score_is_an_error(tiny_config: CollectConfig) -> None:
    emulator = AtariEmulator(tiny_config.env, seed=0)
    demo = replay(emulator, emulator.clone(), np.array([1, 1, 1]))
    with pytest.raises(ReplayMismatchError, match="differs from the swarm's score"):
        check_return(demo, demo.episode_return + 5)


def test_replay_refuses_a_foreign_start_state(tiny_config: CollectConfig) -> None:
    emulator = AtariEmulator(tiny_config.env, seed=0)
    other = AtariEmulator(tiny_config.env, seed=0)
    other.run(1, 10)
    with pytest.raises(ReplayMismatchError, match="root state"):
        replay(emulator, other.clone(), np.array([1]))


def test_an_episode_cut_by_the_budget_ends_in_a_truncation(tiny_config: CollectConfig) -> None:
    demo = collect_episode(tiny_config, index=1).demo
    assert demo.truncations[-1] and not demo.terminations.any()
    assert not demo.truncations[:-1].any()
