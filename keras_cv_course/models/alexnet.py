"""AlexNet (Krizhevsky, Sutskever & Hinton 2012, "ImageNet Classification with Deep
Convolutional Neural Networks") and ZFNet (Zeiler & Fergus 2014, "Visualizing and
Understanding Convolutional Networks", arXiv:1311.2901).

Both are one table-driven builder: a row per convolution
``(filters, kernel, stride, padding, groups, lrn, pool)``.

AlexNet ``variant="torchvision"`` (default) is torchvision's single-tower layout
(64-192-384-256-256 convs, adaptive 6×6 average pooling so any input of 63 pixels
or more works, dropout-4096-4096): 61,100,840 parameters.
``variant="paper"`` is the 2012 paper's two-GPU network at 227×227: 96-256-384-
384-256 convs with conv2, conv4, conv5 split into two groups (a real grouped
convolution), local response normalization after conv1 and conv2: 60,965,224
parameters, the figure of Caffe's bvlc_alexnet.
ZFNet changes AlexNet's first layers (7×7 stride-2 conv1, stride-2 conv2, one
tower; 224 → 110 → 55 → 26 → 13 → 6 as in the paper's Fig. 3).
"""

from keras import layers

from keras_cv_course.blocks import AdaptiveAveragePooling2D, LocalResponseNormalization, conv_bn_act
from keras_cv_course.models import _common
from keras_cv_course.models.registry import register

ALEXNET_PAPER = "Krizhevsky, Sutskever & Hinton 2012, ImageNet Classification with Deep Convolutional Neural Networks"
ZFNET_PAPER = "Zeiler & Fergus 2014, Visualizing and Understanding Convolutional Networks"

# (filters, kernel, stride, padding, groups, lrn after, max-pool after: None | "valid" | "same")
CONV_TABLES = {
    "alexnet_torchvision": (
        (64, 11, 4, 2, 1, False, "valid"),
        (192, 5, 1, 2, 1, False, "valid"),
        (384, 3, 1, 1, 1, False, None),
        (256, 3, 1, 1, 1, False, None),
        (256, 3, 1, 1, 1, False, "valid"),
    ),
    "alexnet_paper": (
        (96, 11, 4, 0, 1, True, "valid"),
        (256, 5, 1, 2, 2, True, "valid"),
        (384, 3, 1, 1, 1, False, None),
        (384, 3, 1, 1, 2, False, None),
        (256, 3, 1, 1, 2, False, "valid"),
    ),
    "zfnet": (
        (96, 7, 2, 1, 1, True, "same"),
        (256, 5, 2, 0, 1, True, "same"),
        (384, 3, 1, 1, 1, False, None),
        (384, 3, 1, 1, 1, False, None),
        (256, 3, 1, 1, 1, False, "valid"),
    ),
}
LAYOUTS = {
    "alexnet_torchvision": dict(default_size=224, min_size=63, adaptive_pool=True),
    "alexnet_paper": dict(default_size=227, min_size=67, adaptive_pool=False),
    "zfnet": dict(default_size=224, min_size=53, adaptive_pool=False),
}


def alexnet_family(
    layout,
    *,
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    dropout=0.5,
    name,
):
    """The generic builder behind AlexNet and ZFNet: walks ``CONV_TABLES[layout]``
    (``conv{i}``, ``conv{i}_lrn``, ``pool{i}``), then the classifier
    dropout → fc6 4096 → dropout → fc7 4096 → predictions."""
    geometry = LAYOUTS[layout]
    image, inputs, spec = _common.prepare(
        name,
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        default_size=geometry["default_size"],
        min_size=geometry["min_size"],
        require_flatten=not geometry["adaptive_pool"],
    )
    x = image
    for index, (filters, kernel, stride, padding, groups, lrn, pool) in enumerate(CONV_TABLES[layout], start=1):
        x = conv_bn_act(
            x, filters, kernel, strides=stride, padding=padding if padding else "valid", groups=groups,
            batch_norm=False, name=f"conv{index}", conv_name=f"conv{index}",
        )
        if lrn:
            x = LocalResponseNormalization(name=f"conv{index}_lrn")(x)
        if pool:
            x = layers.MaxPooling2D(3, strides=2, padding=pool, name=f"pool{index}")(x)
    if include_top:
        if geometry["adaptive_pool"]:
            x = AdaptiveAveragePooling2D((6, 6), name="avgpool")(x)
        x = layers.Flatten(name="flatten")(x)
        for fc in ("fc6", "fc7"):
            if dropout:
                x = layers.Dropout(dropout, name=f"{fc}_dropout")(x)
            x = layers.Dense(4096, activation="relu", name=fc)(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.pool_features(x, pooling)
    return _common.finish_model(inputs, x, name=name, weights=weights, weight_spec=spec, include_top=include_top)


def AlexNet(
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name=None,
    variant="torchvision",
    dropout=0.5,
):
    """AlexNet; ``variant`` is "torchvision" (single tower) or "paper" (two groups, LRN)."""
    if variant not in ("torchvision", "paper"):
        raise ValueError(f"AlexNet variant must be 'torchvision' or 'paper'; got {variant!r}")
    return alexnet_family(
        f"alexnet_{variant}", include_top=include_top, weights=weights, input_tensor=input_tensor,
        input_shape=input_shape, pooling=pooling, classes=classes, classifier_activation=classifier_activation,
        dropout=dropout, name=name or ("alexnet" if variant == "torchvision" else "alexnet_paper"),
    )


def ZFNet(
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="zfnet",
    dropout=0.5,
):
    """ZFNet (Zeiler & Fergus 2014): AlexNet with a 7×7 stride-2 first layer."""
    return alexnet_family(
        "zfnet", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
        pooling=pooling, classes=classes, classifier_activation=classifier_activation, dropout=dropout, name=name,
    )


register("alexnet", AlexNet, family="alexnet", paper=ALEXNET_PAPER, input_shape=(224, 224, 3),
         min_size=63, params=61_100_840, preprocessing="torch")
register("alexnet_paper", AlexNet, family="alexnet", paper=ALEXNET_PAPER, input_shape=(227, 227, 3),
         min_size=67, params=60_965_224, preprocessing="torch", kwargs={"variant": "paper"})
register("zfnet", ZFNet, family="alexnet", paper=ZFNET_PAPER, input_shape=(224, 224, 3),
         min_size=53, params=62_357_608, preprocessing="torch")
