"""Relabelling a learner's visited states with short swarms (DAgger), from a `fil-visited` file
written here with h5py alone, as `datasets/README.md` specifies it."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from fil_collect.cli import app
from fil_collect.collect import CollectConfig, Collection
from fil_collect.dataset import Compression
from fil_collect.env import AtariEmulator, EnvConfig
from fil_collect.format import NO_LABEL, DatasetError
from fil_collect.games import resolve_game
from fil_collect.relabel import RelabelConfig, Relabelling, _value_label, chosen_steps
from fil_collect.swarm import SwarmConfig

STEPS = 24


def write_visited(path: Path, episodes: int = 2, state_every: int = 2) -> Path:
    """What `fil-learn eval --save-states` writes: a random player's steps and states."""
    env = EnvConfig(resolve_game("SpaceInvaders"))
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as f:
        f.attrs.update(
            {
                "format": "fil-visited",
                "format_version": 1,
                "game": "SpaceInvaders",
                "env_id": "ALE/SpaceInvaders-v5",
                "protocol": "v5",
                "policy": "random",
            }
        )
        for e in range(episodes):
            emulator = AtariEmulator(env, seed=e)
            actions = rng.integers(emulator.n_actions, size=STEPS)
            states, rewards, lives = [], [], [emulator.lives()]
            for t, action in enumerate(actions):
                if t % state_every == 0:
                    states.append(np.frombuffer(emulator.clone().serialize(), dtype=np.uint8))
                rewards.append(emulator.run(int(action), 1)[0])
                lives.append(emulator.lives())
            g = f.create_group(f"episode_{e}")
            g["observations"] = rng.integers(0, 255, size=(STEPS + 1, 84, 84), dtype=np.uint8)
            g["actions"] = actions
            g["rewards"] = np.asarray(rewards)
            g["terminations"] = np.zeros(STEPS, dtype=bool)
            g["truncations"] = np.eye(1, STEPS, STEPS - 1, dtype=bool)[0]
            g["infos/lives"] = np.asarray(lives, dtype=np.int32)
            g["state_steps"] = np.arange(0, STEPS, state_every)
            g["states"] = np.stack(states)
            g.attrs.update({"index": e, "seed": e, "length": STEPS})
    return path


TINY = RelabelConfig(swarm=SwarmConfig(n_walkers=4, max_epochs=3, max_dt=4), every=2)


def _relabel(visited: Path, out: Path, config: RelabelConfig = TINY, workers: int = 1) -> None:
    Relabelling(visited, out, config, workers, Compression()).run()


def test_labels_the_chosen_states_and_keeps_what_the_learner_saw(tmp_path: Path) -> None:
    visited = write_visited(tmp_path / "visited.h5")
    out = tmp_path / "relabel.h5"
    _relabel(visited, out)
    with h5py.File(visited) as v, h5py.File(out) as f:
        assert f.attrs["format_version"] == 2 and f.attrs["total_episodes"] == 2
        for e in range(2):
            g, seen = f[f"episode_{e}"], v[f"episode_{e}"]
            labels = g["actions"][()]
            labelled = np.flatnonzero(labels != NO_LABEL)
            # state every 2 steps, label every 2nd of those: steps 0, 4, 8, ...
            assert labelled.tolist() == list(range(0, STEPS, 4))
            assert (labels[labelled] < 6).all()
            votes = g["label_votes"][()]
            assert (votes[labelled].sum(axis=1) == 4).all()
            assert (votes[labels == NO_LABEL] == 0).all()
            assert (g["observations"][()] == seen["observations"][()]).all()
            assert (g["behaviour_actions"][()] == seen["actions"][()]).all()
            assert g.attrs["labels"] == labelled.size
            assert g.attrs["label_emulator_frames"] > 0
            assert g.attrs["source"] == "relabel"


@pytest.mark.slow
def test_same_seed_same_labels_with_any_number_of_workers(tmp_path: Path) -> None:
    visited = write_visited(tmp_path / "visited.h5")
    _relabel(visited, tmp_path / "one.h5", workers=1)
    _relabel(visited, tmp_path / "two.h5", workers=2)
    with h5py.File(tmp_path / "one.h5") as a, h5py.File(tmp_path / "two.h5") as b:
        for e in range(2):
            assert a[f"episode_{e}"].attrs["sha256"] == b[f"episode_{e}"].attrs["sha256"]


def test_a_continued_run_labels_only_the_missing_episodes(tmp_path: Path) -> None:
    visited = write_visited(tmp_path / "visited.h5", episodes=2)
    out = tmp_path / "relabel.h5"
    _relabel(visited, out)
    again = Relabelling(visited, out, TINY, 1, Compression())
    assert again.indices == []


def test_max_labels_thins_evenly() -> None:
    steps = chosen_steps(np.arange(0, 100, 2), RelabelConfig(max_labels=5))
    assert steps.tolist() == [0, 24, 48, 74, 98]


def test_a_fil_dataset_is_not_a_visited_file(tiny_config: CollectConfig, tmp_path: Path) -> None:
    dataset = tmp_path / "ds.h5"
    Collection(tiny_config, dataset, 1, 1, Compression()).run()
    with pytest.raises(DatasetError, match=r"not a visited-states file.*eval"):
        _relabel(dataset, tmp_path / "out.h5")


def test_cli_relabels_and_reports_the_cost_per_label(tmp_path: Path) -> None:
    visited = write_visited(tmp_path / "visited.h5", episodes=1)
    out = tmp_path / "relabel.h5"
    args = ["relabel", str(visited), "--out", str(out), "--walkers", "4", "--epochs", "2"]
    result = CliRunner().invoke(app, [*args, "--max-labels", "3", "--workers", "1", "-q"])
    assert result.exit_code == 0, result.output
    assert "3 labels" in result.output and "emulator frames" in result.output
    missing = CliRunner().invoke(app, ["relabel", str(tmp_path / "nope.h5"), "--out", str(out)])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_verify_refuses_relabelled_files_and_info_checks_them(tmp_path: Path) -> None:
    out = tmp_path / "relabel.h5"
    _relabel(write_visited(tmp_path / "visited.h5", episodes=1), out)
    verify = CliRunner().invoke(app, ["verify", str(out)])
    assert verify.exit_code == 2 and "cannot be re-simulated" in verify.output
    info = CliRunner().invoke(app, ["info", str(out)])
    assert info.exit_code == 0 and "ok (sha256" in info.output


def test_value_rule_ranks_first_moves_by_lives_then_score(tmp_path: Path) -> None:
    out = tmp_path / "value.h5"
    config = RelabelConfig(
        swarm=SwarmConfig(n_walkers=2, max_epochs=3, max_dt=4), every=3, rule="value"
    )
    _relabel(write_visited(tmp_path / "visited.h5", episodes=1), out, config)
    with h5py.File(out) as f:
        g = f["episode_0"]
        labels, learner = g["actions"][()], g["behaviour_actions"][()]
        scores, lives = g["label_scores"][()], g["label_lives"][()]
        assert "label_votes" not in g
        assert g.attrs["labels"] == 4
        examined = np.flatnonzero(g["label_examined"][()])
        assert examined.size == 4
        assert set(np.flatnonzero(labels != NO_LABEL)) <= set(examined)
        for t in examined:
            best = np.flatnonzero(lives[t] == lives[t].max())
            best = best[scores[t][best] == scores[t][best].max()]
            if best.size == scores.shape[1]:
                assert labels[t] == NO_LABEL  # the search saw no difference
                continue
            assert labels[t] in best
            if learner[t] in best:
                assert labels[t] == learner[t]  # equally good moves keep the learner's choice


def test_value_label_leaves_full_ties_unlabelled_and_breaks_other_ties_at_random() -> None:
    rng = np.random.default_rng(0)
    lives = np.zeros(4, dtype=np.int32)
    assert _value_label(np.zeros(4), lives, 2, rng) == NO_LABEL
    assert _value_label(np.array([0.0, 5, 5, 1]), lives, 2, rng) == 2
    # lives first: the 9 lost a life
    assert _value_label(np.array([0.0, 5, 9, 9]), np.array([1, 1, 0, 0]), 0, rng) == 1
    picks = {_value_label(np.array([5.0, 5, 5, 1]), lives, 3, rng) for _ in range(64)}
    assert picks == {0, 1, 2}  # not always NOOP, the lowest index


def test_guided_label_swarms_draw_from_the_policy_and_record_it(
    tmp_path: Path, insistent_policy, sighted_policy
) -> None:
    """`relabel --policy`: every label swarm's walkers draw from the policy (one that always
    presses RIGHT makes every label RIGHT), the file records which policy, and a policy for
    another game is one line before any work."""
    import dataclasses
    import json

    from fil_collect.guide import GuideConfig

    visited = write_visited(tmp_path / "visited.h5", episodes=1)
    policy = insistent_policy(tmp_path / "right.onnx", action=2)
    guided = dataclasses.replace(
        TINY, rule="best", guide=GuideConfig(policy, temperature=1.0, epsilon=0.0)
    )
    _relabel(visited, tmp_path / "guided.h5", guided)
    _relabel(visited, tmp_path / "plain.h5", dataclasses.replace(TINY, rule="best"))
    with h5py.File(tmp_path / "guided.h5") as g, h5py.File(tmp_path / "plain.h5") as p:
        labels = g["episode_0/actions"][:]
        assert set(labels[labels != NO_LABEL].tolist()) == {2}
        plain = p["episode_0/actions"][:]
        assert len(set(plain[plain != NO_LABEL].tolist())) > 1
        settings = json.loads(g.attrs["config_json"])
        assert settings["policy_epsilon"] == 0.0 and len(settings["policy_sha256"]) == 64
    other = sighted_policy(tmp_path / "pong.onnx", game="Pong")
    out = tmp_path / "other.h5"
    result = CliRunner().invoke(
        app, ["relabel", str(visited), "--out", str(out), "--walkers", "4", "--epochs", "2",
              "--policy", str(other), "--quiet"],
    )  # fmt: skip
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert not out.exists()
