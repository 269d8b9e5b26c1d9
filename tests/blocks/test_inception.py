"""Inception modules: channel arithmetic, kernel sizes, names, parameter counts."""

import math

import keras
import numpy as np
import pytest

from keras_cv_course.blocks import (
    inception_module,
    inception_naive,
    inception_v3_a,
    inception_v3_b,
    inception_v3_c,
    inception_v3_reduction_a,
    inception_v3_reduction_b,
    max_pool_ceil,
)


def _build(block, input_shape, **kwargs):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, block(inputs, **kwargs))


def _own_names(model, name, allowed=()):
    return [l.name for l in model.layers[1:] if not l.name.startswith(f"{name}_") and l.name not in allowed]


def test_naive_module_concatenates_every_branch_and_passes_the_pool():
    model = _build(inception_naive, (14, 14, 40), filters=(8, 16, 4), name="naive")
    assert model.output_shape == (None, 14, 14, 8 + 16 + 4 + 40)
    # 1×1, 3×3, 5×5 convs with bias, no batch norm by default.
    assert model.count_params() == (40 + 1) * 8 + (9 * 40 + 1) * 16 + (25 * 40 + 1) * 4
    assert _own_names(model, "naive") == []


@pytest.mark.parametrize("middle_kernel", [5, 3])
def test_module_with_reductions_channels_kernels_and_params(middle_kernel):
    filters = (64, 96, 128, 16, 32, 32)  # GoogLeNet inception3a, Table 1
    model = _build(inception_module, (28, 28, 192), filters=filters, name="inception3a", middle_kernel=middle_kernel)
    assert model.output_shape == (None, 28, 28, 64 + 128 + 32 + 32)
    assert model.get_layer("inception3a_branch3_1_conv").kernel.shape == (middle_kernel, middle_kernel, 16, 32)
    assert model.get_layer("inception3a_branch2_1_conv").kernel.shape == (3, 3, 96, 128)
    convs = 192 * 64 + 192 * 96 + 9 * 96 * 128 + 192 * 16 + middle_kernel**2 * 16 * 32 + 192 * 32
    bn = 4 * sum(filters)  # gamma, beta, moving mean, moving variance
    assert model.count_params() == convs + bn
    assert _own_names(model, "inception3a") == []
    assert model.layers[-1].name == "inception3a_concat"


def test_module_without_batch_norm_has_biases_and_no_bn():
    model = _build(inception_module, (28, 28, 192), filters=(64, 96, 128, 16, 32, 32), name="m", batch_norm=False)
    assert not any(isinstance(l, keras.layers.BatchNormalization) for l in model.layers)
    assert model.count_params() == (
        193 * 64 + 193 * 96 + (9 * 96 + 1) * 128 + 193 * 16 + (25 * 16 + 1) * 32 + 193 * 32
    )


@pytest.mark.parametrize(
    "block, kwargs, size, in_channels, expected",
    [
        (inception_v3_a, dict(pool_filters=32), 35, 192, (35, 256)),
        (inception_v3_reduction_a, {}, 35, 288, (17, 384 + 96 + 288)),
        (inception_v3_b, dict(channels_7x7=128), 17, 768, (17, 768)),
        (inception_v3_reduction_b, {}, 17, 768, (8, 320 + 192 + 768)),
        (inception_v3_c, {}, 8, 1280, (8, 2048)),
    ],
)
def test_inception_v3_modules_channels_and_grid(block, kwargs, size, in_channels, expected):
    model = _build(block, (size, size, in_channels), name="mix", **kwargs)
    side, channels = expected
    assert model.output_shape == (None, side, side, channels)
    assert _own_names(model, "mix") == []
    # Every conv is bias-free and followed by a BN without scale (keras.applications' conv2d_bn).
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            assert not layer.use_bias
        if isinstance(layer, keras.layers.BatchNormalization):
            assert not layer.scale and layer.center


def test_inception_v3_factorized_kernels_and_renamed_concats():
    model = _build(inception_v3_c, (8, 8, 1280), name="mixed9", concat_name="mixed9", split_concat_name="mixed9_0")
    assert model.layers[-1].name == "mixed9"
    assert isinstance(model.get_layer("mixed9_0"), keras.layers.Concatenate)
    assert model.get_layer("mixed9_branch3x3_1x3_conv").kernel.shape == (1, 3, 384, 384)
    assert model.get_layer("mixed9_branch3x3_3x1_conv").kernel.shape == (3, 1, 384, 384)
    b = _build(inception_v3_b, (17, 17, 768), channels_7x7=160, name="m")
    assert b.get_layer("m_branch7x7_2_conv").kernel.shape == (1, 7, 160, 160)
    assert b.get_layer("m_branch7x7_3_conv").kernel.shape == (7, 1, 160, 192)


@pytest.mark.parametrize("pool, stride", [(3, 2), (2, 2)])
def test_max_pool_ceil_matches_pytorch_ceil_mode(pool, stride):
    rng = np.random.default_rng(0)
    model = _build(max_pool_ceil, (None, None, 2), pool_size=pool, strides=stride, name="pool")
    for side in (7, 8, 13, 14, 112, 113):
        x = rng.uniform(0.0, 1.0, size=(1, side, side, 2)).astype("float32")  # post-ReLU: non-negative
        out = np.asarray(model(x))
        expected_side = math.ceil((side - pool) / stride) + 1
        assert out.shape == (1, expected_side, expected_side, 2)
        # Reference: PyTorch's ceil_mode windows, clipped at the border.
        ref = np.empty_like(out)
        for i in range(expected_side):
            for j in range(expected_side):
                window = x[0, i * stride : i * stride + pool, j * stride : j * stride + pool]
                ref[0, i, j] = window.max(axis=(0, 1))
        np.testing.assert_array_equal(out, ref)
