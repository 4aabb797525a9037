"""What a dataset holds, read from the file alone (for `fil-collect info`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fil_collect.format import FORMAT_NAME, StoredEpisode, open_dataset
from fil_collect.verify import ChecksumStatus, checksum_status


def summarize(path: Path) -> dict[str, Any]:
    """Game, episodes, steps, returns, settings, versions, size and checksum state of a dataset."""
    with open_dataset(path) as dataset:
        game, env_id = dataset.game, dataset.env_id
        settings, versions = dataset.settings, dataset.versions  # all missing ones fail here
        episodes = dataset.episodes()
        for episode in episodes:
            episode.check()
        return {
            "game": game,
            "env_id": env_id,
            "format": f"{FORMAT_NAME} v{dataset.version}",
            "episodes": len(episodes),
            "steps": int(sum(e.length for e in episodes)),
            **_returns(episodes),
            "settings": settings,
            "versions": versions,
            "size_bytes": path.stat().st_size,
            "observation_compression": _compression(episodes),
            "checksums": _checksums(checksum_status(dataset)),
        }


def _returns(episodes: list[StoredEpisode]) -> dict[str, float]:
    if not episodes:
        return {}
    returns = np.array([e.episode_return for e in episodes], dtype=np.float64)
    return {
        "return_mean": float(returns.mean()),
        "return_min": float(returns.min()),
        "return_max": float(returns.max()),
    }


def _compression(episodes: list[StoredEpisode]) -> float | None:
    """Decompressed over stored bytes of the observations (None when nothing is stored)."""
    sizes = [e.observation_bytes() for e in episodes]
    stored, raw = sum(s for s, _ in sizes), sum(r for _, r in sizes)
    return raw / stored if stored else None


def _checksums(status: ChecksumStatus) -> dict[str, Any]:
    return {
        "ok": status.ok,
        "bad_episodes": status.bad,
        "damaged_episodes": status.damaged,
        "episodes_without_checksum": status.missing,
        "file": {None: "absent", True: "ok", False: "mismatch"}[status.file_ok],
    }


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
