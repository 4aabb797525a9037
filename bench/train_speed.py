"""Training speed: fil-learn's jitted step vs PyTorch on the same network, in one run, and
each `fit --model` size beside Nature.

    FIL_TORCH_PYTHON=/work/torch-venv/bin/python uv run python bench/train_speed.py
    uv run python bench/train_speed.py --sizes-only --batches 128 256 --rounds 5

Every round times each `--model` size as `fit` runs it (the auto CPU-device split, `fit`'s
steps per call), one after the other, so machine noise hits all sizes alike; the median over
rounds, each size's ratio to Nature and its parameter count are printed with the load average.

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

from fil_learn.config import MODELS, FitConfig
from fil_learn.data import _episode_names, gather, load
from fil_learn.devices import auto_cpu_devices, available_cores
from fil_learn.model import ModelConfig, NatureCNN, param_count
from fil_learn.train import Trainer, shift_offsets

N_FRAMES = 5000


FIT_PER_CALL = FitConfig.steps_per_call


def jax_rates(
    batch: int,
    steps: int,
    conv: str = "im2col",
    per_call: int = 1,
    shift: int = 0,
    size: str = "nature",
    history: int = 4,
) -> tuple[float, float]:
    """Samples per second of wall time, and per second of this process's CPU time (all its
    threads): on a machine shared with other work the second hardly moves with their load.
    `history`: the newest frames of each 4-frame stack the network sees (`fit --history`)."""
    rng = np.random.default_rng(0)
    model = NatureCNN(ModelConfig.sized(size, 6, conv=conv, history=history), nnx.Rngs(0))
    trainer = Trainer(model, optax.adam(3e-4), shift=shift)
    params, opt_state = trainer.init()
    frames = jax.device_put(rng.integers(0, 255, (N_FRAMES, 84, 84), dtype=np.uint8))

    def call() -> jax.Array:
        nonlocal params, opt_state
        rows = rng.integers(0, N_FRAMES, (per_call, batch, 4))
        labels = rng.integers(0, 6, (per_call, batch)).astype(np.int32)
        offsets = shift_offsets(rng, rows[..., 0], shift)  # one per sample, not per frame
        params, opt_state, loss, _ = trainer.train_calls(
            params, opt_state, frames, rows, labels, offsets
        )
        return loss

    for _ in range(2):
        call().block_until_ready()
    calls = max(1, steps // per_call)
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(calls):
        loss = call()
    loss.block_until_ready()
    samples = calls * per_call * batch
    return samples / (time.perf_counter() - start), samples / (time.process_time() - cpu_start)


SPLIT = """
import json, sys
from fil_learn.devices import use_cpu_devices
use_cpu_devices(int(sys.argv[3]))
sys.path.insert(0, sys.argv[4])
from train_speed import fit_samples_per_second
sizes = json.loads(sys.argv[5])
print(json.dumps(fit_samples_per_second(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[6]), sizes)))
"""


def fit_samples_per_second(
    batch: int, steps: int, per_call: int, sizes: list[str]
) -> dict[str, float]:
    """`fit`'s step for each size in turn, on this process's devices: "fit SIZE" per second of
    wall time, "fit SIZE cpu" per second of CPU time. A size may name its history
    (`tiny/1`: `fit --model tiny --history 1`); without one it sees the 4-frame stack."""
    rates = {}
    for spec in sizes:
        size, history = size_history(spec)
        wall, cpu = jax_rates(batch, steps, per_call=per_call, size=size, history=history)
        rates[f"fit {spec}"], rates[f"fit {spec} cpu"] = wall, cpu
    return rates


def size_history(spec: str) -> tuple[str, int]:
    """`tiny/1` -> ("tiny", 1); `tiny` -> ("tiny", 4); ValueError for anything else."""
    size, _, history = spec.partition("/")
    frames = int(history) if history else 4
    if size not in MODELS or not 1 <= frames <= 4:
        raise ValueError(spec)
    return size, frames


def split_samples_per_second(
    batch: int, steps: int, devices: int, sizes: list[str], per_call: int = FIT_PER_CALL
) -> dict[str, float]:
    """`fit`'s step for each size, on a host split into `devices` CPU devices (a new
    interpreter: the split is fixed when JAX starts); one device runs here. Keys as
    `fit_samples_per_second`."""
    if devices == 1:
        return fit_samples_per_second(batch, steps, per_call, sizes)
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
            json.dumps(sizes),
            str(per_call),
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


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


def variant_samples_per_second(batch: int, steps: int) -> dict[str, float]:
    """Nature's step on one device, `fit`'s way and three other ways (the README's columns)."""
    return {
        "jax": jax_rates(batch, steps, per_call=FIT_PER_CALL)[0],
        "jax 1/call": jax_rates(batch, steps)[0],
        "jax xla-conv": jax_rates(batch, steps, conv="xla")[0],
        "jax shift 4": jax_rates(batch, steps, per_call=FIT_PER_CALL, shift=4)[0],
    }


def rounds(args: argparse.Namespace, batch: int, devices: int) -> dict[str, list[float]]:
    """Every measurement of one batch size, `args.rounds` times, interleaved: each round times
    every size (`fit` columns) and then, unless `--sizes-only`, the variants and PyTorch."""
    steps = max(4, args.samples // batch)
    torch_python = os.environ.get("FIL_TORCH_PYTHON")
    results: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        measured = split_samples_per_second(batch, steps, devices, args.sizes, args.steps_per_call)
        if not args.sizes_only:
            measured.update(variant_samples_per_second(batch, steps))
            if torch_python:
                measured["torch"] = torch_samples_per_second(torch_python, batch, steps)
        for key, value in measured.items():
            results.setdefault(key, []).append(value)
    return results


def print_sizes(batch: int, devices: int, medians: dict[str, float], sizes: list[str]) -> None:
    """One table row per size: parameters (6 actions), samples per second of wall time and of
    CPU time, each with its ratio to Nature."""
    print(
        f"\n| `--model` (batch {batch}, {devices} CPU device(s)) | parameters | samples/s | "
        "vs nature | samples per CPU-second | vs nature |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for spec in sizes:
        size, history = size_history(spec)
        model = NatureCNN(ModelConfig.sized(size, 6, history=history), nnx.Rngs(0))
        cells = [f"{size}, {history} frame(s)", f"{param_count(model):,}"]
        for key in (f"fit {spec}", f"fit {spec} cpu"):
            nature = medians.get(key.replace(spec, "nature", 1))  # Nature as fit runs it
            cells += [f"{medians[key]:,.0f}", f"{medians[key] / nature:.2f}x" if nature else "n/a"]
        print("| " + " | ".join(cells) + " |")


def print_variants(rows: list[tuple[int, int, dict[str, float], float, float, float]]) -> None:
    """The README's training-speed table (Nature)."""
    print(
        "\n| batch | fil-learn fit (CPU devices) | PyTorch | ratio | 1 device | 1 step/call | "
        "XLA convs | loader | loader / step | sample: in memory | sample: compressed reads |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for batch, devices, m, loader, memory, compressed in rows:
        fit = m["fit nature"]
        torch_value = m.get("torch")
        ratio = f"{fit / torch_value:.2f}" if torch_value else "n/a"
        torch_text = f"{torch_value:,.0f}" if torch_value else "not run (set FIL_TORCH_PYTHON)"
        print(
            f"| {batch} | {fit:,.0f} ({devices}) | {torch_text} | {ratio} | "
            f"{m['jax']:,.0f} | {m['jax 1/call']:,.0f} | {m['jax xla-conv']:,.0f} | "
            f"{loader:,.0f} | {loader / fit:,.0f}x | {memory:,.0f} | {compressed:,.0f} |"
        )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[32, 256])
    parser.add_argument("--samples", type=int, default=6000, help="samples per timed run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--sizes",
        nargs="+",
        default=list(MODELS),
        help="`fit --model` sizes, each at 4 frames or at `SIZE/H` frames (`tiny/1`: "
        "`--history 1`); ratios are to nature at 4 frames",
    )
    parser.add_argument(
        "--steps-per-call", type=int, default=FIT_PER_CALL, help="for the sizes, as in `fit`"
    )
    parser.add_argument(
        "--sizes-only", action="store_true", help="time only the sizes, not Nature's variants"
    )
    parser.add_argument(
        "--dataset",
        type=Path,
        default=Path(__file__).parent.parent / "datasets/samples/space_invaders-tiny.h5",
        help="fil dataset for the in-memory vs compressed-reads loader comparison",
    )
    args = parser.parse_args()
    for spec in args.sizes:
        try:
            size_history(spec)
        except ValueError:
            parser.error(f"--sizes {spec}: a size of {', '.join(MODELS)}, or SIZE/H (H 1-4)")
    if not args.sizes_only and "nature" not in args.sizes:
        parser.error("the variants compare with Nature: add nature to --sizes, or --sizes-only")
    return args


def main() -> None:
    args = parse_args()
    print(
        f"jax {jax.__version__} on {jax.devices()[0].platform}, {available_cores()} cores, "
        f"load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    rows = []
    for batch in args.batches:
        devices = auto_cpu_devices(batch, 0, available_cores(), None)
        medians = {k: statistics.median(v) for k, v in rounds(args, batch, devices).items()}
        print(f"batch {batch}: " + ", ".join(f"{k} {v:,.0f}" for k, v in medians.items()))
        print_sizes(batch, devices, medians, args.sizes)
        if not args.sizes_only:
            loader = loader_samples_per_second(batch)
            memory = in_memory_samples_per_second(args.dataset, batch)
            compressed = compressed_reads_samples_per_second(args.dataset, batch)
            rows.append((batch, devices, medians, loader, memory, compressed))
        print(f"load average {os.getloadavg()[0]:.2f}", flush=True)
    if rows:
        print_variants(rows)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
