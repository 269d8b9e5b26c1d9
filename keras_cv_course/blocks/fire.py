"""SqueezeNet's fire module (Iandola et al. 2016, arXiv:1602.07360, §3.2)."""

from keras import layers

from keras_cv_course.blocks.conv import conv_bn_act


def fire_module(x, squeeze, expand1x1, expand3x3, *, name, activation="relu"):
    """Squeeze (1×1 conv to ``squeeze`` maps) → expand (1×1 and 3×3 convs side by
    side) → concatenate: ``expand1x1 + expand3x3`` output channels.

    Every conv has a bias and its activation fused in (no batch norm), as in the
    paper and torchvision. Parameters, for ``c`` input channels:
    ``(c + 1) * squeeze + (squeeze + 1) * expand1x1 + (9 * squeeze + 1) * expand3x3``.
    Layers: ``{name}_squeeze1x1``, ``{name}_expand1x1``, ``{name}_expand3x3``,
    ``{name}_concat``.
    """
    unit = dict(batch_norm=False, use_bias=True, activation=activation)
    s = conv_bn_act(x, squeeze, 1, name=f"{name}_squeeze1x1", conv_name=f"{name}_squeeze1x1", **unit)
    e1 = conv_bn_act(s, expand1x1, 1, name=f"{name}_expand1x1", conv_name=f"{name}_expand1x1", **unit)
    e3 = conv_bn_act(s, expand3x3, 3, name=f"{name}_expand3x3", conv_name=f"{name}_expand3x3", **unit)
    return layers.Concatenate(axis=-1, name=f"{name}_concat")([e1, e3])


__all__ = ["fire_module"]
