"""ResNet50V2, ResNet101V2, ResNet152V2: the builders and their ImageNet helpers.

As ``keras.applications.resnet_v2``: ``preprocess_input(x, data_format=None)`` applies "tf"
preprocessing (pixels scaled to [-1, 1]), the mode the registry records for ``resnet50_v2``;
``decode_predictions(preds, top=5)`` names the top ImageNet classes."""

from keras_cv_course.applications._family import family_functions
from keras_cv_course.models import ResNet50V2, ResNet101V2, ResNet152V2

preprocess_input, decode_predictions = family_functions(__name__, "resnet50_v2")

__all__ = ["ResNet50V2", "ResNet101V2", "ResNet152V2", "decode_predictions", "preprocess_input"]
