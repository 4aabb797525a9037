"""What a dataset holds, read from the file alone (for `fil-collect info`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from fil_collect.dataset import episode_names, open_dataset, require_attrs
from fil_collect.verify import checksum_status

REQUIRED = ("game", "env_id", "config_json", "fil_collect_version", "ale_py_version", "rom_md5")


def summarize(path: Path) -> dict[str, Any]:
    """Game, episodes, steps, returns, settings, versions, size and checksum state of a dataset."""
    with open_dataset(path) as handle:
        require_attrs(handle, path, REQUIRED)
        names = episode_names(handle)
        for name in names:
            require_attrs(handle[name], path, ("episode_return", "length"))
        returns = np.array([handle[n].attrs["episode_return"] for n in names], dtype=np.float64)
        steps = int(sum(int(handle[n].attrs["length"]) for n in names))
        stored = sum(handle[n]["observations"].id.get_storage_size() for n in names)
        raw = sum(handle[n]["observations"].nbytes for n in names)
        status = checksum_status(handle)
        attrs = handle.attrs
        summary: dict[str, Any] = {
            "game": str(attrs["game"]),
            "env_id": str(attrs["env_id"]),
            "format": f"{attrs['format']} v{attrs['format_version']}",
            "episodes": len(names),
            "steps": steps,
        }
        if names:
            summary["return_mean"] = float(returns.mean())
            summary["return_min"] = float(returns.min())
            summary["return_max"] = float(returns.max())
        summary["settings"] = json.loads(attrs["config_json"])
        summary["versions"] = {
            "fil_collect": str(attrs["fil_collect_version"]),
            "ale_py": str(attrs["ale_py_version"]),
            "rom_md5": str(attrs["rom_md5"]),
        }
        summary["size_bytes"] = path.stat().st_size
        summary["observation_compression"] = raw / stored if stored else None
        summary["checksums"] = {
            "ok": status.ok,
            "bad_episodes": status.bad,
            "damaged_episodes": status.damaged,
            "episodes_without_checksum": status.missing,
            "file": {None: "absent", True: "ok", False: "mismatch"}[status.file_ok],
        }
    return summary


def summary_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The summary as (key, text) rows for a human table."""
    rows = [(k, str(summary[k])) for k in ("game", "env_id", "format", "episodes")]
    rows.append(("steps", f"{summary['steps']:,}"))
    if "return_mean" in summary:
        rows.append(
            (
                "return mean / min / max",
                f"{summary['return_mean']:,.1f} / {summary['return_min']:,.0f} / {summary['return_max']:,.0f}",
            )
        )
    rows.append(("settings", ", ".join(f"{k}={v}" for k, v in summary["settings"].items())))
    versions = summary["versions"]
    rows.append(
        (
            "versions",
            f"fil-collect {versions['fil_collect']}, ale-py {versions['ale_py']}, ROM md5 {versions['rom_md5']}",
        )
    )
    rows.append(("size on disk", f"{summary['size_bytes'] / 2**20:,.2f} MiB"))
    if summary["observation_compression"]:
        rows.append(("observation compression", f"{summary['observation_compression']:,.1f}x"))
    checks = summary["checksums"]
    if checks["damaged_episodes"]:
        state = f"DAMAGED: {', '.join(checks['damaged_episodes'])} (do not decompress)"
    elif checks["bad_episodes"]:
        state = f"MISMATCH in {', '.join(checks['bad_episodes'])}"
    elif checks["file"] == "mismatch":
        state = "file checksum MISMATCH (episodes added or removed outside fil)"
    elif checks["episodes_without_checksum"]:
        state = f"{len(checks['episodes_without_checksum'])} episode(s) carry no checksum"
    else:
        state = "ok (sha256 of every episode and of the file)"
    rows.append(("checksums", state))
    return rows
