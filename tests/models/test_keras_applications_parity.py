"""Parity with keras.applications as one sweep over the twin table
(``_keras_parity.TWINS``): for every model both have, the same graph layer for
layer (classes, options, weight shapes, Keras's explicit names;
``assert_same_architecture``), and a keras.applications model with randomised
weights saved as its legacy .h5 file (the format of its ImageNet files) loads
into ours through ``weights=<file>`` and gives the same outputs. Family tests
keep only what is particular to a family."""

import keras
import numpy as np
import pytest

from _keras_parity import NORMALIZING, TWINS, TWIN_IDS, assert_same_architecture, randomize_weights, save_legacy_h5
from keras_cv_course import models


@pytest.mark.parametrize("twin", TWINS, ids=TWIN_IDS)
def test_keras_applications_file_loads_into_ours_with_equal_outputs(twin, tmp_path):
    shape = (twin.side, twin.side, 3)
    theirs = getattr(keras.applications, twin.builder)(weights=None, input_shape=shape, classes=10,
                                                       classifier_activation=None)
    randomize_weights(theirs, seed=len(twin.name), skip=NORMALIZING)
    path = save_legacy_h5(theirs, str(tmp_path / f"{twin.name}.h5"))
    ours = models.get_model(twin.name, weights=path, input_shape=shape, classes=10, classifier_activation=None)
    assert_same_architecture(ours, theirs)
    x = np.random.default_rng(1).uniform(0, 255, (2,) + shape).astype("float32")
    scale = 1.0 if twin.module == "efficientnet" else 1 / 255.0  # EfficientNet rescales inside the model
    np.testing.assert_allclose(np.asarray(ours(x * scale)), np.asarray(theirs(x * scale)), atol=1e-4, rtol=1e-4)


def test_the_table_names_the_same_builders_on_both_sides():
    for twin in TWINS:
        assert models.model_info(twin.name).builder is getattr(models, twin.builder)
        assert getattr(getattr(keras.applications, twin.module), twin.builder) is getattr(keras.applications,
                                                                                          twin.builder)
