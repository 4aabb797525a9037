"""onnxruntime latency of an exported policy on one core, and its difference from JAX.

The guided swarm (`fil-collect --policy x.onnx`) calls the policy from every walker, so its
budget needs the cost of one observation and of a batch, on one core:

    uv run python bench/onnx_latency.py                    # Nature-size network, random weights
    uv run python bench/onnx_latency.py --run runs/si      # a trained run (exported first)

Prints the median and 10th-90th percentiles of `--repeats` calls (after `--warmup`), with
`intra_op_num_threads=1` and `inter_op_num_threads=1`, for a batch of 1 and of 16, and the max
|onnxruntime - JAX| over the real frames of the sample dataset.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import fil_learn
from fil_learn.export import export_run, policy_graph

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "samples" / "space_invaders-tiny.h5"


def real_stacks() -> np.ndarray:
    """Every observation of the sample dataset as the policy sees it: (N, 4, 84, 84) uint8."""
    with fil_learn.open_dataset(SAMPLE) as dataset:
        return np.concatenate([episode.stacked_observations() for episode in dataset])


def random_weights_onnx(folder: Path) -> tuple[Path, object]:
    """A Nature-size network with random weights (latency does not depend on them), exported."""
    import jax
    from flax import nnx

    from fil_learn.model import ModelConfig, NatureCNN

    model = NatureCNN(ModelConfig(n_actions=6), nnx.Rngs(0))
    path = folder / "random.onnx"
    path.write_bytes(policy_graph(model, {"format": "fil-policy"}).SerializeToString())
    forward = jax.jit(lambda x: model(x))
    return path, lambda stacks: np.asarray(forward(np.moveaxis(stacks, 1, -1)))


def trained_onnx(folder: Path, run: Path) -> tuple[Path, object]:
    path, _ = export_run(run, folder / "policy.onnx")
    return path, fil_learn.load_policy(run).logits


def timings(session: object, batch: np.ndarray, warmup: int, repeats: int) -> np.ndarray:
    for _ in range(warmup):
        session.run(["logits"], {"observations": batch})
    seconds = np.empty(repeats)
    for i in range(repeats):
        started = time.perf_counter()
        session.run(["logits"], {"observations": batch})
        seconds[i] = time.perf_counter() - started
    return seconds * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a trained run folder (default: random weights)")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=500)
    args = parser.parse_args()
    import onnxruntime

    from fil_learn.policy import onnx_session

    stacks = real_stacks()
    with tempfile.TemporaryDirectory() as folder:
        path, jax_logits = (
            trained_onnx(Path(folder), args.run) if args.run else random_weights_onnx(Path(folder))
        )
        session = onnx_session(path, threads=1)
        ours = np.concatenate(
            [
                session.run(["logits"], {"observations": stacks[i : i + 256]})[0]
                for i in range(0, len(stacks), 256)
            ]
        )
        theirs = np.concatenate(
            [jax_logits(stacks[i : i + 256]) for i in range(0, len(stacks), 256)]
        )
        print(
            f"onnxruntime {onnxruntime.__version__}, {'run ' + str(args.run) if args.run else 'random weights'}; "
            f"max |onnxruntime - JAX| over {len(stacks):,} real frames: {np.max(np.abs(ours - theirs)):.2e}"
        )
        for size in (1, 16):
            ms = timings(session, stacks[:size], args.warmup, args.repeats)
            p10, p50, p90 = np.percentile(ms, [10, 50, 90])
            print(
                f"batch {size:2d}, 1 thread: median {p50:.3f} ms (p10 {p10:.3f}, p90 {p90:.3f}), "
                f"{p50 / size:.3f} ms per observation, {args.repeats} calls"
            )


if __name__ == "__main__":
    main()
