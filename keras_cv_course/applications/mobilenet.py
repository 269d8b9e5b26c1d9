"""MobileNet: the builders and their ImageNet helpers.

As ``keras.applications.mobilenet``: ``preprocess_input(x, data_format=None)`` applies "tf"
preprocessing (pixels scaled to [-1, 1]), the mode the registry records for ``mobilenet``;
``decode_predictions(preds, top=5)`` names the top ImageNet classes."""

from keras_cv_course.applications._family import family_functions
from keras_cv_course.models import MobileNet

preprocess_input, decode_predictions = family_functions(__name__, "mobilenet")

__all__ = ["MobileNet", "decode_predictions", "preprocess_input"]
