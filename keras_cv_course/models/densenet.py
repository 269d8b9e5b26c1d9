"""DenseNet-121, -169, -201 (Huang, Liu, van der Maaten & Weinberger 2017,
"Densely Connected Convolutional Networks", arXiv:1608.06993), DenseNet-BC with
growth rate 32 and compression 0.5.

Layer names, order and options are keras.applications' (``conv1_conv``,
``conv2_block1_0_bn``, ``pool2_conv``, ``bn``, ``relu``, ``avg_pool``,
``predictions``), so its ImageNet files load unchanged and give the same outputs.
The two ZeroPadding2D layers Keras leaves unnamed are ``conv1_pad`` and ``pool1_pad``.

One generic builder, ``densenet(request, depth=...)``, walks ``BLOCKS[depth]``; each
model is one ``_common.Row`` of ``ROWS``, its taps, Keras weight files and docstring
derived from ``depth``.

Feature taps are the BN-ReLU'd output of each dense block: ``conv1_relu`` (P1),
``pool2_relu``, ``pool3_relu``, ``pool4_relu`` (the transitions' pre-activation,
all of the block's maps, before the 1×1 compression) and the final ``relu`` (P5).
"""

import dataclasses

from keras import layers

from keras_cv_course.blocks import dense_block, transition_block
from keras_cv_course.blocks.dense import BN_EPSILON
from keras_cv_course.models import _common
from keras_cv_course.models.registry import FeatureTap

PAPER = "Huang et al. 2017, Densely Connected Convolutional Networks"
GROWTH_RATE = 32
STEM_WIDTH = 64
BLOCKS = {121: (6, 12, 24, 16), 169: (6, 12, 32, 32), 201: (6, 12, 48, 32)}
_HASHES = {  # (top, notop): keras/src/applications/densenet.py
    121: ("9d60b8095a5708f2dcce2bca79d332c7", "30ee3e1110167f948a6b9946edeeb738"),
    169: ("d699b8f76981ab1b30698df4c175e90b", "b8c4d4c20dd625c148057b9ff1c1176b"),
    201: ("1ceb130c1ea1b78c3bf6114dbdfd8807", "c13680b51ded0fb44dff2d8f86ac8bb1"),
}
IMAGENET_WEIGHTS = {
    depth: {
        "imagenet": _common.keras_weights(
            "densenet",
            f"densenet{depth}_weights_tf_dim_ordering_tf_kernels.h5",
            top_hash,
            f"densenet{depth}_weights_tf_dim_ordering_tf_kernels_notop.h5",
            notop_hash,
            preprocessing="torch",
        )
    }
    for depth, (top_hash, notop_hash) in _HASHES.items()
}


def densenet(request, *, depth):
    """The generic DenseNet builder: ``BLOCKS[depth]`` dense layers per block
    (``conv2`` … ``conv5``), a transition (``pool2`` … ``pool4``) between blocks,
    ``bn``, ``relu``, then the global-average-pooling head."""
    x = layers.ZeroPadding2D(3, name="conv1_pad")(request.image)
    x = layers.Conv2D(STEM_WIDTH, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = layers.BatchNormalization(axis=-1, epsilon=BN_EPSILON, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for stage, num_layers in enumerate(BLOCKS[depth], start=2):
        x = dense_block(x, num_layers, GROWTH_RATE, name=f"conv{stage}")
        if stage < 5:
            x = transition_block(x, name=f"pool{stage}", compression=0.5)
    x = layers.BatchNormalization(axis=-1, epsilon=BN_EPSILON, name="bn")(x)
    x = layers.Activation("relu", name="relu")(x)
    return request.finish(request.tail(x, request.gap_head()))


def block_channels(depth):
    """Channels at the end of each dense block: ``(256, 512, 1024, 1024)`` for 121."""
    channels, result = STEM_WIDTH, []
    for num_layers in BLOCKS[depth]:
        channels += num_layers * GROWTH_RATE
        result.append(channels)
        channels //= 2
    return tuple(result)


def _taps(depth):
    c2, c3, c4, c5 = block_channels(depth)
    return (
        FeatureTap("P1", "conv1_relu", STEM_WIDTH, 2),
        FeatureTap("P2", "pool2_relu", c2, 4),
        FeatureTap("P3", "pool3_relu", c3, 8),
        FeatureTap("P4", "pool4_relu", c4, 16),
        FeatureTap("P5", "relu", c5, 32),
    )


def _derived(row):
    """``row`` with what its depth decides: taps, Keras's weight files, docstring."""
    depth = row.options["depth"]
    return dataclasses.replace(row, taps=_taps(depth), weights=IMAGENET_WEIGHTS[depth],
                               doc=f"DenseNet-{depth}, blocks {BLOCKS[depth]} ({PAPER}). See ``densenet``.")


# ``params``: count_params() of the default build, as keras.applications counts.
ROWS = tuple(_derived(row) for row in (
    _common.Row("densenet121", "DenseNet121", "densenet", PAPER, 8_062_504, "torch", (224, 224, 3), 32, options={"depth": 121}),
    _common.Row("densenet169", "DenseNet169", "densenet", PAPER, 14_307_880, "torch", (224, 224, 3), 32, options={"depth": 169}),
    _common.Row("densenet201", "DenseNet201", "densenet", PAPER, 20_242_984, "torch", (224, 224, 3), 32, options={"depth": 201}),
))
_BUILDERS = _common.define(ROWS, densenet)
DenseNet121, DenseNet169, DenseNet201 = _BUILDERS["DenseNet121"], _BUILDERS["DenseNet169"], _BUILDERS["DenseNet201"]
