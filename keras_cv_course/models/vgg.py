"""VGG (Simonyan & Zisserman 2015, "Very Deep Convolutional Networks for
Large-Scale Image Recognition", arXiv:1409.1556) and every VGG-like net of the
package (models/small.py's): one table-driven builder, ``vgg_family``.

A configuration is a tuple of ``Stage`` rows, as torchvision's ``cfgs``: the
widths of the stage's convolutions, the kernel of each (3 unless given), whether
a 2×2 stride-2 max-pool ends it, and whether a local response normalization
follows its first convolution. ``CONFIGS`` is the paper's Table 1: A, A-LRN, B,
C (a 1×1 convolution last in stages 3-5), D, E. ``vgg_like(widths, convs)``
makes 3×3-only stages (small.py's nets). Registered: vgg11/13/16/19 (A, B, D,
E) and their ``_bn`` versions, and vgg16_c (C: 133,638,952 parameters, Table
2's "134M"). The head is Flatten → ``fc_units`` Dense ReLU layers →
``predictions``, or global average pooling when ``fc_units`` is empty; an
optional frozen patch-whitening stem (``stem="whitening"``) comes first.

Layer names follow one of two grammars, the builder's ``layer_names`` option
(both exist so that every weight file, keras.applications' and ours, loads by
name and shape):
- ``"keras"`` (vgg*): keras.applications' names, order and options
  (``block{i}_conv{j}``, ``block{i}_pool``, ``flatten``, ``fc1``, ``fc2``,
  ``predictions``), so its ImageNet files load unchanged; with BatchNorm,
  torchvision's ``vgg*_bn`` layout named ``block{i}_conv{j}_bn`` and
  ``block{i}_conv{j}_relu``; dropout ``fc{k}_dropout``.
- ``"course"`` (small.py's nets): ``block{i}_conv{j}``, ``block{i}_bn{j}``,
  ``block{i}_relu{j}``, dropout ``top_dropout`` (one fc layer at most).
``bias_before_bn`` is the other difference: torchvision's ``vgg*_bn`` keeps the
conv bias before BatchNorm, the course's nets drop it.

Deviations from the paper, selectable:
- keras.applications has no dropout in the classifier; the paper used 0.5 after
  fc1 and fc2: ``dropout=0.5``.
- ``batch_norm=True`` is torchvision's ``vgg*_bn`` (BN after every conv; not in
  the paper), with PyTorch's BN epsilon 1e-5 and momentum 0.9 (``weights="torchvision"``). Its published parameter counts are trainable weights only (PyTorch
  keeps BN statistics as buffers).
"""

import functools
from typing import NamedTuple

from keras import layers

from keras_cv_course.blocks import LocalResponseNormalization, PatchWhitening, conv_bn_act
from keras_cv_course.models import _common
from keras_cv_course.models.registry import FeatureTap

PAPER = "Simonyan & Zisserman 2015, Very Deep Convolutional Networks for Large-Scale Image Recognition"


class Stage(NamedTuple):
    """One stage: ``widths`` of its convolutions, the ``kernels`` of each (empty:
    all 3×3), a 2×2 stride-2 max-pool after it (``pool``), an LRN after its first
    convolution (``lrn``, configuration A-LRN)."""

    widths: tuple
    kernels: tuple = ()
    pool: bool = True
    lrn: bool = False

    def convs(self):
        return tuple(zip(self.widths, self.kernels or (3,) * len(self.widths)))


def _stages(*counts):
    """Table 1's 3×3 stages of widths 64-128-256-512-512, ``counts[i]`` convolutions each."""
    return tuple(Stage((width,) * count) for width, count in zip((64, 128, 256, 512, 512), counts))


CONFIGS = {
    "A": _stages(1, 1, 2, 2, 2),
    "A-LRN": (Stage((64,), lrn=True),) + _stages(1, 1, 2, 2, 2)[1:],
    "B": _stages(2, 2, 2, 2, 2),
    "C": _stages(2, 2) + (Stage((256,) * 3, (3, 3, 1)), Stage((512,) * 3, (3, 3, 1)), Stage((512,) * 3, (3, 3, 1))),
    "D": _stages(2, 2, 3, 3, 3),
    "E": _stages(2, 2, 4, 4, 4),
}


def vgg_like(widths, convs, final_pool=False):
    """3×3-only stages: ``convs[i]`` convolutions of ``widths[i]`` filters, a 2×2
    max-pool between stages (and after the last with ``final_pool``)."""
    if len(widths) != len(convs):
        raise ValueError(f"widths and convs need one entry per stage; got {widths} and {convs}")
    return tuple(Stage((width,) * count, pool=final_pool or stage < len(widths) - 1)
                 for stage, (width, count) in enumerate(zip(widths, convs)))


class LayerNames(NamedTuple):
    """A grammar: patterns of a conv, its BN, its activation (``{stage}``,
    ``{conv}``) and of the dropout after fc layer ``{fc}``."""

    conv: str
    bn: str
    act: str
    dropout: str


LAYER_NAMES = {
    "keras": LayerNames("block{stage}_conv{conv}", "block{stage}_conv{conv}_bn", "block{stage}_conv{conv}_relu",
                        "fc{fc}_dropout"),
    "course": LayerNames("block{stage}_conv{conv}", "block{stage}_bn{conv}", "block{stage}_relu{conv}", "top_dropout"),
}
STEM_PATCH = 3  # the whitening stem's patch side: 2·3·3 = 18 filters a gray channel


def vgg_family(request, *, stages, batch_norm=False, dropout=0.0, fc_units=(4096, 4096), layer_names="keras",
               bias_before_bn=True, stem_batch_norm=True, stem=None, bn_epsilon=1e-3, bn_momentum=0.99):
    """The generic VGG builder: ``stem`` (None or "whitening"), then the
    ``stages`` table (conv → BN if ``batch_norm`` → ReLU; ``stem_batch_norm=False``
    leaves the first conv without BN), then the head (see the module docstring).
    ``bn_epsilon``/``bn_momentum``: Keras's defaults; the registered ``vgg*_bn``
    take PyTorch's (1e-5, 0.9), as torchvision's weights were trained with."""
    names = LAYER_NAMES[layer_names]
    x = _whitening_stem(request.image) if stem == "whitening" else request.image
    for stage, row in enumerate(stages, start=1):
        for index, (width, kernel) in enumerate(row.convs(), start=1):
            bn = _has_bn(stage, index, batch_norm, stem_batch_norm)
            unit = dict(stage=stage, conv=index)
            conv = names.conv.format(**unit)
            x = conv_bn_act(x, width, kernel, name=conv, conv_name=conv, bn_name=names.bn.format(**unit),
                            act_name=names.act.format(**unit), batch_norm=bn, use_bias=bias_before_bn or not bn,
                            bn_epsilon=bn_epsilon, bn_momentum=bn_momentum)
            if row.lrn and index == 1:
                x = LocalResponseNormalization(name=f"{conv}_lrn")(x)
        if row.pool:
            x = layers.MaxPooling2D(2, strides=2, name=f"block{stage}_pool")(x)
    head = (lambda x: _fc_head(x, request, fc_units, dropout, names)) if fc_units else request.gap_head(dropout)
    return request.finish(request.tail(x, head))


def _has_bn(stage, index, batch_norm, stem_batch_norm):
    return batch_norm and (stem_batch_norm or (stage, index) != (1, 1))


def _whitening_stem(x):
    """Frozen 3×3 patch whitening → ReLU → 2×2 max-pool."""
    x = PatchWhitening(STEM_PATCH, name="stem_whiten")(x)
    x = layers.ReLU(name="stem_relu")(x)
    return layers.MaxPooling2D(2, name="stem_pool")(x)


def _fc_head(x, request, units, dropout, names):
    x = layers.Flatten(name="flatten")(x)
    for index, width in enumerate(units, start=1):
        x = layers.Dense(width, activation="relu", name=f"fc{index}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=names.dropout.format(fc=index))(x)
    return request.dense(x)


def pool_count(stages, stem=None):
    """How many 2×2 pools the net has: its smallest input side is 2 to that power."""
    return sum(row.pool for row in stages) + (stem == "whitening")


def stage_taps(*, stages, batch_norm=False, stem_batch_norm=True, stem=None, layer_names="keras", channels=1,
               first_level=0, **_):
    """The taps of a table: the stem's ReLU (``stem_relu``, ± filters per input
    channel), each stage's last activation (the conv itself when its ReLU is
    fused, no BN) and the last pool when the net ends in one; levels below
    ``first_level`` left out (VGG's full-resolution block1). Every other pool is
    a named tap ``pool{stage}`` (``block{stage}_pool``: FCN's pool3 and pool4, the
    first layer at a stride, where the primary tap is the last)."""
    names, taps, pools, stride = LAYER_NAMES[layer_names], [], [], 1
    if stem == "whitening":
        taps.append(FeatureTap("P0", "stem_relu", 2 * STEM_PATCH * STEM_PATCH * channels, 1))
        stride = 2
    for stage, row in enumerate(stages, start=1):
        index = len(row.widths)
        unit = dict(stage=stage, conv=index)
        layer = (names.act if _has_bn(stage, index, batch_norm, stem_batch_norm) else names.conv).format(**unit)
        layer = f"{names.conv.format(**unit)}_lrn" if row.lrn and index == 1 else layer
        taps.append(FeatureTap(f"P{stride.bit_length() - 1}", layer, row.widths[-1], stride))
        stride *= 2 if row.pool else 1
        if row.pool and stage < len(stages):
            pools.append(FeatureTap(f"P{stride.bit_length() - 1}", f"block{stage}_pool", row.widths[-1], stride,
                                   name=f"pool{stage}"))
    if stages[-1].pool:
        last = len(stages)
        taps.append(FeatureTap(f"P{stride.bit_length() - 1}", f"block{last}_pool", stages[-1].widths[-1], stride))
    return tuple(tap for tap in taps + pools if tap.stride >= 2**first_level)


IMAGENET_WEIGHTS = {
    16: {
        "imagenet": _common.keras_weights(
            "vgg16",
            "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
            "64373286793e3c8b2b4e3219cbf3544b",
            "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
            "6d6bbae143d832006294945121d1f1fc",
            preprocessing="caffe",
            input_size=224,
        )
    },
    19: {
        "imagenet": _common.keras_weights(
            "vgg19",
            "vgg19_weights_tf_dim_ordering_tf_kernels.h5",
            "cbe5617147190e668d6c5d5026f83318",
            "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
            "253f8cb515780f3b799900260a226db6",
            preprocessing="caffe",
            input_size=224,
        )
    },
}


def _imagenet(depth, options=None):
    """keras.applications' files, looked up per build (tests patch them)."""
    return IMAGENET_WEIGHTS.get(depth, {})


def _row(name, public, config, params, *, batch_norm=False, imagenet=None):
    """A registered VGG: configuration ``config`` of Table 1 at 224×224×3, with
    ``params`` as Keras counts them (1000 classes; with BN its moving statistics)."""
    options = {"stages": CONFIGS[config], "batch_norm": batch_norm}
    taps = stage_taps(**options, first_level=1)
    if batch_norm:
        options.update(bn_epsilon=1e-5, bn_momentum=0.9)  # torchvision's vgg*_bn (PyTorch's BatchNorm2d defaults)
    label = f"configuration {config}{' with batch norm' if batch_norm else ''}"
    return _common.Row(name, public, "vgg", PAPER, params, "caffe", (224, 224, 3), 32,
                       doc=f"{public}: VGG {label} ({PAPER}); ``dropout`` after fc1 and fc2 (paper: 0.5).",
                       options=options, user_options={"dropout": 0.0}, require_flatten=True,
                       taps=taps,
                       weights=functools.partial(_imagenet, imagenet) if imagenet else None)


ROWS = (
    _row("vgg11", "VGG11", "A", 132_863_336),
    _row("vgg13", "VGG13", "B", 133_047_848),
    _row("vgg16", "VGG16", "D", 138_357_544, imagenet=16),
    _row("vgg19", "VGG19", "E", 143_667_240, imagenet=19),
    _row("vgg11_bn", "VGG11_BN", "A", 132_874_344, batch_norm=True),
    _row("vgg13_bn", "VGG13_BN", "B", 133_059_624, batch_norm=True),
    _row("vgg16_bn", "VGG16_BN", "D", 138_374_440, batch_norm=True),
    _row("vgg19_bn", "VGG19_BN", "E", 143_689_256, batch_norm=True),
    _row("vgg16_c", "VGG16_C", "C", 133_638_952),
)
_BUILDERS = _common.define(ROWS, vgg_family)
VGG11, VGG13, VGG16, VGG19, VGG16_C = (_BUILDERS[n] for n in ("VGG11", "VGG13", "VGG16", "VGG19", "VGG16_C"))
VGG11_BN, VGG13_BN, VGG16_BN, VGG19_BN = (_BUILDERS[n] for n in ("VGG11_BN", "VGG13_BN", "VGG16_BN", "VGG19_BN"))
