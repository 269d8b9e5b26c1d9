"""LeNet5: the builders and their ImageNet helpers.

A family keras.applications lacks, laid out like its modules: ``preprocess_input(x,
data_format=None)`` applies "unit" preprocessing (pixels scaled to [0, 1]), the mode the registry
records for ``lenet5``; ``decode_predictions(preds, top=5)`` names the top ImageNet classes.

``decode_predictions`` decodes ImageNet's 1000 classes, like every module's; LeNet-5's shipped
weights score Fashion-MNIST's 10 (``kcc predict lenet5`` names those)."""

from keras_cv_course.applications._family import family_functions
from keras_cv_course.models import LeNet5

preprocess_input, decode_predictions = family_functions(__name__, "lenet5")

__all__ = ["LeNet5", "decode_predictions", "preprocess_input"]
