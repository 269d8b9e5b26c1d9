"""ResNeXt50_32x4d, ResNeXt101_32x8d, ResNeXt101_64x4d: the builders and their ImageNet helpers.

A family keras.applications lacks, laid out like its modules: ``preprocess_input(x,
data_format=None)`` applies "torch" preprocessing (pixels scaled to [0, 1], then the ImageNet mean
subtracted and divided by its std), the mode the registry records for ``resnext50_32x4d``;
``decode_predictions(preds, top=5)`` names the top ImageNet classes."""

from keras_cv_course.applications._family import family_functions
from keras_cv_course.models import ResNeXt50_32x4d, ResNeXt101_32x8d, ResNeXt101_64x4d

preprocess_input, decode_predictions = family_functions(__name__, "resnext50_32x4d")

__all__ = ["ResNeXt50_32x4d", "ResNeXt101_32x8d", "ResNeXt101_64x4d", "decode_predictions", "preprocess_input"]
