"""EfficientNetB0, EfficientNetB1, EfficientNetB2, EfficientNetB3, EfficientNetB4, EfficientNetB5,
EfficientNetB6, EfficientNetB7: the builders and their ImageNet helpers.

As ``keras.applications.efficientnet``: ``preprocess_input(x, data_format=None)`` applies "none"
preprocessing (pass-through: the model rescales inside), the mode the registry records for
``efficientnet_b0``; ``decode_predictions(preds, top=5)`` names the top ImageNet classes.
As keras.applications', ``preprocess_input`` returns its input as it is."""

from keras_cv_course.applications._family import family_functions
from keras_cv_course.models import (
    EfficientNetB0, EfficientNetB1, EfficientNetB2, EfficientNetB3,
    EfficientNetB4, EfficientNetB5, EfficientNetB6, EfficientNetB7,
)

preprocess_input, decode_predictions = family_functions(__name__, "efficientnet_b0")

__all__ = [
    "EfficientNetB0", "EfficientNetB1", "EfficientNetB2", "EfficientNetB3",
    "EfficientNetB4", "EfficientNetB5", "EfficientNetB6", "EfficientNetB7", "decode_predictions", "preprocess_input",
]
