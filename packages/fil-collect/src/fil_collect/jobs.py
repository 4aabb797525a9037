"""A run of per-episode jobs written to one dataset: the one runner of collection and relabelling.

Collecting (a swarm per episode) and relabelling (short swarms along a visited episode) differ in
their work function, their file header and what they report of a written episode. The rest is
here, once: every check before the first job starts (bad input costs nothing and damages
nothing), the plan of the episodes still missing (the same command continues an interrupted
run), the jobs on local worker processes or a Ray cluster (`workers.TaskRunner`), progress, a
stop that keeps what was written, and the one writer in this process that appends each episode
as soon as it arrives (`dataset.DatasetWriter`, journalled).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from fil_collect.dataset import Compression, DatasetWriter
from fil_collect.format import EpisodeRecord
from fil_collect.lock import WriterLock
from fil_collect.workers import EpisodeProgress, TaskRunner, Work


class EpisodeEvent(Protocol):
    """What a run reports of a written episode: at least which one it is."""

    @property
    def index(self) -> int: ...


Written = TypeVar("Written", bound=EpisodeEvent)


class EpisodeJobs(Generic[Written]):
    """Construction checks everything and plans the episodes; `run` does the work.

    A subclass sets `work` (a module-level function, shipped to workers by name), says what
    the file header is (`header`), which episodes to make (`plan`), the task of each (`task`)
    and what to report once one is on disk (`written`). It checks its own settings before
    calling this `__init__`.
    """

    work: Work
    in_order = False
    """Write the episodes in index order (a finished one waits for those before it), so that
    where a run stops (`enough`) does not depend on which worker finished first."""

    def __init__(
        self,
        out: Path,
        compression: Compression,
        workers: int,
        ray_address: str | None = None,
        force: bool = False,
    ) -> None:
        """`ray_address` (e.g. 'auto') runs the jobs as tasks on that Ray cluster instead of in
        `workers` local processes; the writer stays here either way."""
        compression.validate()
        self.runner = TaskRunner(workers, ray_address)
        self.writer = DatasetWriter(out, self.header(), compression, force=force)
        self.lock = WriterLock(out)  # before planning: a second writer would plan the same
        existing = self.writer.existing_frames()
        self.existing = len(existing)
        self.indices = self.plan(existing)
        self.runner.connect()  # last, so that no check above can leave a connection open

    def header(self) -> dict[str, Any]:
        """The file attributes of the output (`format.file_header` and more)."""
        raise NotImplementedError

    def plan(self, existing: dict[int, int]) -> list[int]:
        """The episode indices to make, given those the output holds already (their emulator
        frames by index)."""
        raise NotImplementedError

    def task(self, index: int) -> Any:
        """What `work` needs to make episode `index` (picklable)."""
        raise NotImplementedError

    def written(self, record: EpisodeRecord) -> Written:
        """The event that says `record` is on disk."""
        raise NotImplementedError

    def enough(self, record: EpisodeRecord) -> bool:
        """Whether the run is complete once `record` is on disk (before its planned episodes
        are all made: a budget spent); planned episodes still running are stopped."""
        return False

    def run(
        self, on_event: Callable[[EpisodeProgress | Written], None] = lambda event: None
    ) -> list[Written]:
        """Make the planned episodes; each is written as soon as it finishes.

        The job source is closed however the loop ends, so an interrupt stops the workers
        (local or on the cluster) at once; what was written stays written.
        """
        done: list[Written] = []
        tasks = [(index, self.task(index)) for index in self.indices]
        try:
            finished = self.runner.results(type(self).work, tasks, on_event)
            with contextlib.closing(finished):
                for record in self._write_order(finished):
                    self.writer.append([record])
                    complete = self.enough(record)
                    done.append(self.written(record))
                    on_event(done[-1])
                    if complete:
                        break
        finally:
            self.lock.release()
        return done

    def _write_order(self, finished: Iterable[EpisodeRecord]) -> Iterator[EpisodeRecord]:
        """The records as they finish, or in planned order where `in_order` (each held until
        the ones planned before it are written)."""
        if not self.in_order:
            yield from finished
            return
        waiting: dict[int, EpisodeRecord] = {}
        planned = iter(self.indices)
        due = next(planned, None)
        for record in finished:
            waiting[record.index] = record
            while due in waiting:
                yield waiting.pop(due)
                due = next(planned, None)
