"""MobileNet (Howard et al. 2017, "MobileNets: Efficient Convolutional Neural
Networks for Mobile Vision Applications", arXiv:1704.04861) and MobileNetV2
(Sandler et al. 2018, "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
arXiv:1801.04381).

One generic builder walks the paper's table of each version (``V1_BLOCKS``: a
``Separable`` row per unit; ``V2_BLOCKS``: the (t, c, n, s) ``Bottleneck`` rows);
the feature taps are generated from the same tables.

Layouts, weighted-layer names, order and options are keras.applications' (``conv1``,
``conv_dw_1``, ``conv_pw_13_relu``, ``conv_preds``; ``Conv1``, ``block_1_expand``,
``block_16_project_BN``, ``Conv_1``, ``out_relu``), so its ImageNet files load
unchanged. As in Keras, the file depends on ``alpha`` and on the input side
(128 … 224; another side loads the 224 file, with a warning), and so does the
default model name at a width other than 1.0 (``mobilenet_0.50_160``).
Differences from keras.applications, none touching a weight:
- ``weights`` defaults to None; models are named ``mobilenet``/``mobilenet_v2``
  (the registry keys) at alpha 1.0, Keras's ``mobilenet_{alpha}_{rows}`` otherwise;
- the global pooling of the top, unnamed in Keras, is ``avg_pool``.
MobileNetV2 ``variant="torchvision"`` (registry ``mobilenet_v2_torchvision``) is
torchvision's layout of the same weights (BN epsilon 1e-5, symmetric padding of
the stride-2 convs, dropout 0.2 before the classifier; see ``_v2``); torchvision
state_dicts convert into it through ``torchvision_tables/mobilenet_v2.py``.
The paper's MobileNet v1 has no dropout; Keras's 1e-3 is kept as the default.
"""

import dataclasses
import functools
import warnings
from typing import NamedTuple

from keras import layers

from keras_cv_course.blocks.conv import conv_bn_act
from keras_cv_course.blocks.mobile import depthwise_separable, inverted_residual, make_divisible
from keras_cv_course.models import _common
from keras_cv_course.models.registry import FeatureTap

V1_PAPER = "Howard et al. 2017, MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications"
V2_PAPER = "Sandler et al. 2018, MobileNetV2: Inverted Residuals and Linear Bottlenecks"


class Separable(NamedTuple):
    """One depthwise-separable unit of MobileNet v1 (paper Table 1)."""

    filters: int  # pointwise output channels
    stride: int  # of the depthwise conv


class Bottleneck(NamedTuple):
    """One stage of MobileNetV2 (paper Table 2)."""

    t: int  # expansion
    c: int  # output channels
    n: int  # repeats
    s: int  # stride of the first repeat


V1_BLOCKS = (
    Separable(64, 1), Separable(128, 2), Separable(128, 1), Separable(256, 2), Separable(256, 1),
    Separable(512, 2), Separable(512, 1), Separable(512, 1), Separable(512, 1), Separable(512, 1),
    Separable(512, 1), Separable(1024, 2), Separable(1024, 1),
)
V2_BLOCKS = (
    Bottleneck(1, 16, 1, 1),
    Bottleneck(6, 24, 2, 2),
    Bottleneck(6, 32, 3, 2),
    Bottleneck(6, 64, 4, 2),
    Bottleneck(6, 96, 3, 1),
    Bottleneck(6, 160, 3, 2),
    Bottleneck(6, 320, 1, 1),
)
STEM_WIDTH, V2_LAST_WIDTH = 32, 1280
TAP_STRIDES = (4, 8, 16, 32)  # P2 … P5


def _v2_block_name(block_id):
    return f"block_{block_id}" if block_id else "expanded_conv"


def _tap(stride, layer, channels):
    return FeatureTap(f"P{stride.bit_length() - 1}", layer, channels, stride)


def v1_taps():
    """The deepest map at each of ``TAP_STRIDES``: the last unit at that stride
    (at 224: ``conv_pw_3_relu`` 56×56 … ``conv_pw_13_relu`` 7×7)."""
    deepest, stride = {}, 2  # conv1 has stride 2
    for block_id, unit in enumerate(V1_BLOCKS, start=1):
        stride *= unit.stride
        deepest[stride] = _tap(stride, f"conv_pw_{block_id}_relu", unit.filters)
    return tuple(deepest[s] for s in TAP_STRIDES)


def v2_taps():
    """The deepest map at each of ``TAP_STRIDES``: the expansion of the block that
    strides next (the widest map before its stride-2 depthwise conv, as SSDLite
    taps ``block_13``), and ``out_relu`` at stride 32."""
    found, stride, channels, block_id = [], 2, STEM_WIDTH, 0
    for stage in V2_BLOCKS:
        for index in range(stage.n):
            if index == 0 and stage.s == 2 and stride in TAP_STRIDES:
                found.append(_tap(stride, f"{_v2_block_name(block_id)}_expand_relu", channels * stage.t))
            stride *= stage.s if index == 0 else 1
            channels, block_id = stage.c, block_id + 1
    return (*found, _tap(stride, "out_relu", V2_LAST_WIDTH))


# ----------------------------------------------------------------------------- keras.applications' files

def mobilenet_v1_weights(alpha=1.0, rows=224):
    """keras.applications' ImageNet files of MobileNet at ``alpha`` and input ``rows``
    (``mobilenet_1_0_224_tf.h5`` / ``..._tf_no_top.h5``; Keras checks no hash)."""
    alpha_text = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"}[alpha]
    stem = f"mobilenet_{alpha_text}_{rows}_tf"
    return _common.keras_weights("mobilenet", f"{stem}.h5", None, f"{stem}_no_top.h5", None, preprocessing="tf",
                                 input_size=rows)


def mobilenet_v2_weights(alpha=1.0, rows=224):
    """keras.applications' ImageNet files of MobileNetV2 at ``alpha`` and ``rows``
    (``mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5``; no hash)."""
    stem = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}"
    return _common.keras_weights("mobilenet_v2", f"{stem}.h5", None, f"{stem}_no_top.h5", None, preprocessing="tf",
                                 input_size=rows)


class KerasFiles(NamedTuple):
    """What Keras ties to the width and the input side of one version: the
    ``alphas`` and square ``sizes`` it has ImageNet files for, the ``WeightSpec``
    of one (alpha, rows), and the default model name ``(alpha, depth_multiplier,
    rows) -> str``."""

    builder: str
    alphas: tuple
    sizes: tuple
    spec: object
    default_name: object


FILES = {
    1: KerasFiles("MobileNet", (0.25, 0.50, 0.75, 1.0), (128, 160, 192, 224), mobilenet_v1_weights,
                  lambda a, m, rows: "mobilenet" if (a, m) == (1.0, 1) else f"mobilenet_{a:0.2f}_{rows}"),
    2: KerasFiles("MobileNetV2", (0.35, 0.50, 0.75, 1.0, 1.3, 1.4), (96, 128, 160, 192, 224), mobilenet_v2_weights,
                  lambda a, m, rows: "mobilenet_v2" if a == 1.0 else f"mobilenetv2_{a:0.2f}_{rows}"),
}
DEFAULT_ROWS = 224


def _refusal(files, alpha, depth_multiplier):
    """Why Keras has no ImageNet file for these options (None: it has one)."""
    if alpha not in files.alphas:
        return f"{files.builder} ImageNet weights exist for alpha in {list(files.alphas)} only; got alpha={alpha!r}"
    if depth_multiplier != 1:
        return f"{files.builder} ImageNet weights need depth_multiplier=1; got {depth_multiplier!r}"
    return None


def _imagenet(version, options):
    """The row's named weights: Keras's files at 224 for the chosen ``alpha``. The
    top is not tied to one side (``input_size`` None): the build picks the file
    of its input side (``_at_input_side``), or refuses options Keras has no file
    for (this entry then has none). The torchvision layout has none of Keras's."""
    files = FILES[version]
    alpha, depth_multiplier = options["alpha"], options.get("depth_multiplier", 1)
    if options.get("variant", "keras") != "keras":  # Keras's files are for Keras's layout only
        return {}
    if _refusal(files, alpha, depth_multiplier):
        return {"imagenet": _common.WeightSpec("imagenet", None, None, preprocessing="tf")}
    return {"imagenet": dataclasses.replace(files.spec(alpha, DEFAULT_ROWS), input_size=None)}


def _at_input_side(request, files, alpha, depth_multiplier):
    """Keras's choices that depend on the input side: ``rows`` is the side when
    the input is square and one of ``files.sizes``, else 224; the default model
    name ends in ``rows``; ``weights="imagenet"`` loads the file of ``alpha`` and
    ``rows`` (with the top, only an input of exactly that side takes it)."""
    height, width = request.image.shape[1:3]
    rows = height if height == width and height in files.sizes else DEFAULT_ROWS
    name = request.name
    # name_of gave the default at 224 (it cannot see the input); a name the caller chose stays as it is
    if name == files.default_name(alpha, depth_multiplier, DEFAULT_ROWS):
        name = files.default_name(alpha, depth_multiplier, rows)
    spec = request.weight_spec
    if spec is not None:  # named weights, i.e. Keras's ImageNet files
        refusal = _refusal(files, alpha, depth_multiplier)
        if refusal:
            raise ValueError(refusal)
        if (height, width) != (rows, rows):
            if request.include_top:
                raise ValueError(
                    f"{name!r} with weights='imagenet' and include_top=True needs a square input of side "
                    f"{', '.join(map(str, files.sizes))}; got {height}x{width}. Use include_top=False for other sizes.")
            if (height, width) != (None, None):
                warnings.warn(f"input_shape {tuple(request.image.shape[1:])} is undefined or non-square, or its side "
                              f"is not in {list(files.sizes)}; weights for input shape (224, 224) will be loaded.",
                              stacklevel=4)
        spec = files.spec(alpha, rows)
    return dataclasses.replace(request, name=name, weight_spec=spec)


# ----------------------------------------------------------------------------- the builder

def mobilenet(request, *, version, alpha, depth_multiplier=1, dropout=1e-3, variant="keras"):
    """The generic builder of both versions (``version`` 1 or 2): Keras's input-side
    choices, then the body and top of that version (v2: in the ``variant`` layout)."""
    request = _at_input_side(request, FILES[version], alpha, depth_multiplier)
    if version == 1:
        features, head = _v1(request, alpha, depth_multiplier, dropout)
    else:
        features, head = _v2(request, alpha, variant)
    return request.finish(request.tail(features, head))


def _v1(request, alpha, depth_multiplier, dropout):
    """A 3×3 stride-2 conv, then the units of ``V1_BLOCKS`` (``int(filters * alpha)``
    pointwise filters); the top is global pooling → dropout → 1×1 conv
    ``conv_preds`` → reshape → ``predictions`` activation (keras.applications)."""
    x = conv_bn_act(request.image, int(STEM_WIDTH * alpha), 3, strides=2, use_bias=False, activation="relu6",
                    name="conv1", conv_name="conv1", bn_name="conv1_bn", act_name="conv1_relu")
    for block_id, unit in enumerate(V1_BLOCKS, start=1):
        names = {suffix: f"conv_{suffix}_{block_id}" for suffix in ("pad", "dw", "pw")}
        names.update({f"{op}_{part}": f"conv_{op}_{block_id}_{part}" for op in ("dw", "pw") for part in ("bn", "relu")})
        x = depthwise_separable(x, int(unit.filters * alpha), strides=unit.stride, depth_multiplier=depth_multiplier,
                                name=f"block{block_id}", names=names)

    def head(x):
        x = layers.GlobalAveragePooling2D(keepdims=True, name="avg_pool")(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(request.classes, 1, padding="same", name="conv_preds")(x)
        x = layers.Reshape((request.classes,), name="reshape_2")(x)
        return layers.Activation(request.classifier_activation, name="predictions")(x)

    return x, head


class V2Layout(NamedTuple):
    """What a MobileNetV2 ``variant`` decides: BatchNormalization's epsilon and
    (Keras-convention) momentum, the padding of the stride-2 convs
    (``blocks.mobile.stride_padding``), whether a stage width is truncated to an
    int before ``make_divisible``, and the dropout before ``predictions``."""

    bn_epsilon: float
    bn_momentum: float
    padding: str
    truncate_width: bool
    dropout: float


V2_LAYOUTS = {
    "keras": V2Layout(1e-3, 0.999, "keras", True, 0.0),
    "torchvision": V2Layout(1e-5, 0.9, "symmetric", False, 0.2),  # PyTorch's BN momentum 0.1
}


def v2_layout(variant):
    """The ``V2Layout`` of ``variant`` ("keras" or "torchvision"), or a ValueError naming both."""
    if variant not in V2_LAYOUTS:
        raise ValueError(f"MobileNetV2 variant must be one of {list(V2_LAYOUTS)}; got {variant!r}")
    return V2_LAYOUTS[variant]


def v2_plan(alpha=1.0, variant="keras"):
    """``[(block name, filters, expansion, stride)]`` of the inverted residuals, one
    per repeat of ``V2_BLOCKS`` (``("expanded_conv", 16, 1, 1)``, ``("block_1", 24, 6, 2)``,
    ...): what ``_v2`` builds and the torchvision name table walks."""
    layout, plan = v2_layout(variant), []
    for stage in V2_BLOCKS:
        width = stage.c * alpha
        filters = make_divisible(int(width) if layout.truncate_width else width, 8)
        for index in range(stage.n):
            plan.append((_v2_block_name(len(plan)), filters, stage.t, stage.s if index == 0 else 1))
    return plan


def _v2(request, alpha, variant="keras"):
    """A 3×3 stride-2 conv, the inverted residuals of ``V2_BLOCKS`` (``v2_plan``),
    a 1×1 conv to 1280 (scaled only for alpha > 1); the top is global average
    pooling → ``predictions``.

    ``variant="torchvision"`` is torchvision's ``mobilenet_v2`` (its state_dict
    converts, ``models.torch_weights``); the weights and layer names are the same,
    but: BN epsilon 1e-5 (Keras 1e-3) and momentum 0.9 (PyTorch's 0.1; Keras
    0.999); the stride-2 convs (the stem and four depthwise convs) pad 1 pixel
    on every side (explicit ``Conv1_pad`` and ``block_{i}_pad``; Keras pads 0
    before, 1 after an even side); stage widths ``make_divisible(c * alpha)`` (Keras
    truncates ``c * alpha`` first; equal at 1.0); dropout 0.2 (``top_dropout``)
    before ``predictions``; inputs normalised as torchvision's (preprocessing "torch")."""
    layout = v2_layout(variant)
    bn = dict(use_bias=False, activation="relu6", bn_epsilon=layout.bn_epsilon, bn_momentum=layout.bn_momentum)
    stem_padding = "same" if layout.padding == "keras" else 1  # an int: a symmetric ZeroPadding2D "Conv1_pad"
    x = conv_bn_act(request.image, make_divisible(STEM_WIDTH * alpha, 8), 3, strides=2, padding=stem_padding, **bn,
                    name="Conv1", conv_name="Conv1", bn_name="bn_Conv1", act_name="Conv1_relu")
    for block, filters, expansion, stride in v2_plan(alpha, variant):
        x = inverted_residual(x, filters, expansion=expansion, strides=stride, bn_epsilon=layout.bn_epsilon,
                              bn_momentum=layout.bn_momentum, padding=layout.padding, name=block)
    last = make_divisible(V2_LAST_WIDTH * alpha, 8) if alpha > 1.0 else V2_LAST_WIDTH
    x = conv_bn_act(x, last, 1, padding="valid", **bn, name="Conv_1", conv_name="Conv_1", bn_name="Conv_1_bn",
                    act_name="out_relu")
    return x, request.gap_head(layout.dropout)


def _name_of(version):
    """The default model name: Keras's at 224, with ``_torchvision`` appended in that layout."""
    def name_of(options):
        name = FILES[version].default_name(options["alpha"], options.get("depth_multiplier", 1), DEFAULT_ROWS)
        variant = options.get("variant", "keras")
        v2_layout(variant)  # an unknown variant is refused before anything is built
        return name if variant == "keras" else f"{name}_{variant}"

    return name_of


ROWS = (
    _common.Row("mobilenet", "MobileNet", "mobilenet", V1_PAPER, 4_253_864, "tf", (224, 224, 3), 32,
                doc="MobileNet v1: " + _v1.__doc__ + "\n\n``alpha`` scales the widths, ``depth_multiplier`` the "
                "depthwise convs. ``weights=\"imagenet\"`` needs alpha in 0.25/0.5/0.75/1.0 and depth_multiplier 1.",
                options={"version": 1}, user_options={"alpha": 1.0, "depth_multiplier": 1, "dropout": 1e-3},
                taps=v1_taps(), weights=functools.partial(_imagenet, 1), name_of=_name_of(1)),
    _common.Row("mobilenet_v2", "MobileNetV2", "mobilenet", V2_PAPER, 3_538_984, "tf", (224, 224, 3), 32,
                doc="MobileNetV2: " + _v2.__doc__ + "\n\n``weights=\"imagenet\"`` needs alpha in "
                "0.35/0.5/0.75/1.0/1.3/1.4 and ``variant=\"keras\"``.",
                options={"version": 2}, user_options={"alpha": 1.0, "variant": "keras"}, taps=v2_taps(),
                weights=functools.partial(_imagenet, 2), name_of=_name_of(2)),
    # torchvision's mobilenet_v2 layout (see ``_v2``): the same weights, so the same count.
    _common.Row("mobilenet_v2_torchvision", None, "mobilenet", V2_PAPER, 3_538_984, "torch", (224, 224, 3), 32,
                base="mobilenet_v2", fixed={"variant": "torchvision"}, taps=v2_taps()),
)
_BUILDERS = _common.define(ROWS, mobilenet)
MobileNet, MobileNetV2 = _BUILDERS["MobileNet"], _BUILDERS["MobileNetV2"]
