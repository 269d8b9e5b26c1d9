"""MobileNetV2 (torchvision ``mobilenetv2.py``) in ``mobilenet_v2_torchvision``:
``features.0`` the stem (``.0`` conv, ``.1`` BN), ``features.{i}.conv`` the i-th
inverted residual (``.0`` the expand ``Conv2dNormActivation`` unless t = 1, then
the depthwise one, the projection conv and its BN), ``features.18`` the last 1×1
conv, ``classifier.1`` the Linear. Made from ``mobilenet.v2_plan``, the blocks
``_v2`` builds (whose expansions, and so the keys, do not depend on ``alpha``)."""

from keras_cv_course.models import mobilenet
from keras_cv_course.models.torch_weights import TorchModule


def _conv_bn(prefix, conv, bn):
    """A ``Conv2dNormActivation`` at ``prefix``: its conv ``.0`` and BN ``.1``."""
    return [TorchModule(f"{prefix}.0", conv), TorchModule(f"{prefix}.1", bn)]


def _block(index, block, expansion):
    """The modules of inverted residual ``features.{index}`` (Keras ``block``)."""
    prefix, table = f"features.{index}.conv", []
    if expansion != 1:
        table += _conv_bn(f"{prefix}.0", f"{block}_expand", f"{block}_expand_BN")
    first = len(table) // 2  # the depthwise unit's index in the Sequential
    table += _conv_bn(f"{prefix}.{first}", f"{block}_depthwise", f"{block}_depthwise_BN")
    return table + [TorchModule(f"{prefix}.{first + 1}", f"{block}_project"),
                    TorchModule(f"{prefix}.{first + 2}", f"{block}_project_BN")]


def mobilenet_v2_table(model):
    """The table of ``mobilenet_v2_torchvision`` (any ``alpha``), in state_dict order."""
    plan = mobilenet.v2_plan(variant="torchvision")
    table = _conv_bn("features.0", "Conv1", "bn_Conv1")
    for index, (block, _, expansion, _) in enumerate(plan, start=1):
        table += _block(index, block, expansion)
    table += _conv_bn(f"features.{len(plan) + 1}", "Conv_1", "Conv_1_bn")
    return table + [TorchModule("classifier.1", "predictions", optional=True)]


TABLES = {"mobilenet_v2_torchvision": mobilenet_v2_table}
