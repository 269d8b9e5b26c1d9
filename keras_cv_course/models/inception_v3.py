"""Inception-v3 (Szegedy, Vanhoucke, Ioffe, Shlens & Wojna 2016, "Rethinking the
Inception Architecture for Computer Vision", arXiv:1512.00567).

By default (``variant="keras"``) the layout, order, widths and layer options
are keras.applications' ``InceptionV3`` exactly; its explicit names are kept
(``mixed0`` … ``mixed10``, ``mixed9_0``, ``mixed9_1``, ``avg_pool``, ``predictions``). Keras leaves every
conv, BN, activation and pooling layer with an automatic name (``conv2d_17``);
here they are named ``stem_conv1_conv``, ``mixed4_branch7x7dbl_3_bn``, ... The
weighted layers come in the same order with the same shapes, so Keras's legacy
``.h5`` ImageNet files (loaded by layer order) load unchanged and give the same
outputs.

No feature taps: the stem's "valid" convs and pools make the maps
``(H - 3) // 2 + 1``-style sizes, never exactly ``H / stride``
(299 → 149 → 147 → 73 → 71 → 35 → 17 → 8).

``variant`` (``VARIANTS``) picks one of two layouts with the same convs, widths,
branch order, conv paddings and max pools, and the same layer names (torchvision's
adds only the pool pads and ``top_dropout`` below):

- ``"keras"`` (default, registry ``inception_v3``): keras.applications', above.
- ``"torchvision"`` (registry ``inception_v3_torchvision``): torchvision's
  ``Inception3``, whose weights need two changes that alter the outputs. Its
  ``BasicConv2d`` BatchNorm learns a scale (gamma; Keras's has ``scale=False``),
  eps 0.001 as Keras's. Its average-pool branches are ``F.avg_pool2d(x, 3,
  stride=1, padding=1)``, which count the zero padding in the mean
  (``count_include_pad=True``; Keras's "same" pooling leaves it out), built as
  ``mixed{i}_branch_pool_pad`` (ZeroPadding2D 1) → ``mixed{i}_branch_pool``
  (AveragePooling2D 3/1 "valid"). Its top is adaptive average pooling → dropout
  0.5 → ``fc``: here ``avg_pool`` → ``top_dropout`` → ``predictions``. The
  auxiliary classifier (``AuxLogits``, used only in training) is not built.
  ``weights="torchvision"`` converts torchvision's file through the name table
  ``models/torchvision_tables/inception_v3.py``.
  torchvision's pretrained network (``transform_input=True``) maps
  ImageNet-normalised input back to ``x / 127.5 - 1``, so it expects "tf"
  preprocessing, as the keras layout does. ``count_params()`` is 23,869,000:
  torchvision's 27,161,264 parameters less the aux head's 3,326,696, plus the
  2 × 17,216 BN running statistics PyTorch keeps as buffers (the keras layout's
  23,851,784 is that less the 17,216 gammas).
"""

from typing import NamedTuple

from keras import layers

from keras_cv_course.blocks import (
    inception_v3_a,
    inception_v3_b,
    inception_v3_c,
    inception_v3_conv,
    inception_v3_reduction_a,
    inception_v3_reduction_b,
)
from keras_cv_course.models import _common

PAPER = "Szegedy et al. 2016, Rethinking the Inception Architecture for Computer Vision"


class StemConv(NamedTuple):
    """A conv + BN + ReLU of the stem, ``stem_{unit}``."""

    unit: str
    filters: int
    kernel: int
    strides: int
    padding: str


class Variant(NamedTuple):
    """What ``variant`` changes: BN with a learned gamma (``scale``), average
    pools counting their zero padding, the dropout before ``predictions``, the
    model's default name."""

    scale: bool
    count_include_pad: bool
    dropout: float
    name: str


class Mixed(NamedTuple):
    """One mixed block ``mixed{i}``: the block function and its keyword arguments."""

    block: object
    options: dict


# The stem (paper Table 1's first rows); a string is a 3×3/2 max pool ``stem_{name}``.
STEM = (
    StemConv("conv1", 32, 3, 2, "valid"),
    StemConv("conv2", 32, 3, 1, "valid"),
    StemConv("conv3", 64, 3, 1, "same"),
    "pool1",
    StemConv("conv4", 80, 1, 1, "valid"),
    StemConv("conv5", 192, 3, 1, "valid"),
    "pool2",
)
# 3 × Figure 5, the grid reduction of Figure 10, 4 × Figure 6, reduction, 2 × Figure 7.
MIXED = (
    Mixed(inception_v3_a, dict(pool_filters=32)),
    Mixed(inception_v3_a, dict(pool_filters=64)),
    Mixed(inception_v3_a, dict(pool_filters=64)),
    Mixed(inception_v3_reduction_a, {}),
    Mixed(inception_v3_b, dict(channels_7x7=128)),
    Mixed(inception_v3_b, dict(channels_7x7=160)),
    Mixed(inception_v3_b, dict(channels_7x7=160)),
    Mixed(inception_v3_b, dict(channels_7x7=192)),
    Mixed(inception_v3_reduction_b, {}),
    Mixed(inception_v3_c, dict(split_concat_name="mixed9_0")),
    Mixed(inception_v3_c, dict(split_concat_name="mixed9_1")),
)

# The mixed blocks with an average-pool branch (the reductions max-pool).
AVG_POOL_BLOCKS = (inception_v3_a, inception_v3_b, inception_v3_c)
VARIANTS = {
    "keras": Variant(scale=False, count_include_pad=False, dropout=0.0, name="inception_v3"),
    "torchvision": Variant(scale=True, count_include_pad=True, dropout=0.5, name="inception_v3_torchvision"),
}

IMAGENET_WEIGHTS = {
    "imagenet": _common.keras_weights(
        "inception_v3",
        "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
        "9a0d58056eeedaa3f26cb7ebd46da564",
        "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "bcbd6486424b2319ff4ef7d526e38f63",
        preprocessing="tf",
    )
}


def _variant(options):
    if options["variant"] not in VARIANTS:
        raise ValueError(f"InceptionV3 variant must be one of {sorted(VARIANTS)}; got {options['variant']!r}")
    return VARIANTS[options["variant"]]


def _weights(options):
    """Keras's ImageNet files fit the keras layout only."""
    _variant(options)
    return IMAGENET_WEIGHTS if options["variant"] == "keras" else {}


def _block_options(block, variant):
    options = dict(scale=variant.scale)
    if block in AVG_POOL_BLOCKS:
        options["count_include_pad"] = variant.count_include_pad
    return options


def inception_v3(request, *, variant):
    """The builder: ``STEM``, then ``MIXED``, then global average pooling
    (→ dropout for torchvision's layout) → ``predictions`` (the top works at any
    input size); ``variant`` as in the module docstring."""
    layout = _variant({"variant": variant})
    x = request.image
    for row in STEM:
        if isinstance(row, str):
            x = layers.MaxPooling2D(3, strides=2, name=f"stem_{row}")(x)
        else:
            x = inception_v3_conv(x, row.filters, row.kernel, strides=row.strides, padding=row.padding,
                                  name=f"stem_{row.unit}", scale=layout.scale)
    for index, row in enumerate(MIXED):
        x = row.block(x, name=f"mixed{index}", concat_name=f"mixed{index}", **row.options,
                      **_block_options(row.block, layout))
    return request.finish(request.tail(x, request.gap_head(layout.dropout)))


ROWS = (
    _common.Row("inception_v3", "InceptionV3", "inception", PAPER, 23_851_784, "tf", (299, 299, 3), 75,
                doc="Inception-v3, keras.applications' layout (299×299 default, 75×75 minimum).\n\n"
                "``weights=\"imagenet\"`` loads Keras's files (``\"tf\"`` preprocessing: [-1, 1]).\n"
                "The top is global average pooling → Dense ``predictions``; it works at any\n"
                "input size, so unlike keras.applications the ImageNet top is not tied to 299.\n"
                "``variant=\"torchvision\"`` is torchvision's layout (see the module docstring).",
                user_options={"variant": "keras"}, weights=_weights, name_of=lambda options: _variant(options).name),
    _common.Row("inception_v3_torchvision", None, "inception", PAPER, 23_869_000, "tf", (299, 299, 3), 75,
                base="inception_v3", fixed={"variant": "torchvision"}),
)
InceptionV3 = _common.define(ROWS, inception_v3)["InceptionV3"]
