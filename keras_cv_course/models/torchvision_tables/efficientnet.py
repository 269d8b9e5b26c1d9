"""EfficientNet-B0 … B7 (torchvision ``efficientnet.py``) in
``efficientnet_b{i}_torchvision``: ``features.0`` the stem (``.0`` conv, ``.1``
BN), ``features.{s}.{j}.block`` the j-th MBConv of stage s (``.0`` the expand
``Conv2dNormActivation`` unless the ratio is 1, then the depthwise one, the
squeeze-excitation ``fc1``/``fc2``, the projection), ``features.8`` the top 1×1
conv, ``classifier.1`` the Linear. Made from ``efficientnet.stage_plan``, the
blocks the builder walks (Keras ``block{s}{a, b, ...}``)."""

import re

from keras_cv_course.models import efficientnet
from keras_cv_course.models.torch_weights import TorchModule


def _conv_bn(prefix, conv, bn):
    """A ``Conv2dNormActivation`` at ``prefix``: its conv ``.0`` and BN ``.1``."""
    return [TorchModule(f"{prefix}.0", conv), TorchModule(f"{prefix}.1", bn)]


def _block(block, expand_ratio):
    """The modules of MBConv ``block`` (``"block2b"`` → ``features.2.1.block``)."""
    stage, letter = re.fullmatch(r"block(\d+)([a-z])", block).groups()
    prefix, table = f"features.{stage}.{ord(letter) - ord('a')}.block", []
    if expand_ratio != 1:
        table += _conv_bn(f"{prefix}.0", f"{block}_expand_conv", f"{block}_expand_bn")
    first = len(table) // 2  # the depthwise unit's index in the Sequential
    table += _conv_bn(f"{prefix}.{first}", f"{block}_dwconv", f"{block}_bn")
    table += [TorchModule(f"{prefix}.{first + 1}.fc1", f"{block}_se_reduce"),
              TorchModule(f"{prefix}.{first + 1}.fc2", f"{block}_se_expand")]
    return table + _conv_bn(f"{prefix}.{first + 2}", f"{block}_project_conv", f"{block}_project_bn")


def efficientnet_table(model, variant):
    """The table of ``efficientnet_{variant}_torchvision`` built as ``model``, in state_dict order."""
    scaling = efficientnet.VARIANTS[variant]
    table = _conv_bn("features.0", "stem_conv", "stem_bn")
    for block, _, _, _, expand_ratio, _ in efficientnet.stage_plan(scaling.width, scaling.depth):
        table += _block(block, expand_ratio)
    table += _conv_bn(f"features.{len(efficientnet.BLOCKS) + 1}", "top_conv", "top_bn")
    return table + [TorchModule("classifier.1", "predictions", optional=True)]


def _table_of(variant):
    def table(model):
        return efficientnet_table(model, variant)
    table.__name__ = f"efficientnet_{variant}_table"
    return table


TABLES = {f"efficientnet_{variant}_torchvision": _table_of(variant) for variant in efficientnet.VARIANTS}
