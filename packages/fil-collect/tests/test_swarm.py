from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fil_collect.collect import CollectConfig, collect_episode
from fil_collect.env import AtariEmulator, EnvConfig
from fil_collect.games import resolve_game
from fil_collect.swarm import Swarm, SwarmConfig, relativize, sample_dt


def test_relativize_is_positive_and_keeps_order() -> None:
    values = np.array([-5.0, 0.0, 1.0, 2.0, 100.0])
    out = relativize(values)
    assert (out > 0).all()
    assert (np.diff(out) > 0).all()
    # above the mean the log compresses outliers: 1 + ln(1 + z)
    z = (values - values.mean()) / values.std()
    assert out[-1] == pytest.approx(1 + np.log1p(z[-1]))
    assert out[0] == pytest.approx(np.exp(z[0]))


def test_relativize_of_a_constant_is_ones() -> None:
    assert (relativize(np.full(7, 3.0)) == 1.0).all()


def test_dt_is_a_truncated_gaussian_as_in_the_seed() -> None:
    dts = sample_dt(np.random.default_rng(0), SwarmConfig(), 200_000)
    assert dts.min() == 3
    assert dts.mean() == pytest.approx(4.06, abs=0.03)
    assert (dts == 3).mean() == pytest.approx(0.5, abs=0.02)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("n_walkers", 0, "--walkers"), ("max_epochs", -1, "--epochs"), ("max_dt", 2, "--max-dt")],
)
def test_nonsense_settings_are_refused(field: str, value: int, message: str) -> None:
    config = SwarmConfig(**{field: value})
    with pytest.raises(ValueError, match=message):
        config.validate()


def _run(config: SwarmConfig, seed: int, env: EnvConfig | None = None):
    env = env or EnvConfig(resolve_game("SpaceInvaders"))
    emulators = [AtariEmulator(env, seed=seed) for _ in range(config.n_walkers)]
    root = emulators[0].clone()
    scores: list[float] = []
    result = Swarm(emulators, config, np.random.default_rng(seed)).run(
        root, lambda epoch, score: scores.append(score)
    )
    return result, scores


def test_same_seed_same_branch_and_another_seed_another() -> None:
    config = SwarmConfig(n_walkers=4, max_epochs=25)
    first, _ = _run(config, seed=5)
    again, _ = _run(config, seed=5)
    other, _ = _run(config, seed=6)
    assert first.branch == again.branch and first.score == again.score
    assert first.branch != other.branch


def test_swarm_scores_and_reports_its_effort() -> None:
    result, scores = _run(SwarmConfig(n_walkers=8, max_epochs=60), seed=1)
    assert result.score > 0  # random play scores in SpaceInvaders within seconds; 60 epochs do
    assert result.score == sum(step.reward for step in result.branch)
    assert scores == sorted(scores)  # the best score never goes down (elitism and record)
    assert result.epochs == 60 and result.stop_reason == "epochs"
    assert result.emulator_frames >= 8 * 60 * 3 * 4


def test_history_memory_stays_flat_with_pruning() -> None:
    """Many epochs of 1-frame steps: the pruned tree holds about the branch, not walkers x epochs."""
    env = EnvConfig(resolve_game("SpaceInvaders"), frameskip=1)
    config = SwarmConfig(n_walkers=6, max_epochs=1500, min_dt=1, max_dt=1, loc_dt=1, scale_dt=0)
    pruned, _ = _run(config, seed=2, env=env)
    assert pruned.tree_size <= len(pruned.branch) + 60 * config.n_walkers
    kept, _ = _run(
        SwarmConfig(**{**config.__dict__, "prune_tree": False, "max_epochs": 200}), seed=2, env=env
    )
    assert kept.tree_size == 1 + config.n_walkers * 200


def test_frame_cap_stops_the_swarm() -> None:
    env = EnvConfig(resolve_game("SpaceInvaders"), max_episode_frames=400)
    result, _ = _run(SwarmConfig(n_walkers=4, max_epochs=1000), seed=0, env=env)
    assert result.stop_reason == "frame cap"
    assert result.ended
    assert sum(step.dt for step in result.branch) * 4 >= 400 - 4


def test_life_loss_as_death_runs_and_scores() -> None:
    result, _ = _run(SwarmConfig(n_walkers=6, max_epochs=40, life_loss_is_death=True), seed=4)
    assert result.score == sum(step.reward for step in result.branch)


@pytest.mark.slow
def test_root_votes_count_every_walker_and_the_decision_is_a_legal_first_move() -> None:
    config = SwarmConfig(n_walkers=8, max_epochs=12, life_loss_is_death=True)
    result, _ = _run(config, seed=2)
    again, _ = _run(config, seed=2)
    assert result.root_votes.shape == (6,)
    assert result.root_votes.sum() == config.n_walkers
    assert (result.root_votes == again.root_votes).all()
    decision = result.decision()
    assert result.root_votes[decision] == result.root_votes.max()
    # the best walker's branch starts with the action its root vote was counted under
    assert result.best_root == result.branch[0].action


def _game(name: str) -> EnvConfig:
    return EnvConfig(resolve_game(name))


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_a_game_that_only_costs_points_still_gets_a_demonstration(seed: int) -> None:
    # Skiing's clock costs points every step: a record that starts at 0 and wants >= 0 kept the
    # root, an empty branch with return 0
    result, _ = _run(SwarmConfig(n_walkers=8, max_epochs=60), seed=seed, env=_game("Skiing"))
    assert result.branch
    assert result.score < 0
    assert result.score == sum(step.reward for step in result.branch)


@pytest.mark.slow
def test_skiing_runs_the_whole_course_and_keeps_its_real_negative_score() -> None:
    swarm = SwarmConfig(n_walkers=4, max_epochs=5000, max_frames=None, elite_patience=0)
    record = collect_episode(CollectConfig(_game("Skiing"), swarm, seed=0), index=0)
    assert record.attrs["swarm_stop_reason"] == "all walkers dead"  # all crossed the finish
    assert record.attrs["terminated"]  # the replayed demonstration ends at the game's own end
    assert record.demo.episode_return < -1000  # the clock ran for the whole course
    assert record.demo.episode_return == record.attrs["swarm_score"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pong_plays_on_after_the_opponent_scores(seed: int) -> None:
    # with 4 walkers the old record (>= 0) stopped the branch just before the first lost point
    result, _ = _run(SwarmConfig(n_walkers=4, max_epochs=150), seed=seed, env=_game("Pong"))
    assert any(step.reward < 0 for step in result.branch)
    assert sum(step.dt for step in result.branch) > 300


@pytest.mark.slow
def test_a_swarm_wide_death_rewinds_on_a_game_with_lives() -> None:
    config = SwarmConfig(n_walkers=8, max_epochs=400, lives_scale=0.0)
    plain, _ = _run(dataclasses.replace(config, rewind_every=0), seed=0, env=_game("Breakout"))
    assert plain.stop_reason == "all walkers dead" and plain.rewinds == 0
    rewound, scores = _run(config, seed=0, env=_game("Breakout"))
    assert rewound.rewinds > 0
    assert rewound.epochs > plain.epochs
    assert scores == sorted(scores)  # the record survives every rewind
    assert rewound.score == sum(step.reward for step in rewound.branch)


@pytest.mark.slow
def test_budgets_in_frames_and_cpu_minutes_stop_the_swarm() -> None:
    result, _ = _run(SwarmConfig(n_walkers=4, max_frames=5_000), seed=0)
    assert result.stop_reason == "frames"
    assert 5_000 <= result.emulator_frames < 5_000 + 4 * 16 * 4 * 4  # at most one epoch over
    timed, _ = _run(SwarmConfig(n_walkers=4, max_frames=None, max_minutes=0.005), seed=0)
    assert timed.stop_reason == "minutes"
