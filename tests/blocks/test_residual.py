"""Residual blocks: parameter arithmetic by formula (basic, bottleneck, grouped
ResNeXt conv), identity vs projection vs option-A shortcuts, and what an identity
shortcut does (a zeroed residual branch passes the input through)."""

import keras
import numpy as np
import pytest

from keras_cv_course.blocks import (
    ZeroPadShortcut,
    basic_block,
    bottleneck_block,
    preact_basic_block,
    preact_bottleneck_block,
)
from keras_cv_course.blocks.residual import bottleneck_width


def block_model(block, input_shape, filters, **kwargs):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, block(inputs, filters, name="b", **kwargs))


def layer_names(model):
    return [layer.name for layer in model.layers[1:]]


def bn(channels):
    """A BatchNormalization layer's weights: gamma, beta, moving mean, moving variance."""
    return 4 * channels


def test_basic_block_parameter_formula():
    c = 32
    model = block_model(basic_block, (8, 8, c), c)
    # two 3x3 convs c->c without bias, two BNs; identity shortcut
    assert model.count_params() == 2 * (9 * c * c) + 2 * bn(c)


def test_bottleneck_parameter_formula_and_expansion():
    f = 16
    model = block_model(bottleneck_block, (8, 8, 4 * f), f)
    assert model.output.shape[-1] == 4 * f
    # 1x1 4f->f, 3x3 f->f, 1x1 f->4f, BNs of f, f, 4f: 17 f^2 + 24 f
    assert model.count_params() == 4 * f * f + 9 * f * f + f * 4 * f + bn(f) + bn(f) + bn(4 * f)
    # for the same output width 4f, two 3x3 basic convs would cost 2 * 9 * 16 f^2: 17x more weights
    basic = block_model(basic_block, (8, 8, 4 * f), 4 * f)
    assert basic.count_params() - 2 * bn(4 * f) == 288 * f * f


def test_grouped_bottleneck_is_resnext_block_with_real_grouped_conv():
    # ResNeXt-50 32x4d, stage conv2: 256 -> (128 wide, 32 groups of 4) -> 256
    model = block_model(bottleneck_block, (8, 8, 256), 64, groups=32, width_per_group=4)
    grouped = model.get_layer("b_2_conv")
    assert isinstance(grouped, keras.layers.Conv2D) and grouped.groups == 32
    assert bottleneck_width(64, 32, 4) == 128
    # each of 32 groups maps 4 channels to 4 with a 3x3 kernel: 32 * (3*3*4*4) = 4608
    assert grouped.count_params() == 32 * 3 * 3 * 4 * 4 == 4608
    assert grouped.kernel.shape == (3, 3, 4, 128)
    assert model.count_params() == 256 * 128 + 4608 + 128 * 256 + bn(128) + bn(128) + bn(256)
    # the same block without groups has a dense 3x3 of 3*3*128*128 = 147,456 weights
    dense = block_model(bottleneck_block, (8, 8, 256), 64, width_per_group=128)
    assert dense.count_params() - model.count_params() == 9 * 128 * 128 - 4608


def test_identity_shortcut_when_shapes_match():
    model = block_model(bottleneck_block, (8, 8, 256), 64)
    assert not any(name.startswith("b_0_") for name in layer_names(model))
    # zero the residual branch (last BN's gamma and beta): the block is relu(x), x for x >= 0
    model.get_layer("b_3_bn").set_weights([np.zeros(256), np.zeros(256), np.zeros(256), np.ones(256)])
    x = np.random.default_rng(0).uniform(0, 1, (2, 8, 8, 256)).astype("float32")
    np.testing.assert_allclose(model(x, training=False), x, atol=1e-6)


@pytest.mark.parametrize("stride, in_channels", [(2, 256), (1, 64)])
def test_projection_shortcut_when_shapes_differ(stride, in_channels):
    model = block_model(bottleneck_block, (8, 8, in_channels), 64, stride=stride)
    assert model.output.shape[1:] == (8 // stride, 8 // stride, 256)
    projection = model.get_layer("b_0_conv")
    assert projection.kernel.shape == (1, 1, in_channels, 256) and projection.strides == (stride, stride)
    assert "b_0_bn" in layer_names(model)


def test_stride_placement_and_padding():
    v15 = block_model(bottleneck_block, (8, 8, 64), 16, stride=2)  # torchvision: stride on the 3x3
    assert v15.get_layer("b_1_conv").strides == (1, 1) and v15.get_layer("b_2_conv").strides == (2, 2)
    assert v15.get_layer("b_2_pad").padding == ((1, 1), (1, 1))  # symmetric, as PyTorch
    v1 = block_model(bottleneck_block, (8, 8, 64), 16, stride=2, stride_on="1x1")  # paper / Keras
    assert v1.get_layer("b_1_conv").strides == (2, 2) and v1.get_layer("b_2_conv").strides == (1, 1)


def test_option_a_shortcut_is_parameter_free_subsample_and_zero_pad():
    model = block_model(basic_block, (8, 8, 16), 32, stride=2, shortcut="zero_pad")
    assert not any(name.startswith("b_0_conv") for name in layer_names(model))
    assert model.count_params() == 9 * 16 * 32 + 9 * 32 * 32 + 2 * bn(32)
    x = np.random.default_rng(1).normal(size=(2, 7, 7, 16)).astype("float32")
    layer = ZeroPadShortcut(32, 2, name="s")
    y = keras.ops.convert_to_numpy(layer(x))
    expected = np.zeros((2, 4, 4, 32), "float32")
    expected[..., 8:24] = x[:, ::2, ::2, :]
    np.testing.assert_array_equal(y, expected)
    assert layer.compute_output_shape((None, 7, 7, 16)) == (None, 4, 4, 32)
    assert ZeroPadShortcut.from_config(layer.get_config()).get_config() == layer.get_config()


def test_preact_bottleneck_shortcuts_follow_keras_resnet_v2():
    projected = block_model(preact_bottleneck_block, (8, 8, 64), 64)  # channels change: conv on pre-activation
    conv = projected.get_layer("b_0_conv")
    assert conv.input is projected.get_layer("b_preact_relu").output and conv.use_bias
    assert projected.get_layer("b_1_conv").use_bias is False and projected.get_layer("b_3_conv").use_bias
    subsampled = block_model(preact_bottleneck_block, (8, 8, 256), 64, stride=2)  # only the stride changes
    pool = subsampled.get_layer("b_0_pool")
    assert isinstance(pool, keras.layers.MaxPooling2D) and pool.pool_size == (1, 1) and pool.strides == (2, 2)
    assert subsampled.output.shape[1:] == (4, 4, 256)
    identity = block_model(preact_bottleneck_block, (8, 8, 256), 64)
    assert not any(name.startswith("b_0_") for name in layer_names(identity))


def test_preact_basic_block_wide_resnet_unit():
    c_in, c = 16, 64
    model = block_model(preact_basic_block, (8, 8, c_in), c, stride=2, dropout=0.3)
    assert model.output.shape[1:] == (4, 4, c)
    assert "b_dropout" in layer_names(model)
    # BN on the input, 3x3 c_in->c, BN, 3x3 c->c, 1x1 projection c_in->c; no biases
    assert model.count_params() == bn(c_in) + 9 * c_in * c + bn(c) + 9 * c * c + c_in * c


def test_every_layer_is_named_after_the_block():
    for block, shape, kwargs in [
        (basic_block, (8, 8, 16), dict(stride=2)),
        (bottleneck_block, (8, 8, 16), dict(stride=2, groups=2)),
        (preact_bottleneck_block, (8, 8, 256), dict(stride=2)),
        (preact_basic_block, (8, 8, 16), dict(stride=2, dropout=0.1)),
    ]:
        model = block_model(block, shape, 16 if block is not preact_bottleneck_block else 64, **kwargs)
        assert all(name.startswith("b_") for name in layer_names(model)), layer_names(model)
