"""Loading what a run left behind: a model file, a run directory's recorded
config, an image file to feed the model.

Used by ``training.fit`` (resume, fine-tuning), ``kcc evaluate/predict`` and
``kcc visualize``, so none of them imports another's command module. A file that
is there but damaged (a truncated ``best.keras`` or ``report.json``) is a
``CorruptFileError`` naming it, never "not found"; a path that does not exist is
named as such, never looked up as a model name.
"""

import dataclasses
import json
import os
import zipfile
import zlib

from keras_cv_course._files import CorruptFileError, check_keras_archive, check_sha256, looks_like_path, read_json



class RunNotFoundError(FileNotFoundError):
    """A run directory or model file that does not exist."""


class ModelFileMismatchError(ValueError):
    """A model file holds another model than the one asked for (fine-tuning
    another architecture)."""


RECORD_ADVICE = {
    "report.json": "Restore it from a copy, or delete it: state.json records the same config.",
    "state.json": "Start a new run directory (--run-dir), or restore state.json from a copy; checkpoints/, "
                  "best.keras and last.keras are still there.",
}


CALLABLE_PREFIX = "callable:"  # how a run records a preprocessing callable: "callable:module.qualname"


def model_path(path):
    """A .keras file, or the best/last model of a run directory (``model.keras``
    of a ``kcc convert`` folder)."""
    if os.path.isdir(path):
        for name in ("best.keras", "last.keras", "model.keras"):
            if os.path.exists(os.path.join(path, name)):
                return os.path.join(path, name)
        raise RunNotFoundError(f"{path!r} is a directory without best.keras, last.keras or model.keras")
    if not os.path.exists(path):
        raise RunNotFoundError(f"The run directory or model file {path!r} does not exist")
    return path


def read_record(path):
    """A run's JSON record (``state.json``, ``report.json``) as a dict; a
    truncated or corrupt one is a ``CorruptFileError`` naming it and saying
    what to do."""
    return read_json(path, advice=RECORD_ADVICE.get(os.path.basename(path), ""))


def run_config(path):
    """The config a run directory (or the directory of a model file in it)
    recorded in report.json or state.json, or {}."""
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    for name in ("report.json", "state.json"):
        candidate = os.path.join(folder, name)
        if os.path.exists(candidate):
            return read_record(candidate).get("config", {})
    return {}


class UnsafeModelError(ValueError):
    """A model file holds code that Keras's safe mode refuses to load."""


def load_model_file(spec, *, compile=True, sha256=None):
    """The Keras model of a .keras file or run directory (``model_path``),
    loaded in safe mode; with ``sha256`` the file must have that digest. A file
    that is truncated or corrupt is a ``CorruptFileError`` naming it. On
    PyTorch, Keras's backend is corrected first (``backends.fix_torch_backend``)."""
    import keras

    import keras_cv_course  # noqa: F401 - registers the package's Keras objects
    from keras_cv_course.backends import fix_torch_backend

    fix_torch_backend()
    path = model_path(os.fspath(spec))
    if sha256 is not None:
        check_sha256(path, sha256)
    if path.endswith(".keras"):
        check_keras_archive(path)
    try:
        return _load_keras_model(path, compile)
    except ValueError as error:
        if "safe_mode" not in str(error):
            raise
        raise UnsafeModelError(f"{path} holds code (a Lambda layer or another deserialized function) that safe mode "
                               f"refuses to run: {error}") from error
    except (zipfile.BadZipFile, zlib.error, EOFError, json.JSONDecodeError, OSError) as error:
        if isinstance(error, PermissionError):
            raise
        raise CorruptFileError(f"{path} is truncated or corrupt: Keras cannot read it ({error}). Use another copy "
                               "(a run directory keeps best.keras, last.keras and checkpoints/) or save the model "
                               "again.") from error


def _load_keras_model(path, compile):
    """``keras.models.load_model``; a compiled mixed_float16 model is loaded
    again under that global policy, since Keras 3.15 rebuilds its optimizer
    without the ``LossScaleOptimizer`` otherwise and skips the saved optimizer
    state ("Skipping variable loading for optimizer"), losing it on resume."""
    import keras

    from keras_cv_course import precision

    model = keras.models.load_model(path, compile=compile)
    if not compile or precision.model_precision(model) != "mixed_float16" or model.optimizer is None:
        return model
    if isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer):
        return model
    with precision.policy_scope("mixed_float16"):
        return keras.models.load_model(path, compile=compile)


def recorded_model(spec):
    """The model name a .keras file or run directory holds: the one its run
    recorded, else the name saved in the file (read from the archive's
    config.json, nothing is built); None when neither says."""
    path = model_path(os.fspath(spec))
    recorded = run_config(path).get("model")
    if recorded:
        return recorded
    if not path.endswith(".keras"):
        return None
    check_keras_archive(path)
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (KeyError, ValueError, zipfile.BadZipFile, zlib.error) as error:
        raise CorruptFileError(f"{path} is truncated or corrupt: its config.json cannot be read ({error})") from error
    return (config.get("config") or {}).get("name") if isinstance(config, dict) else None


def load_finetune_source(spec, requested):
    """The model to fine-tune, loaded (uncompiled) from the .keras file or run
    directory ``spec``. ``requested`` is the registered name of the model to
    train; a file holding another model is refused naming both, so a run never
    trains one architecture while recording another."""
    if not isinstance(requested, str) or looks_like_path(requested, (".keras",)):
        raise ModelFileMismatchError(f"finetune_from={os.fspath(spec)!r} loads the model to train; the model "
                                     f"argument must then be the registered name of its architecture, not "
                                     f"{_describe(requested)}")
    path = model_path(os.fspath(spec))
    model = load_model_file(path, compile=False)
    held = [name.lower() for name in (run_config(path).get("model"), model.name) if name]
    if requested.lower() not in held:
        raise ModelFileMismatchError(f"Cannot fine-tune model {requested!r} from {path}: the file holds model "
                                     f"{_finetune_advice(held, spec, path)}, or train {requested!r} without "
                                     "--finetune-from.")
    return model


def _finetune_advice(held, spec, path):
    """The model a fine-tuning source holds and how to fine-tune it."""
    from keras_cv_course.models import list_models

    registered = [name for name in held if name in list_models()]
    if registered:
        return (f"{registered[0]!r}. Fine-tune the model it holds (kcc train {registered[0]} --finetune-from {spec}, "
                "or leave MODEL out)")
    return f"{held[0]!r}, which is not a registered model. Train the file itself (kcc train {path})"


def _describe(value):
    if isinstance(value, (str, os.PathLike)):
        return f"the model file {os.fspath(value)!r}"
    return f"a built model ({type(value).__name__} {getattr(value, 'name', '')!r})"


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
    resize_size: int = None  # the weights' evaluation transform: resize the shorter side, centre-crop the input
    interpolation: str = "bilinear"


def load_run(spec, sha256=None):
    """A ``LoadedModel`` from a run directory, a .keras file or a registered
    name with trained weights; ``sha256``: the digest the model (or weight)
    file must have. A path that does not exist is named as such; model names
    are suggested only for an argument written like a name. Loading needs
    nothing beyond ``import keras_cv_course``: the package registers everything
    it saves."""
    if os.path.exists(spec):
        path = model_path(spec)
        model = load_model_file(path, sha256=sha256)
        config = run_config(path)
        return LoadedModel(model, _recorded_preprocessing(config, path), config.get("dataset"),
                           config.get("class_names"), config.get("task"), config.get("validation_split") or 0.2,
                           config.get("seed") or 0, config.get("resize_size"), config.get("interpolation", "bilinear"))
    if looks_like_path(spec):
        raise RunNotFoundError(f"The run directory or model file {spec!r} does not exist")
    from keras_cv_course.models import get_model, model_info

    try:
        info = model_info(spec)
    except ValueError as error:  # the registry's error, its class (and exit status) kept
        error.args = (f"{error} (There is no file or run directory {spec!r} either.)",)
        raise
    if not info.weights:
        raise ValueError(f"{spec!r} is neither a file nor a registered model with trained weights (it has none)")
    weights_name = next(iter(info.weights))
    weight_spec = info.weights[weights_name]
    model = get_model(spec, weights=weights_name, weights_sha256=sha256)
    dataset = getattr(weight_spec, "dataset", None)
    return LoadedModel(model, getattr(weight_spec, "preprocessing", info.preprocessing), dataset,
                       _known_class_names(dataset), {"name": info.task},
                       resize_size=getattr(weight_spec, "resize_size", None),
                       interpolation=getattr(weight_spec, "interpolation", "bilinear"))


def _recorded_preprocessing(config, path):
    """The run's preprocessing mode; a run trained with a preprocessing callable
    (recorded as ``"callable:module.qualname"``) is refused, naming the callable,
    since the run directory cannot say what it computed."""
    mode = config.get("preprocessing", "unit")
    if isinstance(mode, str) and mode.startswith(CALLABLE_PREFIX):
        raise ValueError(
            f"{path!r} was trained with the preprocessing callable {mode[len(CALLABLE_PREFIX):]!r}, which a run "
            "directory cannot record; load the model with keras.saving.load_model and feed it "
            "data.pipeline(..., preprocess=<that callable>)")
    return mode


def _known_class_names(dataset):
    """The class names of a registered dataset (None for another or no dataset)."""
    from keras_cv_course import data

    try:
        return list(data.info(dataset).class_names) if dataset else None
    except ValueError:
        return None


def load_any_model(spec):
    """``(model, preprocessing mode, dataset name)`` of ``load_run(spec)``."""
    loaded = load_run(spec)
    return loaded.model, loaded.preprocessing, loaded.dataset


def read_image(path, channels, size, resize_size=None, interpolation="bilinear"):
    """An image file as a uint8 array (H, W, channels) resized to ``size`` (H, W),
    or, with ``resize_size``, resized so its shorter side is ``resize_size`` and
    centre-cropped to ``size`` (torchvision's evaluation transform);
    ``interpolation`` "bilinear" or "bicubic". A file that is not a readable
    image is a ``CorruptFileError`` naming it."""
    import numpy as np
    from PIL import Image

    if not os.path.isfile(path):
        raise FileNotFoundError(f"No image file {path!r}")
    try:
        with Image.open(path) as opened:
            image = _resized(opened.convert("L" if channels == 1 else "RGB"), size, resize_size, interpolation)
    except (OSError, ValueError, SyntaxError) as error:  # Pillow's errors for truncated, corrupt or unknown files
        raise CorruptFileError(f"Cannot read image {path!r}: the file is truncated, corrupt or not an image "
                               f"({type(error).__name__}: {error})") from error
    array = np.asarray(image, dtype=np.uint8)
    return array[..., None] if channels == 1 else array


def _resized(image, size, resize_size, interpolation):
    """``image`` (PIL) at ``size`` (H, W): resized to it, or shorter side to
    ``resize_size`` then centre-cropped (rounded as torchvision's ``center_crop``)."""
    from PIL import Image

    resample = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}[interpolation]
    if resize_size is None:
        return image.resize((size[1], size[0]), resample)
    short, long = sorted(image.size)
    long = int(resize_size * long / short)  # torchvision's Resize(int): the shorter side to resize_size
    width, height = (resize_size, long) if image.size[0] <= image.size[1] else (long, resize_size)
    image = image.resize((max(width, size[1]), max(height, size[0])), resample)
    width, height = image.size
    top, left = int(round((height - size[0]) / 2.0)), int(round((width - size[1]) / 2.0))
    return image.crop((left, top, left + size[1], top + size[0]))
