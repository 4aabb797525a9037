"""A stranger's reader: open a dataset with h5py and numpy alone, following datasets/README.md.

The collector runs as a user would run it (its console script in a subprocess); nothing from
fil_collect is imported here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np


def _collect(path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from fil_collect.cli import main; main()",
            "--game",
            "ALE/SpaceInvaders-v5",
            "--out",
            str(path),
            "--episodes",
            "2",
            "--walkers",
            "4",
            "--epochs",
            "10",
            "--seed",
            "0",
            "--workers",
            "1",
            "--quiet",
        ],
        check=True,
    )


def stack(observations: np.ndarray, t: int, k: int = 4) -> np.ndarray:
    """Frames t-k+1..t, repeating row 0 before the start (FrameStackObservation, padding 'reset')."""
    rows = [max(i, 0) for i in range(t - k + 1, t + 1)]
    return observations[rows]


def test_read_with_h5py_alone(tmp_path: Path) -> None:
    path = tmp_path / "ds.h5"
    _collect(path)
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "fil-dataset" and f.attrs["format_version"] == 5
        names = sorted(
            (k for k in f if k.startswith("episode_")), key=lambda k: int(k.split("_")[1])
        )
        assert names == ["episode_0", "episode_1"]
        n_actions = int(f.attrs["n_actions"])
        assert len(f.attrs["action_meanings"]) == len(f.attrs["ale_actions"]) == n_actions
        assert tuple(f.attrs["obs_shape"]) == (84, 84) and f.attrs["frameskip"] == 4
        settings = json.loads(f.attrs["config_json"])
        assert settings["swarm.n_walkers"] == 4 and settings["repeat_action_probability"] == 0.0
        total = 0
        for name in names:
            ep = f[name]
            obs, actions, rewards = ep["observations"][:], ep["actions"][:], ep["rewards"][:]
            terminations, truncations = ep["terminations"][:], ep["truncations"][:]
            steps = len(actions)
            total += steps
            assert obs.shape == (steps + 1, 84, 84) and obs.dtype == np.uint8
            assert actions.min() >= 0 and actions.max() < n_actions
            assert terminations[-1] or truncations[-1]  # Minari: every episode ends somehow
            assert not (terminations[:-1] | truncations[:-1]).any()
            assert ep.attrs["episode_return"] == rewards.sum() and ep.attrs["length"] == steps
            shares = ep["visit_shares"][:]  # version 3: the swarm's soft targets
            assert shares.shape == (steps, n_actions) and np.allclose(shares.sum(axis=1), 1.0)
            assert (shares[np.arange(steps), actions] > 0).all()  # the played action is counted
            counts = ep["visit_counts"][:]  # version 5: the walkers behind the shares
            assert np.allclose(shares, counts / counts.sum(axis=1, keepdims=True))
            values = ep["action_values"][:]  # version 5: each action's value, NaN if untried
            assert values.shape == (steps, n_actions) and values.dtype == np.float32
            assert (np.isnan(values) == (counts == 0)).all()
            classes = ep["action_classes"][:]  # version 4: equivalent actions per step
            assert classes.shape == (steps, n_actions) and classes.dtype == np.int8
            assert (classes[:, 0] == 0).all()  # numbered in order of first appearance
            assert (classes.max(axis=1) < n_actions).all()
            first = stack(obs, 0)
            assert (first == obs[0]).all() and stack(obs, steps).shape == (4, 84, 84)
        assert f.attrs["total_steps"] == total


def test_checksums_recomputed_from_the_spec(tmp_path: Path) -> None:
    """The sha256 recipe of datasets/README.md, written out by a stranger, matches the file."""
    import hashlib

    path = Path(__file__).parents[1] / "datasets" / "samples" / "space_invaders-tiny.h5"

    def episode_sha256(group: h5py.Group) -> str:
        arrays: dict[str, np.ndarray] = {}
        group.visititems(
            lambda name, item: (
                arrays.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset) else None
            )
        )
        digest = hashlib.sha256()
        for name in sorted(arrays):
            data = np.ascontiguousarray(arrays[name])
            digest.update(f"{name}|{data.dtype.str}|{data.shape}\n".encode())
            digest.update(data.tobytes())
        return digest.hexdigest()

    with h5py.File(path, "r") as f:
        names = sorted(
            (k for k in f if k.startswith("episode_")), key=lambda k: int(k.split("_")[1])
        )
        sums = [episode_sha256(f[name]) for name in names]
        assert sums == [f[name].attrs["sha256"] for name in names]
        assert hashlib.sha256("".join(sums).encode()).hexdigest() == f.attrs["sha256"]


def test_action_classes_re_simulated_in_gymnasium(tmp_path: Path) -> None:
    """`action_classes` as the spec defines them, recomputed through Gymnasium's own emulator:
    actions share a class exactly when `frameskip` frames of each end in the same state."""
    import ale_py
    import gymnasium as gym

    path = tmp_path / "ds.h5"
    _collect(path)
    gym.register_envs(ale_py)
    with h5py.File(path, "r") as f:
        ale_actions = [ale_py.Action(int(a)) for a in f.attrs["ale_actions"]]
        frameskip = int(f.attrs["frameskip"])
        episode = f["episode_0"]
        env = gym.make(str(f.attrs["env_id"]), frameskip=1, repeat_action_probability=0.0)
        env.reset(seed=int(episode.attrs["seed"]))
        ale = env.unwrapped.ale
        ale.restoreState(ale_py.ALEState(episode["start_state"][()].tobytes()))
        stored = episode["action_classes"][:]
        sizes = []
        for t, played in enumerate(episode["actions"][:]):
            start = ale.cloneState()
            outcomes: dict[bytes, int] = {}
            for a, action in enumerate(ale_actions):
                ale.restoreState(start)
                for _ in range(frameskip):
                    ale.act(action)
                number = outcomes.setdefault(bytes(ale.cloneState().serialize()), len(outcomes))
                assert stored[t, a] == number, f"step {t}, action {a}"
            sizes.append(len(outcomes))
            ale.restoreState(start)
            for _ in range(frameskip):
                ale.act(ale_actions[int(played)])
        env.close()
    # SpaceInvaders has both: steps where FIRE changes nothing (a shot in flight), and steps
    # where all six actions differ
    assert min(sizes) < len(ale_actions) and max(sizes) == len(ale_actions)


def _spec_block(heading: str) -> str:
    """The first ```python block under `heading` in datasets/README.md."""
    spec = (Path(__file__).parents[1] / "datasets" / "README.md").read_text()
    section = spec[spec.index(heading) :]
    start = section.index("```python\n") + len("```python\n")
    return section[start : section.index("```", start)]


def test_h5py_snippet_of_the_spec_reads_the_sample(tmp_path: Path) -> None:
    """The spec's 'Reading with h5py alone' block, run as written on the sample dataset (the
    current version) and on a copy marked version 1 (the oldest): a stranger's reader must
    open files of every version so far."""
    import shutil

    sample = Path(__file__).parents[1] / "datasets" / "samples" / "space_invaders-tiny.h5"
    code = _spec_block("## Reading with h5py alone")
    assert '"ds.h5"' in code
    old = tmp_path / "old.h5"
    shutil.copyfile(sample, old)
    with h5py.File(old, "r+") as f:
        f.attrs["format_version"] = 1
        for name in [k for k in f if k.startswith("episode_")]:
            for key in ("visit_shares", "action_classes", "visit_counts", "action_values"):
                del f[name][key]
    for path, extras in ((sample, "visit shares classes values"), (old, "")):
        script = tmp_path / "reader.py"
        script.write_text(code.replace('"ds.h5"', repr(str(path))))
        result = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, check=True
        )
        lines = result.stdout.splitlines()
        with h5py.File(path, "r") as f:
            episodes = [k for k in f if k.startswith("episode_")]
            assert len(lines) == len(episodes) == 3
            for line, name in zip(lines, sorted(episodes), strict=True):
                assert line.startswith(f"{name} {f[name].attrs['episode_return']}")
                assert line.split("labelled steps")[1].strip() == extras
