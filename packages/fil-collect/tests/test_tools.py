"""info, verify, merge and filter on real datasets, including damaged ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from fil_collect.cli import app
from fil_collect.collect import CollectConfig, Collection
from fil_collect.dataset import Compression

runner = CliRunner()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _collect(tmp_path_factory.mktemp("tools") / "ds.h5", seed=5)


def _collect(path: Path, seed: int) -> Path:
    """Three tiny SpaceInvaders episodes in the current format."""
    from fil_collect.env import EnvConfig
    from fil_collect.games import resolve_game
    from fil_collect.swarm import SwarmConfig

    config = CollectConfig(
        EnvConfig(resolve_game("SpaceInvaders")), SwarmConfig(n_walkers=4, max_epochs=12), seed=seed
    )
    Collection(config, path, 3, workers=1, compression=Compression()).run()
    return path


def _copy(source: Path, target: Path) -> Path:
    target.write_bytes(source.read_bytes())
    return target


@pytest.mark.slow
def test_info_json_for_scripts(dataset: Path) -> None:
    result = runner.invoke(app, ["info", str(dataset), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["episodes"] == 3 and summary["checksums"]["ok"]
    with h5py.File(dataset, "r") as f:
        assert summary["steps"] == f.attrs["total_steps"]
        assert summary["return_max"] == max(
            f[k].attrs["episode_return"] for k in f if k.startswith("episode_")
        )


def test_verify_passes_on_an_honest_file(dataset: Path) -> None:
    result = runner.invoke(app, ["verify", str(dataset), "--workers", "2", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "3 episode(s) re-simulated bit-exact, checksums ok" in result.output


def test_a_flipped_byte_is_found(dataset: Path, tmp_path: Path) -> None:
    damaged = _copy(dataset, tmp_path / "damaged.h5")
    with h5py.File(damaged, "a") as f:
        frames = f["episode_1/observations"]
        row = frames[7]
        row[40, 40] ^= 0x01
        frames[7] = row
    info = runner.invoke(app, ["info", str(damaged)])
    assert info.exit_code == 1 and "MISMATCH in episode_1" in info.output
    verify = runner.invoke(app, ["verify", str(damaged), "--workers", "1", "--quiet"])
    assert verify.exit_code == 1
    assert "episode_1: content does not match its sha256" in verify.output
    assert "observations differ from step 7" in verify.output or "1 more" in verify.output


def _forge(source: Path, target: Path, episode: str, name: str, change: Any) -> Path:
    """A copy of `source` whose `episode`'s array `name` is `change(array)`, with the episode's
    and the file's checksums recomputed: only a check beyond the checksums can catch it."""
    from fil_collect.checksum import array_digest, group_arrays
    from fil_collect.dataset import write_file_totals

    forged = _copy(source, target)
    with h5py.File(forged, "a") as f:
        group = f[episode]
        group[name][:] = change(group[name][:])
        group.attrs["sha256"] = array_digest(group_arrays(group))
        write_file_totals(f)
    return forged


def test_verify_names_the_first_step_that_differs(dataset: Path, tmp_path: Path) -> None:
    """Data changed consistently (checksum recomputed) is still caught by re-simulation."""

    def more_reward(rewards: np.ndarray) -> np.ndarray:
        rewards[5] += 100
        return rewards

    forged = _forge(dataset, tmp_path / "forged.h5", "episode_2", "rewards", more_reward)
    result = runner.invoke(app, ["verify", str(forged), "--workers", "1", "--quiet"])
    assert result.exit_code == 1
    assert "episode_2: rewards differ from step 5" in result.output


def test_verify_checks_the_search_arrays_fit_the_episode(dataset: Path, tmp_path: Path) -> None:
    """Visit counts and action values cannot be replayed, but a value where no walker was
    counted (checksums recomputed, so only the consistency check can see it) is caught."""
    with h5py.File(dataset, "r") as f:
        untried = tuple(np.argwhere(f["episode_0/visit_counts"][:] == 0)[0])

    def value_where_none_was_counted(values: np.ndarray) -> np.ndarray:
        values[untried] = 1.0
        return values

    forged = _forge(
        dataset, tmp_path / "values.h5", "episode_0", "action_values", value_where_none_was_counted
    )
    result = runner.invoke(app, ["verify", str(forged), "--workers", "1", "--quiet"])
    assert result.exit_code == 1
    assert "episode_0: action_values are NaN where a count is" in result.output


@pytest.mark.slow
def test_merge_and_filter_keep_provenance_and_never_touch_inputs(
    dataset: Path, tmp_path: Path
) -> None:
    before = dataset.read_bytes()
    merged = tmp_path / "all.h5"
    other = _collect(tmp_path / "other.h5", seed=6)  # other episodes, the same format version
    result = runner.invoke(app, ["merge", str(other), str(dataset), "--out", str(merged)])
    assert result.exit_code == 0, result.output
    assert dataset.read_bytes() == before
    with h5py.File(merged, "r") as f, h5py.File(dataset, "r") as src:
        assert f.attrs["total_episodes"] == 6
        assert f["episode_4"].attrs["source_index"] == 1
        assert f["episode_4"].attrs["source_file"] == str(dataset)
        assert np.array_equal(f["episode_4/observations"][:], src["episode_1/observations"][:])
        assert f["episode_4/observations"].compression == "gzip"
        assert f["episode_4/observations"].chunks == src["episode_1/observations"].chunks
    returns = sorted(
        h5py.File(merged, "r")[f"episode_{i}"].attrs["episode_return"] for i in range(6)
    )
    best = tmp_path / "best.h5"
    result = runner.invoke(
        app, ["filter", str(merged), "--min-return", str(returns[-1]), "--out", str(best)]
    )
    assert result.exit_code == 0, result.output
    with h5py.File(best, "r") as f:
        kept = [f[k].attrs["episode_return"] for k in f if k.startswith("episode_")]
    assert kept and all(r >= returns[-1] for r in kept)
    again = runner.invoke(app, ["filter", str(merged), "--out", str(best)])
    assert again.exit_code == 2 and "--force" in again.output
    assert runner.invoke(app, ["verify", str(best), "--quiet"]).exit_code == 0


def test_merge_refuses_another_game(dataset: Path, tmp_path: Path) -> None:
    pong = tmp_path / "pong.h5"
    runner.invoke(
        app,
        [
            "--game",
            "Pong",
            "--out",
            str(pong),
            "-n",
            "1",
            "--walkers",
            "2",
            "--epochs",
            "3",
            "--workers",
            "1",
            "--quiet",
        ],
    )
    result = runner.invoke(app, ["merge", str(dataset), str(pong), "--out", str(tmp_path / "x.h5")])
    assert result.exit_code == 2 and "holds Pong episodes" in result.output
    assert not (tmp_path / "x.h5").exists()


@pytest.mark.parametrize("command", ["info", "verify"])
def test_damaged_files_are_one_line_errors(dataset: Path, tmp_path: Path, command: str) -> None:
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(dataset.read_bytes()[: dataset.stat().st_size // 3])
    result = runner.invoke(app, [command, str(truncated)])
    assert result.exit_code == 2 and "not a readable HDF5 file" in result.output
    stripped = _copy(dataset, tmp_path / "stripped.h5")
    with h5py.File(stripped, "a") as f:
        del f.attrs["rom"], f.attrs["env_id"]
    result = runner.invoke(app, [command, str(stripped)])
    assert result.exit_code == 2 and "attribute" in result.output and "is missing" in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["verify", "{ds}", "--workers", "0"], "--workers must be at least 1"),
        (
            ["filter", "{ds}", "--out", "{tmp}/x.h5", "--min-return", "9", "--max-return", "5"],
            "above",
        ),
        (["filter", "{ds}", "--out", "{tmp}/x.h5", "--min-length", "-5"], "--min-length must be"),
        (["info", "{tmp}"], "is a folder; give a fil dataset file"),
    ],
)
def test_bad_tool_input_is_one_line(
    dataset: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, [a.format(ds=dataset, tmp=tmp_path) for a in args])
    assert result.exit_code == 2 and message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "x.h5").exists()


def test_merge_refuses_an_episode_given_twice(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "twice.h5"
    result = runner.invoke(app, ["merge", str(dataset), str(dataset), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert f"episode_0 of {dataset} is the same episode as episode_0 of {dataset}" in " ".join(
        result.output.split()
    )
    assert "give each dataset once" in result.output and not out.exists()


def test_a_filter_that_keeps_nothing_writes_nothing(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "none.h5"
    result = runner.invoke(app, ["filter", str(dataset), "--min-return", "1e9", "--out", str(out)])
    assert result.exit_code == 2 and "nothing was written" in " ".join(result.output.split())
    assert list(tmp_path.iterdir()) == []


def test_a_flipped_bit_in_a_chunk_is_one_line_that_says_what_to_do(
    dataset: Path, tmp_path: Path, flip_bit
) -> None:
    damaged = _copy(dataset, tmp_path / "damaged.h5")
    flip_bit(damaged, "episode_1/observations")
    fix = f"fil-collect filter {damaged} --drop-damaged --out fixed.h5"
    for args in (["info", str(damaged)], ["verify", str(damaged), "--workers", "1", "--quiet"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, result.output
        assert isinstance(result.exception, SystemExit)  # an exit, no traceback
        text = " ".join(result.output.split())
        assert f"episode_1 of {damaged} is damaged" in text and fix in text
    assert "DAMAGED: episode_1" in runner.invoke(app, ["info", str(damaged)]).output
    fixed = tmp_path / "fixed.h5"
    result = runner.invoke(app, ["filter", str(damaged), "--drop-damaged", "--out", str(fixed)])
    assert result.exit_code == 0 and "2 episode(s) written" in result.output
    assert runner.invoke(app, ["verify", str(fixed), "--workers", "1", "--quiet"]).exit_code == 0
