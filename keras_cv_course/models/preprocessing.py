"""The preprocessing modes, kept importable here (``models.preprocess_input``,
``models.preprocessing.MODES``); they live in the leaf module
``keras_cv_course.preprocessing``, which data and the tools import without the
model families."""

from keras_cv_course.preprocessing import (
    CAFFE_MEAN_BGR, IMAGENET_MEAN_RGB, IMAGENET_STD_RGB, MODES, check_mode, preprocess_input, value_range,
)

__all__ = ["CAFFE_MEAN_BGR", "IMAGENET_MEAN_RGB", "IMAGENET_STD_RGB", "MODES", "check_mode", "preprocess_input",
           "value_range"]
