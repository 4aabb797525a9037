"""How many JAX devices a CPU-only host is split into for `fit`.

XLA runs the matrix products of a step on all cores, but most other operations of it (the
im2col concatenations, slices, ReLU gradients: ~40% of a batch-256 step here) on one thread.
Splitting the host into several CPU devices runs the data-parallel shards side by side, so those
operations use every core too, except when each device gets too few samples to keep busy
(the README's "CPU-only hosts" and training-speed table give the measured speed-ups and the
command). Each device holds its own copy of the frames.

The device count is fixed when JAX starts its CPU backend, so this is decided before any array
is made: by the `fil-learn fit` command, from the batch size and the data's size.
"""

from __future__ import annotations

import contextlib
import os

import jax

MIN_SAMPLES_PER_DEVICE = 64
"""Below this many samples per device a split is slower than one device (measured: README)."""


def available_cores() -> int:
    """Cores this process may run on (its affinity where the OS says, else the CPU count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def auto_cpu_devices(batch_size: int, frame_bytes: int, cores: int, free_memory: int | None) -> int:
    """The most devices that each get >= 64 samples of the batch, one core and a copy of the
    frames (next to the host's own copy) within the free memory; 1 where none of that holds."""
    best = 1
    for devices in range(2, cores + 1):
        if batch_size % devices or batch_size // devices < MIN_SAMPLES_PER_DEVICE:
            continue
        if free_memory is not None and frame_bytes * (devices + 1) > free_memory:
            continue
        best = devices
    return best


def use_cpu_devices(devices: int) -> None:
    """Split the CPU backend into `devices` devices; where JAX has already started (a caller
    made arrays), its devices stay, and `run.json` records the ones used.

    Call it before JAX makes any array. Accelerator hosts are unaffected: `fit` trains on the
    default backend, and this only changes how many CPU devices exist next to it.
    """
    if devices < 1:
        raise ValueError(f"--cpu-devices must be at least 1, got {devices}")
    with contextlib.suppress(RuntimeError):  # raised only when the backend is already up
        jax.config.update("jax_num_cpu_devices", devices)


def forced_by_environment() -> bool:
    """Whether the user already split the host with XLA's own flag (then it is left alone)."""
    return "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", "")
