"""Developer entry points: `nox -s tests`, `nox -s demo`, `nox -s loop`, `nox -s lint`,
`nox -s bench`.

Every session installs the locked workspace with uv into `.venv` (one environment for the whole
monorepo, so jax is installed once) and runs inside it. `nox` itself only needs `uv` on PATH.
"""

from __future__ import annotations

import os

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
        *extra,
        external=True,
    )


def _uv_run(session: nox.Session, *args: str) -> None:
    session.run("uv", "run", "--locked", "--no-sync", *args, external=True)


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite: real ALE, real HDF5, real JIT training at tiny sizes."""
    _sync(session)
    workers = os.environ.get("FIL_TEST_WORKERS", str(os.cpu_count() or 1))
    # loadgroup: tests sharing an expensive module fixture (the Ray cluster) share a worker
    _uv_run(session, "pytest", "-n", workers, "--dist", "loadgroup", *session.posargs)


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
        session, "fil-learn", "eval", f"{out}/run", "--episodes", "2", "--video", f"{out}/play.mp4"
    )


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
