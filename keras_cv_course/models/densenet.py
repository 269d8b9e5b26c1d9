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

torchvision's DenseNets (``torchvision.models.densenet121/169/201``) have this
layout, module for module: ``features.conv0`` (7×7, stride 2, padding 3) is
``conv1_pad`` + ``conv1_conv``; ``pool0`` (3×3 max, stride 2, padding 1, padded
with -inf) is ``pool1_pad`` (zeros) + ``pool1``, the same numbers because it
follows a ReLU (every window holds a real value ≥ 0); a dense layer's
norm1-relu-conv1 (1×1, 128) -norm2-relu-conv2 (3×3, 32) is
``_0_bn``-``_1_conv``-``_1_bn``-``_2_conv``, its new maps concatenated after the
old ones in both; a transition's norm-relu-conv (channels // 2) -avgpool (2×2,
stride 2, floored) is ``pool{s}_bn``-``_conv``-``_pool``; ``norm5`` is ``bn``, the
final ReLU and adaptive average pool ``relu`` and ``avg_pool``, ``classifier``
(Linear with bias) ``predictions``. Its state_dict converts into these layers
(``models/torchvision_tables/densenet.py``); so at any input size (160×224
included) the logits agree to float32 rounding.

The one difference is the BN epsilon: PyTorch's 1e-5, keras.applications'
1.001e-5. ``bn_epsilon=1e-5`` (``TORCH_BN_EPSILON``) builds torchvision's exactly.
The 1e-8 moves a BN output's normalised part by a relative 0.5e-8 / (var + eps),
so how much the logits move depends on the running variances (measured in float64
on torchvision's models, 224×224, eps 1e-5 against 1.001e-5): 7e-8 relative
(max |Δlogit| / max |logit|) with random running stats in [0.5, 1.5]; 4e-7 with
running stats calibrated to the activations (variances ≥ 0.1), under the 1e-4
parity tolerance either way; but 3e-4 (121: 2.7e-4, 169: 3.6e-4, 201: 3.1e-4)
when a tenth of every conv's output maps are near-dead (weights ×0.01, running
variances down to 1e-5, stats calibrated), a stand-in for the near-dead channels
of trained networks (torchvision's ImageNet files themselves were not measured:
no download here). With norm5's variances at 1e-5 the float32 Keras model misses
torchvision's logits by 2.5e-4 of their scale at 1.001e-5 and by 9e-7 at 1e-5
(``tests/models/test_torchvision_densenet.py``). That is beyond 1e-6 relative
(and the 1e-4 tolerance), hence the option; the default stays Keras's, so Keras's
files give Keras's outputs.
"""

import dataclasses

from keras import layers

from keras_cv_course.blocks import dense_block, transition_block
from keras_cv_course.blocks.dense import BN_EPSILON
from keras_cv_course.models import _common
from keras_cv_course.models.registry import FeatureTap

PAPER = "Huang et al. 2017, Densely Connected Convolutional Networks"
TORCH_BN_EPSILON = 1e-5  # PyTorch's BatchNorm2d default, torchvision's DenseNets
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


def densenet(request, *, depth, bn_epsilon=BN_EPSILON):
    """The generic DenseNet builder: ``BLOCKS[depth]`` dense layers per block
    (``conv2`` … ``conv5``), a transition (``pool2`` … ``pool4``) between blocks,
    ``bn``, ``relu``, then the global-average-pooling head. ``bn_epsilon`` is every
    BN's epsilon (Keras's 1.001e-5; torchvision's 1e-5, see the module docstring)."""
    x = layers.ZeroPadding2D(3, name="conv1_pad")(request.image)
    x = layers.Conv2D(STEM_WIDTH, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = layers.BatchNormalization(axis=-1, epsilon=bn_epsilon, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for stage, num_layers in enumerate(BLOCKS[depth], start=2):
        x = dense_block(x, num_layers, GROWTH_RATE, name=f"conv{stage}", bn_epsilon=bn_epsilon)
        if stage < 5:
            x = transition_block(x, name=f"pool{stage}", compression=0.5, bn_epsilon=bn_epsilon)
    x = layers.BatchNormalization(axis=-1, epsilon=bn_epsilon, name="bn")(x)
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
    """``row`` with what its depth decides: taps, Keras's weight files (the Keras
    epsilon only), docstring, and the ``_torchvision`` name of PyTorch's epsilon."""
    depth = row.options["depth"]
    return dataclasses.replace(row, taps=_taps(depth), weights=_keras_files(depth), name_of=_epsilon_name(row.name),
                               doc=f"DenseNet-{depth}, blocks {BLOCKS[depth]} ({PAPER}). See ``densenet``.")


def _keras_files(depth):
    return lambda options: IMAGENET_WEIGHTS[depth] if options.get("bn_epsilon", BN_EPSILON) == BN_EPSILON else {}


def _epsilon_name(name):
    """``densenet121`` with Keras's epsilon, ``densenet121_torchvision`` with PyTorch's."""
    return lambda options: f"{name}_torchvision" if options.get("bn_epsilon") == TORCH_BN_EPSILON else name


EPSILON = {"bn_epsilon": BN_EPSILON}
# ``params``: count_params() of the default build, as keras.applications counts.
ROWS = tuple(_derived(row) for row in (
    _common.Row("densenet121", "DenseNet121", "densenet", PAPER, 8_062_504, "torch", (224, 224, 3), 32,
                options={"depth": 121}, user_options=EPSILON),
    _common.Row("densenet169", "DenseNet169", "densenet", PAPER, 14_307_880, "torch", (224, 224, 3), 32,
                options={"depth": 169}, user_options=EPSILON),
    _common.Row("densenet201", "DenseNet201", "densenet", PAPER, 20_242_984, "torch", (224, 224, 3), 32,
                options={"depth": 201}, user_options=EPSILON),
)) + tuple(  # torchvision's DenseNets: the same layout with PyTorch's BN epsilon (weights="torchvision")
    _common.Row(f"densenet{depth}_torchvision", None, "densenet", PAPER, params, "torch", (224, 224, 3), 32,
                base=f"densenet{depth}", fixed={"bn_epsilon": TORCH_BN_EPSILON}, taps=_taps(depth))
    for depth, params in ((121, 8_062_504), (169, 14_307_880), (201, 20_242_984))
)
_BUILDERS = _common.define(ROWS, densenet)
DenseNet121, DenseNet169, DenseNet201 = _BUILDERS["DenseNet121"], _BUILDERS["DenseNet169"], _BUILDERS["DenseNet201"]
