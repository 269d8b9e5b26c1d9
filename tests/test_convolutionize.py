"""surgery.convolutionize: Flatten → Dense heads as convolutions (OverFeat,
Sermanet et al. 2013; EE-559 7.2/7.3), and torchvision Linear weights in
channels-last order."""

import importlib.util
import os

import keras
import numpy as np
import pytest

from keras_cv_course import surgery
from keras_cv_course.models import get_model, list_models, model_info

# Families whose classifiers end in Flatten → Dense (the others pool globally:
# test_other_families_have_no_dense_head, marked slow, sweeps them).
DENSE_FAMILIES = ("lenet", "alexnet", "vgg", "small")
# A small native input per model (the smallest its head allows); torchvision's
# AlexNet at 224, where its adaptive 6×6 pooling sees a 6×6 map.
NATIVE = {"alexnet": 224}
EXPECTED = {"lenet5", "lenet5_classic", "alexnet", "alexnet_paper", "zfnet", "vgg_s", "vgg11", "vgg11_bn",
            "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg16_c", "vgg19", "vgg19_bn", "fashion_cnn",
            "fashion_cnn_wide"}


def _small_build(name, **kwargs):
    info = model_info(name)
    side = NATIVE.get(name, max(info.min_size, 28 if info.input_shape[2] == 1 else 32))
    return get_model(name, input_shape=(side, side, info.input_shape[2]), classes=10, **kwargs)


def _has_dense_head(model):
    kinds = [type(layer).__name__ for layer in surgery.flat_layers(model)]
    return "Flatten" in kinds and "Dense" in kinds[kinds.index("Flatten"):]


def _images(shape, batch=2, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (batch, *shape)).astype("float32")


def _split(model, fcn):
    """(features of any size, original head) at ``model``'s adaptive pool or Flatten:
    the features are ``fcn``'s up to its first converted Dense."""
    names = [layer.name for layer in model.layers]
    at = model.get_layer("avgpool" if "avgpool" in names else "flatten").input
    first_fc = next(l.name for l in model.layers if isinstance(l, keras.layers.Dense))
    return keras.Model(fcn.input, fcn.get_layer(first_fc).input), keras.Model(at, model.outputs)


def _candidates():
    return [name for name in list_models() if model_info(name).family in DENSE_FAMILIES]


@pytest.mark.parametrize("name", _candidates())
def test_convolutionized_equals_original_at_native_size(name):
    model = _small_build(name)
    if not _has_dense_head(model):
        with pytest.raises(ValueError, match="already convolutional"):
            surgery.convolutionize(model)
        return
    fcn = surgery.convolutionize(model)
    x = _images(model.input_shape[1:])
    out = keras.ops.convert_to_numpy(fcn(x))
    assert out.shape == (2, 1, 1, 10)
    np.testing.assert_allclose(out[:, 0, 0], keras.ops.convert_to_numpy(model(x)), atol=1e-5)
    assert fcn.input_shape == (None, None, None, model.input_shape[-1])
    for layer in surgery.flat_layers(model):
        if isinstance(layer, keras.layers.Dense):
            assert isinstance(fcn.get_layer(layer.name), keras.layers.Conv2D)


def test_every_expected_dense_head_model_is_swept():
    found = {name for name in _candidates() if _has_dense_head(_small_build(name))}
    assert EXPECTED <= found, EXPECTED - found


@pytest.mark.slow
def test_other_families_have_no_dense_head():
    for name in list_models():
        if model_info(name).family not in DENSE_FAMILIES and model_info(name).task == "classification":
            assert not _has_dense_head(_small_build(name)), name
            keras.backend.clear_session()


@pytest.mark.parametrize("name, shape, kernel", [("vgg11", (32, 64, 3), (1, 2)), ("lenet5", (28, 36, 1), (4, 6))])
def test_non_square_native_map(name, shape, kernel):
    model = get_model(name, input_shape=shape, classes=10)
    fcn = surgery.convolutionize(model)
    dense = model.get_layer("fc1")
    conv = fcn.get_layer("fc1")
    assert conv.kernel_size == kernel
    np.testing.assert_array_equal(conv.get_weights()[0], dense.get_weights()[0].reshape(*kernel, -1, dense.units))
    x = _images(shape)
    np.testing.assert_allclose(fcn(x)[:, 0, 0], model(x), atol=1e-5)


def test_kernel_is_dense_kernel_in_channels_last_flatten_order():
    model = get_model("lenet5")
    fcn = surgery.convolutionize(model)
    dense, conv = model.get_layer("fc1"), fcn.get_layer("fc1")
    h, w, c = model.get_layer("flatten").input.shape[1:]
    kernel = dense.get_weights()[0]
    # Flatten index of (row i, column j, channel k) is (i·W + j)·C + k
    for i, j, k, u in [(0, 0, 0, 0), (1, 2, 3, 4), (3, 3, 15, 119)]:
        assert conv.get_weights()[0][i, j, k, u] == kernel[(i * w + j) * c + k, u]
    assert fcn.get_layer("fc2").kernel_size == (1, 1)
    assert fcn.get_layer("predictions").activation is keras.activations.softmax


@pytest.mark.parametrize("name, stride", [("lenet5", 4), ("lenet5_classic", 4)])
def test_dense_evaluation_equals_crops_without_padding(name, stride):
    """Valid-only nets: cell (i, j) IS the classifier on the crop at (s·i, s·j)."""
    model = get_model(name)
    assert surgery.total_stride(model) == (stride, stride)
    side, k = model.input_shape[1], 3
    fcn = surgery.convolutionize(model)
    x = _images((side + stride * k, side + stride * (k - 1), 1), batch=1)
    out = keras.ops.convert_to_numpy(fcn(x))
    assert out.shape == (1, 1 + k, k, 10)
    crops = np.concatenate([x[:, stride * i:stride * i + side, stride * j:stride * j + side]
                            for i in range(1 + k) for j in range(k)])
    expected = keras.ops.convert_to_numpy(model(crops)).reshape(1 + k, k, 10)
    np.testing.assert_allclose(out[0], expected, atol=1e-5)


@pytest.mark.parametrize("name, kwargs, stride", [
    ("vgg11", dict(input_shape=(32, 32, 3)), 32),
    ("alexnet_paper", dict(input_shape=(67, 67, 3)), 32),
    ("zfnet", dict(input_shape=(53, 53, 3)), 32),
    ("vgg_s", dict(input_shape=(31, 31, 3)), 36),
    ("alexnet", dict(), 32),
])
def test_dense_evaluation_slides_the_head_over_the_feature_map(name, kwargs, stride):
    """Padded nets: at native + s·k the map is (1+k)×(1+k) and cell (i, j) is the
    original head on the feature window at (i, j). (A padded conv of a crop sees
    zeros where the dense pass sees the neighbours, so it is not the crop's score:
    Simonyan & Zisserman 2015, 3.2.)"""
    model = get_model(name, classes=10, **kwargs)
    assert surgery.total_stride(model) == (stride, stride)
    fcn = surgery.convolutionize(model)
    side, k = model.input_shape[1], 2
    x = _images((side + stride * k, side + stride * k, 3), batch=1)
    out = keras.ops.convert_to_numpy(fcn(x))
    assert out.shape == (1, 1 + k, 1 + k, 10)
    features, head = _split(model, fcn)
    fmap = keras.ops.convert_to_numpy(features(x))
    mh, mw = head.input_shape[1:3]
    windows = np.concatenate([fmap[:, i:i + mh, j:j + mw] for i in range(1 + k) for j in range(1 + k)])
    np.testing.assert_allclose(out[0], keras.ops.convert_to_numpy(head(windows)).reshape(1 + k, 1 + k, 10), atol=1e-5)


def test_torchvision_alexnet_adaptive_pool_becomes_uniform_pooling():
    """At 256×256 AlexNet's map is 7×7: adaptive 7→6 pooling is AveragePooling2D(2, 1)."""
    model = get_model("alexnet", input_shape=(256, 256, 3), classes=10)
    fcn = surgery.convolutionize(model)
    pool = fcn.get_layer("avgpool")
    assert isinstance(pool, keras.layers.AveragePooling2D) and pool.pool_size == (2, 2) and pool.strides == (1, 1)
    x = _images((256, 256, 3), batch=1)
    np.testing.assert_allclose(fcn(x)[:, 0, 0], model(x), atol=1e-5)
    assert surgery._uniform_windows(8, 6) is None and surgery._uniform_windows(13, 6) == (3, 2)


def test_uneven_adaptive_pool_is_refused_by_name():
    model = get_model("alexnet", input_shape=(300, 300, 3), classes=10)  # 8×8 map → uneven 6×6 windows
    with pytest.raises(ValueError, match="'avgpool'.*variant='paper'"):
        surgery.convolutionize(model)


def test_keras_round_trip_with_safe_mode(tmp_path):
    for name in ("alexnet_paper", "fashion_cnn"):
        model = _small_build(name)
        fcn = surgery.convolutionize(model)
        path = os.path.join(tmp_path, f"{name}.keras")
        fcn.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
        x = _images((model.input_shape[1] + 32, model.input_shape[2] + 32, model.input_shape[3]), batch=1)
        np.testing.assert_allclose(loaded(x), fcn(x), atol=1e-6)


def test_nested_transfer_classifier_and_wrapped_classifier():
    conv_base = get_model("vgg11", include_top=False, input_shape=(32, 32, 3))
    model = surgery.transfer_classifier(conv_base, hidden=16, classes=3, dropout=0.5)
    fcn = surgery.convolutionize(model)
    assert [l.name for l in fcn.layers[-3:]] == ["fc", "fc_dropout", "predictions"]
    assert "block1_conv1" in [l.name for l in fcn.layers]  # conv_base inlined
    x = _images((96, 64, 3))
    assert fcn(x).shape == (2, 3, 2, 3)
    np.testing.assert_allclose(fcn(x[:, 32:64, 32:64])[:, 0, 0], model(x[:, 32:64, 32:64]), atol=1e-5)

    lenet = get_model("lenet5")
    inputs = keras.Input((28, 28, 1), name="outer_input")
    wrapper = keras.Model(inputs, lenet(inputs), name="wrapper")
    fcn = surgery.convolutionize(wrapper, input_shape=(40, 40, 1))
    x = _images((40, 40, 1))
    np.testing.assert_allclose(fcn(x)[:, 1, 2], lenet(x[:, 4:32, 8:36]), atol=1e-5)


def test_refusals_name_the_layer():
    with pytest.raises(ValueError, match=r"'avg_pool'.*already convolutional"):
        surgery.convolutionize(_small_build("fashion_vgg"))
    with pytest.raises(ValueError, match=r"'avg_pool'.*already convolutional"):
        surgery.convolutionize(get_model("resnet18", input_shape=(32, 32, 3), classes=10))
    inputs = keras.Input((784,))
    mlp = keras.Model(inputs, keras.layers.Dense(10, name="logits")(keras.layers.Dense(32, name="hidden")(inputs)))
    with pytest.raises(ValueError, match="'hidden' is fed by none"):
        surgery.convolutionize(mlp)
    image = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(image)
    pointwise = keras.layers.Dense(5, name="dense_on_vector")(keras.layers.GlobalMaxPooling2D(keepdims=True, name="gmp")(x))
    pointwise = keras.layers.Dense(2, name="then")(keras.layers.Reshape((5,), name="squeeze")(pointwise))
    with pytest.raises(ValueError, match="'squeeze'.*fixes the spatial size"):
        surgery.convolutionize(keras.Model(image, pointwise))
    flat = keras.layers.Flatten(name="flatten")(x)
    unknown = keras.layers.Dense(2, name="out")(keras.layers.Reshape((2, 72), name="fold")(flat))
    with pytest.raises(ValueError, match="'fold' \\(Reshape\\) after Flatten"):
        surgery.convolutionize(keras.Model(image, unknown))
    with pytest.raises(ValueError, match="smaller than"):
        surgery.convolutionize(get_model("lenet5"), input_shape=(20, 28, 1))


def test_torch_linear_weight_to_keras_kernels_by_hand():
    # U=2 units, C=2 channels, H=1, W=2; torch index c·H·W + h·W + w, Keras (h·W + w)·C + c
    weight = np.array([[1, 2, 3, 4], [5, 6, 7, 8]], dtype="float32")  # (U, C·H·W)
    kernel = surgery.conv_kernel_from_torch_linear(weight, channels=2, height=1, width=2)
    assert kernel.shape == (1, 2, 2, 2)
    np.testing.assert_array_equal(kernel[0, :, :, 0], [[1, 3], [2, 4]])  # [w, c] of unit 0
    dense = surgery.dense_kernel_from_torch(weight, channels=2, height=1, width=2)
    np.testing.assert_array_equal(dense, [[1, 5], [3, 7], [2, 6], [4, 8]])
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(5, 3 * 2 * 4)).astype("float32")
    nchw = rng.normal(size=(3, 2, 4)).astype("float32")
    torch_out = weight @ nchw.reshape(-1)
    keras_out = nchw.transpose(1, 2, 0).reshape(-1) @ surgery.dense_kernel_from_torch(weight, 3, 2, 4)
    np.testing.assert_allclose(keras_out, torch_out, rtol=1e-5)
    conv = np.einsum("hwc,hwcu->u", nchw.transpose(1, 2, 0), surgery.conv_kernel_from_torch_linear(weight, 3, 2, 4))
    np.testing.assert_allclose(conv, torch_out, rtol=1e-5)
    with pytest.raises(ValueError, match="shape"):
        surgery.dense_kernel_from_torch(weight, 3, 3, 4)


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
def test_torch_linear_matches_real_nn_linear():
    import torch

    linear = torch.nn.Linear(3 * 2 * 4, 5)
    x = torch.randn(1, 3, 2, 4)
    expected = linear(torch.flatten(x, 1)).detach().numpy()
    kernel = surgery.dense_kernel_from_torch(linear.weight.detach().numpy(), 3, 2, 4)
    got = x.numpy().transpose(0, 2, 3, 1).reshape(1, -1) @ kernel + linear.bias.detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_feature_layers_are_copies_so_taps_read_the_new_graph():
    model = get_model("vgg11", input_shape=(32, 32, 3), classes=10)
    fcn = surgery.convolutionize(model)
    assert fcn.get_layer("block1_conv1") is not model.get_layer("block1_conv1")
    np.testing.assert_array_equal(fcn.get_layer("block1_conv1").get_weights()[0],
                                  model.get_layer("block1_conv1").get_weights()[0])
    tap = keras.Model(fcn.input, fcn.get_layer("block4_pool").output)
    assert tap(_images((64, 96, 3))).shape == (2, 4, 6, 512)
