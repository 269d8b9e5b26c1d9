"""WideResNet50_2, WideResNet101_2: the builders and their ImageNet helpers.

A family keras.applications lacks, laid out like its modules: ``preprocess_input(x,
data_format=None)`` applies "torch" preprocessing (pixels scaled to [0, 1], then the ImageNet mean
subtracted and divided by its std), the mode the registry records for ``wide_resnet50_2``;
``decode_predictions(preds, top=5)`` names the top ImageNet classes.

The CIFAR wide ResNets (``WRN16_4``, ``WRN28_10``, ``WideResNet``) take "unit" preprocessing; use
``models.preprocess_input(x, model=name)`` for them."""

from keras_cv_course.applications._family import family_functions
from keras_cv_course.models import WideResNet50_2, WideResNet101_2

preprocess_input, decode_predictions = family_functions(__name__, "wide_resnet50_2")

__all__ = ["WideResNet50_2", "WideResNet101_2", "decode_predictions", "preprocess_input"]
