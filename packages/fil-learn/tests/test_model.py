from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from fil_learn.config import MODEL_SIZES
from fil_learn.model import ModelConfig, NatureCNN, PatchConv, param_count

PARAMETERS = {"nature": 1_687_206, "small": 424_790, "tiny": 122_390}
"""For 6 actions. nature: conv 8x8x4x32 + 4x4x32x64 + 3x3x64x64, dense 3136x512, logits 512x6,
with biases; small and tiny: conv 8x8x4x16 + 4x4x16x32 + 3x3x32x32, dense 1568x256 (x64)."""


def test_nature_cnn_parameter_count_is_pinned() -> None:
    assert param_count(NatureCNN(ModelConfig(n_actions=6), nnx.Rngs(0))) == PARAMETERS["nature"]


@pytest.mark.parametrize("size", MODEL_SIZES)
def test_each_model_size_parameter_count_is_pinned(size: str) -> None:
    assert set(PARAMETERS) == set(MODEL_SIZES)  # a new size pins its count here
    model = NatureCNN(ModelConfig.sized(size, n_actions=6), nnx.Rngs(0))
    assert param_count(model) == PARAMETERS[size]


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
@pytest.mark.parametrize("per_offset", [False, True])
def test_patch_conv_equals_xla_convolution(
    channels: int, size: int, stride: int, side: int, per_offset: bool
) -> None:
    conv = PatchConv(
        channels, 16, size=size, stride=stride, rngs=nnx.Rngs(1), per_offset=per_offset
    )
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
