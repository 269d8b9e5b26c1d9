"""Inception modules.

- ``inception_naive`` and ``inception_module``: GoogLeNet's module (Szegedy et al.
  2015, "Going Deeper with Convolutions", arXiv:1409.4842, Fig. 2a and 2b):
  parallel 1×1, 3×3, 5×5 convolutions and 3×3 max pooling, concatenated; the
  second form puts 1×1 reductions before the 3×3 and 5×5 convs and a 1×1
  projection after the pooling.
- ``inception_v3_*``: Inception-v3's factorized modules (Szegedy et al. 2016,
  "Rethinking the Inception Architecture for Computer Vision", arXiv:1512.00567):
  5×5 as two 3×3 (Fig. 5), n×n as 1×n then n×1 (Fig. 6), the expanded 8×8
  module (Fig. 7) and the two grid-size reductions (Fig. 10). Widths, order and
  options are keras.applications' ``InceptionV3`` (conv without bias, BN with
  ``scale=False``), so its ImageNet files load unchanged; ``scale=True,
  count_include_pad=True`` give torchvision's ``Inception3`` modules instead
  (BN with a learned gamma; average pools that count their zero padding).

Every block is ``x -> x`` with a required ``name``; every layer is
``{name}_...``. Only the output Concatenate of the v3 modules may be renamed
(``concat_name``), because keras.applications names it ``mixed{i}``.
"""

from keras import layers

from keras_cv_course.blocks.conv import conv_bn_act


def inception_naive(x, filters, *, name, batch_norm=False, activation="relu"):
    """The naive module (Fig. 2a): 1×1, 3×3 and 5×5 convs and a 3×3 max pool of
    the input, side by side. ``filters = (n1x1, n3x3, n5x5)``; output channels
    ``n1x1 + n3x3 + n5x5 + in_channels`` (the pool passes every input map).

    Layers: ``{name}_branch1``, ``{name}_branch2``, ``{name}_branch3`` (conv units),
    ``{name}_branch4_pool``, ``{name}_concat``.
    """
    n1, n3, n5 = filters
    unit = _unit(batch_norm, activation)
    b1 = conv_bn_act(x, n1, 1, name=f"{name}_branch1", **unit)
    b2 = conv_bn_act(x, n3, 3, name=f"{name}_branch2", **unit)
    b3 = conv_bn_act(x, n5, 5, name=f"{name}_branch3", **unit)
    b4 = layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_branch4_pool")(x)
    return layers.Concatenate(axis=-1, name=f"{name}_concat")([b1, b2, b3, b4])


def inception_module(x, filters, *, name, middle_kernel=5, batch_norm=True, activation="relu", bn_epsilon=1e-3):
    """The module with dimension reductions (Fig. 2b).

    ``filters = (n1x1, n3x3_reduce, n3x3, n5x5_reduce, n5x5, pool_proj)``, the
    columns of the paper's Table 1; output channels ``n1x1 + n3x3 + n5x5 + pool_proj``.
    ``middle_kernel`` is the kernel of the "5×5" branch: 5 in the paper, 3 in
    torchvision's GoogLeNet (a long-standing quirk its weights depend on).
    ``batch_norm=False`` is the paper's conv + bias + ReLU.

    Names follow torchvision's module paths with "." → "_" (``branch2.0.conv`` →
    ``{name}_branch2_0_conv``): ``{name}_branch1``, ``{name}_branch2_0`` (reduce),
    ``{name}_branch2_1``, ``{name}_branch3_0``, ``{name}_branch3_1``,
    ``{name}_branch4_pool``, ``{name}_branch4_1`` (projection), ``{name}_concat``;
    each conv unit has ``_conv`` (+ ``_bn``, ``_relu`` with batch norm).
    """
    n1, n3r, n3, n5r, n5, proj = filters
    unit = _unit(batch_norm, activation, bn_epsilon)
    b1 = conv_bn_act(x, n1, 1, name=f"{name}_branch1", **unit)
    b2 = conv_bn_act(x, n3r, 1, name=f"{name}_branch2_0", **unit)
    b2 = conv_bn_act(b2, n3, 3, name=f"{name}_branch2_1", **unit)
    b3 = conv_bn_act(x, n5r, 1, name=f"{name}_branch3_0", **unit)
    b3 = conv_bn_act(b3, n5, middle_kernel, name=f"{name}_branch3_1", **unit)
    b4 = layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_branch4_pool")(x)
    b4 = conv_bn_act(b4, proj, 1, name=f"{name}_branch4_1", **unit)
    return layers.Concatenate(axis=-1, name=f"{name}_concat")([b1, b2, b3, b4])


def _unit(batch_norm, activation, bn_epsilon=1e-3):
    unit = dict(batch_norm=batch_norm, activation=activation, bn_epsilon=bn_epsilon)
    if not batch_norm:
        unit["use_bias"] = True
    return unit


def max_pool_ceil(x, pool_size, strides, *, name):
    """Max pooling with PyTorch/Caffe's ``ceil_mode=True`` output size,
    ``ceil((H - k) / s) + 1``, for NON-NEGATIVE inputs (post-ReLU maps), as
    GoogLeNet and SqueezeNet pool.

    Zero-padding ``s - 1`` pixels at the bottom/right and pooling "valid" gives
    exactly that size; on non-negative inputs a padded zero never exceeds the
    window's maximum, so the values equal PyTorch's too. Keras "same" pooling
    differs on odd sizes (it pads the top/left as well).
    Layers: ``{name}_pad`` (only when s > 1) and ``{name}`` (the MaxPooling2D).
    """
    if strides > 1:
        x = layers.ZeroPadding2D(((0, strides - 1), (0, strides - 1)), name=f"{name}_pad")(x)
    return layers.MaxPooling2D(pool_size, strides=strides, name=name)(x)


# ---------------------------------------------------------------- Inception-v3


def inception_v3_conv(x, filters, kernel_size, *, name, strides=1, padding="same", scale=False):
    """keras.applications' ``conv2d_bn``: Conv2D (no bias) → BatchNormalization
    (``scale=False``, epsilon 1e-3) → ReLU. Layers ``{name}_conv``, ``{name}_bn``,
    ``{name}_relu``. ``scale=True`` gives the BN a learned gamma, as torchvision's
    ``BasicConv2d`` has (``nn.BatchNorm2d(eps=0.001)``)."""
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(axis=-1, scale=scale, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def _avg_pool_branch(x, filters, name, scale, count_include_pad):
    """3×3/1 average pool → 1×1 projection. Keras's "same" pooling averages only
    the pixels inside the map; ``count_include_pad=True`` is PyTorch's
    ``F.avg_pool2d(x, 3, stride=1, padding=1)``, which counts the zero padding in
    the divisor (a border pixel is the window sum / 9): zero padding 1 → "valid"
    pool (``{name}_branch_pool_pad``, ``{name}_branch_pool``)."""
    if count_include_pad:
        y = layers.ZeroPadding2D(1, name=f"{name}_branch_pool_pad")(x)
        y = layers.AveragePooling2D(3, strides=1, padding="valid", name=f"{name}_branch_pool")(y)
    else:
        y = layers.AveragePooling2D(3, strides=1, padding="same", name=f"{name}_branch_pool")(x)
    return inception_v3_conv(y, filters, 1, name=f"{name}_branch_pool_proj", scale=scale)


def _chain(x, rows, name, scale):
    """Convs in sequence: ``rows`` of (filters, kernel[, strides, padding])
    named ``{name}_1``, ``{name}_2``, ..."""
    for index, (filters, kernel, *rest) in enumerate(rows, start=1):
        strides, padding = rest if rest else (1, "same")
        x = inception_v3_conv(x, filters, kernel, strides=strides, padding=padding, name=f"{name}_{index}",
                              scale=scale)
    return x


# The v3 modules share two options, both False for keras.applications' layout and
# True for torchvision's: ``scale`` (a learned BN gamma, see ``inception_v3_conv``)
# and ``count_include_pad`` (the average-pool branch counts its zero padding, see
# ``_avg_pool_branch``). Keras's "same" convs equal torchvision's symmetric paddings
# (5×5 pad 2, 1×7 pad (0, 3), ...), as every kernel is odd and every stride 1.


def inception_v3_a(x, pool_filters, *, name, concat_name=None, scale=False, count_include_pad=False):
    """35×35 module (Fig. 5; keras ``mixed0``–``mixed2``): 1×1 64 | 1×1 48 → 5×5 64 |
    1×1 64 → 3×3 96 → 3×3 96 | avg pool → 1×1 ``pool_filters``.
    Output ``224 + pool_filters`` channels. (The released network, and keras,
    keep a 5×5 branch beside the factorized double-3×3 one of Fig. 5.)"""
    b1 = inception_v3_conv(x, 64, 1, name=f"{name}_branch1x1", scale=scale)
    b5 = _chain(x, ((48, 1), (64, 5)), f"{name}_branch5x5", scale)
    b3 = _chain(x, ((64, 1), (96, 3), (96, 3)), f"{name}_branch3x3dbl", scale)
    bp = _avg_pool_branch(x, pool_filters, name, scale, count_include_pad)
    return layers.Concatenate(axis=-1, name=concat_name or f"{name}_concat")([b1, b5, b3, bp])


def inception_v3_reduction_a(x, *, name, concat_name=None, scale=False):
    """35×35 → 17×17 grid reduction (Fig. 10; keras ``mixed3``): 3×3/2 384 |
    1×1 64 → 3×3 96 → 3×3/2 96 | 3×3/2 max pool. Output ``480 + in_channels``."""
    b3 = inception_v3_conv(x, 384, 3, strides=2, padding="valid", name=f"{name}_branch3x3", scale=scale)
    bd = _chain(x, ((64, 1), (96, 3), (96, 3, 2, "valid")), f"{name}_branch3x3dbl", scale)
    bp = layers.MaxPooling2D(3, strides=2, name=f"{name}_branch_pool")(x)
    return layers.Concatenate(axis=-1, name=concat_name or f"{name}_concat")([b3, bd, bp])


def inception_v3_b(x, channels_7x7, *, name, concat_name=None, scale=False, count_include_pad=False):
    """17×17 module with factorized 7×7 convs (Fig. 6, n=7; keras ``mixed4``–
    ``mixed7``): 1×1 192 | 1×1 c → 1×7 c → 7×1 192 | 1×1 c → 7×1 c → 1×7 c →
    7×1 c → 1×7 192 | avg pool → 1×1 192, ``c = channels_7x7``. Output 768."""
    c = channels_7x7
    b1 = inception_v3_conv(x, 192, 1, name=f"{name}_branch1x1", scale=scale)
    b7 = _chain(x, ((c, 1), (c, (1, 7)), (192, (7, 1))), f"{name}_branch7x7", scale)
    bd = _chain(x, ((c, 1), (c, (7, 1)), (c, (1, 7)), (c, (7, 1)), (192, (1, 7))), f"{name}_branch7x7dbl", scale)
    bp = _avg_pool_branch(x, 192, name, scale, count_include_pad)
    return layers.Concatenate(axis=-1, name=concat_name or f"{name}_concat")([b1, b7, bd, bp])


def inception_v3_reduction_b(x, *, name, concat_name=None, scale=False):
    """17×17 → 8×8 grid reduction (keras ``mixed8``): 1×1 192 → 3×3/2 320 |
    1×1 192 → 1×7 192 → 7×1 192 → 3×3/2 192 | 3×3/2 max pool. Output ``512 + in_channels``."""
    b3 = _chain(x, ((192, 1), (320, 3, 2, "valid")), f"{name}_branch3x3", scale)
    b7 = _chain(x, ((192, 1), (192, (1, 7)), (192, (7, 1)), (192, 3, 2, "valid")), f"{name}_branch7x7x3", scale)
    bp = layers.MaxPooling2D(3, strides=2, name=f"{name}_branch_pool")(x)
    return layers.Concatenate(axis=-1, name=concat_name or f"{name}_concat")([b3, b7, bp])


def inception_v3_c(x, *, name, concat_name=None, split_concat_name=None, scale=False, count_include_pad=False):
    """8×8 module with expanded filter banks (Fig. 7; keras ``mixed9``, ``mixed10``):
    1×1 320 | 1×1 384 → (1×3 384 ‖ 3×1 384) | 1×1 448 → 3×3 384 → (1×3 384 ‖
    3×1 384) | avg pool → 1×1 192. Output 2048.

    ``split_concat_name`` renames the first branch's inner Concatenate (keras
    calls it ``mixed9_0`` in mixed9 and ``mixed9_1`` in mixed10)."""
    b1 = inception_v3_conv(x, 320, 1, name=f"{name}_branch1x1", scale=scale)
    b3 = inception_v3_conv(x, 384, 1, name=f"{name}_branch3x3", scale=scale)
    b3 = layers.Concatenate(axis=-1, name=split_concat_name or f"{name}_branch3x3_concat")(
        [
            inception_v3_conv(b3, 384, (1, 3), name=f"{name}_branch3x3_1x3", scale=scale),
            inception_v3_conv(b3, 384, (3, 1), name=f"{name}_branch3x3_3x1", scale=scale),
        ]
    )
    bd = _chain(x, ((448, 1), (384, 3)), f"{name}_branch3x3dbl", scale)
    bd = layers.Concatenate(axis=-1, name=f"{name}_branch3x3dbl_concat")(
        [
            inception_v3_conv(bd, 384, (1, 3), name=f"{name}_branch3x3dbl_1x3", scale=scale),
            inception_v3_conv(bd, 384, (3, 1), name=f"{name}_branch3x3dbl_3x1", scale=scale),
        ]
    )
    bp = _avg_pool_branch(x, 192, name, scale, count_include_pad)
    return layers.Concatenate(axis=-1, name=concat_name or f"{name}_concat")([b1, b3, bd, bp])


__all__ = [
    "max_pool_ceil",
    "inception_naive",
    "inception_module",
    "inception_v3_conv",
    "inception_v3_a",
    "inception_v3_reduction_a",
    "inception_v3_b",
    "inception_v3_reduction_b",
    "inception_v3_c",
]
