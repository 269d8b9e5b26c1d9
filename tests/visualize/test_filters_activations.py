"""Activations of nested models, filters as images, and gradient-ascent patterns."""

import keras
import numpy as np
import pytest
from keras import layers

from keras_cv_course import visualize


def _nested(seed=0):
    base_in = keras.Input((20, 20, 3))
    x = layers.Conv2D(4, 3, activation="relu", name="block1_conv1")(base_in)
    x = layers.MaxPooling2D(name="block1_pool")(x)
    x = layers.Conv2D(6, 3, activation="relu", name="block2_conv1")(x)
    conv_base = keras.Model(base_in, x, name="conv_base")
    model = keras.Sequential(
        [keras.Input((20, 20, 3)), conv_base, layers.Flatten(name="flatten"), layers.Dense(2, activation="softmax", name="out")],
        name="classifier",
    )
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(scale=0.3, size=w.shape).astype("float32") for w in model.get_weights()])
    return model, conv_base


def test_activations_reach_inside_nested_models():
    model, conv_base = _nested()
    images = np.random.default_rng(0).random((2, 20, 20, 3)).astype("float32")
    got = visualize.activations(model, images, ["block1_conv1", "conv_base/block2_conv1", "flatten"])
    first = keras.Model(conv_base.input, conv_base.get_layer("block1_conv1").output)
    np.testing.assert_allclose(got["block1_conv1"], keras.ops.convert_to_numpy(first(images)), atol=1e-5)
    np.testing.assert_allclose(got["conv_base/block2_conv1"], keras.ops.convert_to_numpy(conv_base(images)), atol=1e-5)
    assert got["flatten"].shape == (2, 7 * 7 * 6)
    default = visualize.activations(model, images[0])
    assert list(default) == ["conv_base/block1_conv1", "conv_base/block1_pool", "conv_base/block2_conv1"]
    assert default["conv_base/block1_pool"].shape == (1, 9, 9, 4)
    with pytest.raises(ValueError, match="Did you mean: block1_conv1"):
        visualize.activations(model, images, "block1_conv")


def test_activations_accept_feature_levels_of_a_nested_registered_backbone():
    from keras_cv_course.models import get_model, model_info

    conv_base = get_model("fashion_vgg", include_top=False, input_shape=(28, 28, 1))
    model = keras.Sequential([keras.Input((28, 28, 1)), conv_base, layers.GlobalAveragePooling2D(), layers.Dense(3)])
    images = np.random.default_rng(0).random((2, 28, 28, 1)).astype("float32")
    got = visualize.activations(model, images, ["P1", "P2"])
    for level in ("P1", "P2"):
        tap = model_info("fashion_vgg").tap(level)
        direct = keras.ops.convert_to_numpy(keras.Model(conv_base.input, conv_base.get_layer(tap.layer).output)(images))
        np.testing.assert_allclose(got[level], direct, atol=1e-5)
        assert got[level].shape[-1] == tap.channels
    assert visualize.target_layer(model).name == "block3_relu1"  # conv -> BN -> ReLU unit


def test_filters_are_kernels_as_tiles():
    model, _ = _nested()
    kernel = model.get_layer("conv_base").get_layer("block1_conv1").get_weights()[0]
    tiles = visualize.filters(model)  # first conv layer, found inside conv_base
    assert tiles.shape == (4, 3, 3, 3)
    assert tiles.min() == 0.0 and tiles.max() == 1.0
    for f in range(4):
        k = kernel[..., f]
        np.testing.assert_allclose(tiles[f], (k - k.min()) / (k.max() - k.min()), atol=1e-6)
    assert visualize.filters(model, "block2_conv1", normalize="global").shape == (6, 3, 3, 4)
    signed = visualize.filters(model, normalize="signed")
    for f in range(4):
        k = kernel[..., f]
        np.testing.assert_allclose(signed[f], 0.5 + k / (2 * np.abs(k).max()), atol=1e-6)  # zero weight -> 0.5


def test_total_variation_of_a_constant_image_is_zero():
    assert visualize.total_variation(np.full((8, 8, 3), 0.7)) == 0.0
    stripes = np.zeros((4, 4, 1)); stripes[:, ::2] = 1.0
    assert visualize.total_variation(stripes) == pytest.approx(1.0)


def test_gradient_ascent_raises_the_filters_objective():
    model, _ = _nested(seed=2)
    for layer, index in [("block1_conv1", 1), ("block2_conv1", 5)]:
        pattern, objective = visualize.filter_pattern(model, layer, index, steps=15, size=24, return_objective=True)
        assert pattern.shape == (24, 24, 3) and pattern.dtype == np.uint8  # any size: the model stops at the layer
        assert objective[-1] > objective[0] + 0.1
    # a filter dead at the gray start (ReLU output 0 everywhere) climbs its
    # pre-activation until it fires
    _, objective = visualize.filter_pattern(model, "block2_conv1", 3, steps=30, step_size=0.1, size=24, return_objective=True)
    assert objective[0] == 0.0 and objective[-1] > 1.0
    _, objective = visualize.filter_pattern(
        model, "block2_conv1", 5, steps=15, regularizers={"jitter": 2, "tv": 0.05, "l2": 0.01}, return_objective=True
    )
    assert objective[-1] > objective[0]


def test_best_pattern_of_a_linear_conv_filter_is_its_kernel():
    rng = np.random.default_rng(4)
    model = keras.Sequential([keras.Input((None, None, 3)), layers.Conv2D(2, 5, name="conv")])
    kernel = rng.normal(size=(5, 5, 3, 2)).astype("float32")
    model.layers[0].set_weights([kernel, np.zeros(2, np.float32)])
    raw = visualize.filter_pattern(model, "conv", 1, size=5, steps=20, deprocess=False)
    assert np.corrcoef(raw.ravel(), kernel[..., 1].ravel())[0, 1] > 0.95
    gallery = visualize.filter_patterns(model, "conv", size=5, steps=5)
    assert gallery.shape == (2, 5, 5, 3) and gallery.dtype == np.uint8
    # the batched gallery climbs each filter exactly as a run of its own would
    start = np.random.default_rng(0).random((5, 5, 3)).astype("float32")
    batched, objectives = visualize.filter_patterns(model, "conv", [1, 0], start=start, steps=4, deprocess=False, return_objective=True)
    for row, index in enumerate([1, 0]):
        single, objective = visualize.filter_pattern(model, "conv", index, start=start, steps=4, deprocess=False, return_objective=True)
        np.testing.assert_allclose(batched[row], single, atol=1e-5)
        np.testing.assert_allclose(objectives[:, row], objective, rtol=1e-5)
    with pytest.raises(ValueError, match="has 2 filters"):
        visualize.filter_pattern(model, "conv", 2, size=5, steps=1)
    with pytest.raises(ValueError, match="unknown regularizers|Unknown regularizers"):
        visualize.filter_pattern(model, "conv", 0, size=5, steps=1, regularizers={"blur": 1})
