"""Weight files: check that a file fits a model, layer by layer, then load it.

Keras loads legacy ``.h5`` files (keras.applications' ImageNet files) by the order
of the layers that have weights, and Keras 3 ``.weights.h5`` files by the order of
layers of each class. Either way a file from another architecture fails deep
inside Keras or, worse, loads into layers of equal shape. ``load_checked``
compares the file with the model first and names the first layer that differs.

A Keras 3 weights file addresses each layer by its class name (snake case,
numbered per class within its container: ``layers/conv2d_3/vars``; see
``keras/src/saving/saving_lib.py``), not by the layer's name. EfficientNet's
normalization is therefore ``blocks.mobile.Normalization``, Keras's class name;
files written while it was ``ImageNormalization`` (``layers/image_normalization``)
are recognised and still load.
"""

import contextlib
import os
import re
import zipfile

import h5py

from keras_cv_course import _files


class WeightFileMismatchError(ValueError):
    """A weight file does not fit the model it is loaded into."""


def load_checked(model, path, sha256=None, architecture=None):
    """Load the weight file at ``path`` into ``model`` after checking it fits
    (and, with ``sha256``, that it has that digest). A torch file (``.pth``,
    ``.pt``) is converted through the name table of ``architecture``, the
    registered name ``model`` is built as (default: ``model.name``)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"Weight file not found: {path}")
    if os.path.isdir(path):
        raise ValueError(f"Weight path {path!r} is a directory, not a weight file (.weights.h5, .h5/.hdf5 or .keras)")
    if sha256 is not None:
        _files.check_sha256(path, sha256)
    if path.endswith((".pth", ".pt")):
        from keras_cv_course.models import torch_weights

        return torch_weights.load_torch_weights(model, path, architecture or model.name)
    if path.endswith(".keras"):
        _files.check_keras_archive(path)
        with _saved_as(model, _archive_uses_old_names(model, path)):
            model.load_weights(path)
        return model
    if not (path.endswith(".h5") or path.endswith(".hdf5")):
        raise ValueError(f"Unsupported weight file {path!r}: expected .weights.h5, legacy .h5/.hdf5, .keras or a "
                         f"torch state_dict (.pth/.pt)")
    old_names = False
    try:
        with h5py.File(path, "r") as handle:
            if path.endswith(".weights.h5"):
                old_names = _uses_old_names(model, handle)
                _check_keras3_file(model, handle, path, old_names)
            else:
                _check_legacy_file(model, handle, path)
    except OSError as error:
        raise ValueError(f"Weight file {path!r} is not a readable HDF5 file: {error}") from error
    with _saved_as(model, old_names):
        model.load_weights(path)
    return model


def weighted_layers(model):
    """``[(layer name, [weight shapes])]`` for the layers that hold weights, in order."""
    return [(layer.name, [tuple(w.shape) for w in layer.weights]) for layer in model.layers if layer.weights]


def _check_legacy_file(model, handle, path):
    if "layer_names" not in handle.attrs and "model_weights" in handle:
        handle = handle["model_weights"]
    if "layer_names" not in handle.attrs:
        raise WeightFileMismatchError(f"{path!r} is not a Keras weight file (no 'layer_names' attribute)")
    entries = []
    for raw_name in handle.attrs["layer_names"]:
        layer_name = _text(raw_name)
        group = handle[layer_name]
        weight_names = [_text(n) for n in group.attrs.get("weight_names", [])]
        if weight_names:
            entries.append((layer_name, [tuple(group[w].shape) for w in weight_names]))
    _compare(model, weighted_layers(model), entries, path)


def _check_keras3_file(model, handle, path, old_names=False):
    expected, entries = [], []
    for layer, key in _keras3_keys(model.layers, "layers", old_names):
        if not layer.weights:
            continue
        expected.append((layer.name, [tuple(w.shape) for w in layer.weights]))
        group = handle.get(f"{key}/vars")
        shapes = [tuple(group[str(i)].shape) for i in range(len(group))] if group is not None else []
        entries.append((key, shapes))
    _compare(model, expected, entries, path)


def _keras3_keys(layer_list, prefix, old_names=False):
    """Pair each layer with its group path in a Keras 3 weights file
    (class name in snake case, numbered per class within its container);
    ``old_names``: renamed classes under the names they had (``_renamed``)."""
    used, renamed = {}, _renamed() if old_names else {}
    for layer in layer_list:
        key = _snake_case(renamed.get(type(layer), type(layer)).__name__)
        if key in used:
            used[key] += 1
            key = f"{key}_{used[key]}"
        else:
            used[key] = 0
        path = f"{prefix}/{key}"
        sublayers = getattr(layer, "layers", None)
        if sublayers:
            yield from _keras3_keys(sublayers, f"{path}/layers", old_names)
        else:
            yield layer, path


def _renamed():
    """``{class: the class whose name it had}``: layer classes renamed to match
    Keras's weight paths, each a subclass of its old class that only renames it."""
    from keras_cv_course.blocks.mobile import ImageNormalization, Normalization

    return {Normalization: ImageNormalization}


def _renamed_layers(model):
    """The layers of ``model`` (nested ones too) whose class ``_renamed`` lists."""
    renamed = _renamed()
    return [layer for layer, _ in _keras3_keys(model.layers, "layers") if type(layer) in renamed]


def _uses_old_names(model, handle):
    """Whether the Keras 3 weights file ``handle`` holds a renamed layer of
    ``model`` under its old class name only (written before the rename)."""
    if not _renamed_layers(model):
        return False
    now = dict((id(layer), key) for layer, key in _keras3_keys(model.layers, "layers"))
    before = dict((id(layer), key) for layer, key in _keras3_keys(model.layers, "layers", old_names=True))
    return any(now[i] != before[i] and now[i] not in handle and before[i] in handle for i in now)


def _archive_uses_old_names(model, path):
    """``_uses_old_names`` for the weights inside the ``.keras`` archive ``path``."""
    if not _renamed_layers(model):
        return False
    with zipfile.ZipFile(path) as archive:
        if "model.weights.h5" not in archive.namelist():
            return False
        with archive.open("model.weights.h5") as member, h5py.File(member, "r") as handle:
            return _uses_old_names(model, handle)


@contextlib.contextmanager
def _saved_as(model, old_names):
    """With ``old_names``, present the renamed layers of ``model`` as their old
    classes while Keras loads (its weight paths follow the class name); the
    classes come back afterwards, also on an error."""
    if not old_names:
        yield
        return
    renamed = _renamed()
    swapped = [(layer, type(layer)) for layer in _renamed_layers(model)]
    try:
        for layer, cls in swapped:
            object.__setattr__(layer, "__class__", renamed[cls])
        yield
    finally:
        for layer, cls in swapped:
            object.__setattr__(layer, "__class__", cls)


def _compare(model, expected, entries, path):
    for index, ((layer_name, shapes), (file_name, file_shapes)) in enumerate(zip(expected, entries)):
        if shapes != file_shapes:
            raise WeightFileMismatchError(
                f"Weight file {path!r} does not fit model {model.name!r}: weighted layer #{index} "
                f"{layer_name!r} needs weights of shapes {shapes}, the file's entry {file_name!r} holds {file_shapes}."
            )
    if len(expected) != len(entries):
        raise WeightFileMismatchError(
            f"Weight file {path!r} does not fit model {model.name!r}: the model has {len(expected)} layers "
            f"with weights, the file {len(entries)}; the first {min(len(expected), len(entries))} agree."
        )


def _snake_case(name):
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _text(value):
    return value.decode("utf8") if isinstance(value, bytes) else str(value)
