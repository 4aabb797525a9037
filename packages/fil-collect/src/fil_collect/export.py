"""Export a fil dataset as a Minari dataset, through Minari's own API, without losing a bit.

Minari stores Atari frames as JPEG by default; the export turns that off, so the frames Minari
serves are the stored uint8 frames exactly. The environment spec is Gymnasium's
`AtariPreprocessing` on `ALE/<Game>-v5` without sticky actions, which is what produced the
observations, so `dataset.recover_environment()` gives an environment that matches the data.
minari is an optional extra: `pip install 'fil-collect[minari]'`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from fil_collect.dataset import episode_names, open_dataset, refuse_relabelled, require_attrs


def export_minari(
    path: Path,
    dataset_id: str,
    author: str | None = None,
    author_email: str | None = None,
    code_permalink: str | None = None,
    description: str | None = None,
) -> Any:
    """Create the Minari dataset `dataset_id` from the fil dataset at `path`; returns it."""
    try:
        import ale_py
        import gymnasium as gym
        import minari
        from gymnasium.wrappers import AtariPreprocessing
        from minari.data_collector import EpisodeBuffer
    except ImportError:
        raise ValueError(
            "export to Minari needs minari: pip install 'fil-collect[minari]'"
        ) from None
    with open_dataset(path) as handle:
        require_attrs(handle, path, ("env_id", "n_actions", "game", "config_json"))
        refuse_relabelled(
            handle, path, "Minari has no way to mark unlabelled steps; export swarm datasets"
        )
        env_id = str(handle.attrs["env_id"])
        version = int(handle.attrs["format_version"])
        settings = json.loads(handle.attrs["config_json"])
        buffers = []
        for name in episode_names(handle):
            group = handle[name]
            steps = int(group.attrs["length"])
            buffers.append(
                EpisodeBuffer(
                    id=len(buffers),
                    seed=int(group.attrs["seed"]) if "seed" in group.attrs else None,
                    observations=group["observations"][()],
                    actions=group["actions"][()],
                    rewards=group["rewards"][()].tolist(),
                    terminations=group["terminations"][()].tolist(),
                    truncations=group["truncations"][()].tolist(),
                    infos={"lives": group["infos/lives"][()].astype(np.int64)}
                    if "infos/lives" in group
                    else {},
                )
            )
            assert len(buffers[-1].actions) == steps
    if dataset_id in minari.list_local_datasets():
        raise ValueError(
            f"a local Minari dataset {dataset_id} exists: delete it or choose another --name"
        )
    gym.register_envs(ale_py)
    env = AtariPreprocessing(
        gym.make(env_id, frameskip=1, repeat_action_probability=0.0), frame_skip=4, noop_max=0
    )
    walkers = settings.get("swarm.n_walkers", "?")
    return minari.create_dataset_from_buffers(
        dataset_id=dataset_id,
        buffer=buffers,
        env=env.spec,
        algorithm_name=f"fil FMC swarm ({walkers} walkers)",
        author=author,
        author_email=author_email,
        code_permalink=code_permalink,
        description=description
        or f"FMC swarm demonstrations exported from {path.name} (fil dataset v{version})",
        action_space=env.action_space,
        observation_space=env.observation_space,
        jpeg_encoding=False,
    )
