"""Running a stage of a long recipe (`loop`, `scale`) as a child command.

Every stage is a fil command in its own process, so a stage that fails or is stopped leaves its
finished work on disk and the recipe's rerun continues from there. One function serves both
recipes, so a stop reaches the child the same way in each.
"""

from __future__ import annotations

import contextlib
import resource
import signal
import subprocess
from collections.abc import Callable

Echo = Callable[[str], None]


def run_child(argv: list[str], echo: Echo, show_output: bool = True) -> None:
    """Run a stage (`Ledger.charge` measures its CPU time). Ctrl-C or SIGTERM here stops the
    child the same way (SIGTERM: each fil command stops cleanly, keeping its finished work)
    and re-raises. Without `show_output` the child's stdout is dropped (errors still show)."""
    echo("$ " + " ".join(argv))
    child = subprocess.Popen(argv, stdout=None if show_output else subprocess.DEVNULL)
    try:
        code = child.wait()
    except KeyboardInterrupt:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        raise
    if code:
        raise subprocess.CalledProcessError(code, argv)


def children_cpu_seconds() -> float:
    """CPU seconds of this process's finished children: what a recipe's stages cost, as a
    difference taken around them."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
