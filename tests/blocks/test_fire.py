"""SqueezeNet's fire module: output width and hand-counted parameters."""

import keras
import pytest

from keras_cv_course.blocks import fire_module


@pytest.mark.parametrize(
    "in_channels, squeeze, e1, e3, params",
    [
        # fire2 of SqueezeNet 1.0: (96*16 + 16) + (16*64 + 64) + (9*16*64 + 64)
        (96, 16, 64, 64, 1552 + 1088 + 9280),
        # fire9: (512*64 + 64) + (64*256 + 256) + (9*64*256 + 256)
        (512, 64, 256, 256, 32832 + 16640 + 147712),
        # unequal expands: (10*3 + 3) + (3*5 + 5) + (9*3*7 + 7)
        (10, 3, 5, 7, 33 + 20 + 196),
    ],
)
def test_fire_module_width_and_parameters(in_channels, squeeze, e1, e3, params):
    inputs = keras.Input((13, 13, in_channels))
    model = keras.Model(inputs, fire_module(inputs, squeeze, e1, e3, name="fire2"))
    assert model.output_shape == (None, 13, 13, e1 + e3)
    assert model.count_params() == params
    assert [l.name for l in model.layers[1:]] == ["fire2_squeeze1x1", "fire2_expand1x1", "fire2_expand3x3", "fire2_concat"]
    assert model.get_layer("fire2_expand3x3").kernel.shape == (3, 3, squeeze, e3)
