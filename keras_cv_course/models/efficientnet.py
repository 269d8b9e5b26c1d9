"""EfficientNet-B0 … B7 (Tan & Le 2019, "EfficientNet: Rethinking Model Scaling
for Convolutional Neural Networks", arXiv:1905.11946).

One table (``BLOCKS``: the B0 stages) and one builder that scales it: widths by
``width`` (``round_filters``: nearest multiple of 8, never 10% below), repeats by
``ceil(depth * n)``, input side by ``VARIANTS``. Drop-connect rate grows linearly
from 0 to ``drop_connect_rate`` over the blocks.

Layouts, weighted-layer names, order and options are keras.applications' (``stem_conv``,
``block1a_dwconv``, ``block2b_se_reduce``, ``top_conv``, ``predictions``), so its
ImageNet files load unchanged (Keras's file names and md5 hashes). The model
rescales inside (preprocessing mode "none": feed 0–255 RGB):
``rescaling`` (1/255) → ``normalization`` (per-channel mean/variance weights,
laid out like ``keras.layers.Normalization``) and, with ``weights="imagenet"``
only, ``rescaling_1`` (× 1/sqrt(std), Keras's correction for how the files store
the variance; tensorflow/tensorflow#49930). These are the names Keras's unnamed
stem layers get in a fresh session, given explicitly.
Differences from keras.applications, none changing a weight's shape or order:
- ``weights`` defaults to None; models are named ``efficientnet_b0`` etc.;
- the normalization is ``ImageNormalization`` (reads its weights at every call,
  so ``set_weights`` takes effect; Keras's ``Normalization`` keeps snapshots) and
  starts at the ImageNet mean/variance instead of 0/1, so an untrained model
  normalizes its input; a file or ``set_weights`` overwrites both;
"""

import math

from keras import layers

from keras_cv_course.blocks.conv import activation_layer
from keras_cv_course.blocks.mobile import (
    CONV_KERNEL_INITIALIZER,
    DENSE_KERNEL_INITIALIZER,
    ImageNormalization,
    correct_pad,
    mbconv,
)
from keras_cv_course.models import _common
from keras_cv_course.models.registry import FeatureTap, register

PAPER = "Tan & Le 2019, EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks"

# B0 stages (paper Table 1, stages 2-8):
# (kernel, repeats, filters_in, filters_out, expand_ratio, stride, se_ratio)
BLOCKS = (
    (3, 1, 32, 16, 1, 1, 0.25),
    (3, 2, 16, 24, 6, 2, 0.25),
    (5, 2, 24, 40, 6, 2, 0.25),
    (3, 3, 40, 80, 6, 2, 0.25),
    (5, 3, 80, 112, 6, 1, 0.25),
    (5, 4, 112, 192, 6, 2, 0.25),
    (3, 1, 192, 320, 6, 1, 0.25),
)

# variant: (width coefficient, depth coefficient, input side, top dropout)
VARIANTS = {
    "b0": (1.0, 1.0, 224, 0.2),
    "b1": (1.0, 1.1, 240, 0.2),
    "b2": (1.1, 1.2, 260, 0.3),
    "b3": (1.2, 1.4, 300, 0.3),
    "b4": (1.4, 1.8, 380, 0.4),
    "b5": (1.6, 2.2, 456, 0.4),
    "b6": (1.8, 2.6, 528, 0.5),
    "b7": (2.0, 3.1, 600, 0.5),
}

IMAGENET_STDDEV_RGB = (0.229, 0.224, 0.225)
KERAS_WEIGHTS_BASE = "https://storage.googleapis.com/keras-applications/"
# keras.applications.efficientnet.WEIGHTS_HASHES: (top, notop) md5.
WEIGHTS_HASHES = {
    "b0": ("902e53a9f72be733fc0bcb005b3ebbac", "50bc09e76180e00e4465e1a485ddc09d"),
    "b1": ("1d254153d4ab51201f1646940f018540", "74c4e6b3e1f6a1eea24c589628592432"),
    "b2": ("b15cce36ff4dcbd00b6dd88e7857a6ad", "111f8e2ac8aa800a7a99e3239f7bfb39"),
    "b3": ("ffd1fdc53d0ce67064dc6a9c7960ede0", "af6d107764bb5b1abb91932881670226"),
    "b4": ("18c95ad55216b8f92d7e70b3a046e2fc", "ebc24e6d6c33eaebbd558eafbeedf1ba"),
    "b5": ("ace28f2a6363774853a83a0b21b9421a", "38879255a25d3c92d5e44e04ae6cec6f"),
    "b6": ("165f6e37dce68623721b423839de8be5", "9ecce42647a20130c1f39a5d4cb75743"),
    "b7": ("8c03f828fec3ef71311cd463b6759d99", "cbcfe4450ddf6f3ad90b1b398090fe4a"),
}


def imagenet_weights(variant):
    """keras.applications' files ``efficientnet{variant}.h5`` / ``_notop.h5``, with
    Keras's md5 hashes. The top needs the variant's default input size."""
    top_hash, notop_hash = WEIGHTS_HASHES[variant]
    fname = f"efficientnet{variant}"
    return _common.WeightSpec(
        "imagenet",
        _common.RemoteFile(f"{fname}.h5", f"{KERAS_WEIGHTS_BASE}{fname}.h5", top_hash),
        _common.RemoteFile(f"{fname}_notop.h5", f"{KERAS_WEIGHTS_BASE}{fname}_notop.h5", notop_hash),
        preprocessing="none",
        input_size=VARIANTS[variant][2],
    )


def round_filters(filters, width, divisor=8):
    """Scale a width by ``width`` and round to a multiple of ``divisor`` (not below 90%)."""
    filters *= width
    new_filters = max(divisor, int(filters + divisor / 2) // divisor * divisor)
    if new_filters < 0.9 * filters:
        new_filters += divisor
    return int(new_filters)


def round_repeats(repeats, depth):
    """Scale a stage's block count by ``depth``, rounding up."""
    return int(math.ceil(depth * repeats))


def stage_plan(width, depth):
    """``[(block name, filters_out, kernel, stride, expand_ratio, se_ratio)]`` of the
    scaled network, e.g. ``("block2a", 24, 3, 2, 6, 0.25)``."""
    plan = []
    for stage, (kernel, repeats, _, filters_out, expand, stride, se_ratio) in enumerate(BLOCKS, start=1):
        out = round_filters(filters_out, width)
        for index in range(round_repeats(repeats, depth)):
            plan.append((f"block{stage}{chr(ord('a') + index)}", out, kernel, stride if index == 0 else 1, expand, se_ratio))
    return plan


def efficientnet(
    variant,
    *,
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name=None,
    dropout_rate=None,
    drop_connect_rate=0.2,
    activation="swish",
):
    """The generic EfficientNet builder: ``variant`` in "b0" … "b7" picks the row of
    ``VARIANTS``. ``dropout_rate`` (default: the variant's) is the dropout before
    ``predictions``; ``drop_connect_rate`` the stochastic-depth rate of the last block."""
    if variant not in VARIANTS:
        raise ValueError(f"EfficientNet variant must be one of {sorted(VARIANTS)}; got {variant!r}")
    width, depth, default_size, default_dropout = VARIANTS[variant]
    dropout_rate = default_dropout if dropout_rate is None else dropout_rate
    name = name or f"efficientnet_{variant}"
    image, inputs, spec = _common.prepare(
        name,
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        default_size=default_size,
        min_size=32,
        available_weights={"imagenet": imagenet_weights(variant)},
    )
    x = layers.Rescaling(1.0 / 255.0, name="rescaling")(image)
    x = ImageNormalization(name="normalization")(x)
    if spec is not None:
        x = layers.Rescaling([1.0 / math.sqrt(s) for s in IMAGENET_STDDEV_RGB], name="rescaling_1")(x)
    x = layers.ZeroPadding2D(correct_pad(x, 3), name="stem_conv_pad")(x)
    x = layers.Conv2D(
        round_filters(32, width), 3, strides=2, padding="valid", use_bias=False,
        kernel_initializer=CONV_KERNEL_INITIALIZER, name="stem_conv",
    )(x)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = activation_layer(activation, "stem_activation")(x)

    plan = stage_plan(width, depth)
    for index, (block, filters_out, kernel, stride, expand, se_ratio) in enumerate(plan):
        x = mbconv(
            x,
            filters_out,
            name=block,
            expand_ratio=expand,
            kernel_size=kernel,
            strides=stride,
            se_ratio=se_ratio,
            activation=activation,
            drop_rate=drop_connect_rate * index / len(plan),
        )

    x = layers.Conv2D(
        round_filters(1280, width), 1, padding="same", use_bias=False,
        kernel_initializer=CONV_KERNEL_INITIALIZER, name="top_conv",
    )(x)
    x = layers.BatchNormalization(name="top_bn")(x)
    x = activation_layer(activation, "top_activation")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        x = layers.Dense(
            classes, activation=classifier_activation,
            kernel_initializer=DENSE_KERNEL_INITIALIZER, name="predictions",
        )(x)
    else:
        x = _common.pool_features(x, pooling)
    return _common.finish_model(inputs, x, name=name, weights=weights, weight_spec=spec, include_top=include_top)


def _public(variant):
    width, depth, size, dropout = VARIANTS[variant]
    return _common.application(
        efficientnet,
        variant,
        f"EfficientNet{variant.upper()}",
        f"EfficientNet-{variant.upper()} ({PAPER}): width ×{width}, depth ×{depth}, "
        f"{size}×{size} input, top dropout {dropout}. See ``efficientnet``.",
        dropout_rate=None,
        drop_connect_rate=0.2,
    )


EfficientNetB0, EfficientNetB1, EfficientNetB2, EfficientNetB3 = (_public(v) for v in ("b0", "b1", "b2", "b3"))
EfficientNetB4, EfficientNetB5, EfficientNetB6, EfficientNetB7 = (_public(v) for v in ("b4", "b5", "b6", "b7"))
_BUILDERS = dict(zip(VARIANTS, (
    EfficientNetB0, EfficientNetB1, EfficientNetB2, EfficientNetB3,
    EfficientNetB4, EfficientNetB5, EfficientNetB6, EfficientNetB7,
)))

# keras.applications' parameter counts (model.count_params(), default input, top).
_PARAMS = {
    "b0": 5_330_571,
    "b1": 7_856_239,
    "b2": 9_177_569,
    "b3": 12_320_535,
    "b4": 19_466_823,
    "b5": 30_562_527,
    "b6": 43_265_143,
    "b7": 66_658_687,
}


def taps(variant):
    """The deepest layer at strides 4, 8, 16, 32: the expansion of the first block of
    the next (strided) stage, and ``top_activation``."""
    width, depth = VARIANTS[variant][:2]

    def expanded(stage):  # channels of block{stage}a's expansion = its input × 6
        return round_filters(BLOCKS[stage - 2][3], width) * BLOCKS[stage - 1][4]

    return (
        FeatureTap("P2", "block3a_expand_activation", expanded(3), 4),
        FeatureTap("P3", "block4a_expand_activation", expanded(4), 8),
        FeatureTap("P4", "block6a_expand_activation", expanded(6), 16),
        FeatureTap("P5", "top_activation", round_filters(1280, width), 32),
    )


for _variant, _builder in _BUILDERS.items():
    register(
        f"efficientnet_{_variant}",
        _builder,
        family="efficientnet",
        paper=PAPER,
        input_shape=(VARIANTS[_variant][2],) * 2 + (3,),
        min_size=32,
        params=_PARAMS[_variant],
        preprocessing="none",
        taps=taps(_variant),
        weights={"imagenet": imagenet_weights(_variant)},
    )
