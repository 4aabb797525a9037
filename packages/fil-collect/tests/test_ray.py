"""Collection on a real two-node Ray cluster on 127.0.0.1, with a worker killed mid-run."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fil_collect.cli import app
from fil_collect.collect import CollectConfig, Collection, EpisodeWritten, Event
from fil_collect.dataset import Compression, open_dataset
from fil_collect.ray_backend import LocalCluster, local_cluster, require_ray
from fil_collect.swarm import SwarmConfig

from .conftest import TINY_CLI

EPISODES = 4


def test_ray_flag_without_ray_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if not installed
    path = tmp_path / "ds.h5"
    result = CliRunner().invoke(app, [*TINY_CLI, "--out", str(path), "--ray", "auto"])
    assert result.exit_code == 2
    assert "pip install 'fil-collect[ray]'" in result.output
    assert "Traceback" not in result.output
    assert not path.exists()


def test_ray_and_workers_together_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ds.h5"
    result = CliRunner().invoke(
        app, [*TINY_CLI, "--out", str(path), "--ray", "auto", "--workers", "2"]
    )
    assert result.exit_code == 2
    assert "--workers" in result.output
    assert not path.exists()


@pytest.fixture
def ray_cluster() -> Iterator[LocalCluster]:
    """A head and a second node on 127.0.0.1, one CPU each."""
    try:
        require_ray()
    except ValueError:
        pytest.skip("Ray is not installed (uv sync --extra ray)")
    with local_cluster(nodes=2, cpus_per_node=1) as cluster:
        yield cluster


def _running_task(node_pids: tuple[int, ...]) -> int:
    """The pid of a worker of these nodes that is running a swarm right now."""
    import psutil

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for node in node_pids:
            for child in psutil.Process(node).children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    if child.cmdline()[:1] == ["ray::collect_episode"]:
                        return child.pid
        time.sleep(0.02)
    raise AssertionError("no worker was running a swarm")


def _digests(path: Path) -> dict[str, str]:
    with open_dataset(path) as f:
        return {k: str(f[k].attrs["sha256"]) for k in f if k.startswith("episode_")}


@pytest.mark.slow
def test_ray_cluster_survives_a_killed_worker_and_equals_a_local_run(
    tmp_path: Path, tiny_config: CollectConfig, ray_cluster: LocalCluster
) -> None:
    config = dataclasses.replace(tiny_config, swarm=SwarmConfig(n_walkers=4, max_epochs=60))
    # about 1.5 s a swarm: long enough to catch one running, short enough for a test
    written_before_kill: set[int] = set()
    killed: list[int] = []

    def kill_a_worker_after_the_first_episode(event: Event) -> None:
        if isinstance(event, EpisodeWritten) and not killed:
            written_before_kill.add(event.index)
            killed.append(_running_task(ray_cluster.node_pids))
            os.kill(killed[0], signal.SIGKILL)

    cluster_path = tmp_path / "cluster.h5"
    collection = Collection(
        config, cluster_path, EPISODES, 1, Compression(), ray_address=ray_cluster.address
    )
    written = collection.run(kill_a_worker_after_the_first_episode)
    assert killed and written_before_kill
    assert sorted(event.index for event in written) == list(range(EPISODES))

    local_path = tmp_path / "local.h5"
    Collection(config, local_path, EPISODES, 1, Compression()).run()
    cluster, local = _digests(cluster_path), _digests(local_path)
    assert len(cluster) == EPISODES
    assert cluster == local
