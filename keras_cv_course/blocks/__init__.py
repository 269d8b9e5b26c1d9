"""Layer blocks shared by the model families (see ../shared/DESIGN.md §3).

Every block is a function ``x -> x`` taking a required keyword ``name``; every
layer it makes is named after that name.
"""

from keras_cv_course.blocks.conv import activation_layer, conv_bn_act, dense_act
from keras_cv_course.blocks.nin import mlpconv
from keras_cv_course.blocks.normalization import LocalResponseNormalization

__all__ = ["activation_layer", "conv_bn_act", "dense_act", "mlpconv", "LocalResponseNormalization"]
