"""LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998, "Gradient-Based Learning Applied
to Document Recognition").

``variant="course"`` (default) is the layout the course trains on 28×28 MNIST and
Fashion-MNIST: conv 6@5×5, ReLU, max-pool 2, conv 16@5×5, ReLU, max-pool 2,
fc 120-84-classes (44,426 parameters for 10 classes).
``variant="classic"`` is the paper's geometry: 32×32 input, tanh, average
pooling, fc 400-120-84-10 (61,706 parameters). Deviations from the paper: C3 is
fully connected to S2 (no connection table), subsampling has no trainable
coefficients, and the output is a softmax Dense layer instead of RBF units.

One table-driven builder: ``CONVS`` (``conv{i}`` 5×5 valid, then ``pool{i}``
2×2), Flatten → ``FC`` (``fc1``, ``fc2``) → predictions; a ``Variant`` row sets
the default input side, the activation and the pooling.
"""

from typing import NamedTuple

from keras import layers

from keras_cv_course.blocks import conv_bn_act
from keras_cv_course.models import _common

PAPER = "LeCun et al. 1998, Gradient-Based Learning Applied to Document Recognition"


class Variant(NamedTuple):
    size: int
    activation: str
    pool: type


VARIANTS = {
    "course": Variant(28, "relu", layers.MaxPooling2D),
    "classic": Variant(32, "tanh", layers.AveragePooling2D),
}
CONVS = ((6, 5), (16, 5))  # (filters, kernel) of C1 and C3
FC = (120, 84)  # C5 (a dense layer on the flattened map) and F6


def lenet_family(request, *, variant, channels):
    """The generic LeNet-5 builder; ``channels`` is read by the input rules."""
    spec = _variant(variant)
    x = request.image
    for index, (filters, kernel) in enumerate(CONVS, start=1):
        x = conv_bn_act(x, filters, kernel, padding="valid", batch_norm=False, activation=spec.activation,
                        name=f"conv{index}", conv_name=f"conv{index}")
        x = spec.pool(2, name=f"pool{index}")(x)
    return request.finish(request.tail(x, lambda x: _classifier(x, request, spec.activation)))


def _classifier(x, request, activation):
    x = layers.Flatten(name="flatten")(x)
    for index, units in enumerate(FC, start=1):
        x = layers.Dense(units, activation=activation, name=f"fc{index}")(x)
    return request.dense(x)


def _variant(variant):
    if variant not in VARIANTS:
        raise ValueError(f"LeNet5 variant must be one of {sorted(VARIANTS)}; got {variant!r}")
    return VARIANTS[variant]


def _rules(options):
    return _common.InputRules(_variant(options["variant"]).size, 16, options["channels"], require_flatten=True)


def lenet_weights(options=None):
    """Named weights LeNet-5 can load: the entries of weights/manifest.json
    (``weights="fashion_mnist"``, sha256-checked when fetched); the course
    variant's only."""
    from keras_cv_course.models import trained_weights

    if options is not None and options.get("variant", "course") != "course":
        return {}
    return trained_weights.weight_specs("lenet5")


ROWS = (
    _common.Row("lenet5", "LeNet5", "lenet", PAPER, 44_426, "unit", (28, 28, 1), 16,
                doc='LeNet-5; ``variant`` is "course" (28×28, ReLU, max-pool) or "classic" (32×32, tanh, '
                    'average pooling); ``channels`` sets the default input depth (1 for MNIST-like data).',
                user_options={"variant": "course", "channels": 1}, classes=10, weights=lenet_weights, rules=_rules),
    _common.Row("lenet5_classic", None, "lenet", PAPER, 61_706, "unit", (32, 32, 1), 16, classes=10,
                base="lenet5", fixed={"variant": "classic", "name": "lenet5_classic"}),
)
LeNet5 = _common.define(ROWS, lenet_family)["LeNet5"]
