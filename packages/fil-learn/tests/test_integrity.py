"""Issue #25, fil-learn's side: nothing a user has is overwritten or mislabelled.

One real fit (a 1-episode file given twice, 64 CPU devices asked on this host) serves every
test; outputs are checked against real fil datasets, real runs write real files, and a file
size limit (RLIMIT_FSIZE) makes real writes fail in a subprocess.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from fil_learn import load_policy
from fil_learn.cli import app
from fil_learn.data import DatasetError, load, repeated_inputs

from .conftest import write_dataset

runner = CliRunner()
CLI = [sys.executable, "-m", "fil_learn"]


def _text(output: str) -> str:
    return " ".join(output.split())


def _with_checksums(path: Path) -> Path:
    """Give each episode a sha256 attribute, as fil-collect writes (distinct per episode)."""
    with h5py.File(path, "a") as f:
        for name in f:
            f[name].attrs["sha256"] = f"{path.stem}-{name}"
    return path


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A run fitted on one episode given twice, with more CPU devices than cores; its output."""
    folder = tmp_path_factory.mktemp("integrity")
    one = write_dataset(folder / "one.h5", episodes=1, steps=40)
    args = ["fit", str(one), str(one), "--out", str(folder / "run"), "--epochs", "1"]
    result = runner.invoke(app, [*args, "--batch-size", "16", "--cpu-devices", "64"])
    assert result.exit_code == 0, result.output
    return folder / "run", _text(result.output)


def test_fit_says_what_it_changed_of_its_input(fitted: tuple[Path, str]) -> None:
    run, output = fitted
    assert "one.h5 is given twice (also as" in output and "read once" in output
    assert "--cpu-devices 64 is more than the" in output
    assert "no validation split" in output
    settings = json.loads((run / "run.json").read_text())
    assert len(settings["datasets"]) == 1 and settings["train_episodes"] == 1
    assert settings["device_count"] <= (os.cpu_count() or 1)


def test_an_episode_in_two_files_is_loaded_once(tmp_path: Path) -> None:
    first = _with_checksums(write_dataset(tmp_path / "a.h5", episodes=2, steps=20))
    copy = Path(shutil.copy(first, tmp_path / "copy.h5"))
    unique, notes = repeated_inputs([first, copy])
    assert unique == [first, copy]
    assert len(notes) == 1 and f"2 episode(s) of {copy} repeat earlier ones" in notes[0]
    assert load([first, copy]).n_episodes == 2 == load([first]).n_episodes


def test_an_old_mixed_rate_merge_is_refused(tmp_path: Path) -> None:
    path = write_dataset(tmp_path / "m.h5", episodes=2, steps=20)
    with h5py.File(path, "a") as f:
        f["episode_1"].attrs["config_json"] = json.dumps({"frameskip": 2})
    with pytest.raises(DatasetError, match=r"episode_1 of .* was played at frameskip 2 but"):
        load([path])


def test_logits_and_act_take_an_empty_batch(fitted: tuple[Path, str]) -> None:
    policy = load_policy(fitted[0])
    empty = np.zeros((0, 4, 84, 84), np.uint8)
    assert policy.logits(empty).shape == (0, policy.n_actions)
    assert policy.act(empty).shape == (0,)
    batch = np.zeros((3, 4, 84, 84), np.uint8)
    assert policy.act(batch).tolist() == [policy.act(batch[0])] * 3


@pytest.mark.parametrize(
    "option", [["eval", "--json"], ["eval", "--save-states"], ["export", "--out"]]
)
def test_no_output_replaces_a_fil_dataset(
    fitted: tuple[Path, str], tmp_path: Path, option: list[str]
) -> None:
    dataset = write_dataset(tmp_path / "ds.h5", episodes=1, steps=10)
    before = dataset.read_bytes()
    command, flag = option
    result = runner.invoke(app, [command, str(fitted[0]), flag, str(dataset), "--force"])
    assert result.exit_code == 2 and "is a fil dataset, which fil-learn never replaces" in (
        _text(result.output)
    )
    assert dataset.read_bytes() == before


def test_outputs_of_others_need_force_and_own_ones_are_rewritten(
    fitted: tuple[Path, str], tmp_path: Path
) -> None:
    notes = tmp_path / "notes.json"
    notes.write_text('{"mine": true}\n')
    play = ["eval", str(fitted[0]), "--episodes", "1", "--max-steps", "5", "-q"]
    result = runner.invoke(app, [*play, "--json", str(notes)])
    assert result.exit_code == 2 and "--force to replace it" in _text(result.output)
    assert notes.read_text() == '{"mine": true}\n'
    for extra in (["--force"], []):  # then eval's own summary: a rerun rewrites it
        result = runner.invoke(app, [*play, "--json", str(notes), *extra])
        assert result.exit_code == 0, result.output
        assert json.loads(notes.read_text())["episodes"] == 1
    baseline = runner.invoke(app, ["baselines", "--game", "Pong", "--json", str(notes)])
    assert baseline.exit_code == 2 and "--force to replace it" in _text(baseline.output)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.json"]


def test_json_through_a_symlink_writes_its_target(fitted: tuple[Path, str], tmp_path: Path) -> None:
    target = tmp_path / "real.json"
    link = tmp_path / "link.json"
    link.symlink_to(target)
    play = ["eval", str(fitted[0]), "--episodes", "1", "--max-steps", "5", "-q"]
    result = runner.invoke(app, [*play, "--json", str(link)])
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and json.loads(target.read_text())["episodes"] == 1


def _limited(limit: int, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """fil-learn in a process that may write no file past `limit` bytes: a real write fails
    with EFBIG, as on a full disk (SIGXFSZ ignored, so the write returns the error)."""

    def limit_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, preexec_fn=limit_size, cwd=cwd
    )


@pytest.mark.slow
def test_a_full_disk_is_one_line_and_leaves_nothing_half_written(
    fitted: tuple[Path, str], tmp_path: Path
) -> None:
    run = str(fitted[0])
    for args in (
        ["export", run, "--out", "p.onnx"],
        ["eval", run, "--video", "v.mp4", "--episodes", "1", "--max-steps", "100", "-q"],
    ):
        done = _limited(3000, *args, cwd=tmp_path)
        errors = [line for line in done.stderr.splitlines() if "A.L.E" not in line]
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr and len([e for e in errors if e.strip()]) <= 2
        assert "failed" in done.stderr
        assert list(tmp_path.iterdir()) == [], args  # no temporary file, no partial file
    dataset = write_dataset(tmp_path / "ds.h5", episodes=2, steps=20)
    done = _limited(
        3000,
        "fit",
        "ds.h5",
        "--out",
        "r",
        "--epochs",
        "1",
        "--batch-size",
        "16",
        "-q",
        cwd=tmp_path,
    )
    assert done.returncode == 1 and "EFBIG" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "Event loop is closed" not in done.stderr
    assert os.path.exists(dataset)
