"""Loading what a run left behind: a model file, a run directory's recorded
config, an image file to feed the model.

Used by ``training.fit`` (resume, fine-tuning), ``kcc evaluate/predict`` and
``kcc visualize``, so none of them imports another's command module.
"""

import dataclasses
import json
import os


def model_path(path):
    """A .keras file, or the best/last model of a run directory."""
    if os.path.isdir(path):
        for name in ("best.keras", "last.keras"):
            if os.path.exists(os.path.join(path, name)):
                return os.path.join(path, name)
        raise FileNotFoundError(f"{path!r} is a directory without best.keras or last.keras")
    if not os.path.exists(path):
        raise FileNotFoundError(f"No model file {path!r}")
    return path


def run_config(path):
    """The config a run directory (or the directory of a model file in it)
    recorded in report.json or state.json, or {}."""
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    for name in ("report.json", "state.json"):
        candidate = os.path.join(folder, name)
        if os.path.exists(candidate):
            with open(candidate) as handle:
                return json.load(handle).get("config", {})
    return {}


@dataclasses.dataclass
class LoadedModel:
    """A model to evaluate or predict with, and what its run recorded."""

    model: object
    preprocessing: str
    dataset: str = None
    class_names: list = None
    task: dict = None
    validation_split: float = 0.2
    seed: int = 0


def load_run(spec):
    """A ``LoadedModel`` from a run directory, a .keras file or a registered
    name with trained weights. Loading needs nothing beyond ``import
    keras_cv_course``: the package registers everything it saves."""
    import keras

    import keras_cv_course  # noqa: F401 - registers the package's Keras objects

    if os.path.exists(spec):
        path = model_path(spec)
        config = run_config(path)
        return LoadedModel(keras.models.load_model(path), config.get("preprocessing", "unit"), config.get("dataset"),
                           config.get("class_names"), config.get("task"), config.get("validation_split") or 0.2,
                           config.get("seed") or 0)
    from keras_cv_course.models import get_model, model_info

    info = model_info(spec)
    if not info.weights:
        raise ValueError(f"{spec!r} is neither a file nor a registered model with trained weights (it has none)")
    weights_name = next(iter(info.weights))
    weight_spec = info.weights[weights_name]
    model = get_model(spec, weights=weights_name)
    return LoadedModel(model, getattr(weight_spec, "preprocessing", info.preprocessing), getattr(weight_spec, "dataset", None))


def load_any_model(spec):
    """``(model, preprocessing mode, dataset name)`` of ``load_run(spec)``."""
    loaded = load_run(spec)
    return loaded.model, loaded.preprocessing, loaded.dataset


def read_image(path, channels, size):
    """An image file as a uint8 array (H, W, channels) resized to ``size`` (H, W)."""
    import numpy as np
    from PIL import Image

    image = Image.open(path)
    image = image.convert("L" if channels == 1 else "RGB").resize((size[1], size[0]), Image.BILINEAR)
    array = np.asarray(image, dtype=np.uint8)
    return array[..., None] if channels == 1 else array
