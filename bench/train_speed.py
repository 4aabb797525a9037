"""Training speed: fil-learn's jitted step vs PyTorch on the same network, in one run.

    FIL_TORCH_PYTHON=/work/torch-venv/bin/python uv run python bench/train_speed.py

Same network (Nature-DQN), loss (cross-entropy), optimizer (Adam 3e-4) and batch; both gather
uint8 frame stacks by index each step. Rounds alternate JAX and PyTorch and the median is
reported. Also: the XLA-convolution variant of the model (what im2col replaced), several steps
per jitted call, and the loader (numpy stack gather) against the training step.
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

import jax
import numpy as np
import optax
from flax import nnx

from fil_learn.data import gather
from fil_learn.model import ModelConfig, NatureCNN
from fil_learn.train import Trainer

N_FRAMES = 5000


def jax_samples_per_second(
    batch: int, steps: int, conv: str = "im2col", per_call: int = 1
) -> float:
    rng = np.random.default_rng(0)
    trainer = Trainer(NatureCNN(ModelConfig(6, conv=conv), nnx.Rngs(0)), optax.adam(3e-4))
    params, opt_state = trainer.init()
    frames = jax.device_put(rng.integers(0, 255, (N_FRAMES, 84, 84), dtype=np.uint8))

    def call() -> jax.Array:
        nonlocal params, opt_state
        rows = rng.integers(0, N_FRAMES, (per_call, batch, 4))
        labels = rng.integers(0, 6, (per_call, batch)).astype(np.int32)
        params, opt_state, loss, _ = trainer.train_calls(params, opt_state, frames, rows, labels)
        return loss

    for _ in range(2):
        call().block_until_ready()
    calls = max(1, steps // per_call)
    start = time.perf_counter()
    for _ in range(calls):
        loss = call()
    loss.block_until_ready()
    return calls * per_call * batch / (time.perf_counter() - start)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[32, 256])
    parser.add_argument("--samples", type=int, default=6000, help="samples per timed run")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    torch_python = os.environ.get("FIL_TORCH_PYTHON")
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, {os.cpu_count()} cores")
    rows = []
    for batch in args.batches:
        steps = max(4, args.samples // batch)
        results: dict[str, list[float]] = {
            "jax": [],
            "jax xla-conv": [],
            "jax 8/call": [],
            "torch": [],
        }
        for _ in range(args.rounds):
            results["jax"].append(jax_samples_per_second(batch, steps))
            if torch_python:
                results["torch"].append(torch_samples_per_second(torch_python, batch, steps))
            results["jax xla-conv"].append(jax_samples_per_second(batch, steps, conv="xla"))
            results["jax 8/call"].append(jax_samples_per_second(batch, steps, per_call=8))
        medians = {k: statistics.median(v) for k, v in results.items() if v}
        loader = loader_samples_per_second(batch)
        rows.append((batch, medians, loader))
        print(
            f"batch {batch}: "
            + ", ".join(f"{k} {v:,.0f}" for k, v in medians.items())
            + f", loader {loader:,.0f}",
            flush=True,
        )
    print(
        "\n| batch | fil-learn (im2col) | PyTorch | ratio | XLA convs | 8 steps/call | loader | loader / step |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for batch, m, loader in rows:
        torch_value = m.get("torch")
        ratio = f"{m['jax'] / torch_value:.2f}" if torch_value else "n/a"
        torch_text = f"{torch_value:,.0f}" if torch_value else "not run (set FIL_TORCH_PYTHON)"
        print(
            f"| {batch} | {m['jax']:,.0f} | {torch_text} | {ratio} | {m['jax xla-conv']:,.0f} | "
            f"{m['jax 8/call']:,.0f} | {loader:,.0f} | {loader / m['jax']:,.0f}x |"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
