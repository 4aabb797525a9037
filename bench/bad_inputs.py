"""Issue #25's user trial, replayed: does anything a user has get overwritten or mislabelled?

    uv run python bench/bad_inputs.py [--keep]

Runs each row of the issue through the real `fil-collect` and `fil-learn` commands in a
temporary folder (tiny collections: 2 walkers, 3 epochs; one tiny fit) and prints per row
`clean`, or `bad` and why: a traceback, a wrong exit code, a file changed or left behind. A
full disk is a file size limit (RLIMIT_FSIZE, SIGXFSZ ignored), so a real write fails with
EFBIG. Takes a few minutes on two cores, most of it the fit and JAX's start-up.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import h5py

from fil_collect.dataset import write_file_totals

COLLECT = [sys.executable, "-c", "from fil_collect.cli import main; main()"]
LEARN = [sys.executable, "-m", "fil_learn"]
TINY = ["--game", "SpaceInvaders", "--walkers", "2", "--epochs", "3", "--workers", "1", "-q"]


@dataclass
class Ran:
    """One command's exit code and output."""

    code: int
    output: str

    def problems(self, code: int, *says: str) -> list[str]:
        """What is wrong with this run, for a row that expects exit `code` and phrases `says`."""
        found = []
        if "Traceback" in self.output:
            found.append("traceback")
        if self.code != code:
            found.append(f"exit {self.code}, not {code}")
        text = " ".join(self.output.split())
        found += [f"does not say {phrase!r}" for phrase in says if phrase not in text]
        return found


def run(command: list[str], folder: Path, limit: int | None = None) -> Ran:
    """Run a command in `folder`; with `limit`, no file it writes may pass `limit` bytes."""

    def limit_size() -> None:
        if limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run(
        command, cwd=folder, capture_output=True, text=True, preexec_fn=limit_size
    )
    return Ran(done.returncode, done.stdout + done.stderr)


def leftovers(folder: Path, expected: set[str]) -> list[str]:
    """Files in `folder` that no row should leave (temporary files, partial outputs, locks)."""
    extra = sorted(p.name for p in folder.iterdir() if p.name not in expected)
    return [f"left {', '.join(extra)}"] if extra else []


def setup(folder: Path) -> None:
    """Two small datasets (frameskip 4 and 2), a run fitted on the first, its visited states."""
    for name, extra in (("a.h5", []), ("b.h5", ["--frameskip", "2"])):
        ran = run([*COLLECT, *TINY, "--out", name, "--episodes", "2", *extra], folder)
        assert ran.code == 0, ran.output
    fit = [*LEARN, "fit", "a.h5", "--out", "run", "--epochs", "1", "--batch-size", "8", "-q"]
    assert run(fit, folder).code == 0
    play = [*LEARN, "eval", "run", "--episodes", "1", "--max-steps", "20", "-q"]
    assert run([*play, "--save-states", "visited.h5"], folder).code == 0


def row_mixed_rates(folder: Path) -> list[str]:
    """1. merge of two frameskips; an old mixed merge verifies clean and is refused by fit."""
    found = run([*COLLECT, "merge", "a.h5", "b.h5", "--out", "m.h5"], folder).problems(
        2, "would mix frameskip 4"
    )
    old = folder / "old.h5"
    shutil.copy(folder / "a.h5", old)
    with h5py.File(old, "a") as target, h5py.File(folder / "b.h5", "r") as source:
        target.copy(source["episode_0"], target, name="episode_5")
        target["episode_5"].attrs["config_json"] = source.attrs["config_json"]
        write_file_totals(target)
    found += run([*COLLECT, "verify", "old.h5", "-q"], folder).problems(0, "verified: 3")
    found += run([*LEARN, "fit", "old.h5", "--out", "r2"], folder).problems(2, "frameskip 2")
    old.unlink()
    return found + leftovers(folder, BASE)


def row_outputs(folder: Path) -> list[str]:
    """2. fil-learn outputs onto an existing dataset: refused, the dataset unchanged."""
    before = (folder / "a.h5").read_bytes()
    found = []
    for args in (
        ["export", "run", "--out", "a.h5"],
        ["eval", "run", "--json", "a.h5"],
        ["eval", "run", "--save-states", "a.h5", "--force"],
        ["baselines", "--game", "SpaceInvaders", "--json", "a.h5"],
    ):
        found += run([*LEARN, *args], folder).problems(2, "never replaces")
    if (folder / "a.h5").read_bytes() != before:
        found.append("a.h5 changed")
    return found


def row_two_writers(folder: Path) -> list[str]:
    """3. two collections into one file at once: one works, the other names it."""
    command = [*COLLECT, *TINY, "--out", "two.h5", "--episodes", "6"]
    started = [
        subprocess.Popen(command, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(2)
    ]
    results = sorted((p.wait(), p.stdout.read().decode() if p.stdout else "") for p in started)
    found = Ran(*results[0]).problems(0)
    found += Ran(*results[1]).problems(2, "another fil-collect is writing")
    (folder / "two.h5").unlink(missing_ok=True)
    return found + leftovers(folder, BASE)


def row_full_disk(folder: Path) -> list[str]:
    """4. a full disk in collect, merge, fit, export and eval --video: one line, exit 1."""
    found = []
    for name, command, limit in (
        ("collect", [*COLLECT, *TINY, "--out", "full.h5", "--episodes", "4"], 60_000),
        ("merge", [*COLLECT, "merge", "a.h5", "--out", "m.h5"], 60_000),
        (
            "fit",
            [*LEARN, "fit", "a.h5", "--out", "r3", "--epochs", "1", "--batch-size", "8"],
            60_000,
        ),
        ("export", [*LEARN, "export", "run", "--out", "p.onnx"], 60_000),
        ("eval --video", [*LEARN, "eval", "run", "--video", "v.mp4", "--max-steps", "50"], 3_000),
    ):
        ran = run([*command, "-q"] if name != "merge" else command, folder, limit=limit)
        found += [f"{name}: {problem}" for problem in ran.problems(1, "failed")]
    shutil.rmtree(folder / "r3", ignore_errors=True)
    (folder / "full.h5").unlink(missing_ok=True)  # its finished episodes are kept, as they should
    return found + leftovers(folder, BASE)


def row_duplicates_and_splits(folder: Path) -> list[str]:
    """5 and 9. fit given one file twice, one episode, more devices than cores: said."""
    shutil.copy(folder / "a.h5", folder / "one.h5")
    with h5py.File(folder / "one.h5", "a") as f:
        del f["episode_1"]
    command = [*LEARN, "fit", "one.h5", "one.h5", "--out", "r4", "--epochs", "1"]
    ran = run([*command, "--batch-size", "8", "--cpu-devices", "64", "-q"], folder)
    found = ran.problems(0, "given twice", "no validation split", "--cpu-devices 64 is more")
    shutil.rmtree(folder / "r4", ignore_errors=True)
    (folder / "one.h5").unlink()
    return found


def row_empty_batch(folder: Path) -> list[str]:
    """6. logits and act of an empty batch."""
    probe = (
        "import numpy as np; from fil_learn import load_policy; p = load_policy('run'); "
        "e = np.zeros((0, 4, 84, 84), np.uint8); print(p.logits(e).shape, p.act(e).shape)"
    )
    return run([sys.executable, "-c", probe], folder).problems(0, "(0, 6) (0,)")


def row_relabel(folder: Path) -> list[str]:
    """7. relabel into a file of another version, and into its own input."""
    relabel = [*COLLECT, "relabel", "visited.h5", "--walkers", "2", "--epochs", "2", "-q"]
    found = run([*relabel, "--out", "a.h5"], folder).problems(2, "holds swarm episodes")
    found += run([*relabel, "--out", "visited.h5"], folder).problems(2, "being relabelled")
    return found


def row_symlink(folder: Path) -> list[str]:
    """8. --force through a symlink: the link stays, its target is written."""
    (folder / "link.h5").symlink_to(folder / "target.h5")
    found = run([*COLLECT, "filter", "a.h5", "--out", "link.h5", "--force"], folder).problems(0)
    if not (folder / "link.h5").is_symlink() or not (folder / "target.h5").is_file():
        found.append("the link was replaced")
    (folder / "link.h5").unlink()
    (folder / "target.h5").unlink(missing_ok=True)
    return found


BASE = {"a.h5", "b.h5", "run", "visited.h5"}
ROWS: dict[str, Callable[[Path], list[str]]] = {
    "1 mixed frameskips": row_mixed_rates,
    "2 outputs onto a dataset": row_outputs,
    "3 two writers": row_two_writers,
    "4 full disk": row_full_disk,
    "5+9 duplicates, no split, devices": row_duplicates_and_splits,
    "6 empty batch": row_empty_batch,
    "7 relabel --out": row_relabel,
    "8 symlink --force": row_symlink,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="Keep the temporary folder.")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="fil-bad-inputs-"))
    try:
        setup(folder)
        bad = 0
        for name, row in ROWS.items():
            problems = row(folder)
            bad += bool(problems)
            print(f"{name:36} {'bad: ' + '; '.join(problems) if problems else 'clean'}", flush=True)
        print(f"{len(ROWS) - bad} of {len(ROWS)} rows clean")
    finally:
        if args.keep:
            print(f"files kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
