"""SqueezeNet 1.0 and 1.1 (torchvision ``squeezenet.py``): ``features.0`` is conv1,
``features.{i}.squeeze``/``expand1x1``/``expand3x3`` the fire modules (their
Sequential indices skip the max pools), ``classifier.1`` conv10."""

from keras_cv_course.models.torch_weights import TorchModule

# Sequential index of fire2 … fire9 in torchvision's ``features`` (pools sit between).
FIRE_INDICES = {"squeezenet1_0": (3, 4, 5, 7, 8, 9, 10, 12), "squeezenet1_1": (3, 4, 6, 7, 9, 10, 11, 12)}
FIRE_PARTS = (("squeeze", "squeeze1x1"), ("expand1x1", "expand1x1"), ("expand3x3", "expand3x3"))


def squeezenet_table(version):
    """The table function of ``squeezenet1_0`` or ``squeezenet1_1``."""
    def table(model):
        fires = [TorchModule(f"features.{index}.{torch_part}", f"fire{number}_{keras_part}")
                 for number, index in enumerate(FIRE_INDICES[version], start=2)
                 for torch_part, keras_part in FIRE_PARTS]
        return [TorchModule("features.0", "conv1"), *fires, TorchModule("classifier.1", "conv10", optional=True)]
    return table


TABLES = {version: squeezenet_table(version) for version in FIRE_INDICES}
