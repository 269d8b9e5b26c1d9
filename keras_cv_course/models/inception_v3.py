"""Inception-v3 (Szegedy, Vanhoucke, Ioffe, Shlens & Wojna 2016, "Rethinking the
Inception Architecture for Computer Vision", arXiv:1512.00567).

The layout, order, widths and layer options are keras.applications'
``InceptionV3`` exactly; its explicit names are kept (``mixed0`` … ``mixed10``,
``mixed9_0``, ``mixed9_1``, ``avg_pool``, ``predictions``). Keras leaves every
conv, BN, activation and pooling layer with an automatic name (``conv2d_17``);
here they are named ``stem_conv1_conv``, ``mixed4_branch7x7dbl_3_bn``, ... The
weighted layers come in the same order with the same shapes, so Keras's legacy
``.h5`` ImageNet files (loaded by layer order) load unchanged and give the same
outputs.

No feature taps: the stem's "valid" convs and pools make the maps
``(H - 3) // 2 + 1``-style sizes, never exactly ``H / stride``
(299 → 149 → 147 → 73 → 71 → 35 → 17 → 8).
"""

from keras import layers

from keras_cv_course.blocks import (
    inception_v3_a,
    inception_v3_b,
    inception_v3_c,
    inception_v3_conv,
    inception_v3_reduction_a,
    inception_v3_reduction_b,
)
from keras_cv_course.models import _common
from keras_cv_course.models.registry import register

PAPER = "Szegedy et al. 2016, Rethinking the Inception Architecture for Computer Vision"

# (filters, kernel, strides, padding) of the stem convs; "pool" is a 3×3/2 max pool.
STEM = (
    ("conv1", 32, 3, 2, "valid"),
    ("conv2", 32, 3, 1, "valid"),
    ("conv3", 64, 3, 1, "same"),
    "pool1",
    ("conv4", 80, 1, 1, "valid"),
    ("conv5", 192, 3, 1, "valid"),
    "pool2",
)
# One row per mixed block: (block function, keyword arguments).
MIXED = (
    (inception_v3_a, dict(pool_filters=32)),
    (inception_v3_a, dict(pool_filters=64)),
    (inception_v3_a, dict(pool_filters=64)),
    (inception_v3_reduction_a, {}),
    (inception_v3_b, dict(channels_7x7=128)),
    (inception_v3_b, dict(channels_7x7=160)),
    (inception_v3_b, dict(channels_7x7=160)),
    (inception_v3_b, dict(channels_7x7=192)),
    (inception_v3_reduction_b, {}),
    (inception_v3_c, dict(split_concat_name="mixed9_0")),
    (inception_v3_c, dict(split_concat_name="mixed9_1")),
)

IMAGENET_WEIGHTS = {
    "imagenet": _common.keras_weights(
        "inception_v3",
        "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
        "9a0d58056eeedaa3f26cb7ebd46da564",
        "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "bcbd6486424b2319ff4ef7d526e38f63",
        preprocessing="tf",
    )
}


def InceptionV3(
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="inception_v3",
):
    """Inception-v3, keras.applications' layout (299×299 default, 75×75 minimum).

    ``weights="imagenet"`` loads Keras's files (``"tf"`` preprocessing: [-1, 1]).
    The top is global average pooling → Dense ``predictions``; it works at any
    input size, so unlike keras.applications the ImageNet top is not tied to 299.
    """
    image, inputs, spec = _common.prepare(
        name,
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        default_size=299,
        min_size=75,
        available_weights=IMAGENET_WEIGHTS,
    )
    x = image
    for row in STEM:
        if isinstance(row, str):
            x = layers.MaxPooling2D(3, strides=2, name=f"stem_{row}")(x)
        else:
            unit, filters, kernel, strides, padding = row
            x = inception_v3_conv(x, filters, kernel, strides=strides, padding=padding, name=f"stem_{unit}")
    for index, (block, options) in enumerate(MIXED):
        x = block(x, name=f"mixed{index}", concat_name=f"mixed{index}", **options)
    if include_top:
        x = _common.classifier(x, classes=classes, classifier_activation=classifier_activation)
    else:
        x = _common.pool_features(x, pooling)
    return _common.finish_model(inputs, x, name=name, weights=weights, weight_spec=spec, include_top=include_top)


register(
    "inception_v3",
    InceptionV3,
    family="inception",
    paper=PAPER,
    input_shape=(299, 299, 3),
    min_size=75,
    params=23_851_784,
    preprocessing="tf",
    taps=(),
    weights=dict(IMAGENET_WEIGHTS),
)
