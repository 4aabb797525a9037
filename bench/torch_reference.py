"""The PyTorch side of bench/train_speed.py: the same network, loss, optimizer and batch.

Runs under a separate interpreter that has torch (torch is never a fil dependency):
    python3 -m venv /work/torch-venv && /work/torch-venv/bin/pip install torch==2.13.0 numpy
Prints one JSON line: {"batch": B, "samples_per_second": S}.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from torch import nn


def nature_cnn(n_actions: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(4, 32, 8, stride=4),
        nn.ReLU(),
        nn.Conv2d(32, 64, 4, stride=2),
        nn.ReLU(),
        nn.Conv2d(64, 64, 3, stride=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(3136, 512),
        nn.ReLU(),
        nn.Linear(512, n_actions),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--frames", type=int, default=5000)
    args = parser.parse_args()
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    frames = torch.from_numpy(rng.integers(0, 255, (args.frames, 84, 84), dtype=np.uint8))
    model = nature_cnn(6)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-4)
    loss_fn = nn.CrossEntropyLoss()

    def step() -> None:
        rows = torch.from_numpy(rng.integers(0, args.frames, (args.batch, 4)))
        labels = torch.from_numpy(rng.integers(0, 6, args.batch))
        x = frames[rows].float() / 255.0  # (B, 4, 84, 84): stacks gathered per batch, as in fil
        loss = loss_fn(model(x), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    for _ in range(3):
        step()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    print(
        json.dumps(
            {
                "batch": args.batch,
                "samples_per_second": args.steps * args.batch / (time.perf_counter() - start),
            }
        )
    )


if __name__ == "__main__":
    main()
