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


@pytest.mark.parametrize("name", ["Space Invaders!!", "spaceinvaders/fmc", "/fmc-v0", "a//b-v0"])
def test_a_bad_dataset_id_is_refused_before_anything_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    root = tmp_path / "minari"
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    result = CliRunner().invoke(app, ["export", str(SAMPLE), "--name", name])
    assert result.exit_code == 2, result.output
    assert "is not a Minari dataset id" in result.output and "Traceback" not in result.output
    assert not root.exists() or not any(root.iterdir())
    assert minari.list_local_datasets() == {}


def test_a_failed_export_leaves_no_half_written_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without pillow (minari does not declare it) the export must fail in one line before
    Minari creates the dataset's folder, and the same command must work once it is there."""
    import sys

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    args = ["export", str(SAMPLE), "--name", "spaceinvaders/fmc-v0"]
    with monkeypatch.context() as missing:
        missing.setitem(sys.modules, "PIL", None)  # as in a venv without pillow
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "needs PIL: pip install 'fil-collect[minari]'" in result.output
    assert minari.list_local_datasets() == {}
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
