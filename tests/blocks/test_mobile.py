"""Mobile blocks: parameter arithmetic, when the residual add exists, the SE gate,
MBConv's layers against keras.applications' EfficientNet block, ImageNormalization."""

import keras
import numpy as np
import pytest

from keras_cv_course.blocks import mobile
from keras_cv_course.blocks.mobile import (
    ImageNormalization,
    correct_pad,
    depthwise_separable,
    inverted_residual,
    make_divisible,
    mbconv,
    squeeze_excite,
)


def build(block, input_shape, **kwargs):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, block(inputs, **kwargs))


def run(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def weighted(model):
    return [(layer.name, [tuple(w.shape) for w in layer.weights]) for layer in model.layers if layer.weights]


@pytest.mark.parametrize("cin, cout, k, dm", [(8, 16, 3, 1), (16, 24, 5, 2)])
def test_depthwise_separable_parameters_by_formula(cin, cout, k, dm):
    model = build(depthwise_separable, (12, 12, cin), filters=cout, kernel_size=k, depth_multiplier=dm, name="u")
    convs = k * k * cin * dm + cin * dm * cout  # depthwise + pointwise, no biases
    batch_norm = 4 * cin * dm + 4 * cout  # gamma, beta, moving mean, moving variance
    assert model.count_params() == convs + batch_norm
    assert [name for name, _ in weighted(model)] == ["u_dw", "u_dw_bn", "u_pw", "u_pw_bn"]


def test_depthwise_separable_stride_two_pads_like_keras_mobilenet():
    model = build(depthwise_separable, (16, 16, 4), filters=8, strides=2, name="u",
                  names={"pad": "conv_pad_2", "dw": "conv_dw_2"})
    assert model.output_shape == (None, 8, 8, 8)
    assert model.get_layer("conv_pad_2").padding == ((0, 1), (0, 1))
    assert model.get_layer("conv_dw_2").strides == (2, 2)
    with pytest.raises(ValueError, match="unknown keys"):
        build(depthwise_separable, (8, 8, 4), filters=8, name="u", names={"depthwise": "x"})


def _has_add(model):
    return any(isinstance(layer, keras.layers.Add) for layer in model.layers)


@pytest.mark.parametrize(
    "cin, cout, stride, residual",
    [(16, 16, 1, True), (16, 16, 2, False), (16, 24, 1, False)],
)
def test_inverted_residual_adds_only_at_stride_one_and_equal_widths(cin, cout, stride, residual):
    model = build(inverted_residual, (16, 16, cin), filters=cout, strides=stride, expansion=6, name="block_3")
    assert _has_add(model) is residual
    assert model.output_shape == (None, 16 // stride, 16 // stride, cout)
    assert model.get_layer("block_3_expand").filters == 6 * cin
    expected = (cin * 6 * cin) + 9 * 6 * cin + 6 * cin * cout + 4 * (6 * cin + 6 * cin + cout)
    assert model.count_params() == expected


def test_inverted_residual_add_really_adds_the_input():
    rng = np.random.default_rng(0)
    model = build(inverted_residual, (8, 8, 16), filters=16, name="b")
    gamma, beta, mean, var = model.get_layer("b_project_BN").get_weights()
    model.get_layer("b_project_BN").set_weights([np.zeros_like(gamma), np.zeros_like(beta), mean, var])
    x = rng.normal(size=(2, 8, 8, 16)).astype("float32")
    np.testing.assert_allclose(run(model, x), x, atol=1e-6)


def test_inverted_residual_without_expansion_has_no_expand_conv():
    model = build(inverted_residual, (8, 8, 32), filters=16, expansion=1, name="expanded_conv")
    names = [layer.name for layer in model.layers]
    assert "expanded_conv_expand" not in names
    assert names[1:] == ["expanded_conv_depthwise", "expanded_conv_depthwise_BN", "expanded_conv_depthwise_relu",
                         "expanded_conv_project", "expanded_conv_project_BN"]


def test_squeeze_excite_scales_each_channel_by_a_gate_in_0_1():
    rng = np.random.default_rng(0)
    model = build(squeeze_excite, (6, 6, 12), filters_se=3, name="b")
    x = rng.uniform(0.5, 2.0, size=(2, 6, 6, 12)).astype("float32")
    y = run(model, x)
    gate = y / x
    # the same factor at every position of a channel...
    np.testing.assert_allclose(gate, np.broadcast_to(gate[:, :1, :1, :], gate.shape), rtol=1e-5)
    # ...strictly between 0 and 1 (a sigmoid)
    assert np.all(gate > 0) and np.all(gate < 1)
    assert model.count_params() == (12 * 3 + 3) + (3 * 12 + 12)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(filters_in=32, filters_out=16, kernel_size=3, strides=1, expand_ratio=1, se_ratio=0.25),
        dict(filters_in=40, filters_out=40, kernel_size=5, strides=1, expand_ratio=6, se_ratio=0.25),
    ],
)
def test_mbconv_matches_keras_efficientnet_block(kwargs):
    from keras.src.applications import efficientnet as keras_efficientnet

    inputs = keras.Input((16, 16, kwargs["filters_in"]))
    reference = keras.Model(inputs, keras_efficientnet.block(inputs, drop_rate=0.1, name="block2b_", **kwargs))
    ours = build(
        mbconv, (16, 16, kwargs["filters_in"]), filters_out=kwargs["filters_out"], kernel_size=kwargs["kernel_size"],
        strides=kwargs["strides"], expand_ratio=kwargs["expand_ratio"], se_ratio=kwargs["se_ratio"],
        drop_rate=0.1, name="block2b",
    )
    assert weighted(ours) == weighted(reference)
    assert [layer.name for layer in ours.layers[1:]] == [layer.name for layer in reference.layers[1:]]
    ours.set_weights(reference.get_weights())
    x = np.random.default_rng(1).normal(size=(2, 16, 16, kwargs["filters_in"])).astype("float32")
    np.testing.assert_allclose(run(ours, x), run(reference, x), atol=1e-5)


def test_mbconv_drop_connect_only_on_the_residual_path():
    with_skip = build(mbconv, (8, 8, 16), filters_out=16, drop_rate=0.2, name="b")
    drop = with_skip.get_layer("b_drop")
    assert drop.rate == 0.2 and tuple(drop.noise_shape) == (None, 1, 1, 1)
    without_skip = build(mbconv, (8, 8, 16), filters_out=24, drop_rate=0.2, name="c")
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in without_skip.layers)


def test_make_divisible_and_correct_pad():
    assert make_divisible(32 * 0.35) == 16  # 11.2 -> 8 would lose more than 10%
    assert make_divisible(1280 * 1.4) == 1792
    assert make_divisible(24) == 24
    assert correct_pad(keras.Input((224, 224, 3)), 3) == ((0, 1), (0, 1))
    assert correct_pad(keras.Input((225, 225, 3)), 5) == ((2, 2), (2, 2))
    assert correct_pad(keras.Input((None, None, 3)), 3) == ((0, 1), (0, 1))


def test_image_normalization_reads_its_weights_at_every_call(tmp_path):
    layer = ImageNormalization(name="normalization")
    x = np.full((1, 2, 2, 3), 0.5, "float32")
    default = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(default[0, 0, 0], (0.5 - np.array([0.485, 0.456, 0.406])) / [0.229, 0.224, 0.225],
                               rtol=1e-5)
    assert [w.path.split("/")[-1] for w in layer.weights] == ["mean", "variance", "count"]
    layer.set_weights([np.array([0.1, 0.2, 0.3], "float32"), np.array([4.0, 4.0, 1.0], "float32"), np.array(0)])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x))[0, 0, 0], [0.2, 0.15, 0.2], rtol=1e-5)
    # safe_mode round trip keeps the weights
    inputs = keras.Input((2, 2, 3))
    model = keras.Model(inputs, layer(inputs))
    model.save(tmp_path / "m.keras")
    restored = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_allclose(run(restored, x), run(model, x))


def test_image_normalization_checks_its_arguments():
    with pytest.raises(ValueError, match="same length"):
        ImageNormalization(mean=(0.5,), variance=(1.0, 1.0))
    with pytest.raises(ValueError, match="channels"):
        ImageNormalization()(keras.Input((4, 4, 1)))
    assert set(mobile.__all__) >= {"depthwise_separable", "inverted_residual", "mbconv", "squeeze_excite"}
