"""DenseNet blocks: channel growth, transition compression, names, parameters."""

import keras
import pytest

from keras_cv_course.blocks import dense_block, dense_layer, transition_block


def _build(block, input_shape, *args, **kwargs):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, block(inputs, *args, **kwargs))


@pytest.mark.parametrize("in_channels, num_layers, growth", [(64, 6, 32), (24, 3, 12)])
def test_dense_block_grows_channels_by_growth_rate_per_layer(in_channels, num_layers, growth):
    model = _build(dense_block, (16, 16, in_channels), num_layers, growth, name="conv2")
    assert model.output_shape == (None, 16, 16, in_channels + num_layers * growth)
    assert model.layers[-1].name == f"conv2_block{num_layers}_concat"
    assert all(l.name.startswith("conv2_block") for l in model.layers[1:])


def test_dense_layer_names_and_hand_counted_parameters():
    model = _build(dense_layer, (8, 8, 64), 32, name="conv2_block1")
    names = [l.name for l in model.layers[1:]]
    assert names == [
        "conv2_block1_0_bn", "conv2_block1_0_relu", "conv2_block1_1_conv", "conv2_block1_1_bn",
        "conv2_block1_1_relu", "conv2_block1_2_conv", "conv2_block1_concat",
    ]
    # BN(64) + 1×1 64→128 (no bias) + BN(128) + 3×3 128→32 (no bias)
    assert model.count_params() == 4 * 64 + 64 * 128 + 4 * 128 + 9 * 128 * 32
    assert model.get_layer("conv2_block1_0_bn").epsilon == pytest.approx(1.001e-5)


def test_transition_halves_channels_and_spatial_size():
    model = _build(transition_block, (56, 56, 256), name="pool2")
    assert model.output_shape == (None, 28, 28, 128)
    assert [l.name for l in model.layers[1:]] == ["pool2_bn", "pool2_relu", "pool2_conv", "pool2_pool"]
    assert model.count_params() == 4 * 256 + 256 * 128


def test_transition_compression_option():
    model = _build(transition_block, (14, 14, 100), name="t", compression=0.25)
    assert model.output_shape == (None, 7, 7, 25)
