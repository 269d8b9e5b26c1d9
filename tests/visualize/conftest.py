"""Tiny hand-set models for the visualization tests."""

import keras
import numpy as np
import pytest
from keras import layers


def blob_detector(size=16):
    """Conv(3x3, 2 filters: "red blob", "green blob", ReLU) → GAP → Dense(2, softmax),
    with class c reading filter c only."""
    inputs = keras.Input((size, size, 3))
    x = layers.Conv2D(2, 3, padding="same", activation="relu", name="detect")(inputs)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(2, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs, name="blob_detector")
    kernel = np.zeros((3, 3, 3, 2), np.float32)
    kernel[:, :, 0, 0], kernel[:, :, 1, 0], kernel[:, :, 2, 0] = 1.0, -1.0, -1.0  # red, not green/blue
    kernel[:, :, 1, 1], kernel[:, :, 0, 1], kernel[:, :, 2, 1] = 1.0, -1.0, -1.0  # green, not red/blue
    model.get_layer("detect").set_weights([kernel, np.zeros(2, np.float32)])
    model.get_layer("predictions").set_weights([np.eye(2, dtype=np.float32), np.zeros(2, np.float32)])
    return model


def _square_image(size=16, squares=()):
    """A black image with squares ``(top, left, side, rgb)``."""
    image = np.zeros((size, size, 3), np.float32)
    for top, left, side, rgb in squares:
        image[top : top + side, left : left + side] = rgb
    return image


@pytest.fixture
def blob_model():
    return blob_detector()


@pytest.fixture
def square_image():
    """``square_image(size=16, squares=[(top, left, side, rgb), ...])``."""
    return _square_image
