"""What a user can get wrong or lose, and what fil-learn then does: damaged files, runs given
the same data by another path, changed settings, a kill at the wrong moment, Ctrl-C in eval,
datasets recorded at another frameskip."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fil_learn.cli import app
from fil_learn.data import DatasetError, load, split_by_episode
from fil_learn.train import FitConfig, FitPlan, fit

from .conftest import TINY_MODEL, write_dataset

runner = CliRunner()


def test_a_flipped_bit_names_the_episode_and_the_fix(tmp_path: Path, flip_bit) -> None:
    dataset = write_dataset(tmp_path / "ds.h5", episodes=3, steps=20)
    flip_bit(dataset, "episode_1/observations")
    result = runner.invoke(app, ["fit", str(dataset), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert f"episode_1 of {dataset} is damaged (observations does not decompress)" in text
    assert f"fil-collect filter {dataset} --drop-damaged --out fixed.h5" in text
    assert not (tmp_path / "run").exists()  # nothing was started


def test_a_file_without_episodes_says_so(tmp_path: Path) -> None:
    empty = write_dataset(tmp_path / "empty.h5", episodes=0)
    with pytest.raises(DatasetError, match="no episode with steps: collect some first"):
        load([empty])


def test_files_of_other_frameskips_do_not_mix(tmp_path: Path) -> None:
    a = write_dataset(tmp_path / "a.h5", episodes=2, steps=10)
    b = write_dataset(tmp_path / "b.h5", episodes=2, steps=10, frameskip=2)
    assert load([b]).frameskip == 2
    with pytest.raises(DatasetError, match=r"frameskip 2 but .* with 4"):
        load([a, b])


def test_validation_holds_out_only_episodes_with_labels(tmp_path: Path) -> None:
    """Relabelled episodes may carry no label at all; holding out only those gave an empty
    validation set and a division by zero."""
    import h5py

    path = write_dataset(tmp_path / "relabel.h5", episodes=6, steps=10, version=2)
    with h5py.File(path, "a") as f:
        for e in (0, 2, 3, 5):
            f[f"episode_{e}/actions"][:] = -1
    data = load([path])
    for seed in range(12):
        train, val = split_by_episode(data, 0.1, seed)
        assert val is not None and val.n_samples > 0 and train.n_samples > 0


@pytest.mark.slow
def test_the_same_data_by_another_path_continues_and_settings_are_kept(tmp_path: Path) -> None:
    dataset = write_dataset(tmp_path / "ds.h5", episodes=4)
    run = tmp_path / "run"
    config = FitConfig(epochs=2, batch_size=16)
    assert len(fit([dataset], run, config, model_config=TINY_MODEL)) == 2
    settings = (run / "run.json").read_text()
    assert json.loads(settings)["frameskip"] == 4
    copy = shutil.copy(dataset, tmp_path / "elsewhere.h5")
    plans: list[FitPlan] = []
    for paths, epochs in (([Path(copy)], 2), ([dataset], 1)):
        on = FitConfig(epochs=epochs, batch_size=16)
        assert fit(paths, run, on, model_config=TINY_MODEL, on_event=plans.append) == []
    assert all("nothing to do" in p.text for p in plans if isinstance(p, FitPlan))
    assert (run / "run.json").read_text() == settings  # untouched: nothing was trained
    other_target = FitConfig(epochs=3, batch_size=16, target="visits")
    with pytest.raises(ValueError, match=r"--target action: give the same .* --force"):
        fit([dataset], run, other_target, model_config=TINY_MODEL)
    other_rate = FitConfig(epochs=3, batch_size=16, learning_rate=1e-3)
    with pytest.raises(ValueError, match=r"--learning-rate 0.0003: give the same .* --force"):
        fit([dataset], run, other_rate, model_config=TINY_MODEL)
    fresh = fit([dataset], run, other_rate, model_config=TINY_MODEL, force=True)
    assert [m.epoch for m in fresh] == [1, 2, 3]
    stages = json.loads((run / "run.json").read_text())["stages"]
    assert len(stages) == 1 and stages[0]["fit"]["learning_rate"] == 1e-3


@pytest.mark.slow
def test_a_row_lost_to_a_kill_comes_back_from_the_checkpoint(tmp_path: Path) -> None:
    """A fit killed between saving epoch k's checkpoint and writing its metrics row left the
    row missing for good; the row is now saved inside the checkpoint."""
    dataset = write_dataset(tmp_path / "ds.h5", episodes=4)
    run = tmp_path / "run"
    fit([dataset], run, FitConfig(epochs=2, batch_size=16), model_config=TINY_MODEL)
    rows = (run / "metrics.jsonl").read_text().splitlines()
    (run / "metrics.jsonl").write_text(rows[0] + "\n")  # what such a kill leaves on disk
    fit([dataset], run, FitConfig(epochs=3, batch_size=16), model_config=TINY_MODEL)
    after = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in after] == [1, 2, 3]
    assert after[1] == pytest.approx(json.loads(rows[1]))


@pytest.mark.slow
@pytest.mark.parametrize("stop", ["ctrl-c", "kill"])
def test_ctrl_c_in_eval_keeps_the_finished_episodes_at_the_data_frameskip(
    tmp_path: Path, stop: str
) -> None:
    """Ctrl-C (SIGINT to the process group, as a terminal sends it) and `kill PID` (SIGTERM to
    the process alone) both end in the report of the finished episodes, written."""
    import ale_py
    import h5py

    dataset = write_dataset(tmp_path / "ds.h5", episodes=3, steps=40, frameskip=2)
    run = tmp_path / "run"
    fit([dataset], run, FitConfig(epochs=1, batch_size=16), model_config=TINY_MODEL)
    report, visited = tmp_path / "r.json", tmp_path / "visited.h5"
    # SIGINT as in a terminal's foreground job: a runner that starts the tests in the
    # background (`cmd &` in a script) hands them SIGINT ignored, and Python keeps it so
    as_in_a_terminal = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)"
    process = subprocess.Popen(
        [
            *(sys.executable, "-c", f"{as_in_a_terminal}; from fil_learn.cli import main; main()"),
            *("eval", str(run)),
            *("--episodes", "500", "--max-steps", "20", "--json", str(report)),
            *("--save-states", str(visited), "--state-every", "5"),
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    assert process.stderr is not None
    while not re.match(r"episode 1: return", process.stderr.readline()):
        assert process.poll() is None, "eval stopped early"
    if stop == "ctrl-c":
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "finished episode(s) are reported" in stderr
    summary = json.loads(report.read_text())
    assert summary["interrupted"] and 2 <= summary["episodes"] < 500
    with h5py.File(visited) as f:
        assert f.attrs["total_episodes"] == summary["episodes"] and f.attrs["frameskip"] == 2
        ale = ale_py.ALEInterface()
        ale.loadROM(ale_py.roms.get_rom_path("space_invaders"))
        ale.restoreState(ale_py.ALEState(f["episode_0/states"][1].tobytes()))
        assert ale.getEpisodeFrameNumber() == 5 * 2  # played at the data's 2 frames per step
    assert np.isfinite(summary["mean"])
