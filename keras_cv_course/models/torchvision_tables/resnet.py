"""ResNet, ResNeXt and Wide ResNet (torchvision ``resnet.py``): ``conv1``/``bn1``,
``layer{s}.{b}.conv{i}``/``bn{i}``, ``downsample.0``/``.1`` (the projection
shortcut, Keras ``conv{s+1}_block{b+1}_0_*``), ``fc``."""

from keras_cv_course.models import resnet
from keras_cv_course.models.torch_weights import TorchModule


def resnet_table(model, arch):
    """The table of a v1 ImageNet ``resnet.ResNetArch`` built as ``model``."""
    present = {layer.name for layer in model.layers}
    table = [TorchModule("conv1", "conv1_conv"), TorchModule("bn1", "conv1_bn")]
    convs = 3 if arch.block == "bottleneck" else 2
    for block_name, _, _ in arch.plan():
        stage, index = block_name.removeprefix("conv").split("_block")
        torch_block = f"layer{int(stage) - 1}.{int(index) - 1}"
        for i in range(1, convs + 1):
            table += [TorchModule(f"{torch_block}.conv{i}", f"{block_name}_{i}_conv"),
                      TorchModule(f"{torch_block}.bn{i}", f"{block_name}_{i}_bn")]
        if f"{block_name}_0_conv" in present:
            table += [TorchModule(f"{torch_block}.downsample.0", f"{block_name}_0_conv"),
                      TorchModule(f"{torch_block}.downsample.1", f"{block_name}_0_bn")]
    return table + [TorchModule("fc", "predictions", optional=True)]


def _options(name):
    """The options the registered ``name`` builds with (a preset: its base row's, then its own)."""
    rows = {row.name: row for row in resnet.ROWS}
    row = rows[name]
    base = rows.get(row.base, row)
    return {**base.options, **base.user_options, **row.fixed}


def _table_of(name):
    def table(model):
        return resnet_table(model, resnet.arch_of(**_options(name)))
    table.__name__ = f"{name}_table"
    return table


TABLES = {name: _table_of(name) for name in (
    "resnet18", "resnet34", "resnet50_torchvision", "resnet101_torchvision", "resnet152_torchvision",
    "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2")}
