"""ResNet50, ResNet101, ResNet152: the builders and their ImageNet helpers.

As ``keras.applications.resnet``: ``preprocess_input(x, data_format=None)`` applies "caffe"
preprocessing (RGB → BGR, the ImageNet BGR mean subtracted, no scaling), the mode the registry
records for ``resnet50``; ``decode_predictions(preds, top=5)`` names the top ImageNet classes.

The torchvision layout of these builders (``variant="torchvision"``, registered as
``resnet50_torchvision``, ...) takes "torch" preprocessing instead."""

from keras_cv_course.applications._family import family_functions
from keras_cv_course.models import ResNet50, ResNet101, ResNet152

preprocess_input, decode_predictions = family_functions(__name__, "resnet50")

__all__ = ["ResNet50", "ResNet101", "ResNet152", "decode_predictions", "preprocess_input"]
