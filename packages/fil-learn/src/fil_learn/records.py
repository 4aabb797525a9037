"""What a rerun may continue: the settings a results record (a loop's `rounds.json`, a curve's
`preset.json`) was measured with, against the settings given now.

One rule for both records, so they age the same way: a setting the record lacks was added after
it was written, and reads as what was measured then (its default, or what the caller says was
played before it was recorded); settings a rerun may extend (more rounds, more points) or that
only redraw a page are not compared.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def changed_settings(
    recorded: dict[str, Any],
    current: dict[str, Any],
    before_recorded: dict[str, Any],
    extendable: Iterable[str] = (),
) -> tuple[list[str], dict[str, Any]]:
    """The names of the `current` settings the record was not measured with, and the record
    read with `before_recorded` standing in for the settings it lacks."""
    old = {**before_recorded, **recorded}
    skip = set(extendable)
    return [k for k in current if k not in skip and old.get(k) != current[k]], old
