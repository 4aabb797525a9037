"""Collection on a real two-node Ray cluster on 127.0.0.1, with a worker killed mid-run."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fil_collect.cli import app
from fil_collect.collect import CollectConfig, Collection, EpisodeWritten, Event
from fil_collect.dataset import Compression
from fil_collect.format import open_dataset
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


def _needs_ray() -> None:
    """Skip without Ray; import it as the collector does (with its settings), never directly."""
    try:
        require_ray()
    except ValueError:
        pytest.skip("Ray is not installed (uv sync --extra ray)")


@pytest.mark.parametrize(
    ("address", "message"),
    [("127.0.0.1:1", "no Ray cluster answers at 127.0.0.1:1"), ("head-node", "HOST:PORT")],
)
def test_a_bad_cluster_address_is_one_line_not_a_hang(
    tmp_path: Path, address: str, message: str
) -> None:
    _needs_ray()
    path = tmp_path / "ds.h5"
    result = CliRunner().invoke(app, [*TINY_CLI, "--out", str(path), "--ray", address])
    assert result.exit_code == 2
    assert message in result.output
    assert not path.exists()


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[LocalCluster]:
    """A head and a second node on 127.0.0.1, one CPU each, shared by this module's tests."""
    _needs_ray()
    with local_cluster(nodes=2, cpus_per_node=1) as cluster:
        yield cluster


def _running_tasks(cluster: LocalCluster) -> list[int]:
    """The pids of the cluster's workers that are running a swarm right now."""
    import psutil

    running = []
    for node in cluster.node_pids:
        for child in psutil.Process(node).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if child.cmdline()[:1] == ["ray::collect_episode"]:
                    running.append(child.pid)
    return running


def _wait_until(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def _digests(path: Path) -> dict[str, str]:
    with open_dataset(path) as dataset:
        return {e.name: str(e.sha256) for e in dataset.episodes()}


@pytest.mark.slow
@pytest.mark.xdist_group("ray_cluster")  # with --dist loadgroup, one worker and one cluster
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
            _wait_until(lambda: bool(_running_tasks(ray_cluster)), "no swarm was running")
            killed.append(_running_tasks(ray_cluster)[0])
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


@pytest.mark.slow
@pytest.mark.xdist_group("ray_cluster")
def test_ctrl_c_stops_the_cluster_work_and_keeps_what_finished(
    tmp_path: Path, ray_cluster: LocalCluster
) -> None:
    path = tmp_path / "ds.h5"
    process = subprocess.Popen(
        [
            *(sys.executable, "-c", "from fil_collect.cli import main; main()"),
            *("--game", "SpaceInvaders", "--walkers", "4", "--epochs", "60", "--seed", "3"),
            *("--episodes", "20", "--ray", ray_cluster.address, "--out", str(path)),
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    assert process.stderr is not None
    reported: set[int] = set()
    while not reported:
        line = process.stderr.readline()
        assert line, "the collector stopped before writing an episode"
        if match := re.match(r"episode (\d+): return", line.strip()):
            reported.add(int(match.group(1)))
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    on_disk = set(_digests(path))
    assert {f"episode_{i}" for i in reported} <= on_disk
    assert len(on_disk) < 20
    _wait_until(lambda: not _running_tasks(ray_cluster), "swarms still run after Ctrl-C", 10)


@pytest.mark.slow
@pytest.mark.xdist_group("ray_cluster")
def test_relabelling_on_the_cluster_equals_a_local_run(
    tmp_path: Path, ray_cluster: LocalCluster
) -> None:
    from fil_collect.relabel import RelabelConfig, Relabelling

    from .test_relabel import write_visited

    visited = write_visited(tmp_path / "visited.h5", episodes=2)
    config = RelabelConfig(swarm=SwarmConfig(n_walkers=4, max_epochs=3, max_dt=4), every=3)
    Relabelling(visited, tmp_path / "local.h5", config, 1, Compression()).run()
    on_ray = Relabelling(
        visited, tmp_path / "ray.h5", config, 1, Compression(), ray_address=ray_cluster.address
    )
    on_ray.run()
    with open_dataset(tmp_path / "local.h5") as a, open_dataset(tmp_path / "ray.h5") as b:
        assert a.checksum == b.checksum
        assert b.total_episodes == 2
