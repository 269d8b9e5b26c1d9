"""DenseNet's dense block and transition layer (Huang et al. 2017,
"Densely Connected Convolutional Networks", arXiv:1608.06993).

Layer names and options are keras.applications' (``conv2_block1_0_bn``,
``conv2_block1_1_conv``, ``conv2_block1_concat``, ``pool2_conv``, ...), so its
ImageNet weight files load unchanged: BN epsilon 1.001e-5, convs without bias.
Every function takes ``bn_epsilon`` (torchvision's DenseNets use PyTorch's 1e-5).
"""

from keras import layers

BN_EPSILON = 1.001e-5


def _bn_relu(x, name, bn_epsilon):
    x = layers.BatchNormalization(axis=-1, epsilon=bn_epsilon, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def dense_layer(x, growth_rate, *, name, bottleneck_width=4, bn_epsilon=BN_EPSILON):
    """One DenseNet-B layer: BN-ReLU-1×1 conv (``bottleneck_width * growth_rate``
    maps) → BN-ReLU-3×3 conv (``growth_rate`` maps), concatenated to its input:
    channels grow by ``growth_rate``.

    Layers: ``{name}_0_bn``, ``{name}_0_relu``, ``{name}_1_conv``, ``{name}_1_bn``,
    ``{name}_1_relu``, ``{name}_2_conv``, ``{name}_concat``.
    """
    y = _bn_relu(x, f"{name}_0", bn_epsilon)
    y = layers.Conv2D(bottleneck_width * growth_rate, 1, use_bias=False, name=f"{name}_1_conv")(y)
    y = _bn_relu(y, f"{name}_1", bn_epsilon)
    y = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(y)
    return layers.Concatenate(axis=-1, name=f"{name}_concat")([x, y])


def dense_block(x, num_layers, growth_rate=32, *, name, bottleneck_width=4, bn_epsilon=BN_EPSILON):
    """``num_layers`` dense layers ``{name}_block1`` … ``{name}_block{n}``:
    ``in_channels + num_layers * growth_rate`` output channels, same spatial size."""
    for index in range(1, num_layers + 1):
        x = dense_layer(x, growth_rate, name=f"{name}_block{index}", bottleneck_width=bottleneck_width,
                        bn_epsilon=bn_epsilon)
    return x


def transition_block(x, *, name, compression=0.5, bn_epsilon=BN_EPSILON):
    """BN-ReLU-1×1 conv to ``int(channels * compression)`` maps → 2×2 average
    pooling, stride 2. Layers: ``{name}_bn``, ``{name}_relu``, ``{name}_conv``,
    ``{name}_pool``."""
    channels = x.shape[-1]
    x = _bn_relu(x, name, bn_epsilon)
    x = layers.Conv2D(int(channels * compression), 1, use_bias=False, name=f"{name}_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


__all__ = ["dense_layer", "dense_block", "transition_block"]
