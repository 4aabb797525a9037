"""Export a fil dataset as a Minari dataset, through Minari's own API, without losing a bit.

Minari stores Atari frames as JPEG by default; the export turns that off, so the frames Minari
serves are the stored uint8 frames exactly. The environment spec is Gymnasium's
`AtariPreprocessing` on `ALE/<Game>-v5` without sticky actions, which is what produced the
observations, so `dataset.recover_environment()` gives an environment that matches the data.
minari is an optional extra: `pip install 'fil-collect[minari]'`.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from fil_collect.checksum import read_array
from fil_collect.dataset import episode_names, open_dataset, refuse_relabelled, require_attrs

DATASET_ID = re.compile(r"^(?:[-\w][-\w/]*[-\w]/)?[-\w]+?-v\d+$", re.ASCII)
"""Minari's `(namespace/)name-vN` ids; checked here before Minari creates any folder."""


def check_dataset_id(dataset_id: str) -> None:
    """Raise ValueError unless Minari accepts `dataset_id` (a bad one would leave a folder behind
    that breaks `minari.list_local_datasets()`)."""
    if not DATASET_ID.fullmatch(dataset_id):
        raise ValueError(
            f"--name {dataset_id!r} is not a Minari dataset id: use (namespace/)name-vN with "
            "letters, digits, '-' and '_', e.g. spaceinvaders/fmc-v0"
        )


def export_minari(
    path: Path,
    dataset_id: str,
    author: str | None = None,
    author_email: str | None = None,
    code_permalink: str | None = None,
    description: str | None = None,
) -> Any:
    """Create the Minari dataset `dataset_id` from the fil dataset at `path`; returns it.

    Everything that can be checked is checked before Minari writes anything, and a failure
    while it writes removes what it made, so a rerun never meets a half-written dataset.
    """
    check_dataset_id(dataset_id)
    try:
        import ale_py
        import gymnasium as gym
        import minari
        import PIL  # noqa: F401  (Minari's HDF5 storage imports pillow without declaring it)
        from gymnasium.wrappers import AtariPreprocessing
        from minari.data_collector import EpisodeBuffer
        from minari.storage import get_dataset_path
    except ImportError as error:
        raise ValueError(
            f"export to Minari needs {error.name}: pip install 'fil-collect[minari]'"
        ) from None
    with open_dataset(path) as handle:
        require_attrs(handle, path, ("env_id", "n_actions", "game", "config_json"))
        refuse_relabelled(
            handle, path, "Minari has no way to mark unlabelled steps; export swarm datasets"
        )
        env_id = str(handle.attrs["env_id"])
        frameskip = int(handle.attrs.get("frameskip", 4))
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
                    observations=read_array(group, "observations"),
                    actions=read_array(group, "actions"),
                    rewards=read_array(group, "rewards").tolist(),
                    terminations=read_array(group, "terminations").tolist(),
                    truncations=read_array(group, "truncations").tolist(),
                    infos={"lives": read_array(group, "infos/lives").astype(np.int64)}
                    if "infos/lives" in group
                    else {},
                )
            )
            if len(buffers[-1].actions) != steps:
                raise ValueError(
                    f"{name} of {path} has {len(buffers[-1].actions)} actions but length "
                    f"{steps}: the file is damaged; `fil-collect verify {path}` tells more"
                )
    if dataset_id in minari.list_local_datasets():
        raise ValueError(
            f"a local Minari dataset {dataset_id} exists: delete it or choose another --name"
        )
    gym.register_envs(ale_py)
    env = AtariPreprocessing(
        gym.make(env_id, frameskip=1, repeat_action_probability=0.0),
        frame_skip=frameskip,
        noop_max=0,
    )
    walkers = settings.get("swarm.n_walkers", "?")
    created = _first_missing(get_dataset_path(), dataset_id)
    try:
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
    except BaseException:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        raise


def _first_missing(root: Path, dataset_id: str) -> Path | None:
    """The outermost folder of `dataset_id` under `root` that does not exist yet: the one to
    remove if the export fails (a new namespace with it, an existing one is left alone)."""
    path = root
    for part in dataset_id.split("/"):
        path = path / part
        if not path.exists():
            return path
    return None
