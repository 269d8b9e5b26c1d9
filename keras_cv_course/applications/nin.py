"""NiN: the builders and their ImageNet helpers.

A family keras.applications lacks, laid out like its modules: ``preprocess_input(x,
data_format=None)`` applies "torch" preprocessing (pixels scaled to [0, 1], then the ImageNet mean
subtracted and divided by its std), the mode the registry records for ``nin``;
``decode_predictions(preds, top=5)`` names the top ImageNet classes.

NiN(variant="cifar") (registered as ``nin_cifar``) takes "unit" preprocessing instead."""

from keras_cv_course.applications._family import family_functions
from keras_cv_course.models import NiN

preprocess_input, decode_predictions = family_functions(__name__, "nin")

__all__ = ["NiN", "decode_predictions", "preprocess_input"]
