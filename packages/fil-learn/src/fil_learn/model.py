"""The Nature-DQN network (Mnih et al. 2015) as a Flax NNX module, with action logits, at the
sizes `fil-learn fit --model` offers (`config.MODEL_SIZES`: the same trunk, fewer filters).

Input: `ModelConfig.stack` (4) stacked 84x84 uint8 frames, channels last; scaling to [0, 1]
happens inside the model so the data pipeline stays uint8 (4x less memory and bandwidth than
float32).

The convolutions are computed as matrix products (`PatchConv`): XLA's CPU convolution
gradients are slow. Strided layers are first rearranged by space-to-depth so that the 8x8/4 layer
gathers 4 slices instead of 64. It trains faster on CPU than XLA's convolutions (the README's
training-speed table, column "XLA convs", with the command that measured it), with identical
outputs (tested). The parameters have the shapes and initialization of `nnx.Conv`, so nothing
else changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from fil_learn.config import MODEL_SIZES
from fil_learn.data import STACK

_NATURE = MODEL_SIZES["nature"]


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of the CNN; the defaults are the Nature-DQN trunk, `sized` builds the others."""

    n_actions: int
    channels: tuple[int, int, int] = _NATURE.channels
    """Filters of the three convolutions (8x8/4, 4x4/2, 3x3/1)."""
    hidden: int = _NATURE.hidden
    """Width of the fully connected layer."""
    stack: int = STACK
    """Frames per observation: the data's stacks and eval's `FrameStackObservation` follow it."""
    history: int = STACK
    """Of those, the newest frames the network looks at (`FitConfig.history`): the input
    stays `stack` frames, so data, evaluation and the ONNX contract do not change."""
    conv: str = "im2col"
    """`im2col` (space-to-depth + matrix products; faster training on CPU, see the module) or
    `xla` (lax convolutions, possibly better where cuDNN is, unmeasured). Same parameters."""

    @classmethod
    def sized(cls, size: str, n_actions: int, **overrides: Any) -> ModelConfig:
        """The network of a named size (`config.MODEL_SIZES`, what `fit --model` chooses);
        `overrides` set any field directly (tests train at sizes of their own)."""
        if size not in MODEL_SIZES:
            raise ValueError(f"unknown model size {size!r}: one of {', '.join(MODEL_SIZES)}")
        widths = MODEL_SIZES[size]
        fields = {"channels": widths.channels, "hidden": widths.hidden, **overrides}
        return cls(n_actions=n_actions, **fields)


def offset_slices(x: jax.Array, size: int, stride: int) -> list[jax.Array]:
    """(B, H, W, C) -> size*size arrays (B, OH, OW, C), one per kernel offset (row, column):
    the input each output position sees through that offset."""
    _, height, width, _ = x.shape
    out_h = (height - size) // stride + 1
    out_w = (width - size) // stride + 1
    return [
        x[
            :,
            i : i + stride * (out_h - 1) + 1 : stride,
            j : j + stride * (out_w - 1) + 1 : stride,
            :,
        ]
        for i in range(size)
        for j in range(size)
    ]


def patches(x: jax.Array, size: int, stride: int) -> jax.Array:
    """(B, H, W, C) -> (B, OH, OW, size*size*C): each output position's receptive field, in
    (row, column, channel) order, the order of a (size, size, C, out) kernel flattened."""
    return jnp.concatenate(offset_slices(x, size, stride), axis=-1)


def space_to_depth(x: jax.Array, block: int) -> jax.Array:
    """(B, H, W, C) -> (B, H/block, W/block, block*block*C), in (row, column, channel) order."""
    b, height, width, c = x.shape
    x = x.reshape(b, height // block, block, width // block, block, c)
    return x.transpose(0, 1, 3, 2, 4, 5).reshape(b, height // block, width // block, -1)


def strided_conv(
    x: jax.Array, kernel: jax.Array, stride: int, per_offset: bool = False
) -> jax.Array:
    """A VALID convolution with a square (k, k, C, O) kernel as matrix products.

    When the stride divides the kernel size, the input is first rearranged by space-to-depth,
    which turns a k x k / s convolution into a (k/s) x (k/s) / 1 one over s*s*C channels: the
    8x8/4 first layer then gathers 4 slices instead of 64, which is what makes it fast on CPU.
    `per_offset` multiplies each slice by its part of the kernel and sums, instead of
    concatenating the slices into patches first: for the first layer, whose patches are 3.6x
    the frames' size and need no gradient, that is 1.4x faster for `--model tiny`
    (docs/training-speed.md); for the others the sum's gradient costs more than it saves.
    """
    size, _, c, o = kernel.shape
    if stride > 1 and size % stride == 0:
        _, height, width, _ = x.shape
        out_h, out_w = (height - size) // stride + 1, (width - size) // stride + 1
        k = size // stride
        x = space_to_depth(x[:, : stride * (out_h - 1 + k), : stride * (out_w - 1 + k)], stride)
        kernel = kernel.reshape(k, stride, k, stride, c, o).transpose(0, 2, 1, 3, 4, 5)
        size, stride = k, 1
    if per_offset:
        kernels = kernel.reshape(size * size, -1, o)
        slices = offset_slices(x, size, stride)
        return sum((s @ k for s, k in zip(slices, kernels, strict=True)), jnp.zeros(()))
    return patches(x, size, stride) @ kernel.reshape(-1, o)


class PatchConv(nnx.Module):
    """A VALID, square, strided convolution as space-to-depth, im2col and a matrix product
    (or, `per_offset`, a sum of products: `strided_conv`)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        size: int,
        stride: int,
        rngs: nnx.Rngs,
        per_offset: bool = False,
    ) -> None:
        init = nnx.initializers.lecun_normal()
        self.kernel = nnx.Param(init(rngs.params(), (size, size, in_features, out_features)))
        self.bias = nnx.Param(jnp.zeros((out_features,)))
        self.size = size
        self.stride = stride
        self.per_offset = per_offset

    def __call__(self, x: jax.Array) -> jax.Array:
        product = strided_conv(x, self.kernel[...], self.stride, self.per_offset)
        return product + self.bias[...]


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
        first = partial(PatchConv, per_offset=True) if config.conv == "im2col" else _xla_conv
        if not 1 <= config.history <= config.stack:
            raise ValueError(f"history must be 1-{config.stack} frames, got {config.history}")
        self.history = config.history
        self.conv1 = first(config.history, c1, size=8, stride=4, rngs=rngs)
        self.conv2 = conv(c1, c2, size=4, stride=2, rngs=rngs)
        self.conv3 = conv(c2, c3, size=3, stride=1, rngs=rngs)
        self.hidden = nnx.Linear(7 * 7 * c3, config.hidden, rngs=rngs)
        self.logits = nnx.Linear(config.hidden, config.n_actions, rngs=rngs)

    def __call__(self, frames: jax.Array) -> jax.Array:
        x = frames[..., frames.shape[-1] - self.history :].astype(jnp.float32) / 255.0
        x = nnx.relu(self.conv1(x))
        x = nnx.relu(self.conv2(x))
        x = nnx.relu(self.conv3(x))
        x = x.reshape(x.shape[0], -1)
        x = nnx.relu(self.hidden(x))
        return self.logits(x)


def param_count(model: nnx.Module) -> int:
    return sum(p.size for p in jax.tree.leaves(nnx.state(model, nnx.Param)))
