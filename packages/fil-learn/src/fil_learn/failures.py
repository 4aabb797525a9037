"""Failures of the machine, not of the input: a full disk, a file too large, no permission, a
read-only file system, while writing a run, a checkpoint, a video, a policy or a JSON file.
They end a command with one line and exit code 1, whatever library raised them (orbax wraps
them in its own errors, ffmpeg stops with a broken pipe): every file is written whole or not
at all (`outputs.py`, orbax's own temporary checkpoints), so finished epochs and files are
kept and the same command continues once the cause is gone. fil-collect has its own copy of
this small module: the packages never import each other.
"""

from __future__ import annotations

import errno
import logging
import sys
import threading
from typing import Any

ENVIRONMENT_ERRNOS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EFBIG: "a file grew past the size this process may write",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "the file system is read-only",
}
"""errno -> what it means for the user."""
_TEXTS = {
    "No space left on device": errno.ENOSPC,
    "Disk quota exceeded": errno.EDQUOT,
    "File too large": errno.EFBIG,
    "Read-only file system": errno.EROFS,
    "Permission denied": errno.EACCES,
}
"""What a library says in place of an errno (HDF5, orbax and tensorstore messages)."""


class WriteFailed(OSError):
    """A writer that cannot say why it failed (ffmpeg's broken pipe): reported as a machine
    failure, with the likely causes named."""


_MARKERS = ("[Errno ", "errno = ", "os_error_code")
"""How a library's message shows it carries an OS error; fil's own messages (which may name
a strerror, as in `cannot write X: Permission denied`) have none, and stay input errors."""


def _library_errno(text: str) -> int | None:
    """The errno a library's error text reports, else None."""
    if not any(marker in text for marker in _MARKERS):
        return None
    return next((number for phrase, number in _TEXTS.items() if phrase in text), None)


def environment_errno(error: BaseException) -> int | None:
    """The errno of a machine failure anywhere in `error`'s chain (cause, context, an
    exception group's members), else None."""
    pending: list[BaseException] = [error]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in ENVIRONMENT_ERRNOS:
            return current.errno
        number = _library_errno(str(current))
        if number is not None:
            return number
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
        pending += list(getattr(current, "exceptions", ()))
    return None


def failure_line(error: BaseException) -> str | None:
    """The one line a machine failure ends a command with, or None for any other error."""
    if isinstance(error, WriteFailed):
        return f"{error}; what was finished is kept: free space, then run the same command again"
    number = environment_errno(error)
    if number is None:
        return None
    return (
        f"writing failed: {ENVIRONMENT_ERRNOS[number]} ({errno.errorcode[number]}); what was "
        "finished is kept and nothing is half-written: free space or fix the permissions, "
        "then run the same command again"
    )


def _echo(error: BaseException | None) -> bool:
    """Whether `error` is a library's second report of a machine failure (orbax's threads,
    the asyncio loop its futures close), which the command's one line already says."""
    if error is None:
        return False
    closed_loop = isinstance(error, RuntimeError) and str(error) == "Event loop is closed"
    return closed_loop or environment_errno(error) is not None


class _DropEchoes(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (_echo(exc) or _library_errno(record.getMessage()) is not None)


def silence_echoes() -> None:
    """Keep a machine failure to the command's one line: orbax logs it from its threads with
    tracebacks, and tensorstore's callbacks report `Event loop is closed` as unraisable. Only those reports are dropped; any other error prints as before."""
    if getattr(sys.excepthook, "fil_drops_echoes", False):
        return
    logging.getLogger("absl").addFilter(_DropEchoes())
    previous, previous_thread = sys.excepthook, threading.excepthook
    previous_unraisable = sys.unraisablehook

    def excepthook(kind: type[BaseException], error: BaseException, tb: Any) -> None:
        if not _echo(error):
            previous(kind, error, tb)

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if not _echo(args.exc_value):
            previous_thread(args)

    def unraisable_hook(args: Any) -> None:
        if not _echo(args.exc_value):
            previous_unraisable(args)

    excepthook.fil_drops_echoes = True  # type: ignore[attr-defined]
    sys.excepthook, threading.excepthook = excepthook, thread_hook
    sys.unraisablehook = unraisable_hook
