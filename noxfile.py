"""Developer entry points: `nox -s tests`, `nox -s quick`, `nox -s demo`, `nox -s loop`,
`nox -s lint`, `nox -s bench`, `nox -s clean_install` (each package and extra alone in a fresh
venv).

Every session installs the locked workspace with uv into `.venv` (one environment for the whole
monorepo, so jax is installed once) and runs inside it. `nox` itself only needs `uv` on PATH.
The test tiers, their commands and measured times: docs/testing.md.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import nox

nox.options.default_venv_backend = "none"
nox.options.sessions = ["tests"]

PACKAGES = ["fil-collect", "fil-learn"]


def _sync(session: nox.Session, *extra: str) -> None:
    """Install the locked workspace (both packages, dev tools) into .venv."""
    session.run(
        "uv",
        "sync",
        "--all-packages",
        "--extra",
        "eval",
        "--extra",
        "minari",
        "--extra",
        "ray",
        "--extra",
        "guide",
        "--extra",
        "onnx",
        "--extra",
        "loop",
        "--locked",
        # .pyc files written once here: the tests start ~100 Python subprocesses (CLI commands),
        # and where PYTHONDONTWRITEBYTECODE is set each would compile jax's source again (seconds each)
        "--compile-bytecode",
        *extra,
        external=True,
    )


def _uv_run(session: nox.Session, *args: str) -> None:
    session.run("uv", "run", "--locked", "--no-sync", *args, external=True)


def _pytest(session: nox.Session, *args: str) -> None:
    """pytest on every core; any exit status but 0 fails the session, 5 (no test collected,
    e.g. a -k or -m that matches nothing) included."""
    workers = os.environ.get("FIL_TEST_WORKERS", str(os.cpu_count() or 1))
    # loadgroup: tests sharing an expensive module fixture (the Ray cluster) share a worker
    _uv_run(
        session, "pytest", "-n", workers, "--dist", "loadgroup", "--durations=20", *args,
        *session.posargs,
    )  # fmt: skip


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite: real ALE, real HDF5, real JIT training at tiny sizes (what CI
    runs; at most 10 minutes on 2 cores)."""
    _sync(session)
    _pytest(session)


@nox.session
def quick(session: nox.Session) -> None:
    """Every test but those marked `slow`: the edit-test cycle, under 2 minutes on 2 cores."""
    _sync(session)
    _pytest(session, "-m", "not slow")


SYSTEM_TMP = tempfile.gettempdir()
SAMPLE = os.path.abspath("datasets/samples/space_invaders-tiny.h5")
COLLECT = "fil-collect --game Pong --out ds.h5 --episodes 1 --walkers 2 --epochs 3 --quiet"
POLICY = os.path.abspath("results/best/spaceinvaders.onnx")
GUIDED_COLLECT = (
    "fil-collect --game SpaceInvaders --out g.h5 --episodes 1 --walkers 4 --epochs 5 "
    f"--workers 1 --quiet --policy {POLICY}"
)
FIT = f"fil-learn fit {SAMPLE} --out run --epochs 1 --batch-size 16 --quiet"
RAY_COLLECT = f"""python - <<'PY'
import subprocess
from fil_collect.ray_backend import local_cluster
with local_cluster(nodes=1) as cluster:
    subprocess.run("{COLLECT} --ray " + cluster.address, shell=True, check=True)
PY"""
NEEDS_EVAL = """{ fil-learn eval run --episodes 1 2>err.txt && exit 1 || test $? -eq 2; }
grep -qF "pip install 'fil-learn[eval]'" err.txt"""
CLEAN_INSTALLS = {
    # each package with exactly one of its extras, and what must work there: one line each
    "fil-collect": f"{COLLECT} --workers 1 && fil-collect info ds.h5 && fil-collect verify ds.h5",
    "fil-collect[minari]": f"fil-collect export {SAMPLE} --name smoke/fmc-v0",
    "fil-collect[ray]": RAY_COLLECT,
    "fil-learn": f"{FIT}\n{NEEDS_EVAL}",  # without [eval], eval says how to get it
    "fil-learn[eval]": f"{FIT} && fil-learn eval run --episodes 1 --max-steps 50 --video v.mp4",
    # a collect guided by a real exported policy (a results run's), then replayed bit-exact
    "fil-collect[guide]": f"{GUIDED_COLLECT} && fil-collect verify g.h5",
    "fil-learn[onnx]": f"{FIT} && fil-learn export run --out policy.onnx",
    "fil-learn[loop]": "fil-learn loop --help && fil-collect --version",
}


@nox.session
@nox.parametrize("install", list(CLEAN_INSTALLS))
def clean_install(session: nox.Session, install: str) -> None:
    """Install one package with one extra, NOT editable, into a fresh venv, at the lock's
    versions, and run a smoke command there: a dependency an extra forgets to declare (the
    workspace venv has everything, so the tests cannot see it) fails here."""
    package, _, extra = install.partition("[")
    extra = extra.rstrip("]")
    tmp = os.path.abspath(session.create_tmp())
    venv = os.path.join(tmp, "venv")
    constraints = os.path.join(tmp, "constraints.txt")
    session.run("uv", "venv", "--quiet", "--clear", venv, external=True)
    session.run(
        "uv", "export", "--frozen", "--no-hashes", "--no-dev", "--no-emit-workspace",
        "--package", package, *(["--extra", extra] if extra else []), "-o", constraints,
        "--quiet", external=True,
    )  # fmt: skip
    target = os.path.abspath(f"packages/{package}") + (f"[{extra}]" if extra else "")
    python = os.path.join(venv, "bin", "python")
    session.run(
        "uv", "pip", "install", "--quiet", "--python", python, "-c", constraints, target,
        external=True,
    )  # fmt: skip
    work = os.path.join(tmp, "smoke")
    shutil.rmtree(work, ignore_errors=True)  # every run starts from nothing
    os.makedirs(work)
    session.chdir(work)  # away from the workspace: imports come from the clean venv only
    env = {
        "PATH": f"{os.path.join(venv, 'bin')}{os.pathsep}{os.environ['PATH']}",
        "MINARI_DATASETS_PATH": os.path.join(work, "minari"),
        "TMPDIR": SYSTEM_TMP,  # not nox's deep session folder: Ray's socket paths must be short
    }
    session.run("bash", "-euo", "pipefail", "-c", CLEAN_INSTALLS[install], env=env, external=True)


@nox.session
@nox.parametrize("package", PACKAGES)
def package_tests(session: nox.Session, package: str) -> None:
    """One package's own tests."""
    _sync(session)
    _uv_run(session, "pytest", f"packages/{package}/tests", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the whole repo."""
    _sync(session)
    _uv_run(session, "ruff", "check", ".")
    _uv_run(session, "ruff", "format", "--check", ".")


@nox.session
def demo(session: nox.Session) -> None:
    """The main job at a small size: collect SpaceInvaders demonstrations, train, play."""
    _sync(session)
    out = "runs/demo"
    os.makedirs(out, exist_ok=True)
    _uv_run(
        session,
        "fil-collect",
        "--game",
        "SpaceInvaders",
        "--out",
        f"{out}/ds.h5",
        "--episodes",
        "2",
        "--walkers",
        "16",
        "--epochs",
        "300",
        "--seed",
        "0",
    )
    _uv_run(session, "fil-collect", "info", f"{out}/ds.h5")
    _uv_run(session, "fil-learn", "fit", f"{out}/ds.h5", "--out", f"{out}/run", "--epochs", "3")
    _uv_run(
        session, "fil-learn", "eval", f"{out}/run", "--episodes", "2", "--video", f"{out}/play.mp4",
        "--force",  # the demo's own video from an earlier run: a rerun replaces it
    )  # fmt: skip


@nox.session
def loop(session: nox.Session) -> None:
    """`fil-learn loop`: rounds of collect -> fit -> eval -> relabel (DAgger), resumable.

    Example: `nox -s loop -- --game SpaceInvaders --rounds 8`.
    """
    _sync(session)
    _uv_run(session, "fil-learn", "loop", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks (not tests): print ratios against baselines measured in the same run.

    The PyTorch reference of bench/train_speed.py runs when FIL_TORCH_PYTHON names an
    interpreter with torch (torch is never a fil dependency).
    """
    _sync(session, "--extra", "plangym")  # plangym: the baseline collect_speed.py compares with
    _uv_run(session, "python", "bench/collect_speed.py", *session.posargs)
    _uv_run(session, "python", "bench/collect_scaling.py")
    _uv_run(session, "python", "bench/train_speed.py")
