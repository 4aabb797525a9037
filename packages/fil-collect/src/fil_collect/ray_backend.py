"""Episode tasks on a Ray cluster: the same finished episodes as the local pool, from a cluster.

Each episode is one task. Episode `i` depends only on the settings and `(seed, i)`, so a task
that runs twice (its worker died and Ray retried it) or on any node gives the same episode, and
the dataset equals a local run with the same seed. Finished episodes come back in the order they
finish, to the one writer in the calling process. Progress is coarser than locally: the caller
hears of an episode only when it is finished (no per-epoch scores from remote swarms).

Ray is an optional dependency (`fil-collect[ray]`), imported only when a cluster is asked for.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TypeVar

from fil_collect import interrupt

log = logging.getLogger(__name__)

Result = TypeVar("Result")

TASK_RETRIES = 3
"""Reruns of an episode whose worker process or node died before it finished."""


def require_ray() -> ModuleType:
    """The `ray` module, or a ValueError that says how to install it.

    Workers run in the Python environment their node was started from (`ray start` from an
    environment with fil-collect installed). Ray's default for a driver under `uv run` would
    instead rebuild the project's uv environment on every worker from a copy of the working
    directory (minutes, and network access on every node), so that is off unless
    RAY_ENABLE_UV_RUN_RUNTIME_ENV is set; Ray reads it when it is first imported.
    """
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    try:
        import ray
    except ImportError:
        raise ValueError(
            "--ray needs Ray, which is not installed: pip install 'fil-collect[ray]' "
            "(or uv sync --extra ray)"
        ) from None
    return ray


def connect(address: str) -> bool:
    """Join the Ray cluster at `address` ('auto': the one started on this machine).

    Returns whether this call connected (and so the caller should disconnect when done); a
    process that already joined a cluster keeps its connection.
    """
    ray = require_ray()
    if ray.is_initialized():
        return False
    if address != "auto":
        _check_reachable(address)  # Ray itself retries an unreachable address for ever
    try:
        ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
    except ConnectionError as error:
        raise ValueError(
            f"no Ray cluster at {address!r} ({error}): start one with `ray start --head`, "
            "or give its address, e.g. --ray 10.0.0.1:6379"
        ) from None
    return True


def _check_reachable(address: str, timeout: float = 10) -> None:
    host, colon, port = address.rpartition(":")
    if not colon or not host or not port.isdigit():
        raise ValueError(
            f"--ray {address!r} is not a cluster address: give 'auto' or the head's HOST:PORT, "
            "e.g. --ray 10.0.0.1:6379"
        )
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as error:
        raise ValueError(
            f"no Ray cluster answers at {address} ({error.strerror or error}): start one with "
            "`ray start --head`, or check the address"
        ) from None


def ray_tasks(
    work: Callable[[Any, int, None], Result], tasks: list[tuple[int, Any]], disconnect: bool
) -> Iterator[Result]:
    """`work(task, index, None)` for each (index, task) as one Ray task, in the order they finish.

    `work` is a module-level function (Ray ships it by name). Closing the generator early
    (Ctrl-C, an error while writing) cancels the tasks still queued or running, killing their
    workers, so the cluster stops working for this run; `disconnect` also leaves the cluster.
    """
    ray = require_ray()
    remote = ray.remote(num_cpus=1, max_retries=TASK_RETRIES, retry_exceptions=False)(work)
    pending = {remote.remote(task, index, None): index for index, task in tasks}
    log.info("%d task(s) submitted to %s", len(pending), ray.cluster_resources())
    try:
        while pending:
            interrupt.check()
            done, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
            for ref in done:
                del pending[ref]
                yield ray.get(ref)
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        if disconnect:
            ray.shutdown()


@dataclass(frozen=True)
class LocalCluster:
    """A Ray cluster of node processes on this machine: its address and each node's pid."""

    address: str
    node_pids: tuple[int, ...]


@contextlib.contextmanager
def local_cluster(nodes: int = 2, cpus_per_node: int = 1) -> Iterator[LocalCluster]:
    """Start `nodes` Ray nodes on this machine (a head and the rest joining it), reached at
    127.0.0.1:PORT; stop them on exit. (Ray registers each node under the host's own IP even
    when told 127.0.0.1: it maps loopback to a reachable address on purpose.)

    For trying `--ray` and for tests and benchmarks on one machine. Each node is a `ray start
    --block` process whose children are that node's Ray processes, so stopping it stops exactly
    this cluster, never another Ray on the host (as `ray stop` would).
    """
    ray = require_ray()
    temp_dir = tempfile.mkdtemp(prefix="fil-ray-")  # short: Ray's socket paths must fit
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"127.0.0.1:{port}"
    start = [sys.executable, "-m", "ray.scripts.scripts", "start", "--block"]
    common = [f"--num-cpus={cpus_per_node}", "--node-ip-address=127.0.0.1", "--disable-usage-stats"]
    head = [f"--port={port}", "--include-dashboard=false", f"--temp-dir={temp_dir}"]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for node in range(nodes):
            where = ["--head", *head] if node == 0 else [f"--address={address}"]
            processes.append(
                subprocess.Popen(
                    [*start, *where, *common],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            _wait_for_cpus(ray, address, (node + 1) * cpus_per_node)
        yield LocalCluster(address, tuple(p.pid for p in processes))
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(temp_dir, ignore_errors=True)


def _wait_for_cpus(ray: ModuleType, address: str, cpus: int, timeout: float = 120) -> None:
    """Until the cluster at `address` has `cpus` CPUs (a node joins only a head that is up)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
            break
        except ConnectionError:
            _pause(deadline, address)
    try:
        while ray.cluster_resources().get("CPU", 0) < cpus:
            _pause(deadline, address)
    finally:
        ray.shutdown()


def _pause(deadline: float, address: str) -> None:
    if time.monotonic() > deadline:
        raise TimeoutError(f"the local Ray cluster at {address} did not start in time")
    time.sleep(0.5)
