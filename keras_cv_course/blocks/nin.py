"""Network-in-Network's mlpconv block (Lin, Chen & Yan 2013, arXiv:1312.4400)."""

from keras_cv_course.blocks.conv import conv_bn_act


def mlpconv(x, filters, kernel_size, *, name, strides=1, padding="same", batch_norm=False, activation="relu"):
    """An mlpconv block: a k×k convolution followed by 1×1 convolutions (a
    per-pixel multilayer perceptron shared across locations).

    ``filters`` lists the widths: ``(192, 160, 96)`` is one k×k conv of 192 then
    1×1 convs of 160 and 96. Layers: ``{name}_conv1`` (k×k), ``{name}_conv2``, ...
    ``activation`` follows every conv, the last one included, as in the paper and
    in the Caffe ImageNet model.
    """
    for index, width in enumerate(filters, start=1):
        x = conv_bn_act(
            x,
            width,
            kernel_size if index == 1 else 1,
            strides=strides if index == 1 else 1,
            padding=padding if index == 1 else "valid",
            batch_norm=batch_norm,
            activation=activation,
            name=f"{name}_conv{index}",
            conv_name=f"{name}_conv{index}",
        )
    return x
