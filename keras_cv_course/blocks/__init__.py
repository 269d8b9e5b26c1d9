"""Layer blocks shared by the model families (see ../shared/DESIGN.md §3).

Every block is a function ``x -> x`` taking a required keyword ``name``; every
layer it makes is named after that name.
"""

from keras_cv_course.blocks.conv import activation_layer, conv_bn_act, dense_act
from keras_cv_course.blocks.nin import mlpconv
from keras_cv_course.blocks.mobile import (
    ImageNormalization, depthwise_separable, inverted_residual, make_divisible, mbconv, squeeze_excite,
)
from keras_cv_course.blocks.inception import (
    max_pool_ceil,
    inception_module,
    inception_naive,
    inception_v3_a,
    inception_v3_b,
    inception_v3_c,
    inception_v3_conv,
    inception_v3_reduction_a,
    inception_v3_reduction_b,
)
from keras_cv_course.blocks.dense import dense_block, dense_layer, transition_block
from keras_cv_course.blocks.fire import fire_module
from keras_cv_course.blocks.normalization import LocalResponseNormalization
from keras_cv_course.blocks.residual import (
    ZeroPadShortcut,
    basic_block,
    bottleneck_block,
    preact_basic_block,
    preact_bottleneck_block,
)
from keras_cv_course.blocks.pooling import AdaptiveAveragePooling2D
from keras_cv_course.blocks.whitening import PatchWhitening
from keras_cv_course.adaptation import adapt_model

__all__ = ["activation_layer", "conv_bn_act", "dense_act", "mlpconv", "LocalResponseNormalization", "AdaptiveAveragePooling2D"]
__all__ += ["ZeroPadShortcut", "basic_block", "bottleneck_block", "preact_basic_block", "preact_bottleneck_block"]
__all__ += ["max_pool_ceil", "inception_naive", "inception_module", "inception_v3_conv", "inception_v3_a",
            "inception_v3_reduction_a", "inception_v3_b", "inception_v3_reduction_b", "inception_v3_c",
            "dense_layer", "dense_block", "transition_block", "fire_module"]
__all__ += ["ImageNormalization", "depthwise_separable", "inverted_residual", "make_divisible", "mbconv",
            "squeeze_excite"]
__all__ += ["PatchWhitening", "adapt_model"]
