"""keras_cv_course.preprocessing: the one home of the modes and the ImageNet
statistics; value ranges are what the modes really produce; the old import
path keeps working."""

import os
import re

import numpy as np
import pytest

from keras_cv_course import preprocessing

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "keras_cv_course")
STATISTICS = re.compile(r"0\.485|0\.456|0\.406|0\.229|0\.224|0\.225|103\.939|116\.779|123\.68")


def test_the_imagenet_statistics_are_written_once():
    spelled = set()
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            path = os.path.join(folder, name)
            if name.endswith(".py") and STATISTICS.search(open(path, encoding="utf-8").read()):
                spelled.add(os.path.relpath(path, PACKAGE).replace(os.sep, "/"))
    assert spelled == {"preprocessing.py"}


@pytest.mark.parametrize("mode", preprocessing.MODES)
def test_value_range_is_the_range_of_preprocessed_pixels(mode):
    extremes = np.array([[[[0, 0, 0], [255, 255, 255]]]], "uint8")
    values = np.asarray(preprocessing.preprocess_input(extremes, mode))
    np.testing.assert_allclose(preprocessing.value_range(mode), (values.min(), values.max()), rtol=1e-6)


def test_unknown_modes_are_refused_and_the_models_path_re_exports():
    from keras_cv_course import models

    with pytest.raises(ValueError, match="Unknown preprocessing mode 'bgr'"):
        preprocessing.value_range("bgr")
    x = np.random.default_rng(0).uniform(0, 255, (2, 4, 4, 3))
    np.testing.assert_array_equal(models.preprocess_input(x, "caffe"), preprocessing.preprocess_input(x, "caffe"))
    assert models.preprocessing.MODES is preprocessing.MODES
