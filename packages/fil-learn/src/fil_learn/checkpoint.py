"""Orbax checkpoints of a fit: the latest training state (to resume) and the best parameters.

Orbax writes each checkpoint into a temporary folder and renames it when complete, so a fit
killed at any moment, SIGKILL included, leaves the previous checkpoint intact; resuming loses
at most the work since it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orbax.checkpoint as ocp


class CheckpointStore:
    """One orbax manager per kind: `latest` (whole state, two kept) and `best` (parameters)."""

    def __init__(self, run_dir: Path, kind: str, keep: int) -> None:
        options = ocp.CheckpointManagerOptions(
            max_to_keep=keep, create=True, enable_async_checkpointing=False
        )
        self._manager = ocp.CheckpointManager(run_dir.absolute() / kind, options=options)

    def latest_step(self) -> int | None:
        return self._manager.latest_step()

    def save(self, step: int, tree: Any) -> None:
        self._manager.save(step, args=ocp.args.StandardSave(tree), force=True)
        self._manager.wait_until_finished()

    def restore(self, step: int, like: Any) -> Any:
        """Restore into the structure (and dtypes) of `like`."""
        return self._manager.restore(step, args=ocp.args.StandardRestore(like))

    def close(self) -> None:
        self._manager.close()
