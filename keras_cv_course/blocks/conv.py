"""Convolution units shared by every family: Conv2D, optional BatchNorm, activation.

Naming follows ../shared/DESIGN.md: the caller passes ``name`` and each layer is
named after it. Families that must reproduce keras.applications names exactly
(``conv1/conv`` in DenseNet, ``block1_conv1`` in VGG) override the individual
layer names through ``conv_name``, ``bn_name`` and ``act_name``.
"""

import keras
from keras import layers


def activation_layer(activation, name):
    """Return a named activation layer for ``activation`` ("relu", "swish", ...)."""
    if activation == "relu6":
        return layers.ReLU(6.0, name=name)
    return layers.Activation(activation, name=name)


def conv_bn_act(
    x,
    filters,
    kernel_size,
    *,
    name,
    strides=1,
    padding="same",
    groups=1,
    dilation_rate=1,
    batch_norm=True,
    activation="relu",
    use_bias=None,
    bn_epsilon=1e-3,
    bn_momentum=0.99,
    conv_name=None,
    bn_name=None,
    act_name=None,
    kernel_initializer="glorot_uniform",
):
    """Conv2D → BatchNorm (optional) → activation (optional).

    Without batch norm the activation is fused into the Conv2D, as keras.applications
    does for VGG, so the unit is a single layer. ``use_bias`` defaults to
    ``not batch_norm`` (a bias before BatchNorm is redundant).
    ``padding`` may be "same", "valid" or an int/tuple for explicit symmetric zero
    padding (PyTorch style), which adds a ZeroPadding2D named ``{name}_pad``.

    Layer names: ``{name}_conv``, ``{name}_bn``, ``{name}_{activation}`` unless
    overridden by ``conv_name``/``bn_name``/``act_name``.
    """
    if use_bias is None:
        use_bias = not batch_norm
    if not isinstance(padding, str):
        x = layers.ZeroPadding2D(padding, name=f"{name}_pad")(x)
        padding = "valid"
    fused = activation if (activation and not batch_norm) else None
    x = layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        groups=groups,
        dilation_rate=dilation_rate,
        use_bias=use_bias,
        activation=fused,
        kernel_initializer=kernel_initializer,
        name=conv_name or f"{name}_conv",
    )(x)
    if batch_norm:
        x = layers.BatchNormalization(
            epsilon=bn_epsilon, momentum=bn_momentum, name=bn_name or f"{name}_bn"
        )(x)
        if activation:
            x = activation_layer(activation, act_name or f"{name}_{activation}")(x)
    return x


def dense_act(x, units, *, name, activation="relu", dropout=0.0):
    """Dropout (optional, applied first as in AlexNet/VGG classifiers) → Dense."""
    if dropout:
        x = layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return layers.Dense(units, activation=activation, name=name)(x)


__all__ = ["activation_layer", "conv_bn_act", "dense_act"]
