"""SqueezeNet 1.0 and 1.1 (Iandola, Han, Moskewicz, Ashraf, Dally & Keutzer 2016,
"SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model
size", arXiv:1602.07360), torchvision's layout.

One table per version, a row per layer: ``("conv", filters, kernel, stride)``,
``("pool",)`` (3×3/2 max pool with PyTorch's ceil rounding) or
``("fire", squeeze, expand1x1, expand3x3)``. Version 1.1 (SqueezeNet's GitHub
release) has a 3×3/64 first conv and pools earlier: 2.4× less computation, the
same accuracy. The top is dropout 0.5 → 1×1 conv ``conv10`` to ``classes`` maps
→ ReLU → global average pooling → ``classifier_activation`` (``predictions``);
note the ReLU before the average, as in the paper and torchvision.

No feature taps: the "valid" 7×7/2 (1.0) or 3×3/2 (1.1) first conv makes every
map size differ from input/stride (224 → 109 → 54 → 27 → 13 for 1.0;
224 → 111 → 55 → 27 → 13 for 1.1).
"""

from keras import layers

from keras_cv_course.blocks import conv_bn_act, fire_module, max_pool_ceil
from keras_cv_course.models import _common
from keras_cv_course.models.registry import register

PAPER = "Iandola et al. 2016, SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model size"

LAYER_TABLES = {
    "1_0": (
        ("conv", 96, 7, 2),
        ("pool",),
        ("fire", 16, 64, 64),
        ("fire", 16, 64, 64),
        ("fire", 32, 128, 128),
        ("pool",),
        ("fire", 32, 128, 128),
        ("fire", 48, 192, 192),
        ("fire", 48, 192, 192),
        ("fire", 64, 256, 256),
        ("pool",),
        ("fire", 64, 256, 256),
    ),
    "1_1": (
        ("conv", 64, 3, 2),
        ("pool",),
        ("fire", 16, 64, 64),
        ("fire", 16, 64, 64),
        ("pool",),
        ("fire", 32, 128, 128),
        ("fire", 32, 128, 128),
        ("pool",),
        ("fire", 48, 192, 192),
        ("fire", 48, 192, 192),
        ("fire", 64, 256, 256),
        ("fire", 64, 256, 256),
    ),
}
# Smallest input whose maps survive the valid first conv and three ceil-mode pools.
MIN_SIZE = {"1_0": 21, "1_1": 17}


def squeezenet(
    version,
    *,
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name=None,
    dropout=0.5,
):
    """The generic SqueezeNet builder: walks ``LAYER_TABLES[version]``. Layers:
    ``conv1``, ``pool1``…``pool3``, ``fire2``…``fire9`` (paper numbering), ``conv10``."""
    if version not in LAYER_TABLES:
        raise ValueError(f"SqueezeNet version must be one of {sorted(LAYER_TABLES)}; got {version!r}")
    name = name or f"squeezenet{version}"
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
        min_size=MIN_SIZE[version],
    )
    x, pools, fires = image, 0, 1
    for kind, *args in LAYER_TABLES[version]:
        if kind == "conv":
            filters, kernel, stride = args
            x = conv_bn_act(x, filters, kernel, strides=stride, padding="valid", batch_norm=False,
                            use_bias=True, name="conv1", conv_name="conv1")
        elif kind == "pool":
            pools += 1
            x = max_pool_ceil(x, 3, 2, name=f"pool{pools}")
        else:
            fires += 1
            x = fire_module(x, *args, name=f"fire{fires}")
    if include_top:
        if dropout:
            x = layers.Dropout(dropout, name="conv10_dropout")(x)
        x = conv_bn_act(x, classes, 1, batch_norm=False, use_bias=True, name="conv10", conv_name="conv10")
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Activation(classifier_activation or "linear", name="predictions")(x)
    else:
        x = _common.pool_features(x, pooling)
    return _common.finish_model(inputs, x, name=name, weights=weights, weight_spec=spec, include_top=include_top)


def _public(version):
    return _common.application(
        squeezenet,
        version,
        f"SqueezeNet{version}",
        f"SqueezeNet {version.replace('_', '.')} ({PAPER}). See ``squeezenet``.",
        dropout=0.5,
    )


SqueezeNet1_0, SqueezeNet1_1 = _public("1_0"), _public("1_1")

register("squeezenet1_0", SqueezeNet1_0, family="squeezenet", paper=PAPER, input_shape=(224, 224, 3),
         min_size=MIN_SIZE["1_0"], params=1_248_424, preprocessing="torch")
register("squeezenet1_1", SqueezeNet1_1, family="squeezenet", paper=PAPER, input_shape=(224, 224, 3),
         min_size=MIN_SIZE["1_1"], params=1_235_496, preprocessing="torch")
