"""Inception-v3 (Szegedy, Vanhoucke, Ioffe, Shlens & Wojna 2016, "Rethinking the
Inception Architecture for Computer Vision", arXiv:1512.00567).

The layout, order, widths and layer options are keras.applications'
``InceptionV3`` exactly; its explicit names are kept (``mixed0`` … ``mixed10``,
``mixed9_0``, ``mixed9_1``, ``avg_pool``, ``predictions``). Keras leaves every
conv, BN, activation and pooling layer with an automatic name (``conv2d_17``);
here they are named ``stem_conv1_conv``, ``mixed4_branch7x7dbl_3_bn``, ... The
weighted layers come in the same order with the same shapes, so Keras's legacy
``.h5`` ImageNet files (loaded by layer order) load unchanged and give the same
outputs.

No feature taps: the stem's "valid" convs and pools make the maps
``(H - 3) // 2 + 1``-style sizes, never exactly ``H / stride``
(299 → 149 → 147 → 73 → 71 → 35 → 17 → 8).
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


def inception_v3(request):
    """The builder: ``STEM``, then ``MIXED``, then global average pooling →
    ``predictions`` (the top works at any input size)."""
    x = request.image
    for row in STEM:
        if isinstance(row, str):
            x = layers.MaxPooling2D(3, strides=2, name=f"stem_{row}")(x)
        else:
            x = inception_v3_conv(x, row.filters, row.kernel, strides=row.strides, padding=row.padding,
                                  name=f"stem_{row.unit}")
    for index, row in enumerate(MIXED):
        x = row.block(x, name=f"mixed{index}", concat_name=f"mixed{index}", **row.options)
    return request.finish(request.tail(x, request.gap_head()))


ROWS = (
    _common.Row("inception_v3", "InceptionV3", "inception", PAPER, 23_851_784, "tf", (299, 299, 3), 75,
                doc="Inception-v3, keras.applications' layout (299×299 default, 75×75 minimum).\n\n"
                "``weights=\"imagenet\"`` loads Keras's files (``\"tf\"`` preprocessing: [-1, 1]).\n"
                "The top is global average pooling → Dense ``predictions``; it works at any\n"
                "input size, so unlike keras.applications the ImageNet top is not tied to 299.",
                weights=IMAGENET_WEIGHTS),
)
InceptionV3 = _common.define(ROWS, inception_v3)["InceptionV3"]
