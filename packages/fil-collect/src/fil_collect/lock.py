"""One writer per dataset: an advisory `flock` on a sidecar file, `.<name>.lock`.

Two collections appending to one file would plan the same missing episodes and collide
mid-write, so every command that writes a dataset (collect, relabel, merge, filter) holds this
lock from its checks to its last episode. The lock is on a sidecar, not on the dataset: HDF5
takes its own `flock` locks on the dataset when it opens it, and a writer's lock there would
block its readers. The kernel drops a `flock` lock when its process dies (SIGKILL included), so
a stale sidecar left by a killed writer is simply locked again by the next one; a writer that
ends normally deletes it. The sidecar holds the writer's pid, for the message a second writer
gets. Network file systems: see datasets/README.md ("One writer per file").
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from fil_collect.format import DatasetError


def lock_path(path: Path) -> Path:
    """The sidecar that the writer of `path` locks (next to the file a symlink points to)."""
    real = Path(os.path.realpath(path))
    return real.with_name(f".{real.name}.lock")


class WriterLock:
    """The exclusive right to write one dataset, held until `release` or the process ends."""

    def __init__(self, path: Path) -> None:
        """Take the lock of `path`, or raise DatasetError naming the writer that holds it."""
        self.path = path
        self.sidecar = lock_path(path)
        self._fd: int | None = None
        while self._fd is None:
            fd = os.open(self.sidecar, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                os.close(fd)
                if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                raise DatasetError(
                    f"another fil-collect is writing {path} ({_holder(self.sidecar)}): wait for "
                    "it to finish, or write to another --out"
                ) from None
            if _same_file(fd, self.sidecar):  # else its holder deleted it as we opened it
                self._fd = fd
            else:
                os.close(fd)
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        """Delete the sidecar and drop the lock (deleting first: no one locks a dead file)."""
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.sidecar.unlink()
        os.close(self._fd)
        self._fd = None

    def __del__(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # an object dropped without `release`: the lock goes, the file stays


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def _holder(sidecar: Path) -> str:
    """'pid N' of the lock's holder, as it wrote it."""
    try:
        pid = sidecar.read_text().strip()
    except OSError:
        pid = ""
    return f"pid {pid}" if pid.isdigit() else "pid unknown"


@contextlib.contextmanager
def writing(path: Path) -> Iterator[WriterLock]:
    """Hold the lock of `path` for the block."""
    lock = WriterLock(path)
    try:
        yield lock
    finally:
        lock.release()
