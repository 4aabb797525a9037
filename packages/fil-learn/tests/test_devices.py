"""How `fit` splits a CPU-only host into JAX devices."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fil_learn.data import available_memory, frame_bytes
from fil_learn.devices import auto_cpu_devices, available_cores

from .conftest import write_dataset

GiB = 2**30


def test_auto_gives_each_device_64_samples_one_core_and_a_copy_of_the_frames() -> None:
    assert auto_cpu_devices(256, GiB, cores=2, free_memory=20 * GiB) == 2
    assert auto_cpu_devices(128, GiB, cores=2, free_memory=20 * GiB) == 2
    assert auto_cpu_devices(32, GiB, cores=2, free_memory=20 * GiB) == 1  # 16 per device: slower
    assert auto_cpu_devices(256, GiB, cores=1, free_memory=None) == 1
    assert auto_cpu_devices(256, GiB, cores=16, free_memory=None) == 4
    assert auto_cpu_devices(192, GiB, cores=4, free_memory=None) == 3
    assert auto_cpu_devices(200, GiB, cores=4, free_memory=None) == 2  # 200 % 3 != 0
    # the host's copy and one per device must fit in the free memory
    assert auto_cpu_devices(256, 8 * GiB, cores=2, free_memory=20 * GiB) == 1
    assert auto_cpu_devices(256, 6 * GiB, cores=2, free_memory=20 * GiB) == 2


def _fit(dataset: Path, out: Path, *options: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    fil_learn = Path(sys.executable).with_name("fil-learn")
    command = [str(fil_learn), "fit", str(dataset), "--out", str(out)]
    result = subprocess.run(
        [*command, "--epochs", "1", "--batch-size", "128", "--quiet", *options],
        env={**env, "JAX_PLATFORMS": "cpu"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads((out / "run.json").read_text())


@pytest.mark.slow
def test_fit_splits_the_cpu_as_asked_and_by_default_as_auto_says(tmp_path: Path) -> None:
    dataset = write_dataset(tmp_path / "ds.h5", episodes=6, steps=64)
    assert _fit(dataset, tmp_path / "two", "--cpu-devices", "2")["device_count"] == 2
    expected = auto_cpu_devices(128, frame_bytes([dataset]), available_cores(), available_memory())
    assert _fit(dataset, tmp_path / "auto")["device_count"] == expected
