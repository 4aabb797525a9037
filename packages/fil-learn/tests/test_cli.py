from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fil_learn.cli import app

from .conftest import write_dataset

runner = CliRunner()


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    dataset = write_dataset(folder / "ds.h5", episodes=3, steps=40)
    result = runner.invoke(
        app,
        ["fit", str(dataset), "--out", str(folder / "run"), "--epochs", "1", "--batch-size", "16"],
    )
    assert result.exit_code == 0, result.output
    assert "epoch 1: train loss" in result.output
    return folder / "run"


@pytest.mark.slow
def test_eval_plays_real_atari_and_reports(trained_run: Path, tmp_path: Path) -> None:
    video, report = tmp_path / "play.mp4", tmp_path / "eval.json"
    result = runner.invoke(
        app,
        [
            "eval",
            str(trained_run),
            "--game",
            "space_invaders",
            "--episodes",
            "2",
            "--max-steps",
            "30",
            "--video",
            str(video),
            "--json",
            str(report),
            "--protocol",
            "noop30",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "human-normalized" in result.output
    summary = json.loads(report.read_text())
    assert summary["episodes"] == 2 and summary["random_score"] == 148.0
    distinct = len(set(zip(summary["returns"], summary["lengths"], strict=True)))
    assert summary["distinct_games"] == distinct and 1 <= distinct <= 2
    assert "distinct" in result.output  # in the table title (wrapped to the terminal)
    assert summary["human_normalized"] == pytest.approx(
        100 * (summary["mean"] - 148) / (1668.7 - 148)
    )
    assert video.stat().st_size > 1000
    counts = summary["action_counts"]  # 2 episodes of 30 steps, every step one action
    assert len(counts) == 6 and sum(counts) == 60
    assert "actions played" in result.output and "RIGHTFIRE" in result.output


@pytest.mark.slow
def test_eval_saves_the_visited_states_for_relabelling(trained_run: Path, tmp_path: Path) -> None:
    import ale_py
    import h5py

    visited = tmp_path / "visited.h5"
    args = ["eval", str(trained_run), "--episodes", "2", "--max-steps", "12"]
    result = runner.invoke(app, [*args, "--save-states", str(visited), "--state-every", "5"])
    assert result.exit_code == 0, result.output
    with h5py.File(visited) as f:
        assert f.attrs["format"] == "fil-visited" and f.attrs["total_episodes"] == 2
        assert f.attrs["game"] == "SpaceInvaders" and f.attrs["protocol"] == "v5"
        g = f["episode_1"]
        assert g["observations"].shape == (13, 84, 84) and g["actions"].shape == (12,)
        assert g["state_steps"][()].tolist() == [0, 5, 10]
        assert g["truncations"][-1]  # cut by --max-steps
        assert g["infos/lives"].shape == (13,)
        # a saved state is a real emulator state: it loads and plays on
        ale = ale_py.ALEInterface()
        ale.loadROM(ale_py.roms.get_rom_path("space_invaders"))
        ale.restoreState(ale_py.ALEState(g["states"][1].tobytes()))
        assert ale.getEpisodeFrameNumber() == 5 * 4


@pytest.mark.slow
def test_error_messages_keep_their_brackets(
    trained_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "gymnasium", None)  # as if the eval extra were missing
    result = runner.invoke(app, ["eval", str(trained_run), "--episodes", "1"])
    assert result.exit_code == 2
    assert "pip install 'fil-learn[eval]'" in result.output


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["eval", "{run}", "--game", "Pong"], "was trained on SpaceInvaders, not Pong"),
        (["eval", "{tmp}"], "is not a fil-learn run"),
        (["eval", "{tmp}/missing.onnx"], "does not exist: give a run folder"),
        (["eval", "{run}/run.json"], "is neither a run folder nor an .onnx policy"),
        (["fit", "{tmp}/missing.h5"], "does not exist"),
        (["fit", "{run}/run.json"], "is not a fil dataset"),
        (["fit", "{ds}", "--out", "{tmp}/r", "--batch-size", "100000"], "fewer than --batch-size"),
        (["fit", "{ds}", "--out", "{tmp}/r", "--epochs", "0"], "--epochs must be at least 1"),
        (["fit", "{ds}", "--out", "{ds}"], "is a file: give a folder for the run"),
        (["fit", "{ds}", "--out", "/proc/fil-run"], "cannot write the run folder /proc/fil-run"),
        (["eval", "{run}", "--video", "{tmp}/nodir/v.mp4"], "folder {tmp}/nodir does not exist"),
        (["eval", "{run}", "--json", "{tmp}/nodir/r.json"], "folder {tmp}/nodir does not exist"),
        (["eval", "{run}", "--json", "{tmp}"], "is a folder: give a file name"),
        (["eval", "{run}", "--video", "{tmp}/v.txt"], "give a file name ending in .mp4"),
        (["fit", "{ds}", "--out", "{tmp}/r", "--learning-rate", "inf"], "must be a number > 0"),
        (["fit", "{ds}", "--out", "{tmp}/r", "--shift", "20"], "--shift must be between 0 and 16"),
        (["fit", "{ds}", "--out", "{tmp}/r", "--compared-only"], "drop --compared-only or"),
        (["eval", "{run}", "--game", "SpaceInvadersNoFrameskip-v4"], "use --game SpaceInvaders"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    trained_run: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    dataset = write_dataset(tmp_path / "ds.h5", episodes=2, steps=10)
    filled = [a.format(run=trained_run, tmp=tmp_path, ds=dataset) for a in args]
    result = runner.invoke(app, filled)
    assert result.exit_code == 2, result.output
    assert message.format(tmp=tmp_path) in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


@pytest.mark.slow
def test_protocol_is_a_choice_and_help_shows_it(trained_run: Path) -> None:
    wide = CliRunner(env={"COLUMNS": "250"})
    result = wide.invoke(app, ["eval", str(trained_run), "--protocol", "v4"])
    assert result.exit_code == 2 and "'v4' is not one of 'v5', 'noop30'" in result.output
    help_text = wide.invoke(app, ["eval", "--help"]).output
    assert "<v5|noop30>" in help_text and "Game to play [default: the run's]" in help_text


def test_version_and_a_help_that_does_not_import_jax() -> None:
    import fil_learn

    assert runner.invoke(app, ["--version"]).output.strip() == f"fil-learn {fil_learn.__version__}"
    probe = "import sys, fil_learn.cli; print('jax' in sys.modules)"
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert imported.stdout.strip() == "False", imported.stderr
