"""Does an XLA CPU flag make `fit`'s step faster? Each setting in its own interpreter, in one run.

    uv run python bench/xla_flags.py --batch 256 --rounds 3

XLA reads `XLA_FLAGS` when JAX starts, so every measurement is a new process running
`train_speed.jax_rates` (one device, 8 steps per jitted call); settings alternate
within a round and the median of the rounds is printed next to the ratio to no flag.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

FLAGS = [
    "",
    "--xla_cpu_use_thunk_runtime=false",
    "--xla_cpu_experimental_xnn_fusion_type=LIBRARY_FUSION_TYPE_DOT",
    "--xla_cpu_experimental_ynn_fusion_type=LIBRARY_FUSION_TYPE_DOT",
    "--xla_cpu_experimental_onednn_fusion_type=LIBRARY_FUSION_TYPE_DOT",
    "--xla_cpu_use_onednn=true",
    "--xla_force_host_platform_device_count=2",
]

MEASURE = """
import sys
sys.path.insert(0, sys.argv[3])
from train_speed import jax_rates
print(jax_rates(int(sys.argv[1]), int(sys.argv[2]), per_call=8)[0])
"""


def samples_per_second(flags: str, batch: int, steps: int) -> float | None:
    """One measurement under `flags`; None where this jaxlib rejects them."""
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, str(batch), str(steps), str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        env={**os.environ, "XLA_FLAGS": flags},
    )
    if result.returncode != 0:
        return None
    return float(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--samples", type=int, default=8192, help="samples per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    steps = max(8, args.samples // args.batch)
    results: dict[str, list[float]] = {flags: [] for flags in FLAGS}
    for _ in range(args.rounds):
        for flags in FLAGS:
            value = samples_per_second(flags, args.batch, steps)
            if value is not None:
                results[flags].append(value)
    base = statistics.median(results[""])
    print(f"\n| XLA_FLAGS (batch {args.batch}) | samples/s (median) | runs | vs no flag |")
    print("| --- | ---: | --- | ---: |")
    for flags, values in results.items():
        if not values:
            print(f"| `{flags}` | rejected by this jaxlib | | |")
            continue
        median = statistics.median(values)
        runs = ", ".join(f"{v:,.0f}" for v in values)
        print(f"| `{flags or '(none)'}` | {median:,.0f} | {runs} | {median / base:.2f} |")


if __name__ == "__main__":
    main()
