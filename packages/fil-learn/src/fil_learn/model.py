"""The Nature-DQN network (Mnih et al. 2015) as a Flax NNX module, with action logits.

Input: 4 stacked 84x84 uint8 frames, channels last; scaling to [0, 1] happens inside the model
so the data pipeline stays uint8 (4x less memory and bandwidth than float32).

The convolutions are computed as im2col + one matrix product (`PatchConv`), with identical
outputs and the parameter shapes and initialization of `nnx.Conv`. One step at a time it is
about as fast as XLA's CPU convolutions (bench/train_speed.py: 707 vs 765 samples/s at batch
32), but it keeps its speed inside `lax.scan`, where XLA's CPU convolutions ran 6x slower, and
several steps per jitted call is what beats PyTorch on CPU (998 vs 861 at batch 32).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
from flax import nnx


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of the CNN; the defaults are the Nature-DQN trunk."""

    n_actions: int
    channels: tuple[int, int, int] = (32, 64, 64)
    """Filters of the three convolutions (8x8/4, 4x4/2, 3x3/1)."""
    hidden: int = 512
    """Width of the fully connected layer."""
    stack: int = 4
    """Frames per observation."""
    conv: str = "im2col"
    """`im2col` (matrix products; fast inside lax.scan on CPU) or `xla` (lax convolutions,
    possibly better where cuDNN is, unmeasured). Same parameters either way."""


def patches(x: jax.Array, size: int, stride: int) -> jax.Array:
    """(B, H, W, C) -> (B, OH, OW, size*size*C): each output position's receptive field, in
    (row, column, channel) order, the order of a (size, size, C, out) kernel flattened."""
    _, height, width, _ = x.shape
    out_h = (height - size) // stride + 1
    out_w = (width - size) // stride + 1
    columns = [
        x[
            :,
            i : i + stride * (out_h - 1) + 1 : stride,
            j : j + stride * (out_w - 1) + 1 : stride,
            :,
        ]
        for i in range(size)
        for j in range(size)
    ]
    return jnp.concatenate(columns, axis=-1)


class PatchConv(nnx.Module):
    """A VALID, square, strided convolution as im2col and a matrix product."""

    def __init__(
        self, in_features: int, out_features: int, size: int, stride: int, rngs: nnx.Rngs
    ) -> None:
        init = nnx.initializers.lecun_normal()
        self.kernel = nnx.Param(init(rngs.params(), (size, size, in_features, out_features)))
        self.bias = nnx.Param(jnp.zeros((out_features,)))
        self.size = size
        self.stride = stride

    def __call__(self, x: jax.Array) -> jax.Array:
        kernel = self.kernel[...]
        flat = kernel.reshape(-1, kernel.shape[-1])
        return patches(x, self.size, self.stride) @ flat + self.bias[...]


def _xla_conv(
    in_features: int, out_features: int, size: int, stride: int, rngs: nnx.Rngs
) -> nnx.Conv:
    return nnx.Conv(
        in_features,
        out_features,
        (size, size),
        strides=(stride, stride),
        padding="VALID",
        rngs=rngs,
    )


class NatureCNN(nnx.Module):
    """Conv 8x8/4 -> Conv 4x4/2 -> Conv 3x3/1 -> Dense 512 -> action logits, ReLU between."""

    def __init__(self, config: ModelConfig, rngs: nnx.Rngs) -> None:
        c1, c2, c3 = config.channels
        if config.conv not in ("im2col", "xla"):
            raise ValueError(f"conv must be im2col or xla, got {config.conv!r}")
        conv = PatchConv if config.conv == "im2col" else _xla_conv
        self.conv1 = conv(config.stack, c1, size=8, stride=4, rngs=rngs)
        self.conv2 = conv(c1, c2, size=4, stride=2, rngs=rngs)
        self.conv3 = conv(c2, c3, size=3, stride=1, rngs=rngs)
        self.hidden = nnx.Linear(7 * 7 * c3, config.hidden, rngs=rngs)
        self.logits = nnx.Linear(config.hidden, config.n_actions, rngs=rngs)

    def __call__(self, frames: jax.Array) -> jax.Array:
        x = frames.astype(jnp.float32) / 255.0
        x = nnx.relu(self.conv1(x))
        x = nnx.relu(self.conv2(x))
        x = nnx.relu(self.conv3(x))
        x = x.reshape(x.shape[0], -1)
        x = nnx.relu(self.hidden(x))
        return self.logits(x)


def param_count(model: nnx.Module) -> int:
    return sum(p.size for p in jax.tree.leaves(nnx.state(model, nnx.Param)))
