"""InceptionV3: the builders and their ImageNet helpers.

As ``keras.applications.inception_v3``: ``preprocess_input(x, data_format=None)`` applies "tf"
preprocessing (pixels scaled to [-1, 1]), the mode the registry records for ``inception_v3``;
``decode_predictions(preds, top=5)`` names the top ImageNet classes."""

from keras_cv_course.applications._family import family_functions
from keras_cv_course.models import InceptionV3

preprocess_input, decode_predictions = family_functions(__name__, "inception_v3")

__all__ = ["InceptionV3", "decode_predictions", "preprocess_input"]
