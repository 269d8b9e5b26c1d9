"""AlexNet (Krizhevsky, Sutskever & Hinton 2012, "ImageNet Classification with Deep
Convolutional Neural Networks"), ZFNet (Zeiler & Fergus 2014, "Visualizing and
Understanding Convolutional Networks", arXiv:1311.2901) and VGG-S (Chatfield,
Simonyan, Vedaldi & Zisserman 2014, "Return of the Devil in the Details: Delving
Deep into Convolutional Nets", arXiv:1405.3531, "CNN-S").

One table-driven builder: a ``ConvRow`` per convolution (filters, kernel,
stride, padding, groups, LRN after it, and a ``Pool`` (kernel, stride, mode) after
it or None), then dropout → fc6 4096 → dropout → fc7 4096 → predictions.

AlexNet ``variant="torchvision"`` (default) is torchvision's single-tower layout
(64-192-384-256-256 convs, adaptive 6×6 average pooling so any input of 63 pixels
or more works, dropout-4096-4096): 61,100,840 parameters.
``variant="paper"`` is the 2012 paper's two-GPU network at 227×227: 96-256-384-
384-256 convs with conv2, conv4, conv5 split into two groups (a real grouped
convolution), local response normalization after conv1 and conv2: 60,965,224
parameters, the figure of Caffe's bvlc_alexnet.
ZFNet changes AlexNet's first layers (7×7 stride-2 conv1, stride-2 conv2, one
tower; 224 → 110 → 55 → 26 → 13 → 6 as in the paper's Fig. 3).
VGG-S is the released VGG_CNN_S model: 96@7×7/2 + LRN + 3×3/3 pool, 256@5×5 +
2×2/2 pool, three 512@3×3 convs + 3×3/3 pool, all pools in Caffe's ceil mode
(224 → 109 → 37 → 33 → 17 → 6): 102,908,520 parameters.
"""

from typing import NamedTuple

from keras import layers

from keras_cv_course.blocks import AdaptiveAveragePooling2D, LocalResponseNormalization, conv_bn_act, max_pool_ceil
from keras_cv_course.models import _common

ALEXNET_PAPER = "Krizhevsky, Sutskever & Hinton 2012, ImageNet Classification with Deep Convolutional Neural Networks"
ZFNET_PAPER = "Zeiler & Fergus 2014, Visualizing and Understanding Convolutional Networks"
VGG_S_PAPER = "Chatfield, Simonyan, Vedaldi & Zisserman 2014, Return of the Devil in the Details: Delving Deep into Convolutional Nets"


class Pool(NamedTuple):
    """A max-pool: ``mode`` is "valid" or "same" (Keras padding) or "ceil" (Caffe's rounding up)."""

    kernel: int
    stride: int
    mode: str = "valid"


class ConvRow(NamedTuple):
    """One convolution with ReLU: padding in pixels (0 = valid), ``groups`` > 1 a
    grouped convolution, ``lrn`` a local response normalization after it, ``pool``
    the max-pool after it (None: none)."""

    filters: int
    kernel: int
    stride: int = 1
    padding: int = 0
    groups: int = 1
    lrn: bool = False
    pool: Pool = None


OVERLAPPING = Pool(3, 2)
CONV_TABLES = {
    "alexnet_torchvision": (
        ConvRow(64, 11, 4, 2, pool=OVERLAPPING),
        ConvRow(192, 5, 1, 2, pool=OVERLAPPING),
        ConvRow(384, 3, 1, 1),
        ConvRow(256, 3, 1, 1),
        ConvRow(256, 3, 1, 1, pool=OVERLAPPING),
    ),
    "alexnet_paper": (
        ConvRow(96, 11, 4, 0, lrn=True, pool=OVERLAPPING),
        ConvRow(256, 5, 1, 2, groups=2, lrn=True, pool=OVERLAPPING),
        ConvRow(384, 3, 1, 1),
        ConvRow(384, 3, 1, 1, groups=2),
        ConvRow(256, 3, 1, 1, groups=2, pool=OVERLAPPING),
    ),
    "zfnet": (
        ConvRow(96, 7, 2, 1, lrn=True, pool=Pool(3, 2, "same")),
        ConvRow(256, 5, 2, 0, lrn=True, pool=Pool(3, 2, "same")),
        ConvRow(384, 3, 1, 1),
        ConvRow(384, 3, 1, 1),
        ConvRow(256, 3, 1, 1, pool=OVERLAPPING),
    ),
    "vgg_s": (
        ConvRow(96, 7, 2, 0, lrn=True, pool=Pool(3, 3, "ceil")),
        ConvRow(256, 5, 1, 0, pool=Pool(2, 2, "ceil")),
        ConvRow(512, 3, 1, 1),
        ConvRow(512, 3, 1, 1),
        ConvRow(512, 3, 1, 1, pool=Pool(3, 3, "ceil")),
    ),
}
# The input each layout takes: default side, smallest side, and whether fc6 needs a
# fixed map (False: torchvision's adaptive 6×6 pooling before it).
LAYOUTS = {
    "alexnet_torchvision": _common.InputRules(224, 63, require_flatten=False),
    "alexnet_paper": _common.InputRules(227, 67, require_flatten=True),
    "zfnet": _common.InputRules(224, 53, require_flatten=True),
    "vgg_s": _common.InputRules(224, 31, require_flatten=True),
}
ADAPTIVE_POOL = {"alexnet_torchvision"}


def alexnet_family(request, *, layout=None, variant=None, dropout=0.5):
    """The generic builder behind AlexNet, ZFNet and VGG-S: walks
    ``CONV_TABLES[layout]`` (``conv{i}``, ``conv{i}_lrn``, ``pool{i}``), then the
    classifier dropout → fc6 4096 → dropout → fc7 4096 → predictions."""
    layout = layout or _alexnet_layout(variant)
    x = request.image
    for index, row in enumerate(CONV_TABLES[layout], start=1):
        x = conv_bn_act(x, row.filters, row.kernel, strides=row.stride, padding=row.padding or "valid",
                        groups=row.groups, batch_norm=False, name=f"conv{index}", conv_name=f"conv{index}")
        if row.lrn:
            x = LocalResponseNormalization(name=f"conv{index}_lrn")(x)
        if row.pool:
            x = _max_pool(x, row.pool, name=f"pool{index}")
    return request.finish(request.tail(x, lambda x: _classifier(x, request, dropout, layout in ADAPTIVE_POOL)))


def _max_pool(x, pool, *, name):
    if pool.mode == "ceil":
        return max_pool_ceil(x, pool.kernel, pool.stride, name=name)
    return layers.MaxPooling2D(pool.kernel, strides=pool.stride, padding=pool.mode, name=name)(x)


def _classifier(x, request, dropout, adaptive_pool):
    if adaptive_pool:
        x = AdaptiveAveragePooling2D((6, 6), name="avgpool")(x)
    x = layers.Flatten(name="flatten")(x)
    for fc in ("fc6", "fc7"):
        if dropout:
            x = layers.Dropout(dropout, name=f"{fc}_dropout")(x)
        x = layers.Dense(4096, activation="relu", name=fc)(x)
    return request.dense(x)


def _alexnet_layout(variant):
    if variant not in ("torchvision", "paper"):
        raise ValueError(f"AlexNet variant must be 'torchvision' or 'paper'; got {variant!r}")
    return f"alexnet_{variant}"


def _alexnet_name(options):
    return "alexnet" if options["variant"] == "torchvision" else "alexnet_paper"


def _alexnet_rules(options):
    return LAYOUTS[_alexnet_layout(options["variant"])]


ROWS = (
    _common.Row("alexnet", "AlexNet", "alexnet", ALEXNET_PAPER, 61_100_840, "torch", (224, 224, 3), 63,
                doc='AlexNet; ``variant`` is "torchvision" (single tower) or "paper" (two groups, LRN).',
                user_options={"variant": "torchvision", "dropout": 0.5}, rules=_alexnet_rules, name_of=_alexnet_name),
    _common.Row("alexnet_paper", None, "alexnet", ALEXNET_PAPER, 60_965_224, "torch", (227, 227, 3), 67,
                base="alexnet", fixed={"variant": "paper"}),
    _common.Row("zfnet", "ZFNet", "alexnet", ZFNET_PAPER, 62_357_608, "torch", (224, 224, 3), 53,
                doc="ZFNet (Zeiler & Fergus 2014): AlexNet with a 7×7 stride-2 first layer.",
                options={"layout": "zfnet"}, user_options={"dropout": 0.5}, require_flatten=True),
    _common.Row("vgg_s", "VGGS", "alexnet", VGG_S_PAPER, 102_908_520, "caffe", (224, 224, 3), 31,
                doc="VGG-S (Chatfield et al. 2014, CNN-S): 7×7/2 conv with LRN and 3×3/3 pooling, 512-wide conv3-5.",
                options={"layout": "vgg_s"}, user_options={"dropout": 0.5}, require_flatten=True),
)
_BUILDERS = _common.define(ROWS, alexnet_family)
AlexNet, ZFNet, VGGS = _BUILDERS["AlexNet"], _BUILDERS["ZFNet"], _BUILDERS["VGGS"]
