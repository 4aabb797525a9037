"""Training speed: fil-learn's jitted step vs PyTorch on the same network, in one run.

    FIL_TORCH_PYTHON=/work/torch-venv/bin/python uv run python bench/train_speed.py

Same network (Nature-DQN), loss (cross-entropy), optimizer (Adam 3e-4) and batch; both gather
uint8 frame stacks by index each step. Rounds alternate JAX and PyTorch and the median is
reported. fil-learn runs as `fit` does (8 steps per jitted call, space-to-depth + im2col
convolutions, the host split into as many CPU devices as `fit --cpu-devices 0` picks for the
batch: `fil_learn.devices`); also shown: one device, 1 step per call, and XLA's own
convolutions (1 step per call), and `fit --shift 4` (random-shift augmentation, 8 steps per
call), all on one device. The
loader (numpy stack gather from the decompressed frames) is compared with the training step,
and with random reads of the compressed HDF5 chunks (`--dataset`, the real sample by default).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import h5py
import jax
import numpy as np
import optax
from flax import nnx

from fil_learn.data import _episode_names, gather, load
from fil_learn.devices import auto_cpu_devices, available_cores
from fil_learn.model import ModelConfig, NatureCNN
from fil_learn.train import Trainer, shift_offsets

N_FRAMES = 5000


def jax_samples_per_second(
    batch: int, steps: int, conv: str = "im2col", per_call: int = 1, shift: int = 0
) -> float:
    rng = np.random.default_rng(0)
    model = NatureCNN(ModelConfig(6, conv=conv), nnx.Rngs(0))
    trainer = Trainer(model, optax.adam(3e-4), shift=shift)
    params, opt_state = trainer.init()
    frames = jax.device_put(rng.integers(0, 255, (N_FRAMES, 84, 84), dtype=np.uint8))

    def call() -> jax.Array:
        nonlocal params, opt_state
        rows = rng.integers(0, N_FRAMES, (per_call, batch, 4))
        labels = rng.integers(0, 6, (per_call, batch)).astype(np.int32)
        offsets = shift_offsets(rng, rows, shift)
        params, opt_state, loss, _ = trainer.train_calls(
            params, opt_state, frames, rows, labels, offsets
        )
        return loss

    for _ in range(2):
        call().block_until_ready()
    calls = max(1, steps // per_call)
    start = time.perf_counter()
    for _ in range(calls):
        loss = call()
    loss.block_until_ready()
    return calls * per_call * batch / (time.perf_counter() - start)


SPLIT = """
import json, sys
from fil_learn.devices import use_cpu_devices
use_cpu_devices(int(sys.argv[3]))
sys.path.insert(0, sys.argv[4])
from train_speed import jax_samples_per_second
print(json.dumps(jax_samples_per_second(int(sys.argv[1]), int(sys.argv[2]), per_call=8)))
"""


def split_samples_per_second(batch: int, steps: int, devices: int) -> float:
    """`fit`'s step on a host split into `devices` CPU devices (a new interpreter: the split is
    fixed when JAX starts)."""
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    output = subprocess.run(
        [
            sys.executable,
            "-c",
            SPLIT,
            str(batch),
            str(steps),
            str(devices),
            str(Path(__file__).parent),
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    return float(output.strip().splitlines()[-1])


def torch_samples_per_second(python: str, batch: int, steps: int) -> float:
    script = Path(__file__).with_name("torch_reference.py")
    output = subprocess.run(
        [python, str(script), "--batch", str(batch), "--steps", str(steps)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])["samples_per_second"]


def loader_samples_per_second(batch: int, seconds: float = 1.0) -> float:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (N_FRAMES, 84, 84), dtype=np.uint8)
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        gather(frames, rng.integers(0, N_FRAMES, (batch, 4)))
        n += batch
    return n / (time.perf_counter() - start)


def compressed_reads_samples_per_second(path: Path, batch: int, seconds: float = 1.0) -> float:
    """Stacks read at random from the gzip chunks with h5py (what decompressing once avoids)."""
    rng = np.random.default_rng(0)
    n = 0
    with h5py.File(path, "r") as handle:
        episodes = [handle[k]["observations"] for k in _episode_names(handle)]
        lengths = np.array([e.shape[0] - 1 for e in episodes])
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            for _ in range(batch):
                e = rng.choice(len(episodes), p=lengths / lengths.sum())
                t = int(rng.integers(lengths[e]))
                episodes[e][max(0, t - 3) : t + 1]
            n += batch
    return n / (time.perf_counter() - start)


def in_memory_samples_per_second(path: Path, batch: int, seconds: float = 1.0) -> float:
    """The same file decompressed once by `fil_learn.data.load`, then gathered by index."""
    data = load([path])
    rng = np.random.default_rng(0)
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        gather(data.frames, data.stacks[rng.integers(0, data.n_samples, batch)])
        n += batch
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[32, 256])
    parser.add_argument("--samples", type=int, default=6000, help="samples per timed run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--dataset",
        type=Path,
        default=Path(__file__).parent.parent / "datasets/samples/space_invaders-tiny.h5",
        help="fil dataset for the in-memory vs compressed-reads loader comparison",
    )
    args = parser.parse_args()
    torch_python = os.environ.get("FIL_TORCH_PYTHON")
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, {os.cpu_count()} cores")
    rows = []
    for batch in args.batches:
        steps = max(4, args.samples // batch)
        devices = auto_cpu_devices(batch, 0, available_cores(), None)
        results: dict[str, list[float]] = {
            "fit": [],
            "jax": [],
            "jax 1/call": [],
            "jax xla-conv": [],
            "jax shift 4": [],
            "torch": [],
        }
        for _ in range(args.rounds):
            results["jax"].append(jax_samples_per_second(batch, steps, per_call=8))
            results["fit"].append(
                split_samples_per_second(batch, steps, devices)
                if devices > 1
                else results["jax"][-1]
            )
            if torch_python:
                results["torch"].append(torch_samples_per_second(torch_python, batch, steps))
            results["jax 1/call"].append(jax_samples_per_second(batch, steps))
            results["jax xla-conv"].append(jax_samples_per_second(batch, steps, conv="xla"))
            results["jax shift 4"].append(jax_samples_per_second(batch, steps, per_call=8, shift=4))
        medians = {k: statistics.median(v) for k, v in results.items() if v}
        loader = loader_samples_per_second(batch)
        memory = in_memory_samples_per_second(args.dataset, batch)
        compressed = compressed_reads_samples_per_second(args.dataset, batch)
        rows.append((batch, devices, medians, loader, memory, compressed))
        print(
            f"batch {batch}: "
            + ", ".join(f"{k} {v:,.0f}" for k, v in medians.items())
            + f", loader {loader:,.0f}, in memory {memory:,.0f}, compressed reads {compressed:,.0f}",
            flush=True,
        )
    print(
        "\n| batch | fil-learn fit (CPU devices) | PyTorch | ratio | 1 device | 1 step/call | "
        "XLA convs | loader | loader / step | sample: in memory | sample: compressed reads |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for batch, devices, m, loader, memory, compressed in rows:
        torch_value = m.get("torch")
        ratio = f"{m['fit'] / torch_value:.2f}" if torch_value else "n/a"
        torch_text = f"{torch_value:,.0f}" if torch_value else "not run (set FIL_TORCH_PYTHON)"
        print(
            f"| {batch} | {m['fit']:,.0f} ({devices}) | {torch_text} | {ratio} | "
            f"{m['jax']:,.0f} | {m['jax 1/call']:,.0f} | {m['jax xla-conv']:,.0f} | "
            f"{loader:,.0f} | {loader / m['fit']:,.0f}x | {memory:,.0f} | {compressed:,.0f} |"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
