"""VGG19: the builders and their ImageNet helpers.

As ``keras.applications.vgg19``: ``preprocess_input(x, data_format=None)`` applies "caffe"
preprocessing (RGB → BGR, the ImageNet BGR mean subtracted, no scaling), the mode the registry
records for ``vgg19``; ``decode_predictions(preds, top=5)`` names the top ImageNet classes."""

from keras_cv_course.applications._family import family_functions
from keras_cv_course.models import VGG19

preprocess_input, decode_predictions = family_functions(__name__, "vgg19")

__all__ = ["VGG19", "decode_predictions", "preprocess_input"]
