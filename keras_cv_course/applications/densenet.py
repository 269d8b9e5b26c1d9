"""DenseNet121, DenseNet169, DenseNet201: the builders and their ImageNet helpers.

As ``keras.applications.densenet``: ``preprocess_input(x, data_format=None)`` applies "torch"
preprocessing (pixels scaled to [0, 1], then the ImageNet mean subtracted and divided by its std),
the mode the registry records for ``densenet121``; ``decode_predictions(preds, top=5)`` names the
top ImageNet classes."""

from keras_cv_course.applications._family import family_functions
from keras_cv_course.models import DenseNet121, DenseNet169, DenseNet201

preprocess_input, decode_predictions = family_functions(__name__, "densenet121")

__all__ = ["DenseNet121", "DenseNet169", "DenseNet201", "decode_predictions", "preprocess_input"]
