"""MobileNet (Howard et al. 2017, "MobileNets: Efficient Convolutional Neural
Networks for Mobile Vision Applications", arXiv:1704.04861) and MobileNetV2
(Sandler et al. 2018, "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
arXiv:1801.04381).

Layouts, weighted-layer names, order and options are keras.applications' (``conv1``,
``conv_dw_1``, ``conv_pw_13_relu``, ``conv_preds``; ``Conv1``, ``block_1_expand``,
``block_16_project_BN``, ``Conv_1``, ``out_relu``), so its ImageNet files load
unchanged (file names depend on ``alpha`` and the input size, as in Keras).
Differences from keras.applications, none touching a weight:
- ``weights`` defaults to None; models are named ``mobilenet``/``mobilenet_v2``
  (the registry keys) at alpha 1.0, Keras's ``mobilenet_{alpha}_{rows}`` otherwise;
- the global pooling of the top, unnamed in Keras, is ``avg_pool``.
The paper's MobileNet v1 has no dropout; Keras's 1e-3 is kept as the default.
"""

import warnings

from keras import layers

from keras_cv_course.blocks.conv import conv_bn_act
from keras_cv_course.blocks.mobile import depthwise_separable, inverted_residual, make_divisible
from keras_cv_course.models import _common
from keras_cv_course.models.registry import FeatureTap, register

V1_PAPER = "Howard et al. 2017, MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications"
V2_PAPER = "Sandler et al. 2018, MobileNetV2: Inverted Residuals and Linear Bottlenecks"

# MobileNet v1 (paper Table 1): one row per depthwise-separable unit, (pointwise filters, stride).
V1_BLOCKS = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1),
    (1024, 2), (1024, 1),
)

# MobileNetV2 (paper Table 2): (expansion t, output channels c, repeats n, first stride s).
V2_BLOCKS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)

V1_WEIGHT_ALPHAS = (0.25, 0.50, 0.75, 1.0)
V1_WEIGHT_SIZES = (128, 160, 192, 224)
V2_WEIGHT_ALPHAS = (0.35, 0.50, 0.75, 1.0, 1.3, 1.4)
V2_WEIGHT_SIZES = (96, 128, 160, 192, 224)


def mobilenet_v1_weights(alpha=1.0, rows=224):
    """keras.applications' ImageNet files of MobileNet at ``alpha`` and input ``rows``
    (``mobilenet_1_0_224_tf.h5`` / ``..._tf_no_top.h5``; Keras checks no hash)."""
    alpha_text = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"}[alpha]
    return _common.keras_weights(
        "mobilenet",
        f"mobilenet_{alpha_text}_{rows}_tf.h5",
        None,
        f"mobilenet_{alpha_text}_{rows}_tf_no_top.h5",
        None,
        preprocessing="tf",
        input_size=rows,
    )


def mobilenet_v2_weights(alpha=1.0, rows=224):
    """keras.applications' ImageNet files of MobileNetV2 at ``alpha`` and ``rows``
    (``mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5``; no hash)."""
    stem = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}"
    return _common.keras_weights(
        "mobilenet_v2", f"{stem}.h5", None, f"{stem}_no_top.h5", None, preprocessing="tf", input_size=rows
    )


def _requested_rows(input_shape, input_tensor, sizes):
    """Keras's choice of weight file size: the input side when square and one of
    ``sizes``, else 224 (with a warning, as Keras gives)."""
    shape = input_shape
    if shape is None and input_tensor is not None:
        shape = tuple(input_tensor.shape[1:])
    if shape is not None and shape[0] == shape[1] and shape[0] in sizes:
        return shape[0]
    if shape is not None:
        warnings.warn(
            f"input_shape {shape} is undefined or non-square, or its side is not in {list(sizes)}; "
            "weights for input shape (224, 224) will be loaded.",
            stacklevel=3,
        )
    return 224


def _check_alpha(family, alpha, allowed):
    if alpha not in allowed:
        raise ValueError(f"{family} ImageNet weights exist for alpha in {list(allowed)} only; got alpha={alpha!r}")


def MobileNet(
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name=None,
    alpha=1.0,
    depth_multiplier=1,
    dropout=1e-3,
):
    """MobileNet v1: a 3×3 stride-2 conv then the 13 depthwise-separable units of
    ``V1_BLOCKS``, widths scaled by ``alpha`` (``int(filters * alpha)``), depthwise
    ``depth_multiplier``; the top is global pooling → dropout → 1×1 conv
    ``conv_preds`` → reshape → ``predictions`` activation (keras.applications).

    ``weights="imagenet"`` needs alpha in 0.25/0.5/0.75/1.0 and depth_multiplier 1.
    """
    available = {}
    rows = 224
    if weights == "imagenet":
        _check_alpha("MobileNet", alpha, V1_WEIGHT_ALPHAS)
        if depth_multiplier != 1:
            raise ValueError(f"MobileNet ImageNet weights need depth_multiplier=1; got {depth_multiplier!r}")
        rows = _requested_rows(input_shape, input_tensor, V1_WEIGHT_SIZES)
        available = {"imagenet": mobilenet_v1_weights(alpha, rows)}
    elif input_shape is not None and input_shape[0] == input_shape[1] and input_shape[0] in V1_WEIGHT_SIZES:
        rows = input_shape[0]
    if name is None:
        name = "mobilenet" if (alpha == 1.0 and depth_multiplier == 1) else f"mobilenet_{alpha:0.2f}_{rows}"
    image, inputs, spec = _common.prepare(
        name,
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        default_size=rows,
        min_size=32,
        available_weights=available,
    )
    x = conv_bn_act(
        image, int(32 * alpha), 3, strides=2, use_bias=False, activation="relu6",
        name="conv1", conv_name="conv1", bn_name="conv1_bn", act_name="conv1_relu",
    )
    for block_id, (filters, strides) in enumerate(V1_BLOCKS, start=1):
        x = depthwise_separable(
            x,
            int(filters * alpha),
            strides=strides,
            depth_multiplier=depth_multiplier,
            name=f"block{block_id}",
            names={
                "pad": f"conv_pad_{block_id}",
                "dw": f"conv_dw_{block_id}",
                "dw_bn": f"conv_dw_{block_id}_bn",
                "dw_relu": f"conv_dw_{block_id}_relu",
                "pw": f"conv_pw_{block_id}",
                "pw_bn": f"conv_pw_{block_id}_bn",
                "pw_relu": f"conv_pw_{block_id}_relu",
            },
        )
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True, name="avg_pool")(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, 1, padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        x = layers.Activation(classifier_activation, name="predictions")(x)
    else:
        x = _common.pool_features(x, pooling)
    return _common.finish_model(inputs, x, name=name, weights=weights, weight_spec=spec, include_top=include_top)


def MobileNetV2(
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name=None,
    alpha=1.0,
):
    """MobileNetV2: a 3×3 stride-2 conv, the inverted residuals of ``V2_BLOCKS``
    (widths ``make_divisible(int(c * alpha), 8)``), a 1×1 conv to 1280 (scaled only
    for alpha > 1), global average pooling and ``predictions`` (keras.applications).

    ``weights="imagenet"`` needs alpha in 0.35/0.5/0.75/1.0/1.3/1.4.
    """
    available = {}
    rows = 224
    if weights == "imagenet":
        _check_alpha("MobileNetV2", alpha, V2_WEIGHT_ALPHAS)
        rows = _requested_rows(input_shape, input_tensor, V2_WEIGHT_SIZES)
        available = {"imagenet": mobilenet_v2_weights(alpha, rows)}
    elif input_shape is not None and input_shape[0] == input_shape[1] and input_shape[0] in V2_WEIGHT_SIZES:
        rows = input_shape[0]
    if name is None:
        name = "mobilenet_v2" if alpha == 1.0 else f"mobilenetv2_{alpha:0.2f}_{rows}"
    image, inputs, spec = _common.prepare(
        name,
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        default_size=rows,
        min_size=32,
        available_weights=available,
    )
    x = conv_bn_act(
        image, make_divisible(32 * alpha, 8), 3, strides=2, use_bias=False, activation="relu6",
        bn_momentum=0.999, name="Conv1", conv_name="Conv1", bn_name="bn_Conv1", act_name="Conv1_relu",
    )
    block_id = 0
    for expansion, channels, repeats, first_stride in V2_BLOCKS:
        filters = make_divisible(int(channels * alpha), 8)
        for index in range(repeats):
            x = inverted_residual(
                x,
                filters,
                expansion=expansion,
                strides=first_stride if index == 0 else 1,
                name=f"block_{block_id}" if block_id else "expanded_conv",
            )
            block_id += 1
    last = make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = conv_bn_act(
        x, last, 1, padding="valid", use_bias=False, activation="relu6", bn_momentum=0.999,
        name="Conv_1", conv_name="Conv_1", bn_name="Conv_1_bn", act_name="out_relu",
    )
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.pool_features(x, pooling)
    return _common.finish_model(inputs, x, name=name, weights=weights, weight_spec=spec, include_top=include_top)


# Feature taps: the deepest layer at each stride (at 224: 56, 28, 14, 7 pixels).
V1_TAPS = (
    FeatureTap("P2", "conv_pw_3_relu", 128, 4),
    FeatureTap("P3", "conv_pw_5_relu", 256, 8),
    FeatureTap("P4", "conv_pw_11_relu", 512, 16),
    FeatureTap("P5", "conv_pw_13_relu", 1024, 32),
)
# MobileNetV2: the expansion of the first block of the next stage is the deepest
# (and widest) map before its stride-2 depthwise conv, as SSDLite taps block_13.
V2_TAPS = (
    FeatureTap("P2", "block_3_expand_relu", 144, 4),
    FeatureTap("P3", "block_6_expand_relu", 192, 8),
    FeatureTap("P4", "block_13_expand_relu", 576, 16),
    FeatureTap("P5", "out_relu", 1280, 32),
)

register(
    "mobilenet",
    MobileNet,
    family="mobilenet",
    paper=V1_PAPER,
    input_shape=(224, 224, 3),
    min_size=32,
    params=4_253_864,
    preprocessing="tf",
    taps=V1_TAPS,
    weights={"imagenet": mobilenet_v1_weights(1.0, 224)},
)
register(
    "mobilenet_v2",
    MobileNetV2,
    family="mobilenet",
    paper=V2_PAPER,
    input_shape=(224, 224, 3),
    min_size=32,
    params=3_538_984,
    preprocessing="tf",
    taps=V2_TAPS,
    weights={"imagenet": mobilenet_v2_weights(1.0, 224)},
)
