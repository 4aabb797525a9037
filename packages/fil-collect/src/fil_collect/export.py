"""Export a fil dataset as a Minari dataset, through Minari's own API, without losing a bit.

Minari stores Atari frames as JPEG by default; the export turns that off, so the frames Minari
serves are the stored uint8 frames exactly. The environment spec is Gymnasium's
`AtariPreprocessing` on `ALE/<Game>-v5` without sticky actions, which is what produced the
observations, so `dataset.recover_environment()` gives an environment that matches the data.
minari is an optional extra: `pip install 'fil-collect[minari]'`.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fil_collect.format import Dataset, StoredEpisode, open_dataset
from fil_collect.mixing import check_dataset

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
        import minari
        import PIL  # noqa: F401  (Minari's HDF5 storage imports pillow without declaring it)
        from minari.data_collector import EpisodeBuffer
        from minari.storage import get_dataset_path
    except ImportError as error:
        raise ValueError(
            f"export to Minari needs {error.name}: pip install 'fil-collect[minari]'"
        ) from None
    with open_dataset(path) as dataset:
        source = _read_source(dataset, EpisodeBuffer)
    if dataset_id in minari.list_local_datasets():
        raise ValueError(
            f"a local Minari dataset {dataset_id} exists: delete it or choose another --name"
        )
    env = _preprocessed_env(source)
    walkers = source.settings.get("swarm.n_walkers", "?")
    created = _first_missing(get_dataset_path(), dataset_id)
    try:
        return minari.create_dataset_from_buffers(
            dataset_id=dataset_id,
            buffer=source.buffers,
            env=env.spec,
            algorithm_name=f"fil FMC swarm ({walkers} walkers)",
            author=author,
            author_email=author_email,
            code_permalink=code_permalink,
            description=description
            or f"FMC swarm demonstrations exported from {path.name} (fil dataset v{source.version})",
            action_space=env.action_space,
            observation_space=env.observation_space,
            jpeg_encoding=False,
        )
    except BaseException:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        raise


def _preprocessed_env(source: _Source) -> Any:
    """Gymnasium's `AtariPreprocessing` on the dataset's env id without sticky actions: what
    produced the observations, so `recover_environment()` matches the data."""
    import ale_py
    import gymnasium as gym
    from gymnasium.wrappers import AtariPreprocessing

    gym.register_envs(ale_py)
    return AtariPreprocessing(
        gym.make(source.env_id, frameskip=1, repeat_action_probability=0.0),
        frame_skip=source.frameskip,
        noop_max=0,
    )


@dataclass(frozen=True)
class _Source:
    """What the export takes from the fil dataset, read before Minari writes anything."""

    env_id: str
    frameskip: int
    version: int
    settings: dict[str, Any]
    buffers: list[Any]


def _read_source(dataset: Dataset, buffer_type: Any) -> _Source:
    """The file's settings and every episode as one of Minari's `EpisodeBuffer`s."""
    env_id, settings = dataset.env_id, dataset.settings
    dataset.refuse_relabelled("Minari has no way to mark unlabelled steps; export swarm datasets")
    frameskip = check_dataset(dataset, "export").frameskip  # Minari states one frame_skip
    buffers = [
        _buffer(dataset, episode, buffer_type, position)
        for position, episode in enumerate(dataset.episodes())
    ]
    return _Source(env_id, frameskip, dataset.version, settings, buffers)


def _buffer(dataset: Dataset, episode: StoredEpisode, buffer_type: Any, position: int) -> Any:
    """One episode as Minari's buffer, checked against its stored length."""
    lives = episode.array("infos/lives").astype(np.int64) if episode.has("infos/lives") else None
    buffer = buffer_type(
        id=position,
        seed=episode.seed,
        observations=episode.array("observations"),
        actions=episode.array("actions"),
        rewards=episode.array("rewards").tolist(),
        terminations=episode.array("terminations").tolist(),
        truncations=episode.array("truncations").tolist(),
        infos={} if lives is None else {"lives": lives},
    )
    if len(buffer.actions) != episode.length:
        raise ValueError(
            f"{episode.name} of {dataset.path} has {len(buffer.actions)} actions but length "
            f"{episode.length}: the file is damaged; `fil-collect verify {dataset.path}` tells more"
        )
    return buffer


def _first_missing(root: Path, dataset_id: str) -> Path | None:
    """The outermost folder of `dataset_id` under `root` that does not exist yet: the one to
    remove if the export fails (a new namespace with it, an existing one is left alone)."""
    path = root
    for part in dataset_id.split("/"):
        path = path / part
        if not path.exists():
            return path
    return None
