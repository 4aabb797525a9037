"""Independent episode tasks in worker processes or on a Ray cluster, streamed back in finish
order.

Collection and relabelling both turn a list of tasks into episodes that one writer in the
parent appends as they arrive; this is the one place that decides where they run. Local workers
ignore Ctrl-C: the parent stops them and keeps everything already written.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.managers import SyncManager
from typing import Any

from fil_collect import interrupt, ray_backend


@dataclass(frozen=True)
class EpisodeProgress:
    """How far the running task of episode `index` is: `done` of `total` units (a collection's
    swarm epochs, a relabelling's labels), and the best score so far where the task has one."""

    index: int
    done: int
    total: int | None
    """None where the task has no fixed count (a swarm run to a frame or time budget)."""
    score: float | None = None


TaskProgress = Callable[[int, int | None, float | None], None]
"""What a task calls as it runs: (done, total or None, best score or None)."""
Work = Callable[[Any, int, TaskProgress | None], Any]
"""A module-level function (picklable by name): (task, index, progress) -> result."""


def run_tasks(
    work: Work,
    tasks: list[tuple[int, Any]],
    workers: int,
    on_progress: Callable[[EpisodeProgress], None],
) -> Iterator[Any]:
    """Results of `work(task, index, progress)` for each (index, task), in the order they finish."""
    if workers <= 1 or len(tasks) <= 1:
        for index, task in tasks:
            interrupt.check()
            yield work(task, index, _reporter(index, on_progress))
        return
    context = multiprocessing.get_context("spawn")
    manager = SyncManager(ctx=context)
    manager.start(_ignore_sigint)
    progress_queue = manager.Queue()
    pool = context.Pool(min(workers, len(tasks)), initializer=_ignore_sigint)
    try:
        results = pool.imap_unordered(
            _run_in_worker, [(work, task, index, progress_queue) for index, task in tasks]
        )
        for _ in tasks:
            while True:
                interrupt.check()  # a stop whose KeyboardInterrupt was swallowed ends here
                _drain(progress_queue, on_progress)
                try:
                    result = results.next(timeout=0.2)
                    break
                except multiprocessing.TimeoutError:
                    continue
            yield result
        pool.close()
    finally:
        pool.terminate()
        pool.join()
        manager.shutdown()


def local_workers(workers: int | None, ray_address: str | None) -> int:
    """Local processes to run: `--workers`, else all cores; `--ray` leaves it to the cluster."""
    if ray_address is not None and workers is not None:
        raise ValueError(
            "--workers sets local processes; with --ray the cluster's CPUs decide: drop one"
        )
    return workers if workers is not None else (os.cpu_count() or 1)


class TaskRunner:
    """Where the tasks of a run go: `workers` local processes, or the Ray cluster at
    `ray_address` ('auto' or HOST:PORT).

    Construction checks that Ray is installed; `connect` joins the cluster and belongs after
    every other check of the caller, so bad input never leaves a connection open. Closing the
    iterator `results` returns stops the remaining work, locally or on the cluster.
    """

    def __init__(self, workers: int, ray_address: str | None = None) -> None:
        if workers < 1:
            raise ValueError(f"--workers must be at least 1, got {workers}")
        if ray_address is not None:
            ray_backend.require_ray()
        self.workers = workers
        self.ray_address = ray_address
        self._disconnect = False

    def connect(self) -> None:
        if self.ray_address is not None:
            self._disconnect = ray_backend.connect(self.ray_address)

    def results(
        self,
        work: Work,
        tasks: list[tuple[int, Any]],
        on_progress: Callable[[EpisodeProgress], None],
    ) -> Iterator[Any]:
        """Results in finish order; on Ray, progress is reported only as results arrive."""
        if self.ray_address is None:
            return interrupt.stoppable(run_tasks(work, tasks, self.workers, on_progress))
        return interrupt.stoppable(ray_backend.ray_tasks(work, tasks, self._disconnect))


def _run_in_worker(job: tuple[Work, Any, int, Any]) -> Any:
    work, task, index, progress_queue = job
    return work(task, index, _reporter(index, progress_queue.put))


def _reporter(index: int, on_progress: Callable[[EpisodeProgress], None]) -> TaskProgress:
    def report(done: int, total: int | None, score: float | None) -> None:
        interrupt.check()  # in this process: a swarm run here stops at its next epoch
        on_progress(EpisodeProgress(index, done, total, score))

    return report


def _drain(progress_queue: Any, on_progress: Callable[[EpisodeProgress], None]) -> None:
    while True:
        try:
            on_progress(progress_queue.get_nowait())
        except queue.Empty:
            return


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the parent, which stops them and keeps what was written."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
