"""LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998, "Gradient-Based Learning Applied
to Document Recognition").

``variant="course"`` (default) is the layout the course trains on 28×28 MNIST and
Fashion-MNIST: conv 6@5×5, ReLU, max-pool 2, conv 16@5×5, ReLU, max-pool 2,
fc 120-84-classes (44,426 parameters for 10 classes).
``variant="classic"`` is the paper's geometry: 32×32 input, tanh, average
pooling, fc 400-120-84-10 (61,706 parameters). Deviations from the paper: C3 is
fully connected to S2 (no connection table), subsampling has no trainable
coefficients, and the output is a softmax Dense layer instead of RBF units.
"""

from keras import layers

from keras_cv_course.blocks import conv_bn_act
from keras_cv_course.models import _common
from keras_cv_course.models.registry import register

PAPER = "LeCun et al. 1998, Gradient-Based Learning Applied to Document Recognition"
VARIANTS = {
    "course": dict(size=28, activation="relu", pool=layers.MaxPooling2D),
    "classic": dict(size=32, activation="tanh", pool=layers.AveragePooling2D),
}


def LeNet5(
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=10,
    classifier_activation="softmax",
    name="lenet5",
    variant="course",
    channels=1,
):
    """LeNet-5; see the module docstring for the two variants.

    ``channels`` sets the default input depth (1 for MNIST-like data).
    """
    if variant not in VARIANTS:
        raise ValueError(f"LeNet5 variant must be one of {sorted(VARIANTS)}; got {variant!r}")
    spec = VARIANTS[variant]
    image, inputs, weight_spec = _common.prepare(
        name,
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        default_size=spec["size"],
        min_size=16,
        available_weights=lenet_weights() if variant == "course" and name == "lenet5" else {},
        channels=channels,
        require_flatten=True,
    )
    x = image
    for index, filters in enumerate((6, 16), start=1):
        x = conv_bn_act(
            x, filters, 5, padding="valid", batch_norm=False, activation=spec["activation"],
            name=f"conv{index}", conv_name=f"conv{index}",
        )
        x = spec["pool"](2, name=f"pool{index}")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(120, activation=spec["activation"], name="fc1")(x)
        x = layers.Dense(84, activation=spec["activation"], name="fc2")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.pool_features(x, pooling)
    return _common.finish_model(inputs, x, name=name, weights=weights, weight_spec=weight_spec, include_top=include_top)


def lenet_weights():
    """Named weights LeNet-5 can load: the entries of weights/manifest.json
    (``weights="fashion_mnist"``, sha256-checked when fetched)."""
    from keras_cv_course.models import trained_weights

    return trained_weights.weight_specs("lenet5")


register(
    "lenet5",
    LeNet5,
    family="lenet",
    paper=PAPER,
    input_shape=(28, 28, 1),
    min_size=16,
    params=44_426,
    preprocessing="unit",
    classes=10,
    weights=lenet_weights(),
)
register(
    "lenet5_classic",
    LeNet5,
    family="lenet",
    paper=PAPER,
    input_shape=(32, 32, 1),
    min_size=16,
    params=61_706,
    preprocessing="unit",
    classes=10,
    kwargs={"variant": "classic", "name": "lenet5_classic"},
)
