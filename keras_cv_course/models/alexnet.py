"""AlexNet (Krizhevsky, Sutskever & Hinton 2012, "ImageNet Classification with Deep
Convolutional Neural Networks"), ZFNet (Zeiler & Fergus 2014, "Visualizing and
Understanding Convolutional Networks", arXiv:1311.2901), VGG-S (Chatfield,
Simonyan, Vedaldi & Zisserman 2014, "Return of the Devil in the Details: Delving
Deep into Convolutional Nets", arXiv:1405.3531, "CNN-S") and OverFeat "fast" and
"accurate" (Sermanet, Eigen, Zhang, Mathieu, Fergus & LeCun 2014, "OverFeat:
Integrated Recognition, Localization and Detection using Convolutional Networks",
arXiv:1312.6229, Tables 1 and 3).

One table-driven builder: a ``ConvRow`` per convolution (filters, kernel,
stride, padding, groups, LRN after it, and a ``Pool`` (kernel, stride, mode) after
it or None), then the classifier: per fully connected layer dropout → fc, widths
``FC_WIDTHS[layout]`` (default 4096, 4096), named after the paper's layer number
(the first fc layer after n convolutions is ``fc{n+1}``), then predictions.

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

OverFeat, as the paper's tables give it: ReLU after every layer, no local
response normalization (the paper: no contrast normalization), non-overlapping
max pools (kernel = stride), dropout 0.5 on the fully connected layers.
Fast (Table 1, 231×231): 96@11×11/4 → pool 2/2 → 256@5×5 → pool 2/2 → 512, 1024,
1024 @3×3 pad 1 → pool 2/2 → fc6 3072 → fc7 4096 → 1000 (layers 6-8):
231 → 56 → 28 → 24 → 12 → 12 → 12 → 12 → 6; 145,920,872 parameters.
Accurate (Table 3, 221×221): 96@7×7/2 → pool 3/3 → 256@7×7 → pool 2/2 → 512, 512,
1024, 1024 @3×3 pad 1 → pool 3/3 → fc7 4096 → fc8 4096 → 1000 (layers 7-9):
221 → 108 → 36 → 30 → 15 → 15 → 15 → 15 → 15 → 5; 144,656,488 parameters.
Ambiguities resolved: (1) padding: the tables give "zero-padding 1x1x1x1" for
conv3-5 (fast) and conv3-6 (accurate) and none for conv1-2, so those are
explicit 1-pixel pads and conv1-2 are "valid"; with that every pool divides its
map exactly (valid = ceil rounding) and the built maps reproduce the tables'
spatial sizes (fast 6×6, accurate 15×15 and 5×5 before the classifier).
(2) Table 1 lists layer 2's spatial input as 24×24, but 231 → conv 11/4 → 56 →
pool 2/2 gives 28×28: 24×24 is conv2's output (28 − 5 + 1); we follow the
filters and strides, which also give the tables' 12×12 and 6×6 further on.
(3) The paper trains on 221×221 crops but Table 1 states 231×231 for the fast
model; we use 231 (at 221 the fast model's last map would be 5×5, not 6×6).
(4) Dropout is placed before fc6 and fc7 (before fc7 and fc8), as in AlexNet;
it has no parameters. (5) Preprocessing "torch": the released OverFeat
standardizes RGB pixels with one global mean and std (118.380948 and 61.896913
on 0..255), not Caffe's BGR mean subtraction; "torch" (RGB, subtract mean, divide
by std: about 0.45 and 0.23 of 255) is the closest recorded mode.
"""

from typing import NamedTuple

from keras import layers

from keras_cv_course.blocks import AdaptiveAveragePooling2D, LocalResponseNormalization, conv_bn_act, max_pool_ceil
from keras_cv_course.models import _common

ALEXNET_PAPER = "Krizhevsky, Sutskever & Hinton 2012, ImageNet Classification with Deep Convolutional Neural Networks"
ZFNET_PAPER = "Zeiler & Fergus 2014, Visualizing and Understanding Convolutional Networks"
VGG_S_PAPER = "Chatfield, Simonyan, Vedaldi & Zisserman 2014, Return of the Devil in the Details: Delving Deep into Convolutional Nets"
OVERFEAT_PAPER = ("Sermanet, Eigen, Zhang, Mathieu, Fergus & LeCun 2014, OverFeat: Integrated Recognition, "
                  "Localization and Detection using Convolutional Networks")


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
    "overfeat_fast": (  # Table 1
        ConvRow(96, 11, 4, 0, pool=Pool(2, 2)),
        ConvRow(256, 5, 1, 0, pool=Pool(2, 2)),
        ConvRow(512, 3, 1, 1),
        ConvRow(1024, 3, 1, 1),
        ConvRow(1024, 3, 1, 1, pool=Pool(2, 2)),
    ),
    "overfeat_accurate": (  # Table 3
        ConvRow(96, 7, 2, 0, pool=Pool(3, 3)),
        ConvRow(256, 7, 1, 0, pool=Pool(2, 2)),
        ConvRow(512, 3, 1, 1),
        ConvRow(512, 3, 1, 1),
        ConvRow(1024, 3, 1, 1),
        ConvRow(1024, 3, 1, 1, pool=Pool(3, 3)),
    ),
}
# The hidden fully connected widths of each layout (before predictions); default 4096, 4096.
FC_WIDTHS = {
    "overfeat_fast": (3072, 4096),
    "overfeat_accurate": (4096, 4096),
}
# The input each layout takes: default side, smallest side, and whether fc6 needs a
# fixed map (False: torchvision's adaptive 6×6 pooling before it).
LAYOUTS = {
    "alexnet_torchvision": _common.InputRules(224, 63, require_flatten=False),
    "alexnet_paper": _common.InputRules(227, 67, require_flatten=True),
    "zfnet": _common.InputRules(224, 53, require_flatten=True),
    "vgg_s": _common.InputRules(224, 31, require_flatten=True),
    "overfeat_fast": _common.InputRules(231, 71, require_flatten=True),
    "overfeat_accurate": _common.InputRules(221, 77, require_flatten=True),
}
ADAPTIVE_POOL = {"alexnet_torchvision"}


def alexnet_family(request, *, layout=None, variant=None, dropout=0.5):
    """The generic builder behind AlexNet, ZFNet, VGG-S and OverFeat: walks
    ``CONV_TABLES[layout]`` (``conv{i}``, ``conv{i}_lrn``, ``pool{i}``), then the
    classifier: dropout → fc per width of ``FC_WIDTHS[layout]`` (default
    fc6 4096, fc7 4096, numbered on from the last conv) → predictions."""
    layout = layout or _alexnet_layout(variant)
    x = request.image
    table = CONV_TABLES[layout]
    for index, row in enumerate(table, start=1):
        x = conv_bn_act(x, row.filters, row.kernel, strides=row.stride, padding=row.padding or "valid",
                        groups=row.groups, batch_norm=False, name=f"conv{index}", conv_name=f"conv{index}")
        if row.lrn:
            x = LocalResponseNormalization(name=f"conv{index}_lrn")(x)
        if row.pool:
            x = _max_pool(x, row.pool, name=f"pool{index}")
    widths = FC_WIDTHS.get(layout, (4096, 4096))
    head = lambda x: _classifier(x, request, dropout, layout in ADAPTIVE_POOL, widths, first=len(table) + 1)  # noqa: E731
    return request.finish(request.tail(x, head))


def _max_pool(x, pool, *, name):
    if pool.mode == "ceil":
        return max_pool_ceil(x, pool.kernel, pool.stride, name=name)
    return layers.MaxPooling2D(pool.kernel, strides=pool.stride, padding=pool.mode, name=name)(x)


def _classifier(x, request, dropout, adaptive_pool, widths, *, first):
    if adaptive_pool:
        x = AdaptiveAveragePooling2D((6, 6), name="avgpool")(x)
    x = layers.Flatten(name="flatten")(x)
    for index, width in enumerate(widths, start=first):
        if dropout:
            x = layers.Dropout(dropout, name=f"fc{index}_dropout")(x)
        x = layers.Dense(width, activation="relu", name=f"fc{index}")(x)
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
    _common.Row("overfeat_fast", "OverFeatFast", "alexnet", OVERFEAT_PAPER, 145_920_872, "torch", (231, 231, 3), 71,
                doc="OverFeat fast model (Sermanet et al. 2014, Table 1): 231×231, no LRN, non-overlapping pools, "
                    "fc 3072 → 4096 → 1000.",
                options={"layout": "overfeat_fast"}, user_options={"dropout": 0.5}, require_flatten=True),
    _common.Row("overfeat_accurate", "OverFeatAccurate", "alexnet", OVERFEAT_PAPER, 144_656_488, "torch",
                (221, 221, 3), 77,
                doc="OverFeat accurate model (Sermanet et al. 2014, Table 3): 221×221, six convolutions, no LRN, "
                    "fc 4096 → 4096 → 1000.",
                options={"layout": "overfeat_accurate"}, user_options={"dropout": 0.5}, require_flatten=True),
)
_BUILDERS = _common.define(ROWS, alexnet_family)
AlexNet, ZFNet, VGGS = _BUILDERS["AlexNet"], _BUILDERS["ZFNet"], _BUILDERS["VGGS"]
OverFeatFast, OverFeatAccurate = _BUILDERS["OverFeatFast"], _BUILDERS["OverFeatAccurate"]
