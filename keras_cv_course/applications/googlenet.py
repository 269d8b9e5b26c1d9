"""GoogLeNet: the builders and their ImageNet helpers.

A family keras.applications lacks, laid out like its modules: ``preprocess_input(x,
data_format=None)`` applies "torch" preprocessing (pixels scaled to [0, 1], then the ImageNet mean
subtracted and divided by its std), the mode the registry records for ``googlenet``;
``decode_predictions(preds, top=5)`` names the top ImageNet classes.

GoogLeNet(variant="paper") (registered as ``googlenet_paper``) takes "caffe" preprocessing instead."""

from keras_cv_course.applications._family import family_functions
from keras_cv_course.models import GoogLeNet

preprocess_input, decode_predictions = family_functions(__name__, "googlenet")

__all__ = ["GoogLeNet", "decode_predictions", "preprocess_input"]
