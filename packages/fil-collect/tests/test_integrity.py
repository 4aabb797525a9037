"""Issue #25, fil-collect's side: nothing a user has is overwritten or mislabelled.

Real collections at tiny sizes (2 walkers, 3 epochs), real HDF5 files, real processes: a merge
of two frameskips, an old mixed merge that must verify clean, two writers at once, a file size
limit that makes a real write fail (RLIMIT_FSIZE: EFBIG), symlinks, and relabel's messages.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import pytest
from typer.testing import CliRunner

from fil_collect.cli import app
from fil_collect.dataset import write_file_totals
from fil_collect.format import DatasetError, open_dataset
from fil_collect.lock import WriterLock, lock_path
from fil_collect.mixing import check_dataset

runner = CliRunner()
CLI = [sys.executable, "-c", "from fil_collect.cli import main; main()"]
TINY = ["--game", "SpaceInvaders", "--walkers", "2", "--epochs", "3", "--workers", "1", "-q"]


def _collect(path: Path, episodes: int = 1, *extra: str) -> Path:
    result = runner.invoke(app, [*TINY, "--out", str(path), "--episodes", str(episodes), *extra])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("integrity")
    return {
        "a": _collect(folder / "a.h5", 2),
        "b": _collect(folder / "b.h5", 1, "--frameskip", "2"),
    }


def _text(output: str) -> str:
    return " ".join(output.split())


def test_merge_and_filter_refuse_two_frameskips(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "m.h5"
    result = runner.invoke(app, ["merge", str(files["a"]), str(files["b"]), "--out", str(out)])
    text = _text(result.output)
    assert result.exit_code == 2, text
    assert "merge would mix frameskip 4" in text and str(files["b"]) in text
    assert not out.exists() and list(tmp_path.iterdir()) == []


def _old_mixed_merge(files: dict[str, Path], path: Path) -> Path:
    """What merge wrote before it refused mixes: a's header, b's episode with its settings."""
    path.write_bytes(files["a"].read_bytes())
    with h5py.File(path, "a") as target, h5py.File(files["b"], "r") as source:
        target.copy(source["episode_0"], target, name="episode_2")
        target["episode_2"].attrs["config_json"] = source.attrs["config_json"]
        write_file_totals(target)
    return path


def test_an_old_mixed_merge_verifies_clean_and_is_refused_downstream(
    files: dict[str, Path], tmp_path: Path
) -> None:
    mixed = _old_mixed_merge(files, tmp_path / "m.h5")
    result = runner.invoke(app, ["verify", str(mixed), "--workers", "1", "-q"])
    assert result.exit_code == 0, result.output  # each episode replays at its own frameskip
    assert "verified: 3 episode(s)" in result.output
    out = tmp_path / "f.h5"
    result = runner.invoke(app, ["filter", str(mixed), "--out", str(out)])
    assert result.exit_code == 2 and "filter would mix frameskip 4" in _text(result.output)
    assert "episode_2 of" in _text(result.output) and not out.exists()
    with open_dataset(mixed) as dataset, pytest.raises(DatasetError, match="export would mix"):
        check_dataset(dataset, "export")  # the Minari export's check, before minari writes


def test_a_second_writer_is_refused_with_the_first_ones_pid(
    files: dict[str, Path], tmp_path: Path
) -> None:
    path = tmp_path / "ds.h5"
    path.write_bytes(files["a"].read_bytes())
    before = path.read_bytes()
    lock = WriterLock(path)  # this process is "the other fil-collect"
    try:
        done = subprocess.run(
            [*CLI, *TINY, "--out", str(path), "--episodes", "3"], capture_output=True, text=True
        )
    finally:
        lock.release()
    text = _text(done.stderr)
    assert done.returncode == 2, text
    assert f"another fil-collect is writing {path} (pid {os.getpid()})" in text
    assert "Traceback" not in text and path.read_bytes() == before
    assert not lock_path(path).exists()  # released: the sidecar goes


def test_a_killed_writers_lock_is_free(tmp_path: Path) -> None:
    path = tmp_path / "ds.h5"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from fil_collect.lock import "
            f"WriterLock; lock = WriterLock(Path({str(path)!r})); print('held', flush=True); "
            "time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with pytest.raises(DatasetError, match=f"pid {holder.pid}"):
        WriterLock(path)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    WriterLock(path).release()  # the kernel dropped the dead writer's flock


def _limited(limit: int, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The CLI in a process that may write no file past `limit` bytes: a real write fails
    with EFBIG, as on a full disk (SIGXFSZ ignored, so the write returns the error)."""

    def limit_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, preexec_fn=limit_size, cwd=cwd
    )


def test_a_write_that_fails_is_one_line_and_keeps_finished_episodes(
    files: dict[str, Path], tmp_path: Path
) -> None:
    size = files["a"].stat().st_size  # two episodes: the third cannot fit
    done = _limited(size + 2000, *TINY, "--out", "c.h5", "--episodes", "3", cwd=tmp_path)
    text = _text(done.stderr)
    assert done.returncode == 1, text
    assert "EFBIG" in text and "run the same command again" in text and "Traceback" not in text
    with open_dataset(tmp_path / "c.h5") as dataset:
        assert len(dataset.names()) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["c.h5"]  # no temporary file, no journal
    done = _limited(size // 2, "merge", str(files["a"]), "--out", "m.h5", cwd=tmp_path)
    assert done.returncode == 1 and "EFBIG" in done.stderr and "Traceback" not in done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["c.h5"]


def test_force_through_a_symlink_writes_its_target(files: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "real.h5"
    target.write_bytes(b"old")
    link = tmp_path / "link.h5"
    link.symlink_to(target)
    result = runner.invoke(app, ["filter", str(files["a"]), "--out", str(link), "--force"])
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == str(target)
    with open_dataset(target) as dataset:
        assert len(dataset.names()) == 2


def test_relabel_says_what_is_wrong_with_its_out(files: dict[str, Path], tmp_path: Path) -> None:
    visited = tmp_path / "visited.h5"
    visited.write_bytes(b"anything")
    result = runner.invoke(app, ["relabel", str(visited), "--out", str(visited)])
    text = _text(result.output)
    assert result.exit_code == 2 and "is the visited-states file being relabelled" in text
    assert visited.read_bytes() == b"anything"


def test_appending_another_version_names_both_kinds(files: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "ds.h5"
    path.write_bytes(files["a"].read_bytes())
    with h5py.File(path, "a") as f:
        f.attrs["format_version"] = 2
        f.attrs["config_json"] = json.dumps(json.loads(f.attrs["config_json"]))
    result = runner.invoke(app, [*TINY, "--out", str(path), "--episodes", "3"])
    text = _text(result.output)
    assert result.exit_code == 2
    assert "holds relabelled episodes (format version 2), and these would be swarm" in text
    assert "another --out" in text
