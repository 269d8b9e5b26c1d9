"""VGG (Simonyan & Zisserman 2015, "Very Deep Convolutional Networks for
Large-Scale Image Recognition", arXiv:1409.1556), configurations A, B, D, E.

Layer names, order and options are keras.applications' (``block{i}_conv{j}``,
``block{i}_pool``, ``flatten``, ``fc1``, ``fc2``, ``predictions``), so its ImageNet
files load unchanged. Deviations from the paper, selectable:
- keras.applications has no dropout in the classifier; the paper used 0.5 before
  fc2 and predictions: ``dropout=0.5``.
- ``batch_norm=True`` is torchvision's ``vgg*_bn`` (BN after every conv; not in
  the paper). Its published parameter counts are trainable weights only (PyTorch
  keeps BN statistics as buffers).
"""

import functools

from keras import layers

from keras_cv_course.blocks import conv_bn_act
from keras_cv_course.models import _common
from keras_cv_course.models.registry import FeatureTap, register

STAGE_WIDTHS = (64, 128, 256, 512, 512)
CONVS_PER_STAGE = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}
PAPER = "Simonyan & Zisserman 2015, Very Deep Convolutional Networks for Large-Scale Image Recognition"

IMAGENET_WEIGHTS = {
    16: {
        "imagenet": _common.keras_weights(
            "vgg16",
            "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
            "64373286793e3c8b2b4e3219cbf3544b",
            "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
            "6d6bbae143d832006294945121d1f1fc",
            preprocessing="caffe",
            input_size=224,
        )
    },
    19: {
        "imagenet": _common.keras_weights(
            "vgg19",
            "vgg19_weights_tf_dim_ordering_tf_kernels.h5",
            "cbe5617147190e668d6c5d5026f83318",
            "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
            "253f8cb515780f3b799900260a226db6",
            preprocessing="caffe",
            input_size=224,
        )
    },
}


def vgg(
    depth,
    *,
    batch_norm=False,
    dropout=0.0,
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name=None,
):
    """The generic VGG builder: ``depth`` in 11, 13, 16, 19 picks the row of
    ``CONVS_PER_STAGE``; every conv is 3×3 "same", every pool 2×2 stride 2."""
    if depth not in CONVS_PER_STAGE:
        raise ValueError(f"VGG depth must be one of {sorted(CONVS_PER_STAGE)}; got {depth!r}")
    name = name or f"vgg{depth}{'_bn' if batch_norm else ''}"
    image, inputs, spec = _common.prepare(
        name,
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        default_size=224,
        min_size=32,
        available_weights={} if batch_norm else IMAGENET_WEIGHTS.get(depth),
        require_flatten=True,
    )
    x = image
    for stage, (convs, width) in enumerate(zip(CONVS_PER_STAGE[depth], STAGE_WIDTHS), start=1):
        for index in range(1, convs + 1):
            unit = f"block{stage}_conv{index}"
            x = conv_bn_act(x, width, 3, name=unit, conv_name=unit, batch_norm=batch_norm, use_bias=True)
        x = layers.MaxPooling2D(2, strides=2, name=f"block{stage}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        if dropout:
            x = layers.Dropout(dropout, name="fc1_dropout")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        if dropout:
            x = layers.Dropout(dropout, name="fc2_dropout")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.pool_features(x, pooling)
    return _common.finish_model(inputs, x, name=name, weights=weights, weight_spec=spec, include_top=include_top)


def _public(depth, batch_norm):
    return _common.application(
        functools.partial(vgg, batch_norm=batch_norm),
        depth,
        f"VGG{depth}{'_BN' if batch_norm else ''}",
        f"VGG-{depth}{' with batch norm' if batch_norm else ''} ({PAPER}). See ``vgg``.",
        dropout=0.0,
    )


def _taps(depth, batch_norm):
    convs = CONVS_PER_STAGE[depth]
    suffix = "_relu" if batch_norm else ""
    taps = [
        FeatureTap(f"P{stage - 1}", f"block{stage}_conv{convs[stage - 1]}{suffix}", STAGE_WIDTHS[stage - 1], 2 ** (stage - 1))
        for stage in range(2, 6)
    ]
    return tuple(taps) + (FeatureTap("P5", "block5_pool", 512, 32),)


VGG11, VGG13, VGG16, VGG19 = (_public(d, False) for d in (11, 13, 16, 19))
VGG11_BN, VGG13_BN, VGG16_BN, VGG19_BN = (_public(d, True) for d in (11, 13, 16, 19))

# Parameter counts of the default build (224×224×3, 1000 classes), as Keras counts
# them; for *_bn that includes BN moving statistics (4 per channel).
_PARAMS = {
    (11, False): 132_863_336,
    (13, False): 133_047_848,
    (16, False): 138_357_544,
    (19, False): 143_667_240,
    (11, True): 132_874_344,
    (13, True): 133_059_624,
    (16, True): 138_374_440,
    (19, True): 143_689_256,
}

for (_depth, _bn), _builder in zip(
    [(d, b) for b in (False, True) for d in (11, 13, 16, 19)],
    (VGG11, VGG13, VGG16, VGG19, VGG11_BN, VGG13_BN, VGG16_BN, VGG19_BN),
):
    register(
        f"vgg{_depth}{'_bn' if _bn else ''}",
        _builder,
        family="vgg",
        paper=PAPER,
        input_shape=(224, 224, 3),
        min_size=32,
        params=_PARAMS[(_depth, _bn)],
        preprocessing="caffe",
        taps=_taps(_depth, _bn),
        weights={} if _bn else dict(IMAGENET_WEIGHTS.get(_depth, {})),
    )
