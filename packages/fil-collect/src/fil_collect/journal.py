"""In-place appends to an HDF5 file that a SIGKILL at any moment cannot damage: a redo journal.

Adding a group to an HDF5 file rewrites a few metadata blocks all over it (the superblock, the
root group's B-tree, heap and attributes), and HDF5 promises nothing about a file whose writer
died while writing them. So here HDF5 never writes into the committed part of the file. It
writes through `ShadowFile`: bytes past the committed end go straight to disk, because nothing
in the committed file points there yet (HDF5 reads a file longer than its end-of-allocation
address without complaint), and a changed page of the committed part stays in memory. The
append then commits in four steps, each safe to be killed in:

1. fsync the new bytes;
2. write the final content of every changed page to `.<name>.journal` (a temporary file,
   fsynced, renamed into place: it appears whole or not at all);
3. write those pages into the file, fsync;
4. delete the journal.

Killed before step 2, the file is the old file; the journal then says `begin` and where the
committed file ends, and the bytes past that end are cut off. Killed after it, the journal holds
the new pages and writing them again completes the append (writing a page twice is harmless).
`finish_append` does either; the next writer and every fil-collect reader run it first. The
journal holds only the pages HDF5 changed (a few KiB), so an append writes O(episode) bytes
however large the file is; the copy-and-rename it replaces wrote O(file).

Appends take an exclusive `lockf` lock on the file, so two writers take turns and a lock that
can be taken proves that the journal's writer is dead (the kernel drops a killed process's
locks). HDF5's own locks are `flock` locks, which on Linux are a different kind, so readers
are not blocked (on BSD and macOS the two kinds meet: a reader may then find the file locked
while an append runs, and can retry).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

PAGE = 4096
"""Changed bytes of the committed file are kept, journalled and rewritten in pages of this size."""


class JournalError(ValueError):
    """A journal that cannot be applied, or a file that cannot be repaired by this user."""


def journal_path(path: Path) -> Path:
    """Where the journal of `path` lives while an append to it runs (or after one was killed)."""
    return path.with_name(f".{path.name}.journal")


def journal_state(path: Path) -> str | None:
    """`begin` (an append is running or was killed before committing: the file is whole),
    `commit` (an append was killed while writing its last pages), or None (no append)."""
    journal = journal_path(path)
    try:
        with open(journal, "rb") as source:
            return str(json.loads(source.readline())["state"])
    except FileNotFoundError:
        return None


class ShadowFile(io.RawIOBase):
    """The file as HDF5 sees it during an append: committed bytes are never written in place.

    h5py's `fileobj` driver calls `seek`, `readinto`, `write`, `truncate` and `flush`.
    """

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd
        self.base = os.fstat(fd).st_size
        """End of the committed file: nothing before it changes until the commit."""
        self.size = self.base
        self.pages: dict[int, bytearray] = {}
        self.position = 0
        self.failed: OSError | None = None
        """The first write that failed (a full disk): HDF5 is not told, since an error raised
        inside its callbacks can crash it; `in_place_append` raises this one once HDF5 has
        closed the file, and nothing of the append is committed."""

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        start = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = start + offset
        return self.position

    def tell(self) -> int:
        return self.position

    def _page(self, number: int) -> bytearray:
        page = self.pages.get(number)
        if page is None:
            page = bytearray(os.pread(self.fd, PAGE, number * PAGE).ljust(PAGE, b"\0"))
            self.pages[number] = page
        return page

    def _spans(self, position: int, length: int) -> Iterator[tuple[int, int, int | None]]:
        """(position, count, page number) pieces of a read or write: a piece of the committed
        part lies inside one page; the piece past it has page None."""
        end = position + length
        while position < end:
            if position < self.base:
                number, start = divmod(position, PAGE)
                count = min(PAGE - start, end - position, self.base - position)
                yield position, count, number
            else:
                count = end - position
                yield position, count, None
            position += count

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        for position, count, number in self._spans(self.position, len(view)):
            if number is not None and number in self.pages:
                start = position - number * PAGE
                chunk = bytes(self.pages[number][start : start + count])
            elif position < self.size:
                chunk = os.pread(self.fd, count, position)
            else:
                chunk = b""
            view[done : done + count] = chunk.ljust(count, b"\0")  # past the end reads as zeros
            done += count
        self.position += done
        return done

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        done = 0
        for position, count, number in self._spans(self.position, len(view)):
            if number is None:  # past the committed end: nothing points here yet
                self._guarded(_write_all, self.fd, view[done : done + count], position)
            else:
                start = position - number * PAGE
                self._page(number)[start : start + count] = view[done : done + count]
            done += count
        self.position += done
        self.size = max(self.size, self.position)
        return done

    def truncate(self, size: int | None = None) -> int:
        size = self.position if size is None else size
        self.size = size
        self._guarded(os.ftruncate, self.fd, max(size, self.base))  # committed part: at commit
        return size

    def _guarded(self, write: Callable[..., None], *args: Any) -> None:
        """Run `write`; an OSError is kept in `failed` (the first one) instead of raised."""
        if self.failed is not None:
            return
        try:
            write(*args)
        except OSError as error:
            self.failed = error

    def flush(self) -> None:
        """HDF5 flushes often; durability is the commit's business."""

    def changed_pages(self) -> list[tuple[int, bytes]]:
        """(offset, final bytes) of every changed part of the committed file, up to its new end."""
        end = min(self.base, self.size)
        pages = []
        for number in sorted(self.pages):
            offset = number * PAGE
            if offset < end:
                pages.append((offset, bytes(self.pages[number][: min(PAGE, end - offset)])))
        return pages


@contextlib.contextmanager
def in_place_append(path: Path) -> Iterator[ShadowFile]:
    """Open `path` for HDF5 (`h5py.File(shadow, "r+")`); the changes made inside the block
    become part of the file whole when it ends, or not at all if it raises or the process dies."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX)  # released by the kernel when fd closes or we die
        _finish_locked(fd, path)
        shadow = ShadowFile(fd)
        begin = {"state": "begin", "inode": os.fstat(fd).st_ino, "base": shadow.base}
        _write_journal(path, begin, [], durable=False)  # lost to a power cut, it is not needed
        try:
            yield shadow
            if shadow.failed is not None:
                raise shadow.failed
            os.fsync(fd)  # 1. the new bytes are on disk before anything points at them
            pages = shadow.changed_pages()
            header = {**begin, "state": "commit", "size": shadow.size}
            _write_journal(path, header, pages)  # 2. the commit point
        finally:  # 3. and 4., or the rollback of an append that did not reach its commit
            _finish_locked(fd, path)
    finally:
        os.close(fd)


def finish_append(path: Path) -> None:
    """Complete (or undo) an append whose writer was killed, so that plain HDF5 reads the file.

    Does nothing while the file has no journal, or while a live writer holds a `begin` one
    (the committed file is whole then). Waits for a live writer that is writing its last pages.
    """
    state = journal_state(path)
    if state is None:
        return
    try:
        fd = os.open(path, os.O_RDWR)
    except PermissionError:
        if state == "begin":
            return
        raise JournalError(
            f"{path} was being appended to when its writer was killed, and you cannot write it: "
            "run `fil-collect info` on it once as a user who can, to finish the append"
        ) from None
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            if state == "begin":
                return  # a live writer's append has not changed the committed file
            fcntl.lockf(fd, fcntl.LOCK_EX)
        _finish_locked(fd, path)
    finally:
        os.close(fd)


def _finish_locked(fd: int, path: Path) -> None:
    """Redo a committed journal or cut off an uncommitted append, then delete the journal."""
    journal = journal_path(path)
    _temp_journal(path).unlink(missing_ok=True)
    if not journal.exists():
        return
    header, pages = _read_journal(journal)
    if header["inode"] != os.fstat(fd).st_ino:
        pass  # the journal of a file that was since replaced or deleted: it says nothing here
    elif header["state"] == "commit":
        for offset, data in pages:
            _write_all(fd, data, offset)
        os.ftruncate(fd, header["size"])
    elif os.fstat(fd).st_size != header["base"]:
        os.ftruncate(fd, header["base"])
    os.fsync(fd)
    journal.unlink()
    _fsync_folder(path.parent)


def _temp_journal(path: Path) -> Path:
    journal = journal_path(path)
    return journal.with_name(journal.name + ".tmp")


def _write_journal(
    path: Path, header: dict[str, Any], pages: list[tuple[int, bytes]], durable: bool = True
) -> None:
    """Header line (JSON: state, base, size, page offsets and lengths, sha256), then the pages."""
    blob = b"".join(data for _, data in pages)
    header = {
        "format": "fil-journal",
        **header,
        "pages": [[offset, len(data)] for offset, data in pages],
        "sha256": hashlib.sha256(blob).hexdigest(),
    }
    temp = _temp_journal(path)
    with open(temp, "wb") as out:
        out.write(json.dumps(header).encode() + b"\n")
        out.write(blob)
        out.flush()
        if durable:
            os.fsync(out.fileno())
    os.replace(temp, journal_path(path))
    if durable:
        _fsync_folder(path.parent)


def _read_journal(journal: Path) -> tuple[dict[str, Any], list[tuple[int, bytes]]]:
    with open(journal, "rb") as source:
        header = json.loads(source.readline())
        blob = source.read()
    if hashlib.sha256(blob).hexdigest() != header["sha256"]:
        raise JournalError(f"{journal} is damaged (its pages do not match their checksum)")
    pages, start = [], 0
    for offset, length in header["pages"]:
        pages.append((offset, blob[start : start + length]))
        start += length
    return header, pages


def _write_all(fd: int, data: bytes | memoryview, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def _fsync_folder(folder: Path) -> None:
    """Make a rename or deletion in `folder` durable (POSIX: fsync the directory)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
