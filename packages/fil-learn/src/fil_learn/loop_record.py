"""A loop's record, `rounds.json`: its settings, its rounds' rows, baselines and finals.

A rerun continues the loop the record holds. Records written before a setting existed lack it;
they read as that setting's default, or as `PLAYED_BEFORE_RECORDED` says they were played, so
old loops continue as they were played and a rerun with other settings is refused by name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fil_learn.config import ON_ONLY_SWITCHES
from fil_learn.loop_config import LoopConfig, default_settings, flat_settings
from fil_learn.records import changed_settings
from fil_learn.run_folder import write_atomic

EXTENDABLE = ("rounds",)
"""Settings a rerun may raise: more rounds continue the loop."""

PLAYED_BEFORE_RECORDED: dict[str, Any] = {"round_seeds": "per-round"}
"""How a loop recorded before a setting existed was played, where that differs from the
setting's default; any other missing setting counts as its default (which is what was played)."""

FLAGS = {"keep_demos": ("--keep-demos", "--drop-demos")} | {
    name: (f"--{name.replace('_', '-')}", "") for name in (*ON_ONLY_SWITCHES, "fresh")
}
"""Switches whose command-line form is not --NAME/--no-NAME ("": the switch left out)."""


def jsonable(config: LoopConfig) -> dict[str, Any]:
    """The settings as the record writes them: flat names, paths as text."""
    return {k: _plain(v) for k, v in flat_settings(config).items()}


def _plain(value: Any) -> Any:
    """A setting as JSON holds it (paths as text, tuples as lists), so a setting read back
    from a record compares equal to the one it was written from."""
    if isinstance(value, Path):
        return str(value)
    return list(value) if isinstance(value, tuple) else value


def _as_option(name: str, value: Any) -> str:
    """A recorded setting as the command line writes it, so a refusal says what to give."""
    flag = "--" + name.replace("_", "-")
    if isinstance(value, bool):
        on, off = FLAGS.get(name, (flag, f"--no-{flag[2:]}"))
        return (on if value else off) or f"no {on}"
    if isinstance(value, list):  # a repeatable option: one flag a value
        return " ".join(f"{flag} {item}" for item in value) or f"no {flag}"
    return f"no {flag}" if value is None else f"{flag} {value}"


def other_settings(record: dict[str, Any], config: LoopConfig, ignore: Iterable[str] = ()) -> str:
    """The settings a record was played with where `config` has others, as the options that
    would continue it ("" when none differ; never `rounds`, which a rerun may raise, nor the
    names in `ignore`): what a rerun, or a table built on the record, must match."""
    defaults = {
        **{k: _plain(v) for k, v in default_settings().items()},
        "game": config.game,
        "workdir": str(config.workdir),
    }
    differ, old = changed_settings(
        record["config"],
        jsonable(config),
        {**defaults, **PLAYED_BEFORE_RECORDED},
        (*EXTENDABLE, *ignore),
    )
    return ", ".join(_as_option(k, old.get(k)) for k in differ)


def read_record(config: LoopConfig) -> dict[str, Any]:
    """The record of an earlier run of this loop; other settings in the same folder are
    refused rather than mixed in. A rerun with more `--rounds` plays the rounds that are
    missing (and evaluates the new last round); fewer is refused."""
    path = config.workdir / "rounds.json"
    if not path.exists():
        return {}
    record = json.loads(path.read_text())
    recorded = other_settings(record, config)
    if recorded:
        raise ValueError(
            f"{config.workdir} holds a loop with other settings ({recorded}): "
            "use the same ones or another --workdir"
        )
    if config.rounds < len(record.get("rounds", [])):
        raise ValueError(
            f"{config.workdir} has played {len(record['rounds'])} rounds already: "
            f"give --rounds {len(record['rounds'])} or more"
        )
    return record


def write_record(
    config: LoopConfig,
    rows: list[dict[str, Any]],
    baselines: dict[str, Any] | None,
    finals: dict[str, Any] | None = None,
) -> None:
    """Write `rounds.json` whole (atomically: an interrupted write keeps the last record)."""
    payload = {
        "config": jsonable(config),
        "rounds": rows,
        "baselines": baselines,
        "final": finals or {},
    }
    write_atomic(config.workdir / "rounds.json", json.dumps(payload, indent=2) + "\n")
