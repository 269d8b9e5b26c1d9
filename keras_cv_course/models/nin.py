"""Network in Network (Lin, Chen & Yan 2013, arXiv:1312.4400).

Stacks of mlpconv blocks (a k×k conv followed by 1×1 convs) and global average
pooling instead of fully connected layers: the last mlpconv block has one map per
class and its spatial mean is the class score.

``variant="imagenet"`` (default) is the ImageNet model of the Caffe model zoo
(11×11/4 → 96-96-96, 5×5 → 256-256-256, 3×3 → 384-384-384, dropout, 3×3 → 1024-
1024-classes; 7,595,176 parameters). ``variant="cifar"`` is the paper's CIFAR-10
network (5×5 → 192-160-96, 5×5 → 192-192-192, 3×3 → 192-192-classes, 32×32 input).
Pooling floors odd sizes (Caffe rounds up); this changes map sizes, not weights.
"""

from keras import layers

from keras_cv_course.blocks import mlpconv
from keras_cv_course.models import _common
from keras_cv_course.models.registry import register

PAPER = "Lin, Chen & Yan 2013, Network In Network"

# (widths, kernel, stride, padding, pooling after: "max" | "avg", dropout after pooling)
FEATURE_TABLES = {
    "imagenet": (
        ((96, 96, 96), 11, 4, "valid", "max", 0.0),
        ((256, 256, 256), 5, 1, "same", "max", 0.0),
        ((384, 384, 384), 3, 1, "same", "max", 0.5),
    ),
    "cifar": (
        ((192, 160, 96), 5, 1, "same", "max", 0.5),
        ((192, 192, 192), 5, 1, "same", "avg", 0.5),
    ),
}
TOP_BLOCKS = {"imagenet": ((1024, 1024), 3), "cifar": ((192, 192), 3)}
GEOMETRY = {"imagenet": dict(default_size=224, min_size=67), "cifar": dict(default_size=32, min_size=8)}


def NiN(
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name=None,
    variant="imagenet",
):
    """Network in Network; see the module docstring for the variants.

    The top is the last mlpconv block (its final 1×1 conv has ``classes`` maps)
    followed by global average pooling and ``classifier_activation``.
    """
    if variant not in FEATURE_TABLES:
        raise ValueError(f"NiN variant must be one of {sorted(FEATURE_TABLES)}; got {variant!r}")
    name = name or ("nin" if variant == "imagenet" else "nin_cifar")
    image, inputs, spec = _common.prepare(
        name,
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        **GEOMETRY[variant],
    )
    x = image
    rows = FEATURE_TABLES[variant]
    for index, (widths, kernel, stride, padding, pool, dropout) in enumerate(rows, start=1):
        x = mlpconv(x, widths, kernel, strides=stride, padding=padding, name=f"mlpconv{index}")
        pool_layer = layers.MaxPooling2D if pool == "max" else layers.AveragePooling2D
        x = pool_layer(3, strides=2, padding="same" if variant == "cifar" else "valid", name=f"pool{index}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"pool{index}_dropout")(x)
    if include_top:
        widths, kernel = TOP_BLOCKS[variant]
        x = mlpconv(x, widths + (classes,), kernel, name=f"mlpconv{len(rows) + 1}")
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Activation(classifier_activation or "linear", name="predictions")(x)
    else:
        x = _common.pool_features(x, pooling)
    return _common.finish_model(inputs, x, name=name, weights=weights, weight_spec=spec, include_top=include_top)


register("nin", NiN, family="nin", paper=PAPER, input_shape=(224, 224, 3), min_size=67,
         params=7_595_176, preprocessing="torch")
register("nin_cifar", NiN, family="nin", paper=PAPER, input_shape=(32, 32, 3), min_size=8,
         params=966_986, preprocessing="unit", classes=10, kwargs={"variant": "cifar", "classes": 10})
