"""AlexNet (torchvision ``alexnet.py``, the single-tower "one weird trick" layout):
``features.{0,3,6,8,10}`` are conv1–conv5, ``classifier.{1,4,6}`` fc6, fc7 and
``predictions``."""

from keras_cv_course.models.torch_weights import TorchModule


def alexnet_table(model):
    """The table of ``alexnet`` (``variant="torchvision"``)."""
    convs = [TorchModule(f"features.{index}", f"conv{n}") for n, index in enumerate((0, 3, 6, 8, 10), start=1)]
    top = [TorchModule(f"classifier.{index}", layer, optional=True)
           for index, layer in ((1, "fc6"), (4, "fc7"), (6, "predictions"))]
    return convs + top


TABLES = {"alexnet": alexnet_table}
