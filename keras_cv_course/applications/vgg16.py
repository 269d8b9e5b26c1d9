"""VGG16: the builders and their ImageNet helpers.

As ``keras.applications.vgg16``: ``preprocess_input(x, data_format=None)`` applies "caffe"
preprocessing (RGB → BGR, the ImageNet BGR mean subtracted, no scaling), the mode the registry
records for ``vgg16``; ``decode_predictions(preds, top=5)`` names the top ImageNet classes."""

from keras_cv_course.applications._family import family_functions
from keras_cv_course.models import VGG16

preprocess_input, decode_predictions = family_functions(__name__, "vgg16")

__all__ = ["VGG16", "decode_predictions", "preprocess_input"]
