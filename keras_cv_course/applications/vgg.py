"""VGG11, VGG11_BN, VGG13, VGG13_BN, VGG16, VGG16_BN, VGG16_C, VGG19, VGG19_BN, VGGS: the builders and
their ImageNet helpers.

A family keras.applications lacks, laid out like its modules: ``preprocess_input(x,
data_format=None)`` applies "caffe" preprocessing (RGB → BGR, the ImageNet BGR mean subtracted, no
scaling), the mode the registry records for ``vgg11``; ``decode_predictions(preds, top=5)`` names
the top ImageNet classes."""

from keras_cv_course.applications._family import family_functions
from keras_cv_course.models import (
    VGG11, VGG11_BN, VGG13, VGG13_BN, VGG16,
    VGG16_BN, VGG16_C, VGG19, VGG19_BN, VGGS,
)

preprocess_input, decode_predictions = family_functions(__name__, "vgg11")

__all__ = [
    "VGG11", "VGG11_BN", "VGG13", "VGG13_BN", "VGG16",
    "VGG16_BN", "VGG16_C", "VGG19", "VGG19_BN", "VGGS", "decode_predictions", "preprocess_input",
]
