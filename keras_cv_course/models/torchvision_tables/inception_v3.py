"""Inception-v3 (torchvision ``inception.py``, ``Inception3``) into
``inception_v3_torchvision`` (``InceptionV3(variant="torchvision")``).

The table walks the builder's own ``STEM`` and ``MIXED`` rows beside
torchvision's attribute names for them (``Conv2d_1a_3x3`` is ``stem_conv1``,
``Mixed_5b`` is ``mixed0``, ...). Each ``BasicConv2d`` is a ``.conv`` and a
``.bn`` module, our ``{unit}_conv`` and ``{unit}_bn``. Inside a block our unit
names are torchvision's attribute names (``Mixed_6b.branch7x7dbl_3`` is
``mixed4_branch7x7dbl_3``) except the pool projection ``branch_pool`` (ours
``branch_pool_proj``: ``branch_pool`` is the pooling layer) and InceptionE's
split branches (``branch3x3_1`` / ``_2a`` / ``_2b`` are ours ``branch3x3`` /
``_1x3`` / ``_3x1``; ``branch3x3dbl_3a`` / ``_3b`` are ``branch3x3dbl_1x3`` /
``_3x1``). ``fc`` is ``predictions`` (optional: ``include_top=False``). The
auxiliary head ``AuxLogits`` (between ``Mixed_6e`` and ``Mixed_7a`` in the
state_dict) is never built here: its entries are optional, so a file with it
(torchvision's pretrained one) or without it (``aux_logits=False``) converts.
"""

from keras_cv_course.blocks import (
    inception_v3_a,
    inception_v3_b,
    inception_v3_c,
    inception_v3_reduction_a,
    inception_v3_reduction_b,
)
from keras_cv_course.models.inception_v3 import MIXED, STEM
from keras_cv_course.models.torch_weights import TorchModule

# torchvision's attributes for the convs of STEM and for the rows of MIXED, in order.
TORCH_STEM = ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Conv2d_3b_1x1", "Conv2d_4a_3x3")
TORCH_MIXED = ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e",
               "Mixed_7a", "Mixed_7b", "Mixed_7c")
AUX_AFTER = "Mixed_6e"
# AuxLogits' modules (InceptionAux: conv0, conv1 BasicConv2d; fc) and the names they would have.
AUX_PARTS = (("conv0.conv", "conv0_conv"), ("conv0.bn", "conv0_bn"), ("conv1.conv", "conv1_conv"),
             ("conv1.bn", "conv1_bn"), ("fc", "predictions"))


def _chain(branch, length):
    return tuple(f"{branch}_{index}" for index in range(1, length + 1))


# Each block's BasicConv2d attributes in torchvision's order (InceptionA ... InceptionE).
TORCH_UNITS = {
    inception_v3_a: ("branch1x1", *_chain("branch5x5", 2), *_chain("branch3x3dbl", 3), "branch_pool"),
    inception_v3_reduction_a: ("branch3x3", *_chain("branch3x3dbl", 3)),
    inception_v3_b: ("branch1x1", *_chain("branch7x7", 3), *_chain("branch7x7dbl", 5), "branch_pool"),
    inception_v3_reduction_b: (*_chain("branch3x3", 2), *_chain("branch7x7x3", 4)),
    inception_v3_c: ("branch1x1", "branch3x3_1", "branch3x3_2a", "branch3x3_2b", *_chain("branch3x3dbl", 2),
                     "branch3x3dbl_3a", "branch3x3dbl_3b", "branch_pool"),
}
# Where our unit names differ from torchvision's attributes.
RENAMED = {"branch_pool": "branch_pool_proj"}
RENAMED_IN = {
    inception_v3_c: {"branch3x3_1": "branch3x3", "branch3x3_2a": "branch3x3_1x3", "branch3x3_2b": "branch3x3_3x1",
                     "branch3x3dbl_3a": "branch3x3dbl_1x3", "branch3x3dbl_3b": "branch3x3dbl_3x1"},
}


def _basic_conv(prefix, unit, optional=False):
    """A ``BasicConv2d`` at ``prefix``: its ``.conv`` and ``.bn`` into ``{unit}_conv``, ``{unit}_bn``."""
    return [TorchModule(f"{prefix}.conv", f"{unit}_conv", optional),
            TorchModule(f"{prefix}.bn", f"{unit}_bn", optional)]


def _block_units(block):
    """``[(torch attribute, our unit)]`` of one mixed block function."""
    renamed = {**RENAMED, **RENAMED_IN.get(block, {})}
    return [(attribute, renamed.get(attribute, attribute)) for attribute in TORCH_UNITS[block]]


def inception_v3_table(model):
    """The table of ``inception_v3_torchvision``, in torchvision's state_dict
    order; the same for every build (``include_top`` only drops ``predictions``,
    which is optional), so ``model`` is not read."""
    del model
    convs = [row for row in STEM if not isinstance(row, str)]
    table = [entry for torch_name, row in zip(TORCH_STEM, convs, strict=True)
             for entry in _basic_conv(torch_name, f"stem_{row.unit}")]
    for index, (torch_name, row) in enumerate(zip(TORCH_MIXED, MIXED, strict=True)):
        for attribute, unit in _block_units(row.block):
            table += _basic_conv(f"{torch_name}.{attribute}", f"mixed{index}_{unit}")
        if torch_name == AUX_AFTER:
            table += [TorchModule(f"AuxLogits.{part}", f"aux_logits_{layer}", optional=True)
                      for part, layer in AUX_PARTS]
    return table + [TorchModule("fc", "predictions", optional=True)]


TABLES = {"inception_v3_torchvision": inception_v3_table}
