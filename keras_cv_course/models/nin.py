"""Network in Network (Lin, Chen & Yan 2013, arXiv:1312.4400).

Stacks of mlpconv blocks (a k×k conv followed by 1×1 convs) and global average
pooling instead of fully connected layers: the last mlpconv block has one map per
class and its spatial mean is the class score.

``variant="imagenet"`` (default) is the ImageNet model of the Caffe model zoo
(11×11/4 → 96-96-96, 5×5 → 256-256-256, 3×3 → 384-384-384, dropout, 3×3 → 1024-
1024-classes; 7,595,176 parameters). ``variant="cifar"`` is the paper's CIFAR-10
network (5×5 → 192-160-96, 5×5 → 192-192-192, 3×3 → 192-192-classes, 32×32 input).
Pooling floors odd sizes (Caffe rounds up); this changes map sizes, not weights.

One table-driven builder: a ``Layout`` per variant lists its ``MlpStage`` rows
(``mlpconv{i}``, then a 3×3 stride-2 ``pool{i}`` and its dropout) and the class
block (``mlpconv{n}`` ending in ``classes`` maps, ``avg_pool``, ``predictions``).
"""

from typing import NamedTuple

from keras import layers

from keras_cv_course.blocks import mlpconv
from keras_cv_course.models import _common

PAPER = "Lin, Chen & Yan 2013, Network In Network"


class MlpStage(NamedTuple):
    """An mlpconv block (widths, kernel, stride, padding of its k×k conv) and the
    3×3 stride-2 pooling after it ("max" or "avg"), with dropout after that."""

    widths: tuple
    kernel: int
    stride: int = 1
    padding: str = "same"
    pool: str = "max"
    dropout: float = 0.0


class Layout(NamedTuple):
    """A variant: its stages, the class block's widths before the class maps and
    its kernel, the pools' padding, and the input it takes."""

    stages: tuple
    top_widths: tuple
    top_kernel: int
    pool_padding: str
    rules: _common.InputRules


LAYOUTS = {
    "imagenet": Layout(
        (
            MlpStage((96, 96, 96), 11, 4, "valid"),
            MlpStage((256, 256, 256), 5),
            MlpStage((384, 384, 384), 3, dropout=0.5),
        ),
        (1024, 1024), 3, "valid", _common.InputRules(224, 67),
    ),
    "cifar": Layout(
        (
            MlpStage((192, 160, 96), 5, dropout=0.5),
            MlpStage((192, 192, 192), 5, pool="avg", dropout=0.5),
        ),
        (192, 192), 3, "same", _common.InputRules(32, 8),
    ),
}


def nin_family(request, *, variant):
    """The generic NiN builder: walks ``LAYOUTS[variant]``; the top is the class
    block followed by global average pooling and ``classifier_activation``."""
    layout = _layout(variant)
    x = request.image
    for index, stage in enumerate(layout.stages, start=1):
        x = mlpconv(x, stage.widths, stage.kernel, strides=stage.stride, padding=stage.padding, name=f"mlpconv{index}")
        pool = layers.MaxPooling2D if stage.pool == "max" else layers.AveragePooling2D
        x = pool(3, strides=2, padding=layout.pool_padding, name=f"pool{index}")(x)
        if stage.dropout:
            x = layers.Dropout(stage.dropout, name=f"pool{index}_dropout")(x)
    return request.finish(request.tail(x, lambda x: _class_maps(x, request, layout)))


def _class_maps(x, request, layout):
    x = mlpconv(x, layout.top_widths + (request.classes,), layout.top_kernel, name=f"mlpconv{len(layout.stages) + 1}")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return layers.Activation(request.classifier_activation or "linear", name="predictions")(x)


def _layout(variant):
    if variant not in LAYOUTS:
        raise ValueError(f"NiN variant must be one of {sorted(LAYOUTS)}; got {variant!r}")
    return LAYOUTS[variant]


ROWS = (
    _common.Row("nin", "NiN", "nin", PAPER, 7_595_176, "torch", (224, 224, 3), 67,
                doc='Network in Network; ``variant`` is "imagenet" (the Caffe model zoo\'s) or "cifar" (the '
                    "paper's CIFAR-10 net). The top is the last mlpconv block (its final 1×1 conv has ``classes`` "
                    "maps) followed by global average pooling and ``classifier_activation``.",
                user_options={"variant": "imagenet"}, rules=lambda options: _layout(options["variant"]).rules,
                name_of=lambda options: "nin" if options["variant"] == "imagenet" else "nin_cifar"),
    _common.Row("nin_cifar", None, "nin", PAPER, 966_986, "unit", (32, 32, 3), 8, classes=10,
                base="nin", fixed={"variant": "cifar", "classes": 10}),
)
NiN = _common.define(ROWS, nin_family)["NiN"]
