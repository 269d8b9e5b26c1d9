"""Parity with keras.applications as one sweep over a twin table: for every
model both have, the same weighted layers (names and shapes, in order), the same
graph layer for layer (classes and options), and a keras.applications model with
randomised weights saved as its legacy .h5 file (the format of its ImageNet
files) loads into ours through ``weights=<file>`` (checked layer by layer) and
gives the same outputs. Family tests keep only what is particular to a family."""

import keras
import numpy as np
import pytest

from _keras_parity import layer_options, randomize_weights, save_legacy_h5
from keras_cv_course import models
from keras_cv_course.blocks.mobile import ImageNormalization

# (our registry name, keras.applications builder, side of the small test input).
# keras.applications' InceptionV3 leaves its layers automatically named (conv2d_1,
# ...) and its file loads by layer order: there, only the weight shapes must agree.
AUTOMATICALLY_NAMED = {"inception_v3"}
TWINS = (
    ("vgg16", "VGG16", 32), ("vgg19", "VGG19", 32),
    ("resnet50", "ResNet50", 64), ("resnet101", "ResNet101", 32), ("resnet152", "ResNet152", 32),
    ("resnet50_v2", "ResNet50V2", 64), ("resnet101_v2", "ResNet101V2", 32), ("resnet152_v2", "ResNet152V2", 32),
    ("densenet121", "DenseNet121", 64), ("densenet169", "DenseNet169", 32), ("densenet201", "DenseNet201", 32),
    ("mobilenet", "MobileNet", 64), ("mobilenet_v2", "MobileNetV2", 64),
    ("inception_v3", "InceptionV3", 75),
) + tuple((f"efficientnet_b{i}", f"EfficientNetB{i}", 32) for i in range(8))
# Input normalization: Keras's EfficientNet keeps ImageNet statistics in a
# Normalization layer; ours in ImageNormalization (constants, set at build).
NORMALIZING = (keras.layers.Normalization, keras.layers.Rescaling, ImageNormalization)


def weighted_layers(model):
    """(name, weight shapes) of every layer with weights, input normalization excluded."""
    return [(layer.name, [tuple(w.shape) for w in layer.weights]) for layer in model.layers
            if layer.weights and not isinstance(layer, NORMALIZING)]


def layouts(model):
    """Every layer's class and options without its name, input and input
    normalization left out (and the global pooling keras.applications' MobileNet
    leaves automatically named, with options of its own)."""
    skip = (keras.layers.InputLayer, keras.layers.GlobalAveragePooling2D) + NORMALIZING
    rows = []
    for layer in model.layers:
        if not isinstance(layer, skip):
            kind, options = layer_options(layer)
            rows.append((kind, {k: v for k, v in options.items() if k != "batch_shape"}))
    return rows


@pytest.mark.parametrize("name, keras_builder, side", TWINS, ids=[twin[0] for twin in TWINS])
def test_keras_applications_file_loads_into_ours_with_equal_outputs(name, keras_builder, side, tmp_path):
    shape = (side, side, 3)
    theirs = getattr(keras.applications, keras_builder)(weights=None, input_shape=shape, classes=10,
                                                         classifier_activation=None)
    randomize_weights(theirs, seed=len(name), skip=NORMALIZING)
    path = save_legacy_h5(theirs, str(tmp_path / f"{name}.h5"))
    ours = models.get_model(name, weights=path, input_shape=shape, classes=10, classifier_activation=None)
    if name in AUTOMATICALLY_NAMED:
        assert [shapes for _, shapes in weighted_layers(ours)] == [shapes for _, shapes in weighted_layers(theirs)]
    else:
        assert weighted_layers(ours) == weighted_layers(theirs)
    assert layouts(ours) == layouts(theirs)
    x = np.random.default_rng(1).uniform(0, 255, (2,) + shape).astype("float32")
    scale = 1.0 if name.startswith("efficientnet") else 1 / 255.0  # EfficientNet rescales inside the model
    np.testing.assert_allclose(np.asarray(ours(x * scale)), np.asarray(theirs(x * scale)), atol=1e-4, rtol=1e-4)
