from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from fil_learn.model import ModelConfig, NatureCNN, PatchConv, param_count


def test_nature_cnn_parameter_count_is_pinned() -> None:
    # conv 8x8x4x32 + 4x4x32x64 + 3x3x64x64, dense 3136x512, logits 512x6, with biases
    assert param_count(NatureCNN(ModelConfig(n_actions=6), nnx.Rngs(0))) == 1_687_206


def test_logits_shape_from_uint8_stacks() -> None:
    model = NatureCNN(ModelConfig(n_actions=18), nnx.Rngs(0))
    logits = model(jnp.zeros((3, 84, 84, 4), jnp.uint8))
    assert logits.shape == (3, 18) and logits.dtype == jnp.float32


def test_patch_conv_equals_xla_convolution() -> None:
    conv = PatchConv(4, 16, size=8, stride=4, rngs=nnx.Rngs(1))
    x = jax.random.normal(jax.random.key(0), (2, 84, 84, 4))
    reference = (
        jax.lax.conv_general_dilated(
            x, conv.kernel[...], (4, 4), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC")
        )
        + conv.bias[...]
    )
    np.testing.assert_allclose(conv(x), reference, atol=1e-4)
