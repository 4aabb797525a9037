"""What a dataset holds, read from the file alone (for `fil-collect info`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from fil_collect.dataset import episode_names, open_dataset


def summarize(path: Path) -> dict[str, Any]:
    """Game, episodes, steps, returns, settings, versions and size of a fil dataset."""
    with open_dataset(path) as handle:
        names = episode_names(handle)
        returns = np.array([handle[n].attrs["episode_return"] for n in names], dtype=np.float64)
        steps = int(sum(int(handle[n].attrs["length"]) for n in names))
        stored = sum(handle[n]["observations"].id.get_storage_size() for n in names)
        raw = sum(handle[n]["observations"].nbytes for n in names)
        attrs = handle.attrs
        summary: dict[str, Any] = {
            "game": attrs["game"],
            "env_id": attrs["env_id"],
            "format": f"{attrs['format']} v{attrs['format_version']}",
            "episodes": len(names),
            "steps": steps,
        }
        if names:
            summary["return mean / min / max"] = (
                f"{returns.mean():,.1f} / {returns.min():,.0f} / {returns.max():,.0f}"
            )
        summary["settings"] = ", ".join(
            f"{k}={v}" for k, v in json.loads(attrs["config_json"]).items()
        )
        summary["versions"] = (
            f"fil-collect {attrs['fil_collect_version']}, ale-py {attrs['ale_py_version']}, "
            f"ROM md5 {attrs['rom_md5']}"
        )
        summary["size on disk"] = f"{path.stat().st_size / 2**20:,.2f} MiB"
        if stored:
            summary["observation compression"] = f"{raw / stored:,.1f}x"
    return summary
