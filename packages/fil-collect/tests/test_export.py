"""Export to Minari, checked with the real minari package (the `minari` extra)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from fil_collect.cli import app

minari = pytest.importorskip("minari")
SAMPLE = Path(__file__).parents[3] / "datasets" / "samples" / "space_invaders-tiny.h5"


def test_export_opens_in_minari_losslessly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    runner = CliRunner()
    args = [
        "export",
        str(SAMPLE),
        "--to",
        "minari",
        "--name",
        "spaceinvaders/fmc-v0",
        "--author",
        "fil tests",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    dataset = minari.load_dataset("spaceinvaders/fmc-v0")
    with h5py.File(SAMPLE, "r") as f:
        assert dataset.total_episodes == f.attrs["total_episodes"]
        assert dataset.total_steps == f.attrs["total_steps"]
        for episode, name in zip(
            dataset.iterate_episodes(), ("episode_0", "episode_1", "episode_2"), strict=True
        ):
            assert np.array_equal(episode.observations, f[name]["observations"][:])  # no JPEG
            assert np.array_equal(episode.actions, f[name]["actions"][:])
            assert np.array_equal(episode.rewards, f[name]["rewards"][:])
    metadata = dataset.storage.metadata
    assert (
        metadata["algorithm_name"].startswith("fil FMC swarm") and "fil tests" in metadata["author"]
    )
    assert dataset.recover_environment().observation_space.shape == (84, 84)
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "exists" in again.output


def test_export_needs_a_name_and_a_known_target() -> None:
    runner = CliRunner()
    assert "give --name" in runner.invoke(app, ["export", str(SAMPLE)]).output
    wide = CliRunner(env={"COLUMNS": "250"})
    result = wide.invoke(app, ["export", str(SAMPLE), "--to", "rlds", "--name", "x"])
    assert result.exit_code == 2 and "'rlds' is not one of 'minari'" in result.output
