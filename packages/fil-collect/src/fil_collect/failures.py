"""Failures of the machine, not of the input: a full disk, a file too large, no permission, a
read-only file system. They end a command with one line and exit code 1, whatever library
raised them (h5py wraps them in its own OSError, a worker in its own error): every write is
whole or absent (`dataset.py`, `journal.py`), so what was finished is kept and the same command
continues once the cause is gone.
"""

from __future__ import annotations

import errno

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
"""What HDF5 says in place of an errno (`errno = 28, error message = 'No space left ...'`)."""


_MARKERS = ("[Errno ", "errno = ", "os_error_code")
"""How a library's message shows it carries an OS error; fil's own messages (which may name
a strerror, as in `cannot write X: Permission denied`) have none, and stay input errors."""


def _library_errno(text: str) -> int | None:
    """The errno a library's error text reports, else None."""
    if not any(marker in text for marker in _MARKERS):
        return None
    return next((number for phrase, number in _TEXTS.items() if phrase in text), None)


def environment_errno(error: BaseException) -> int | None:
    """The errno of a machine failure anywhere in `error`'s chain (cause, context), else None."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in ENVIRONMENT_ERRNOS:
            return current.errno
        number = _library_errno(str(current))
        if number is not None:
            return number
        current = current.__cause__ or current.__context__
    return None


def environment_message(number: int, what: str) -> str:
    """One line: what failed, why, and that a rerun continues."""
    return (
        f"{what} failed: {ENVIRONMENT_ERRNOS[number]} ({errno.errorcode[number]}); what was "
        "finished is kept and nothing is half-written: free space or fix the permissions, "
        "then run the same command again"
    )
