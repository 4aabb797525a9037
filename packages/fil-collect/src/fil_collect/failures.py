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


def environment_errno(error: BaseException) -> int | None:
    """The errno of a machine failure anywhere in `error`'s chain (cause, context), else None."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in ENVIRONMENT_ERRNOS:
            return current.errno
        text = str(current)
        for phrase, number in _TEXTS.items():
            if phrase in text:
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
