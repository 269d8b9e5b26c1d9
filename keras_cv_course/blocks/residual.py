"""Residual blocks (He, Zhang, Ren & Sun 2015/2016; Xie et al. 2017; Zagoruyko &
Komodakis 2016).

- ``basic_block``: two 3×3 convs (ResNet-18/34, the CIFAR ResNets).
- ``bottleneck_block``: 1×1 reduce → 3×3 → 1×1 expand (ResNet-50/101/152). With
  ``groups > 1`` the 3×3 is a real grouped ``Conv2D(groups=...)`` and the block IS
  the aggregated ResNeXt block (Xie et al. 2017, Fig. 3c); ``width_per_group``
  widens it (``groups=1, width_per_group=128`` is Wide ResNet-50-2's block).
- ``preact_bottleneck_block`` / ``preact_basic_block``: pre-activation (v2)
  blocks (He et al. 2016, "Identity Mappings in Deep Residual Networks"):
  BN → ReLU before each conv, nothing after the addition.

Every block is ``x -> x`` with a required keyword ``name`` and names its layers
with keras.applications' ResNet grammar: ``{name}_0_*`` the shortcut branch,
``{name}_{1,2,3}_{conv,bn,relu}`` the residual branch, ``{name}_add`` and
``{name}_out`` (v1), ``{name}_preact_{bn,relu}`` and ``{name}_out`` (v2).

Shortcuts. Post-activation (v1) blocks keep the identity when the output shape
equals the input shape; otherwise ``shortcut="projection"`` (option B of He et
al. 2015: strided 1×1 conv + BN) or ``shortcut="zero_pad"`` (option A: subsample
and pad the new channels with zeros, parameter-free; ``ZeroPadShortcut``).
Pre-activation blocks follow keras.applications' ResNetV2: a strided 1×1 conv on
the pre-activated input when the channel count changes, a parameter-free 1×1
max-pool subsampling of the raw input when only the stride does.
"""

import keras
from keras import layers, ops

from keras_cv_course.blocks.conv import conv_bn_act

SHORTCUTS = ("projection", "zero_pad")


@keras.saving.register_keras_serializable(package="keras_cv_course")
class ZeroPadShortcut(keras.layers.Layer):
    """Option-A shortcut of He et al. 2015 §3.3/§4.2: ``x[:, ::stride, ::stride]``
    with ``channels - in_channels`` zero channels added, split evenly before and
    after the existing ones (as the common CIFAR reproductions do). No weights."""

    def __init__(self, channels, stride=1, **kwargs):
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.stride = int(stride)

    def call(self, inputs):
        x = inputs[:, :: self.stride, :: self.stride, :] if self.stride > 1 else inputs
        extra = self.channels - x.shape[-1]
        if extra < 0:
            raise ValueError(f"ZeroPadShortcut cannot shrink {x.shape[-1]} channels to {self.channels}")
        return ops.pad(x, [[0, 0], [0, 0], [0, 0], [extra // 2, extra - extra // 2]])

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        height, width = (None if side is None else -(-side // self.stride) for side in (height, width))
        return (batch, height, width, self.channels)

    def get_config(self):
        config = super().get_config()
        config.update(channels=self.channels, stride=self.stride)
        return config


def bottleneck_width(filters, groups=1, width_per_group=64):
    """Channels of a bottleneck's 3×3 conv: ``int(filters * width_per_group / 64) * groups``
    (torchvision's formula; 64 → 64, ResNeXt 32x4d: 64 → 128, WRN-50-2: 64 → 128)."""
    return int(filters * (width_per_group / 64.0)) * groups


def _conv_options(use_bias, bn_epsilon, bn_momentum, kernel_initializer):
    return dict(use_bias=use_bias, bn_epsilon=bn_epsilon, bn_momentum=bn_momentum, kernel_initializer=kernel_initializer)


def _padding(kernel_size, stride):
    """"same" at stride 1; explicit symmetric zero padding (PyTorch / Keras v2
    style, a ``{name}_pad`` layer) when strided, where TF's "same" would pad
    asymmetrically."""
    return "same" if stride == 1 else kernel_size // 2


def _v1_shortcut(x, out_channels, stride, *, name, shortcut, options):
    if stride == 1 and x.shape[-1] == out_channels:
        return x
    if shortcut == "projection":
        return conv_bn_act(x, out_channels, 1, strides=stride, padding="valid", activation=None, name=f"{name}_0", **options)
    if shortcut == "zero_pad":
        return ZeroPadShortcut(out_channels, stride, name=f"{name}_0_pad")(x)
    raise ValueError(f"shortcut must be one of {SHORTCUTS}; got {shortcut!r}")


def _v1_merge(shortcut, x, name):
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def basic_block(
    x,
    filters,
    *,
    name,
    stride=1,
    shortcut="projection",
    use_bias=False,
    bn_epsilon=1e-5,
    bn_momentum=0.9,
    kernel_initializer="he_normal",
):
    """Post-activation basic block: 3×3 (stride) → BN → ReLU → 3×3 → BN, added to
    the shortcut, then ReLU. Output has ``filters`` channels."""
    options = _conv_options(use_bias, bn_epsilon, bn_momentum, kernel_initializer)
    residual_in = x
    short = _v1_shortcut(x, filters, stride, name=name, shortcut=shortcut, options=options)
    x = conv_bn_act(residual_in, filters, 3, strides=stride, padding=_padding(3, stride), name=f"{name}_1", **options)
    x = conv_bn_act(x, filters, 3, activation=None, name=f"{name}_2", **options)
    return _v1_merge(short, x, name)


def bottleneck_block(
    x,
    filters,
    *,
    name,
    stride=1,
    groups=1,
    width_per_group=64,
    expansion=4,
    stride_on="3x3",
    shortcut="projection",
    use_bias=False,
    bn_epsilon=1e-5,
    bn_momentum=0.9,
    kernel_initializer="he_normal",
):
    """Post-activation bottleneck: 1×1 → 3×3 (``groups``) → 1×1 (``filters *
    expansion`` channels), added to the shortcut, then ReLU.

    ``stride_on="1x1"`` strides the first 1×1 (the original paper and
    keras.applications); ``"3x3"`` strides the 3×3 ("ResNet v1.5", torchvision).
    """
    if stride_on not in ("1x1", "3x3"):
        raise ValueError(f"stride_on must be '1x1' or '3x3'; got {stride_on!r}")
    options = _conv_options(use_bias, bn_epsilon, bn_momentum, kernel_initializer)
    width = bottleneck_width(filters, groups, width_per_group)
    out_channels = filters * expansion
    residual_in = x
    short = _v1_shortcut(x, out_channels, stride, name=name, shortcut=shortcut, options=options)
    stride_1, stride_3 = (stride, 1) if stride_on == "1x1" else (1, stride)
    x = conv_bn_act(residual_in, width, 1, strides=stride_1, padding="valid", name=f"{name}_1", **options)
    x = conv_bn_act(x, width, 3, strides=stride_3, padding=_padding(3, stride_3), groups=groups, name=f"{name}_2", **options)
    x = conv_bn_act(x, out_channels, 1, padding="valid", activation=None, name=f"{name}_3", **options)
    return _v1_merge(short, x, name)


def _preactivate(x, name, bn_epsilon, bn_momentum):
    x = layers.BatchNormalization(epsilon=bn_epsilon, momentum=bn_momentum, name=f"{name}_preact_bn")(x)
    return layers.Activation("relu", name=f"{name}_preact_relu")(x)


def _v2_shortcut(x, preact, out_channels, stride, *, name, use_bias, kernel_initializer):
    if x.shape[-1] != out_channels:
        return layers.Conv2D(
            out_channels, 1, strides=stride, use_bias=use_bias, kernel_initializer=kernel_initializer, name=f"{name}_0_conv"
        )(preact)
    if stride > 1:
        return layers.MaxPooling2D(1, strides=stride, name=f"{name}_0_pool")(x)
    return x


def preact_bottleneck_block(
    x,
    filters,
    *,
    name,
    stride=1,
    groups=1,
    width_per_group=64,
    expansion=4,
    use_bias=True,
    bn_epsilon=1.001e-5,
    bn_momentum=0.99,
    kernel_initializer="glorot_uniform",
):
    """Pre-activation bottleneck (keras.applications' ResNetV2 block): BN → ReLU,
    then 1×1 → BN → ReLU → 3×3 (stride, ``groups``) → BN → ReLU → 1×1, added to
    the shortcut (``{name}_out``). ``use_bias`` is for the convs not followed by
    BN (the shortcut's and the last 1×1), as in Keras; the others have none.
    Defaults are Keras's (epsilon 1.001e-5, glorot_uniform)."""
    width = bottleneck_width(filters, groups, width_per_group)
    out_channels = filters * expansion
    options = _conv_options(False, bn_epsilon, bn_momentum, kernel_initializer)
    preact = _preactivate(x, name, bn_epsilon, bn_momentum)
    short = _v2_shortcut(x, preact, out_channels, stride, name=name, use_bias=use_bias, kernel_initializer=kernel_initializer)
    y = conv_bn_act(preact, width, 1, padding="valid", name=f"{name}_1", **options)
    y = conv_bn_act(y, width, 3, strides=stride, padding=1, groups=groups, name=f"{name}_2", **options)
    y = layers.Conv2D(out_channels, 1, use_bias=use_bias, kernel_initializer=kernel_initializer, name=f"{name}_3_conv")(y)
    return layers.Add(name=f"{name}_out")([short, y])


def preact_basic_block(
    x,
    filters,
    *,
    name,
    stride=1,
    dropout=0.0,
    use_bias=False,
    bn_epsilon=1e-5,
    bn_momentum=0.9,
    kernel_initializer="he_normal",
):
    """Pre-activation basic block (Wide ResNet's B(3,3)): BN → ReLU → 3×3 (stride)
    → BN → ReLU → dropout (optional, ``{name}_dropout``) → 3×3, added to the
    shortcut (``{name}_out``)."""
    options = _conv_options(False, bn_epsilon, bn_momentum, kernel_initializer)
    preact = _preactivate(x, name, bn_epsilon, bn_momentum)
    short = _v2_shortcut(x, preact, filters, stride, name=name, use_bias=use_bias, kernel_initializer=kernel_initializer)
    y = conv_bn_act(preact, filters, 3, strides=stride, padding=_padding(3, stride), name=f"{name}_1", **options)
    if dropout:
        y = layers.Dropout(dropout, name=f"{name}_dropout")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=use_bias, kernel_initializer=kernel_initializer, name=f"{name}_2_conv")(y)
    return layers.Add(name=f"{name}_out")([short, y])


__all__ = [
    "ZeroPadShortcut",
    "basic_block",
    "bottleneck_block",
    "bottleneck_width",
    "preact_basic_block",
    "preact_bottleneck_block",
]
