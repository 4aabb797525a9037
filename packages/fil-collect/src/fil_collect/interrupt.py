"""Ctrl-C and `kill` (SIGTERM) as a stop request that cannot be lost.

A signal handler that raises KeyboardInterrupt raises it in whatever Python code the main
thread runs at that moment. When that is a weakref callback or a `__del__` (multiprocessing and
the garbage collector run them at any time), Python prints "Exception ignored ... Traceback" and
goes on: the stop is lost and the collector runs to the end with exit code 0. Seen in 1 run of
30 of `fil-collect --workers 2` killed with SIGTERM right after its first episode: a
`WeakValueDictionary` callback swallowed it (and in CI, once in three runs of the test).

So the handler records the request, and while the episode loops run (`deferred`) it raises
nothing: the loops call `check` every fraction of a second, where an exception always
propagates. Elsewhere (setting up, `verify`) it raises at once, as Python's own handler does.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType


class _State:
    """Plain attributes, safe to set inside a signal handler (a lock or an Event could
    deadlock with the interrupted code holding it)."""

    stop = False
    deferred = False


def install() -> None:
    """Turn SIGINT and SIGTERM into a recorded stop (entry points only)."""
    _State.stop = False
    signal.signal(signal.SIGINT, _handle)
    signal.signal(signal.SIGTERM, _handle)


def _handle(signum: int, frame: FrameType | None) -> None:
    _State.stop = True
    if not _State.deferred:
        raise KeyboardInterrupt


def check() -> None:
    """Raise KeyboardInterrupt here if a stop was asked for."""
    if _State.stop:
        raise KeyboardInterrupt


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Inside, a signal only records the stop; the code must `check` often (every episode
    loop here does, at least every half second), and leaving checks once more."""
    outer = _State.deferred
    _State.deferred = True
    try:
        yield
    finally:
        _State.deferred = outer
    check()


def stoppable(results: Iterator[object]) -> Iterator[object]:
    """`results` with signals deferred while they are produced and consumed."""
    with deferred(), contextlib.closing(results):  # type: ignore[type-var]
        yield from results
