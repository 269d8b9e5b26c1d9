"""VGG 11/13/16/19 with and without BN (torchvision ``vgg.py``). torchvision's
``features`` is one Sequential of conv (, BN), ReLU per conv and a max pool per
stage, so a conv's index counts those modules; ``classifier.{0,3,6}`` are fc1,
fc2 and ``predictions``."""

import re

from keras_cv_course.models.torch_weights import TorchModule

CONV_NAME = re.compile(r"^block(\d+)_conv(\d+)$")


def vgg_table(model):
    """The table of a torchvision-layout VGG built as ``model``: convs
    ``block{s}_conv{j}`` (BN ``block{s}_conv{j}_bn``) in order, pools between stages."""
    names = {layer.name for layer in model.layers}
    table, index, stage = [], 0, 1
    for layer in model.layers:
        match = CONV_NAME.match(layer.name)
        if not match:
            continue
        if int(match.group(1)) != stage:
            index, stage = index + 1, int(match.group(1))  # the previous stage's max pool
        table.append(TorchModule(f"features.{index}", layer.name))
        index += 1
        if f"{layer.name}_bn" in names:
            table.append(TorchModule(f"features.{index}", f"{layer.name}_bn"))
            index += 1
        index += 1  # ReLU
    top = [TorchModule(f"classifier.{i}", layer, optional=True) for i, layer in ((0, "fc1"), (3, "fc2"), (6, "predictions"))]
    return table + top


TABLES = {name: vgg_table for name in ("vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19",
                                        "vgg19_bn")}
