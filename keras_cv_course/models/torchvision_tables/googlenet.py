"""GoogLeNet (torchvision ``googlenet.py``): our layers are torchvision's module
paths with "." → "_" (``inception4a_branch2_0_conv`` is ``inception4a.branch2.0.conv``),
except the classifiers: ``predictions`` is ``fc``, ``aux{i}_predictions`` is
``aux{i}.fc2``. The aux heads are optional (``aux_logits=False`` builds none)."""

from keras import layers

from keras_cv_course.models.torch_weights import TorchModule

AUX_PARTS = (("conv.conv", "conv_conv"), ("conv.bn", "conv_bn"), ("fc1", "fc1"), ("fc2", "predictions"))
WEIGHTED = (layers.Conv2D, layers.BatchNormalization, layers.Dense)


def googlenet_table(model):
    """The table of ``googlenet`` (``variant="torchvision"``), with or without aux heads."""
    main = [layer.name for layer in model.layers if isinstance(layer, WEIGHTED) and not layer.name.startswith("aux")]
    table = [TorchModule("fc" if name == "predictions" else name.replace("_", "."), name, optional=name == "predictions")
             for name in main]
    aux = [TorchModule(f"aux{i}.{torch_part}", f"aux{i}_{keras_part}", optional=True)
           for i in (1, 2) for torch_part, keras_part in AUX_PARTS]
    return table + aux


TABLES = {"googlenet": googlenet_table}
