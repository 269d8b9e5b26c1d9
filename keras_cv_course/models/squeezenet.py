"""SqueezeNet 1.0 and 1.1 (Iandola, Han, Moskewicz, Ashraf, Dally & Keutzer 2016,
"SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model
size", arXiv:1602.07360), torchvision's layout.

One generic builder, ``squeezenet(request, version=...)``, and one table per
version, a row per layer: ``("conv", filters, kernel, stride)``,
``("pool",)`` (3×3/2 max pool with PyTorch's ceil rounding) or
``("fire", squeeze, expand1x1, expand3x3)``. Version 1.1 (SqueezeNet's GitHub
release) has a 3×3/64 first conv and pools earlier: 2.4× less computation, the
same accuracy. The top is dropout 0.5 → 1×1 conv ``conv10`` to ``classes`` maps
→ ReLU → global average pooling → ``classifier_activation`` (``predictions``);
note the ReLU before the average, as in the paper and torchvision. Each model is
one ``_common.Row`` of ``ROWS``.

No feature taps: the "valid" 7×7/2 (1.0) or 3×3/2 (1.1) first conv makes every
map size differ from input/stride (224 → 109 → 54 → 27 → 13 for 1.0;
224 → 111 → 55 → 27 → 13 for 1.1).
"""

from keras import layers

from keras_cv_course.blocks import conv_bn_act, fire_module, max_pool_ceil
from keras_cv_course.models import _common

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

def squeezenet(request, *, version, dropout=0.5):
    """The generic SqueezeNet builder: walks ``LAYER_TABLES[version]``. Layers:
    ``conv1``, ``pool1``…``pool3``, ``fire2``…``fire9`` (paper numbering), then the
    ``conv10`` top."""
    x, pools, fires = request.image, 0, 1
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
    return request.finish(request.tail(x, lambda x: _top(x, request, dropout)))


def _top(x, request, dropout):
    """Dropout → 1×1 ``conv10`` to ``classes`` maps with ReLU → global average →
    ``classifier_activation`` (``predictions``)."""
    if dropout:
        x = layers.Dropout(dropout, name="conv10_dropout")(x)
    x = conv_bn_act(x, request.classes, 1, batch_norm=False, use_bias=True, name="conv10", conv_name="conv10")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return layers.Activation(request.classifier_activation or "linear", name="predictions")(x)


# ``params``: torchvision's published figures (no BN, so Keras counts the same).
# ``min_size``: the smallest input whose maps survive the valid first conv and three
# ceil-mode pools (21 for 1.0, 17 for 1.1).
ROWS = (
    _common.Row("squeezenet1_0", "SqueezeNet1_0", "squeezenet", PAPER, 1_248_424, "torch", (224, 224, 3), 21,
                doc=f"SqueezeNet 1.0 ({PAPER}): 7×7/2 conv of 96. See ``squeezenet``.",
                options={"version": "1_0"}, user_options={"dropout": 0.5}),
    _common.Row("squeezenet1_1", "SqueezeNet1_1", "squeezenet", PAPER, 1_235_496, "torch", (224, 224, 3), 17,
                doc=f"SqueezeNet 1.1 ({PAPER}): 3×3/2 conv of 64, earlier pools. See ``squeezenet``.",
                options={"version": "1_1"}, user_options={"dropout": 0.5}),
)
_BUILDERS = _common.define(ROWS, squeezenet)
SqueezeNet1_0, SqueezeNet1_1 = _BUILDERS["SqueezeNet1_0"], _BUILDERS["SqueezeNet1_1"]
