"""Swarm episodes as Ray tasks: the same finished episodes as the local pool, from a cluster.

Each episode is one task. Episode `i` depends only on the settings and `(seed, i)`, so a task
that runs twice (its worker died and Ray retried it) or on any node gives the same episode, and
the dataset equals a local run with the same seed. Finished episodes come back in the order they
finish, to the one writer in the calling process. Progress is coarser than locally: the caller
hears of an episode only when it is finished (no per-epoch scores from remote swarms).

Ray is an optional dependency (`fil-collect[ray]`), imported only when a cluster is asked for.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from types import ModuleType

from fil_collect.collect import CollectConfig, collect_episode
from fil_collect.dataset import EpisodeRecord

log = logging.getLogger(__name__)

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
    try:
        ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
    except ConnectionError as error:
        raise ValueError(
            f"no Ray cluster at {address!r} ({error}): start one with `ray start --head`, "
            "or give its address, e.g. --ray 10.0.0.1:6379"
        ) from None
    return True


def ray_episodes(
    config: CollectConfig, indices: list[int], disconnect: bool
) -> Iterator[EpisodeRecord]:
    """Finished episodes in the order they finish, one Ray task each.

    Closing the generator early (Ctrl-C, an error while writing) cancels the tasks still
    queued or running, killing their workers, so the cluster stops working for this run.
    """
    ray = require_ray()
    task = ray.remote(num_cpus=1, max_retries=TASK_RETRIES, retry_exceptions=False)(collect_episode)
    pending = {task.remote(config, index): index for index in indices}
    log.info("%d episode task(s) submitted to %s", len(pending), ray.cluster_resources())
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                del pending[ref]
                yield ray.get(ref)
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        if disconnect:
            ray.shutdown()
