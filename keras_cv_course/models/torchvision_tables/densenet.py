"""DenseNet-121, -169, -201 (torchvision ``densenet.py``): ``features.conv0`` /
``norm0`` are ``conv1_conv`` / ``conv1_bn``; ``features.denseblock{b}.denselayer{l}``'s
``norm1``, ``conv1``, ``norm2``, ``conv2`` are ``conv{b+1}_block{l}_0_bn``,
``_1_conv``, ``_1_bn``, ``_2_conv``; ``features.transition{t}.norm`` / ``conv``
are ``pool{t+1}_bn`` / ``_conv``; ``features.norm5`` is ``bn``, ``classifier``
``predictions``. Build with ``bn_epsilon=1e-5`` for torchvision's exact numbers
(``models.densenet``'s docstring)."""

from keras_cv_course.models import densenet
from keras_cv_course.models.torch_weights import TorchModule

DENSE_LAYER_PARTS = (("norm1", "0_bn"), ("conv1", "1_conv"), ("norm2", "1_bn"), ("conv2", "2_conv"))


def densenet_table(depth):
    """The table function of ``densenet{depth}``, from ``densenet.BLOCKS[depth]``."""
    def table(model):
        entries = [TorchModule("features.conv0", "conv1_conv"), TorchModule("features.norm0", "conv1_bn")]
        blocks = densenet.BLOCKS[depth]
        for block, num_layers in enumerate(blocks, start=1):
            entries += [TorchModule(f"features.denseblock{block}.denselayer{layer}.{torch_part}",
                                    f"conv{block + 1}_block{layer}_{keras_part}")
                        for layer in range(1, num_layers + 1) for torch_part, keras_part in DENSE_LAYER_PARTS]
            if block < len(blocks):
                entries += [TorchModule(f"features.transition{block}.norm", f"pool{block + 1}_bn"),
                            TorchModule(f"features.transition{block}.conv", f"pool{block + 1}_conv")]
        return entries + [TorchModule("features.norm5", "bn"), TorchModule("classifier", "predictions", optional=True)]
    table.__name__ = f"densenet{depth}_table"
    return table


# The files fit both epsilons; ``densenet{d}_torchvision`` (PyTorch's 1e-5) is what weights="torchvision" builds.
TABLES = {f"densenet{depth}{suffix}": densenet_table(depth) for depth in densenet.BLOCKS for suffix in ("", "_torchvision")}
