from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from fil_learn.model import ModelConfig, NatureCNN, PatchConv, param_count


def test_nature_cnn_parameter_count_is_pinned() -> None:
    # conv 8x8x4x32 + 4x4x32x64 + 3x3x64x64, dense 3136x512, logits 512x6, with biases
    assert param_count(NatureCNN(ModelConfig(n_actions=6), nnx.Rngs(0))) == 1_687_206


@pytest.mark.slow
def test_logits_shape_from_uint8_stacks() -> None:
    model = NatureCNN(ModelConfig(n_actions=18), nnx.Rngs(0))
    logits = model(jnp.zeros((3, 84, 84, 4), jnp.uint8))
    assert logits.shape == (3, 18) and logits.dtype == jnp.float32


@pytest.mark.slow
@pytest.mark.parametrize(
    ("channels", "size", "stride", "side"),
    [(4, 8, 4, 84), (32, 4, 2, 20), (64, 3, 1, 9), (3, 4, 2, 11), (2, 3, 2, 10)],
)
def test_patch_conv_equals_xla_convolution(
    channels: int, size: int, stride: int, side: int
) -> None:
    conv = PatchConv(channels, 16, size=size, stride=stride, rngs=nnx.Rngs(1))
    conv.bias[...] = jax.random.normal(jax.random.key(2), (16,))
    x = jax.random.normal(jax.random.key(0), (2, side, side, channels))
    reference = (
        jax.lax.conv_general_dilated(
            x,
            conv.kernel[...],
            (stride, stride),
            "VALID",
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
        )
        + conv.bias[...]
    )
    np.testing.assert_allclose(conv(x), reference, atol=1e-4)
