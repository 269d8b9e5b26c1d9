"""The ``preprocess_input`` / ``decode_predictions`` pair of a family module,
made once here so no module carries its own copy of the logic."""

from keras_cv_course.applications import imagenet_utils
from keras_cv_course.models.registry import model_info


def family_functions(module_name, model_name):
    """``(preprocess_input, decode_predictions)`` for the family module
    ``module_name``: ``preprocess_input(x, data_format=None)`` in the mode the
    registry records for ``model_name`` (see ``imagenet_utils.preprocess_input``),
    and ``imagenet_utils.decode_predictions``."""
    mode = model_info(model_name).preprocessing

    def preprocess_input(x, data_format=None):
        if mode == "none":  # the model rescales inside; keras.applications returns the input as it is
            return x
        return imagenet_utils.preprocess_input(x, data_format=data_format, mode=mode)

    preprocess_input.__module__ = module_name
    preprocess_input.__doc__ = _docstring(module_name, model_name, mode)
    preprocess_input.mode = mode
    return preprocess_input, imagenet_utils.decode_predictions


def _docstring(module_name, model_name, mode):
    if mode == "none":
        return f"Return ``x`` as it is (keras.applications does the same): the models of ``{module_name}`` rescale inside."
    return (
        f"Preprocess 0..255 RGB images for the models of ``{module_name}``: mode ``{mode!r}``, what "
        f"{model_name!r} records in the registry (``keras_cv_course.applications.imagenet_utils."
        f"preprocess_input(x, data_format, mode={mode!r})``). A 3-D image or 4-D batch, numpy (a new "
        "array, float32 for integer pixels) or tensor; ``data_format`` None means "
        "``keras.config.image_data_format()``.")
