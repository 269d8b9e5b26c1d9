"""EfficientNet-B0 … B7 (Tan & Le 2019, "EfficientNet: Rethinking Model Scaling
for Convolutional Neural Networks", arXiv:1905.11946).

One table of the B0 stages (``BLOCKS``, a ``Stage`` row each) and one builder that
scales it by a row of ``VARIANTS`` (the compound-scaling coefficients of B0 … B7,
stated once each): widths by ``width`` (``round_filters``: nearest multiple of 8,
never 10% below), repeats by ``ceil(depth * n)``, the input side ``resolution``,
the top's ``dropout``. Drop-connect rate grows linearly from 0 to
``drop_connect_rate`` over the blocks. The feature taps come from the same tables.

Layouts, weighted-layer names, order and options are keras.applications' (``stem_conv``,
``block1a_dwconv``, ``block2b_se_reduce``, ``top_conv``, ``predictions``), so its
ImageNet files load unchanged (Keras's file names and md5 hashes). The model
rescales inside (preprocessing mode "none": feed 0–255 RGB):
``rescaling`` (1/255) → ``normalization`` (per-channel mean/variance weights,
laid out like ``keras.layers.Normalization``) and, with ``weights="imagenet"``
only, ``rescaling_1`` (× 1/sqrt(std), Keras's correction for how the files store
the variance; tensorflow/tensorflow#49930). These are the names Keras's unnamed
stem layers get in a fresh session, given explicitly.
Any channel count builds (``input_shape=(224, 224, 1)``, ``(None, None, 4)``);
``weights="imagenet"`` needs 3.
Differences from keras.applications, none changing a weight's shape or order:
- ``weights`` defaults to None; models are named ``efficientnet_b0`` etc.;
- the normalization is ``blocks.mobile.Normalization`` (``ImageNormalization``
  under Keras's class name, so Keras 3 ``.weights.h5`` files of
  keras.applications' EfficientNet load unchanged, and ours into Keras's). It
  reads its weights at every call, so ``set_weights`` takes effect (Keras's
  ``Normalization`` keeps snapshots), and with 3 input channels starts at the
  ImageNet mean/variance instead of Keras's 0/1, so an untrained model
  normalizes its input; other channel counts start at mean 0 / variance 1 (the
  identity, as Keras's). A weight file or ``set_weights`` overwrites both;
- under ``keras.config.image_data_format() == "channels_first"`` the network is
  built channels-last between two ``Permute`` layers (see ``models._common``),
  so it runs on a CPU too.
``variant="torchvision"`` (registry ``efficientnet_b0_torchvision`` …
``efficientnet_b7_torchvision``) is torchvision's layout of the same weights:
no in-model normalization (torch-normalised input), symmetric padding of the
stride-2 convs, torchvision's BN epsilon (1e-5 for B0–B4, 1e-3 for B5–B7) and
its crop side as the default input (``TORCHVISION``; see ``efficientnet``);
torchvision state_dicts convert into it through ``torchvision_tables/efficientnet.py``.
"""

import functools
import math
from typing import NamedTuple

from keras import layers

from keras_cv_course.blocks.conv import activation_layer
from keras_cv_course.blocks.mobile import (
    CONV_KERNEL_INITIALIZER,
    DENSE_KERNEL_INITIALIZER,
    Normalization,
    identity_statistics,
    mbconv,
    stride_padding,
)
from keras_cv_course.models import _common
from keras_cv_course.models.registry import FeatureTap
from keras_cv_course.preprocessing import IMAGENET_STD_RGB

PAPER = "Tan & Le 2019, EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks"


class Stage(NamedTuple):
    """One stage of B0 (paper Table 1, stages 2-8): MBConv blocks ``block{i}a``, ``block{i}b``, ..."""

    kernel: int
    repeats: int
    filters_in: int
    filters_out: int
    expand_ratio: int
    stride: int  # of the first block
    se_ratio: float


class Scaling(NamedTuple):
    """One EfficientNet: compound-scaling coefficients (paper §3.3; Keras's values),
    its input side, the dropout before ``predictions``, and the reference parameter
    count (keras.applications' ``count_params()``, default input, top)."""

    width: float
    depth: float
    resolution: int
    dropout: float
    params: int


BLOCKS = (
    Stage(3, 1, 32, 16, 1, 1, 0.25),
    Stage(3, 2, 16, 24, 6, 2, 0.25),
    Stage(5, 2, 24, 40, 6, 2, 0.25),
    Stage(3, 3, 40, 80, 6, 2, 0.25),
    Stage(5, 3, 80, 112, 6, 1, 0.25),
    Stage(5, 4, 112, 192, 6, 2, 0.25),
    Stage(3, 1, 192, 320, 6, 1, 0.25),
)
VARIANTS = {
    "b0": Scaling(1.0, 1.0, 224, 0.2, 5_330_571),
    "b1": Scaling(1.0, 1.1, 240, 0.2, 7_856_239),
    "b2": Scaling(1.1, 1.2, 260, 0.3, 9_177_569),
    "b3": Scaling(1.2, 1.4, 300, 0.3, 12_320_535),
    "b4": Scaling(1.4, 1.8, 380, 0.4, 19_466_823),
    "b5": Scaling(1.6, 2.2, 456, 0.4, 30_562_527),
    "b6": Scaling(1.8, 2.6, 528, 0.5, 43_265_143),
    "b7": Scaling(2.0, 3.1, 600, 0.5, 66_658_687),
}
class TorchvisionLayout(NamedTuple):
    """What torchvision's ``efficientnet_b{i}`` changes (``variant="torchvision"``):
    its weights' centre-crop side (the default input) and BatchNormalization's
    epsilon and Keras-convention momentum (B5–B7 pass
    ``partial(BatchNorm2d, eps=0.001, momentum=0.01)``, B0–B4 PyTorch's defaults
    1e-5 and 0.1)."""

    crop_size: int
    bn_epsilon: float
    bn_momentum: float


TORCHVISION = {
    "b0": TorchvisionLayout(224, 1e-5, 0.9),
    "b1": TorchvisionLayout(240, 1e-5, 0.9),
    "b2": TorchvisionLayout(288, 1e-5, 0.9),
    "b3": TorchvisionLayout(300, 1e-5, 0.9),
    "b4": TorchvisionLayout(380, 1e-5, 0.9),
    "b5": TorchvisionLayout(456, 1e-3, 0.99),
    "b6": TorchvisionLayout(528, 1e-3, 0.99),
    "b7": TorchvisionLayout(600, 1e-3, 0.99),
}
VARIANT_NAMES = ("keras", "torchvision")
STEM_WIDTH, TOP_WIDTH = 32, 1280
TAP_STRIDES = (4, 8, 16, 32)  # P2 … P5

IMAGENET_STDDEV_RGB = IMAGENET_STD_RGB  # Keras divides by sqrt(std), as its file expects
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
    Keras's md5 hashes (read at call time). The top needs the variant's input side."""
    top_hash, notop_hash = WEIGHTS_HASHES[variant]
    fname = f"efficientnet{variant}"
    return _common.WeightSpec(
        "imagenet",
        _common.RemoteFile(f"{fname}.h5", f"{KERAS_WEIGHTS_BASE}{fname}.h5", top_hash),
        _common.RemoteFile(f"{fname}_notop.h5", f"{KERAS_WEIGHTS_BASE}{fname}_notop.h5", notop_hash),
        preprocessing="none",
        input_size=VARIANTS[variant].resolution,
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
    for number, stage in enumerate(BLOCKS, start=1):
        out = round_filters(stage.filters_out, width)
        for index in range(round_repeats(stage.repeats, depth)):
            plan.append((f"block{number}{chr(ord('a') + index)}", out, stage.kernel, stage.stride if index == 0 else 1,
                         stage.expand_ratio, stage.se_ratio))
    return plan


def taps(width):
    """The deepest map at each of ``TAP_STRIDES``: the expansion of the first block
    of each strided stage (its input × expand_ratio channels), and ``top_activation``."""
    found, stride = [], 2  # the stem has stride 2
    for number, stage in enumerate(BLOCKS, start=1):
        if stage.stride == 2 and stride in TAP_STRIDES:
            channels = round_filters(stage.filters_in, width) * stage.expand_ratio
            found.append(FeatureTap(f"P{stride.bit_length() - 1}", f"block{number}a_expand_activation", channels, stride))
        stride *= stage.stride
    return (*found, FeatureTap(f"P{stride.bit_length() - 1}", "top_activation", round_filters(TOP_WIDTH, width), stride))


def _check_variant(variant):
    if variant not in VARIANT_NAMES:
        raise ValueError(f"EfficientNet variant must be one of {list(VARIANT_NAMES)}; got {variant!r}")


def _stem_input(request, variant):
    """The stem's input: Keras's in-model rescaling and normalization
    (``rescaling``, ``normalization``, ``rescaling_1`` with named weights), or in
    the torchvision layout the image itself (torch-normalised by the caller)."""
    if variant == "torchvision":
        return request.image
    x = layers.Rescaling(1.0 / 255.0, name="rescaling")(request.image)
    channels = request.image.shape[-1]
    statistics = {} if channels == 3 else dict(zip(("mean", "variance"), identity_statistics(channels)))
    x = Normalization(name="normalization", **statistics)(x)  # 3 channels: ImageNet's mean and variance
    if request.weight_spec is not None:
        x = layers.Rescaling([1.0 / math.sqrt(s) for s in IMAGENET_STDDEV_RGB], name="rescaling_1")(x)
    return x


def efficientnet(request, *, width, depth, top_dropout, torchvision, dropout_rate=None, drop_connect_rate=0.2,
                 activation="swish", variant="keras"):
    """The generic EfficientNet builder: ``BLOCKS`` scaled by ``width`` and ``depth``
    (a row of ``VARIANTS``). ``dropout_rate`` (default: the row's ``top_dropout``)
    is the dropout before ``predictions``; ``drop_connect_rate`` the
    stochastic-depth rate of the last block.

    ``variant="torchvision"`` is torchvision's ``efficientnet_b{i}`` (its
    state_dict converts, ``models.torch_weights``), with the same weighted layers
    and names but: no rescaling/normalization layers (feed torch-normalised
    input, preprocessing "torch"); the stride-2 convs (stem, depthwise) pad
    ``(k - 1) // 2`` on every side (``stem_conv_pad``, ``block{i}a_dwconv_pad``;
    Keras pads one pixel less on the top/left of an even side); BN epsilon and
    momentum of ``torchvision`` (a ``TorchvisionLayout``: 1e-5 for B0–B4, 1e-3 for
    B5–B7; Keras 1e-3); the top conv 4 × the last block's width (torchvision's
    rule; Keras's ``round_filters(1280)`` equals it for B0–B7); default input side
    ``torchvision.crop_size``."""
    _check_variant(variant)
    dropout_rate = top_dropout if dropout_rate is None else dropout_rate
    keras_layout = variant == "keras"
    bn = dict(epsilon=1e-3, momentum=0.99) if keras_layout else dict(epsilon=torchvision.bn_epsilon,
                                                                     momentum=torchvision.bn_momentum)
    padding = "keras" if keras_layout else "symmetric"
    x = _stem_input(request, variant)
    x = layers.ZeroPadding2D(stride_padding(x, 3, padding), name="stem_conv_pad")(x)
    x = layers.Conv2D(round_filters(STEM_WIDTH, width), 3, strides=2, padding="valid", use_bias=False,
                      kernel_initializer=CONV_KERNEL_INITIALIZER, name="stem_conv")(x)
    x = layers.BatchNormalization(**bn, name="stem_bn")(x)
    x = activation_layer(activation, "stem_activation")(x)

    plan = stage_plan(width, depth)
    for index, (block, filters_out, kernel, stride, expand, se_ratio) in enumerate(plan):
        x = mbconv(x, filters_out, name=block, expand_ratio=expand, kernel_size=kernel, strides=stride,
                   se_ratio=se_ratio, activation=activation, drop_rate=drop_connect_rate * index / len(plan),
                   bn_epsilon=bn["epsilon"], bn_momentum=bn["momentum"], padding=padding)

    top_width = round_filters(TOP_WIDTH, width) if keras_layout else 4 * plan[-1][1]
    x = layers.Conv2D(top_width, 1, padding="same", use_bias=False,
                      kernel_initializer=CONV_KERNEL_INITIALIZER, name="top_conv")(x)
    x = layers.BatchNormalization(**bn, name="top_bn")(x)
    x = activation_layer(activation, "top_activation")(x)

    def head(x):
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        return layers.Dense(request.classes, activation=request.classifier_activation,
                            kernel_initializer=DENSE_KERNEL_INITIALIZER, name="predictions")(x)

    return request.finish(request.tail(x, head))


def _imagenet(variant, options):
    if options.get("variant", "keras") != "keras":  # Keras's files are for Keras's layout only
        return {}
    return {"imagenet": imagenet_weights(variant)}  # a call per build: WEIGHTS_HASHES is read then


def _input_rules(variant, options):
    """The default input side: Keras's ``resolution``, or torchvision's crop side."""
    _check_variant(options["variant"])
    torchvision = options["variant"] == "torchvision"
    side = TORCHVISION[variant].crop_size if torchvision else VARIANTS[variant].resolution
    return _common.InputRules(side, 32)


def _model_name(variant, options):
    suffix = "" if options["variant"] == "keras" else f"_{options['variant']}"
    return f"efficientnet_{variant}{suffix}"


def _row(variant, s):
    """The keras.applications EfficientNet-B{i}."""
    return _common.Row(
        f"efficientnet_{variant}", f"EfficientNet{variant.upper()}", "efficientnet", PAPER, s.params, "none",
        (s.resolution, s.resolution, 3), 32,
        doc=f"EfficientNet-{variant.upper()} ({PAPER}): width ×{s.width}, depth ×{s.depth}, "
        f"{s.resolution}×{s.resolution} input, top dropout {s.dropout}. ``variant=\"torchvision\"``: "
        f"torchvision's layout ({TORCHVISION[variant].crop_size}×{TORCHVISION[variant].crop_size} input, BN epsilon "
        f"{TORCHVISION[variant].bn_epsilon}, no in-model normalization). See ``efficientnet``.",
        options={"width": s.width, "depth": s.depth, "top_dropout": s.dropout, "torchvision": TORCHVISION[variant]},
        user_options={"dropout_rate": None, "drop_connect_rate": 0.2, "variant": "keras"},
        taps=taps(s.width), weights=functools.partial(_imagenet, variant),
        rules=functools.partial(_input_rules, variant), name_of=functools.partial(_model_name, variant),
    )


def _torchvision_row(variant, s):
    """torchvision's ``efficientnet_b{i}`` layout (``efficientnet(variant="torchvision")``):
    the Keras count less the 7 weights of ``normalization`` (mean, variance, count)."""
    side = TORCHVISION[variant].crop_size
    return _common.Row(
        f"efficientnet_{variant}_torchvision", None, "efficientnet", PAPER, s.params - 7, "torch", (side, side, 3), 32,
        base=f"efficientnet_{variant}", fixed={"variant": "torchvision"}, taps=taps(s.width),
    )


ROWS = tuple(_row(variant, s) for variant, s in VARIANTS.items()) + tuple(
    _torchvision_row(variant, s) for variant, s in VARIANTS.items())
_BUILDERS = _common.define(ROWS, efficientnet)
EfficientNetB0, EfficientNetB1, EfficientNetB2, EfficientNetB3 = (_BUILDERS[f"EfficientNetB{i}"] for i in range(4))
EfficientNetB4, EfficientNetB5, EfficientNetB6, EfficientNetB7 = (_BUILDERS[f"EfficientNetB{i}"] for i in range(4, 8))
