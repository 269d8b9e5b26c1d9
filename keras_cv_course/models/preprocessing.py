"""The preprocessing modes, kept importable here (``models.preprocess_input``,
``models.preprocessing.MODES``); they live in the leaf module
``keras_cv_course.preprocessing``, which data and the tools import without the
model families. ``preprocess_input`` here also takes a registered model's name
(``model="vgg16"``) for the mode the registry records for it."""

from keras_cv_course import preprocessing as _modes
from keras_cv_course.preprocessing import (
    CAFFE_MEAN_BGR, IMAGENET_MEAN_RGB, IMAGENET_STD_RGB, MODES, check_mode, value_range,
)

__all__ = ["CAFFE_MEAN_BGR", "IMAGENET_MEAN_RGB", "IMAGENET_STD_RGB", "MODES", "check_mode", "preprocess_input",
           "value_range"]


def preprocess_input(images, mode=None, *, model=None):
    """Map uint8-range images (..., H, W, C) to what a model expects: in
    ``mode`` (one of ``MODES``), or in the mode the registry records for the
    registered model ``model`` (``preprocess_input(x, model="vgg16")`` is
    ``preprocess_input(x, "caffe")``). Give exactly one of the two. Works on
    numpy arrays and tensors; returns float32 (see
    ``keras_cv_course.preprocessing.preprocess_input``)."""
    if (mode is None) == (model is None):
        raise ValueError(f"preprocess_input needs exactly one of mode (one of {MODES}) or model (a registered "
                         f"model's name); got mode={mode!r}, model={model!r}")
    if model is not None:
        from keras_cv_course.models.registry import model_info

        mode = model_info(model).preprocessing
    return _modes.preprocess_input(images, mode)
