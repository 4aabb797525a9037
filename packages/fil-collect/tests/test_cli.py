from __future__ import annotations

from pathlib import Path

import h5py
import pytest
from typer.testing import CliRunner

from fil_collect.cli import app
from fil_collect.format import open_dataset

from .conftest import TINY_CLI

runner = CliRunner()


def _invoke(*args: str):
    return runner.invoke(app, list(args))


def test_collect_writes_and_appends(tmp_path: Path) -> None:
    path = tmp_path / "ds.h5"
    result = _invoke(*TINY_CLI, "--out", str(path), "--episodes", "1", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert "1 episode(s) written" in result.output
    result = _invoke(*TINY_CLI, "--out", str(path), "--episodes", "2", "--workers", "1")
    assert result.exit_code == 0, result.output
    with h5py.File(path, "r") as f:
        assert f.attrs["total_episodes"] == 2
    before = path.read_bytes()  # --episodes is the total: the same command again adds nothing
    result = _invoke(*TINY_CLI, "--out", str(path), "--episodes", "2", "--workers", "1")
    assert result.exit_code == 0 and "already holds 2 episode(s)" in result.output
    assert path.read_bytes() == before


def test_info_summarizes(tmp_path: Path) -> None:
    path = tmp_path / "ds.h5"
    _invoke(*TINY_CLI, "--out", str(path), "--episodes", "1", "--workers", "1")
    result = _invoke("info", str(path))
    assert result.exit_code == 0, result.output
    assert "SpaceInvaders" in result.output and "episodes" in result.output


def test_games_lists_the_roms() -> None:
    result = _invoke("games")
    assert result.exit_code == 0
    assert "SpaceInvaders" in result.output and "space_invaders" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--game", "SpaceInvader"], "unknown game 'SpaceInvader': did you mean SpaceInvaders"),
        (["--walkers", "0"], "--walkers must be at least 2"),
        (["--epochs", "-3"], "--epochs must be at least 1"),
        (["--episodes", "0"], "--episodes must be at least 1"),
        (["--total-frames", "0"], "--total-frames must be at least 1"),
        (["--workers", "0"], "--workers must be at least 1"),
        (["--loc-dt", "nan"], "--loc-dt must be a finite number"),
        (["--episodes", "1000000000"], "more than one file holds (100,000"),
        (["--game", "SpaceInvadersNoFrameskip-v4"], "use --game SpaceInvaders"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    path = tmp_path / "ds.h5"
    base = ["--game", "SpaceInvaders", "--out", str(path), "--quiet"]
    result = _invoke(*base, *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not path.exists()


def test_a_spent_frame_budget_adds_nothing_and_says_so(tmp_path: Path) -> None:
    budgeted = [*TINY_CLI, "--out", str(tmp_path / "ds.h5"), "--episodes", "3", "--workers", "1"]
    first = _invoke(*budgeted, "--total-frames", "1")
    assert first.exit_code == 0
    with open_dataset(tmp_path / "ds.h5") as dataset:
        assert dataset.names() == ["episode_0"]  # its frames spend a budget of 1
    again = _invoke(*budgeted, "--total-frames", "1")
    assert again.exit_code == 0
    assert "already holds 1 episode(s) of" in again.output
    assert "--total-frames 1 is the budget: raise it to add more" in again.output


def test_a_choice_outside_the_list_names_the_choices(tmp_path: Path) -> None:
    args = [*TINY_CLI, "--out", str(tmp_path / "ds.h5"), "--compression", "zstd"]
    result = CliRunner(env={"COLUMNS": "250"}).invoke(app, args)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "'zstd' is not one of 'gzip', 'lzf', 'none'" in result.output
    assert not (tmp_path / "ds.h5").exists()


def test_options_before_a_subcommand_are_refused(tmp_path: Path) -> None:
    result = _invoke("--walkers", "4", "info", "x.h5")
    assert result.exit_code == 2
    assert "--walkers is an option of collecting, not of `info`" in result.output
    assert len(result.output.strip().splitlines()) <= 2 and "Traceback" not in result.output


def test_version_and_help_show_defaults_choices_and_extras() -> None:
    import fil_collect

    assert _invoke("--version").output.strip() == f"fil-collect {fil_collect.__version__}"
    wide = CliRunner(env={"COLUMNS": "250"})
    collect = wide.invoke(app, ["--help"]).output
    assert "Swarm processes [default: all cores]." in collect
    assert "Needs fil-collect[ray]." in collect and "<gzip|lzf|none>" in collect
    relabel = wide.invoke(app, ["relabel", "--help"]).output
    assert "<vote|best|value>" in relabel and "Processes [default: all cores]." in relabel
    assert "<minari>" in wide.invoke(app, ["export", "--help"]).output


def test_unwritable_and_wrong_files(tmp_path: Path) -> None:
    missing = _invoke(*TINY_CLI, "--out", str(tmp_path / "nope" / "ds.h5"))
    assert missing.exit_code == 2 and "does not exist" in missing.output
    not_fil = tmp_path / "x.h5"
    not_fil.write_bytes(b"\x89HDF junk")
    result = _invoke(*TINY_CLI, "--out", str(not_fil))
    assert result.exit_code == 2 and "is not a fil dataset" in result.output
    assert not_fil.read_bytes() == b"\x89HDF junk"
    info = _invoke("info", str(not_fil))
    assert info.exit_code == 2 and "is not a fil dataset" in info.output


@pytest.mark.slow
def test_another_game_needs_force(tmp_path: Path) -> None:
    path = tmp_path / "ds.h5"
    _invoke(*TINY_CLI, "--out", str(path), "--episodes", "1", "--workers", "1")
    other = ["--game", "Pong", "--walkers", "4", "--epochs", "5", "--quiet", "--out", str(path)]
    result = _invoke(*other, "--episodes", "1", "--workers", "1")
    assert result.exit_code == 2 and "holds SpaceInvaders episodes, not Pong" in result.output
    result = _invoke(*other, "--episodes", "1", "--workers", "1", "--force")
    assert result.exit_code == 0, result.output
    with h5py.File(path, "r") as f:
        assert f.attrs["game"] == "Pong"
