"""Conv units, mlpconv, local response normalization and adaptive pooling."""

import keras
import numpy as np
import pytest

from keras_cv_course.blocks import AdaptiveAveragePooling2D, LocalResponseNormalization, conv_bn_act, mlpconv


def layer_names(block, shape=(8, 8, 3)):
    inputs = keras.Input(shape)
    return [layer.name for layer in keras.Model(inputs, block(inputs)).layers[1:]]


def test_conv_bn_act_names_every_layer_after_the_unit():
    assert layer_names(lambda x: conv_bn_act(x, 4, 3, name="stem")) == ["stem_conv", "stem_bn", "stem_relu"]
    assert layer_names(lambda x: conv_bn_act(x, 4, 3, padding=1, name="c")) == ["c_pad", "c_conv", "c_bn", "c_relu"]


def test_conv_without_batch_norm_fuses_activation_and_keeps_bias():
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, conv_bn_act(inputs, 4, 3, batch_norm=False, name="b", conv_name="b"))
    conv = model.get_layer("b")
    assert conv.activation.__name__ == "relu" and conv.use_bias
    assert len(model.layers) == 2


def test_explicit_padding_is_symmetric_like_pytorch():
    inputs = keras.Input((10, 10, 3))
    out = conv_bn_act(inputs, 2, 5, strides=2, padding=2, name="p")
    assert out.shape == (None, 5, 5, 2)  # floor((10 + 4 - 5) / 2) + 1


def test_mlpconv_is_kxk_then_pointwise_convs():
    inputs = keras.Input((16, 16, 3))
    model = keras.Model(inputs, mlpconv(inputs, (8, 6, 4), 5, name="m"))
    kernels = [model.get_layer(f"m_conv{i}").kernel.shape for i in (1, 2, 3)]
    assert kernels == [(5, 5, 3, 8), (1, 1, 8, 6), (1, 1, 6, 4)]


def lrn_reference(a, size, alpha, beta, k):
    """Krizhevsky et al. 2012 §3.3, written with explicit loops."""
    out = np.empty_like(a)
    channels = a.shape[-1]
    for c in range(channels):
        low, high = max(0, c - size // 2), min(channels - 1, c + size // 2)
        total = np.sum(a[..., low : high + 1] ** 2, axis=-1)
        out[..., c] = a[..., c] / (k + alpha / size * total) ** beta
    return out


def test_local_response_normalization_matches_the_formula():
    a = np.random.default_rng(0).normal(0, 30, (2, 3, 3, 7)).astype("float32")
    layer = LocalResponseNormalization(size=5, alpha=1e-3, beta=0.75, k=2.0)
    np.testing.assert_allclose(layer(a), lrn_reference(a, 5, 1e-3, 0.75, 2.0), rtol=1e-5)
    clone = LocalResponseNormalization.from_config(layer.get_config())
    assert (clone.size, clone.alpha, clone.beta, clone.k) == (5, 1e-3, 0.75, 2.0)
    with pytest.raises(ValueError, match="positive odd int, got 4"):
        LocalResponseNormalization(size=4)


def adaptive_reference(x, out_h, out_w):
    """torch.nn.AdaptiveAvgPool2d's windows: floor(i*H/out) .. ceil((i+1)*H/out)."""
    _, height, width, _ = x.shape
    result = np.zeros((x.shape[0], out_h, out_w, x.shape[-1]), dtype=x.dtype)
    for i in range(out_h):
        r0, r1 = (i * height) // out_h, -(-((i + 1) * height) // out_h)
        for j in range(out_w):
            c0, c1 = (j * width) // out_w, -(-((j + 1) * width) // out_w)
            result[:, i, j] = x[:, r0:r1, c0:c1].mean(axis=(1, 2))
    return result


@pytest.mark.parametrize("size", [(13, 13), (6, 6), (7, 5), (1, 1), (4, 9)])
def test_adaptive_average_pooling_matches_pytorch_windows(size):
    x = np.random.default_rng(1).normal(size=(2, *size, 3)).astype("float32")
    np.testing.assert_allclose(AdaptiveAveragePooling2D((6, 6))(x), adaptive_reference(x, 6, 6), rtol=1e-5, atol=1e-6)


def test_adaptive_average_pooling_with_unknown_input_size_serializes():
    inputs = keras.Input((None, None, 2))
    model = keras.Model(inputs, AdaptiveAveragePooling2D(3, name="ap")(inputs))
    clone = keras.Model.from_config(model.get_config())
    x = np.random.default_rng(2).normal(size=(1, 10, 7, 2)).astype("float32")
    np.testing.assert_allclose(clone(x), adaptive_reference(x, 3, 3), rtol=1e-5, atol=1e-6)
