from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from fil_collect.collect import CollectConfig, Collection, collect_episode, dataset_header
from fil_collect.dataset import Compression, DatasetWriter
from fil_collect.format import FORMAT_VERSION, DatasetError, open_dataset
from fil_collect.swarm import SwarmConfig


def _collect(config: CollectConfig, path: Path, episodes: int, **kwargs) -> list:
    return Collection(config, path, episodes, workers=1, compression=Compression(), **kwargs).run()


def test_written_file_follows_the_spec(tiny_config: CollectConfig, tmp_path: Path) -> None:
    path = tmp_path / "ds.h5"
    written = _collect(tiny_config, path, 2)
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "fil-dataset" and f.attrs["format_version"] == 5
        assert f.attrs["game"] == "SpaceInvaders" and f.attrs["env_id"] == "ALE/SpaceInvaders-v5"
        assert list(f.attrs["action_meanings"]) == [
            "NOOP",
            "FIRE",
            "RIGHT",
            "LEFT",
            "RIGHTFIRE",
            "LEFTFIRE",
        ]
        assert json.loads(f.attrs["config_json"])["swarm.n_walkers"] == 4
        assert f.attrs["total_episodes"] == 2
        for event in written:
            ep = f[f"episode_{event.index}"]
            steps = ep.attrs["length"]
            assert ep["observations"].shape == (steps + 1, 84, 84)
            assert ep["observations"].dtype == np.uint8
            assert ep["observations"].chunks == (64, 84, 84)
            assert ep["observations"].compression == "gzip"
            assert ep["actions"].shape == ep["rewards"].shape == (steps,)
            assert ep["terminations"].dtype == bool and ep["truncations"].dtype == bool
            assert ep["infos/lives"].shape == (steps + 1,)
            assert ep.attrs["episode_return"] == ep["rewards"][:].sum() == ep.attrs["swarm_score"]
            assert ep.attrs["emulator_frames"] > 0 and ep.attrs["wall_seconds"] > 0
            assert ep["start_state"].dtype == np.uint8


@pytest.mark.slow
def test_appending_continues_the_episode_indices(
    tiny_config: CollectConfig, tmp_path: Path
) -> None:
    path = tmp_path / "ds.h5"
    _collect(tiny_config, path, 1)
    second = _collect(tiny_config, path, 3)  # episodes is the file's total
    assert [e.index for e in second] == [1, 2]
    with open_dataset(path) as dataset:
        assert dataset.names() == [
            "episode_0",
            "episode_1",
            "episode_2",
        ]


def test_same_seed_same_dataset(tiny_config: CollectConfig, tmp_path: Path) -> None:
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    _collect(tiny_config, a, 1)
    Collection(tiny_config, b, 1, workers=2, compression=Compression()).run()
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        for key in ("observations", "actions", "rewards", "start_state"):
            assert np.array_equal(fa["episode_0"][key][:], fb["episode_0"][key][:])


def test_other_settings_cannot_be_appended(tiny_config: CollectConfig, tmp_path: Path) -> None:
    path = tmp_path / "ds.h5"
    _collect(tiny_config, path, 1)
    before = path.read_bytes()
    other = CollectConfig(tiny_config.env, SwarmConfig(n_walkers=5, max_epochs=15), seed=3)
    with pytest.raises(DatasetError, match=r"other settings \(swarm.n_walkers: file 4 vs now 5\)"):
        _collect(other, path, 1)
    assert path.read_bytes() == before
    _collect(other, path, 1, force=True)
    with open_dataset(path) as dataset:
        assert dataset.settings["swarm.n_walkers"] == 5
        assert dataset.total_episodes == 1


def test_a_file_that_is_not_a_fil_dataset_is_refused(
    tiny_config: CollectConfig, tmp_path: Path
) -> None:
    text = tmp_path / "notes.h5"
    text.write_text("hello")
    with pytest.raises(DatasetError, match="is not a fil dataset"):
        _collect(tiny_config, text, 1)
    assert text.read_text() == "hello"
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = 1
    with pytest.raises(DatasetError, match="is not a fil dataset"):
        _collect(tiny_config, other, 1)


def test_a_newer_format_version_is_refused(tiny_config: CollectConfig, tmp_path: Path) -> None:
    path = tmp_path / "ds.h5"
    _collect(tiny_config, path, 1)
    with h5py.File(path, "a") as f:
        f.attrs["format_version"] = FORMAT_VERSION + 1
    with pytest.raises(DatasetError, match=rf"format version {FORMAT_VERSION + 1}.*upgrade"):
        _collect(tiny_config, path, 1)


def test_episodes_of_another_version_are_not_appended(
    tiny_config: CollectConfig, tmp_path: Path
) -> None:
    """A version 3 file (no `action_classes`) is not topped up with version 5 episodes: a file
    holds one version, so a reader can trust its attribute."""
    path = tmp_path / "ds.h5"
    _collect(tiny_config, path, 1)
    with h5py.File(path, "a") as f:
        f.attrs["format_version"] = 3
    with pytest.raises(
        DatasetError,
        match=r"\(format version 3\), and these would be swarm episodes \(format version 5\)",
    ):
        _collect(tiny_config, path, 2)
    with open_dataset(path) as dataset:
        assert len(dataset.names()) == 1


@pytest.mark.slow
def test_a_failed_append_leaves_the_file_as_it_was(
    tiny_config: CollectConfig, tmp_path: Path
) -> None:
    path = tmp_path / "ds.h5"
    _collect(tiny_config, path, 1)
    before = path.read_bytes()
    writer = DatasetWriter(path, dataset_header(tiny_config), Compression())
    duplicate = collect_episode(tiny_config, index=0)  # episode_0 exists: h5py refuses mid-write
    with pytest.raises(ValueError):
        writer.append([collect_episode(tiny_config, index=5), duplicate])
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("name", ["lzf", "none"])
def test_other_compressions_write_readable_files(
    tiny_config: CollectConfig, tmp_path: Path, name: str
) -> None:
    path = tmp_path / "ds.h5"
    Collection(tiny_config, path, 1, workers=1, compression=Compression(name)).run()
    with open_dataset(path) as dataset:
        assert dataset.handle["episode_0"]["observations"].compression == (
            None if name == "none" else name
        )


def test_a_frame_budget_keeps_the_same_episodes_with_any_workers(
    tiny_config: CollectConfig, tmp_path: Path
) -> None:
    """Episodes are kept in index order up to the one whose frames spend the budget, so the
    file does not depend on which worker finished first, and a larger budget continues it."""
    reference = _collect(tiny_config, tmp_path / "all.h5", 4)
    frames = [event.emulator_frames for event in sorted(reference, key=lambda e: e.index)]
    path = tmp_path / "budget.h5"
    budget = frames[0] + 1  # episode 0 leaves it 1 frame short: episode 1 spends it
    kept = Collection(
        tiny_config, path, 4, workers=2, compression=Compression(), total_frames=budget
    ).run()
    assert [event.index for event in kept] == [0, 1]
    with h5py.File(path, "r") as f, h5py.File(tmp_path / "all.h5", "r") as full:
        assert sorted(f) == ["episode_0", "episode_1"]
        for name in f:
            assert np.array_equal(f[name]["actions"][:], full[name]["actions"][:])
    again = Collection(
        tiny_config, path, 4, workers=1, compression=Compression(), total_frames=budget
    )
    assert again.indices == [] and again.frames == frames[0] + frames[1]
    again.lock.release()
    more = _collect(tiny_config, path, 4, total_frames=sum(frames[:3]))
    assert [event.index for event in more] == [2]
    with pytest.raises(ValueError, match="--total-frames must be at least 1"):
        Collection(
            tiny_config, tmp_path / "x.h5", 4, workers=1, compression=Compression(), total_frames=0
        )
