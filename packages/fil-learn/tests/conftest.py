"""Small but real fil datasets, written with h5py following datasets/README.md.

The frames are synthetic so that what the model must learn is known: each frame shows the
action taken at that step as the brightness of a block, so a policy that learned anything
predicts the demonstrated action almost always.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

MEANINGS = ["NOOP", "FIRE", "RIGHT", "LEFT", "RIGHTFIRE", "LEFTFIRE"]
TINY_MODEL = {"channels": (8, 8, 8), "hidden": 32}
ALIASED_CLASSES = np.array([0, 0, 1, 2, 1, 2], dtype=np.int8)
CLASS_MEMBERS = np.array([[0, 1], [2, 4], [3, 5]])


def write_dataset(
    path: Path,
    game: str = "SpaceInvaders",
    episodes: int = 6,
    steps: int = 48,
    version: int = 1,
    seed: int = 0,
    frameskip: int = 4,
    aliased: bool = False,
) -> Path:
    """With `aliased` (format v4), every step has SpaceInvaders' usual classes of equivalent
    actions, {NOOP, FIRE}, {RIGHT, RIGHTFIRE}, {LEFT, LEFTFIRE} (`ALIASED_CLASSES`): the frame
    shows the class and the action is a coin flip within it, as a swarm's draw would be."""
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as f:
        f.attrs.update(
            {
                "format": "fil-dataset",
                "format_version": version,
                "game": game,
                "env_id": f"ALE/{game}-v5",
                "n_actions": len(MEANINGS),
                "frameskip": frameskip,
                "action_meanings": np.array(MEANINGS, dtype=h5py.string_dtype()),
                "obs_shape": [84, 84],
                "config_json": "{}",
            }
        )
        for e in range(episodes):
            actions = rng.integers(len(MEANINGS), size=steps)
            shown = actions
            if aliased:
                shown = rng.integers(3, size=steps)
                actions = CLASS_MEMBERS[shown, rng.integers(2, size=steps)]
            obs = rng.integers(0, 30, size=(steps + 1, 84, 84), dtype=np.uint8)
            obs[:steps, 30:54, 30:54] = (shown * 40 + 40).astype(np.uint8)[:, None, None]
            g = f.create_group(f"episode_{e}")
            g.create_dataset(
                "observations",
                data=obs,
                chunks=(16, 84, 84),
                maxshape=(None, 84, 84),
                compression="gzip",
            )
            g["actions"] = actions.astype(np.int64)
            g["rewards"] = np.zeros(steps)
            g["terminations"] = np.zeros(steps, dtype=bool)
            g["truncations"] = np.eye(1, steps, steps - 1, dtype=bool)[0]
            if aliased:
                g["action_classes"] = np.tile(ALIASED_CLASSES, (steps, 1))
            g.attrs["episode_return"] = float(e)
            g.attrs["length"] = steps
    return path


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "ds.h5")
