"""torchvision's ImageNet weights in the Keras models that share their layouts.

A torchvision ``state_dict`` (a ``.pth`` file as torchvision saves it, read with
``torch.load(..., weights_only=True)``, a ``.npz`` of the same keys, or a plain
dict of numpy arrays or tensors) is converted into a registered model by a
*name table*: for each torch module (``layer1.0.conv1``) the Keras layer it
fills (``conv2_block1_1_conv``). The tables live one file per family in
``models/torchvision_tables/`` and are made from the same stage tables the
builders walk. The parameters under a module follow from the Keras layer's type:

- ``Conv2D``: ``weight`` (O, I/groups, kh, kw) → (kh, kw, I/groups, O); ``bias``.
- ``DepthwiseConv2D``: ``weight`` (C·m, 1, kh, kw) → (kh, kw, C, m); ``bias``.
- ``Dense``: ``weight`` (U, C) → (C, U); after a ``Flatten`` of an (H, W, C) map
  the rows are reordered from torch's channel-major flatten to Keras's
  channels-last one; ``bias``.
- ``BatchNormalization``: ``weight`` (γ), ``bias`` (β), ``running_mean``,
  ``running_var``; ``num_batches_tracked`` is a counter and is ignored.

Everything is checked before a single weight is assigned: a missing tensor, one
of the wrong shape, a tensor no table entry uses (a file of another
architecture) and a weighted Keras layer the table leaves out are errors naming
the tensor, the layer and the file. ``weights="torchvision"`` finds
torchvision's own file name (with its sha256 prefix) in the torch hub cache
(``$TORCH_HOME/hub/checkpoints``, default ``~/.cache/torch``), verifies the
prefix and converts; ``weights="file.pth"`` converts that file. torch is
imported only to read ``.pth`` files (``pip install "keras-cv-course[torch]"``);
``kcc convert`` writes a ``.weights.h5`` and a ``.keras`` once, so later loads
need no torch.
"""

import collections.abc
import dataclasses
import importlib
import os
import re
import shutil
import tempfile
import urllib.request

import numpy as np
from keras import layers

from keras_cv_course import _files

TORCH_SUFFIXES = (".pth", ".pt")
TORCHVISION_URL = "https://download.pytorch.org/models/"
# Family modules of ``models/torchvision_tables``; each has ``TABLES = {registry name: table(model)}``.
TABLE_MODULES = ("alexnet", "vgg", "googlenet", "inception_v3", "resnet", "densenet", "squeezenet", "mobilenet_v2",
                 "efficientnet")
_HASH_PREFIX = re.compile(r"-([a-f0-9]{6,})\.")


class TorchWeightsError(ValueError):
    """A torch state_dict does not fit the model it is converted into."""


@dataclasses.dataclass(frozen=True)
class TorchModule:
    """One entry of a name table: the torch module at ``prefix`` fills the Keras
    layer ``layer``. ``optional``: a part of the file the model may lack (the
    classifier with ``include_top=False``, auxiliary heads); skipped then."""

    prefix: str
    layer: str
    optional: bool = False


@dataclasses.dataclass(frozen=True)
class TorchvisionFile:
    """torchvision's ImageNet weights of one architecture: its file name (as
    torchvision publishes it, ``<arch>-<sha256 prefix>.pth``) and the
    preprocessing its transforms apply (``ImageClassification``: resize the
    shorter side to ``resize_size``, centre-crop ``crop_size``, then the
    ``preprocessing`` mode)."""

    fname: str
    crop_size: int = 224
    resize_size: int = 256
    interpolation: str = "bilinear"
    preprocessing: str = "torch"

    @property
    def hash_prefix(self):
        match = _HASH_PREFIX.search(self.fname)
        return match.group(1) if match else None

    def fetch(self, model_name):
        """The verified path of the file in the torch hub cache, downloaded there
        first when it is missing (torch.hub's place and naming)."""
        path = os.path.join(hub_checkpoints_dir(), self.fname)
        if not os.path.exists(path):
            _download(TORCHVISION_URL + self.fname, path, model_name)
        check_hash_prefix(path, self.hash_prefix)
        return path


def _tv(arch, fname_hash, **transforms):
    return TorchvisionFile(f"{arch}-{fname_hash}.pth", **transforms)


# torchvision 0.29's IMAGENET1K_V1 files and transforms (torchvision/models/*.py). GoogLeNet and Inception-v3
# run with transform_input=True under these weights, which turns torch-normalised input into x/127.5 - 1: "tf".
TORCHVISION_FILES = {
    "alexnet": _tv("alexnet-owt", "7be5be79"),
    "vgg11": _tv("vgg11", "8a719046"), "vgg11_bn": _tv("vgg11_bn", "6002323d"),
    "vgg13": _tv("vgg13", "19584684"), "vgg13_bn": _tv("vgg13_bn", "abd245e5"),
    "vgg16": _tv("vgg16", "397923af"), "vgg16_bn": _tv("vgg16_bn", "6c64b313"),
    "vgg19": _tv("vgg19", "dcbb9e9d"), "vgg19_bn": _tv("vgg19_bn", "c79401a0"),
    "googlenet": _tv("googlenet", "1378be20", preprocessing="tf"),
    "inception_v3_torchvision": _tv("inception_v3_google", "0cc3c7bd", crop_size=299, resize_size=342,
                                    preprocessing="tf"),
    "resnet18": _tv("resnet18", "f37072fd"), "resnet34": _tv("resnet34", "b627a593"),
    "resnet50_torchvision": _tv("resnet50", "0676ba61"), "resnet101_torchvision": _tv("resnet101", "63fe2227"),
    "resnet152_torchvision": _tv("resnet152", "394f9c45"),
    "resnext50_32x4d": _tv("resnext50_32x4d", "7cdf4587"), "resnext101_32x8d": _tv("resnext101_32x8d", "8ba56ff5"),
    "resnext101_64x4d": _tv("resnext101_64x4d", "173b62eb", resize_size=232),  # IMAGENET1K_V1 is its only file
    "wide_resnet50_2": _tv("wide_resnet50_2", "95faca4d"), "wide_resnet101_2": _tv("wide_resnet101_2", "32ee1156"),
    "densenet121_torchvision": _tv("densenet121", "a639ec97"),
    "densenet169_torchvision": _tv("densenet169", "b2777c0a"),
    "densenet201_torchvision": _tv("densenet201", "c1103571"),
    "squeezenet1_0": _tv("squeezenet1_0", "b66bff10"), "squeezenet1_1": _tv("squeezenet1_1", "b8a52dc0"),
    "mobilenet_v2_torchvision": _tv("mobilenet_v2", "b0353104"),
    "efficientnet_b0_torchvision": _tv("efficientnet_b0_rwightman", "7f5810bc", crop_size=224, resize_size=256,
                                       interpolation="bicubic"),
    "efficientnet_b1_torchvision": _tv("efficientnet_b1_rwightman", "bac287d4", crop_size=240, resize_size=256,
                                       interpolation="bicubic"),
    "efficientnet_b2_torchvision": _tv("efficientnet_b2_rwightman", "c35c1473", crop_size=288, resize_size=288,
                                       interpolation="bicubic"),
    "efficientnet_b3_torchvision": _tv("efficientnet_b3_rwightman", "b3899882", crop_size=300, resize_size=320,
                                       interpolation="bicubic"),
    "efficientnet_b4_torchvision": _tv("efficientnet_b4_rwightman", "23ab8bcd", crop_size=380, resize_size=384,
                                       interpolation="bicubic"),
    "efficientnet_b5_torchvision": _tv("efficientnet_b5_lukemelas", "1a07897c", crop_size=456, resize_size=456,
                                       interpolation="bicubic"),
    "efficientnet_b6_torchvision": _tv("efficientnet_b6_lukemelas", "24a108a5", crop_size=528, resize_size=528,
                                       interpolation="bicubic"),
    "efficientnet_b7_torchvision": _tv("efficientnet_b7_lukemelas", "c5b4e57e", crop_size=600, resize_size=600,
                                       interpolation="bicubic"),
}


def torchvision_weight_spec(model_name):
    """The ``WeightSpec`` of ``weights="torchvision"`` for the registered
    ``model_name``, or None when torchvision has no weights for that layout."""
    from keras_cv_course.models._common import WeightSpec

    file = TORCHVISION_FILES.get(model_name)
    if file is None:
        return None
    return WeightSpec("torchvision", file, file, classes=1000, preprocessing=file.preprocessing, dataset="imagenet",
                      crop_size=file.crop_size, resize_size=file.resize_size, interpolation=file.interpolation)


# ----------------------------------------------------------------------------- the torch hub cache


def torch_home():
    """``$TORCH_HOME``, else ``$XDG_CACHE_HOME/torch``, else ``~/.cache/torch``
    (torch.hub's rule, read at call time)."""
    if os.environ.get("TORCH_HOME"):
        return os.environ["TORCH_HOME"]
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "torch")


def hub_checkpoints_dir():
    """Where torch.hub keeps downloaded weight files."""
    return os.path.join(torch_home(), "hub", "checkpoints")


def check_hash_prefix(path, prefix):
    """Refuse ``path`` unless its sha256 starts with ``prefix`` (torchvision's
    file-name convention; None: nothing to check)."""
    if prefix is None:
        return
    digest = _files.sha256_of(path)
    if not digest.startswith(prefix):
        raise _files.HashMismatchError(
            f"{path} has sha256 {digest}, but its name says it starts with {prefix}: the file is corrupt, "
            f"truncated or another file under that name. Delete it and download it again.")


def _download(url, path, model_name):
    """Fetch ``url`` to ``path`` through a temporary file in the same folder
    (a failed download leaves nothing behind)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            shutil.copyfileobj(response, out)
        os.replace(partial, path)
    except OSError as error:
        from keras_cv_course.models._common import WeightsUnavailableError

        raise WeightsUnavailableError(
            f"Could not get the torchvision weights of {model_name!r}: {os.path.basename(path)} is not in the torch "
            f"hub cache ({path}) and downloading {url} failed: {error}. Copy the file there (any machine with "
            f"torchvision puts it there on first use), or pass weights=<path to the .pth file>.") from error
    finally:
        if os.path.exists(partial):
            os.remove(partial)


# ----------------------------------------------------------------------------- reading a state_dict


def read_state_dict(source):
    """``{name: numpy array}`` of a torch state_dict: a ``.pth``/``.pt`` file
    (``torch.load(weights_only=True)``: no code in the file runs), a ``.npz``, or
    a mapping of arrays or tensors. A file that is truncated, corrupt or not a
    state_dict is an error naming it."""
    if isinstance(source, collections.abc.Mapping):
        return _as_arrays(source, "the state_dict given")
    path = os.fspath(source)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No torch weight file {path!r}")
    if path.endswith(".npz"):
        try:
            with np.load(path, allow_pickle=False) as archive:
                return {key: archive[key] for key in archive.files}
        except (OSError, ValueError) as error:
            raise _files.CorruptFileError(f"{path} is not a readable .npz state_dict: {error}") from error
    torch = import_torch()
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises RuntimeError, pickle.UnpicklingError, EOFError, ... for bad files
        raise _files.CorruptFileError(
            f"{path} is not a readable torch state_dict (truncated, corrupt, or a pickled object that "
            f"weights_only loading refuses): {type(error).__name__}: {error}") from error
    return _as_arrays(_unwrap_checkpoint(loaded, path), path)


def _unwrap_checkpoint(loaded, path):
    """The state_dict of a training checkpoint that nests it under one of the usual keys."""
    if isinstance(loaded, collections.abc.Mapping):
        for key in ("state_dict", "model_state_dict", "model"):
            if isinstance(loaded.get(key), collections.abc.Mapping):
                return loaded[key]
        return loaded
    raise TorchWeightsError(f"{path} holds a {type(loaded).__name__}, not a state_dict (a mapping of tensor names "
                            f"to tensors)")


def _as_arrays(mapping, where):
    arrays = {}
    for key, value in mapping.items():
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        if not isinstance(value, np.ndarray):
            raise TorchWeightsError(f"{where}: entry {key!r} is a {type(value).__name__}, not a tensor or array")
        arrays[str(key)] = value
    return arrays


def import_torch():
    """``torch``, or an ImportError saying how to install it."""
    try:
        return importlib.import_module("torch")
    except ImportError as error:
        raise ImportError('Reading .pth files needs PyTorch: pip install "keras-cv-course[torch]" (or convert once '
                          "with `kcc convert` on a machine that has it, and load the .weights.h5 it writes)") from error


# ----------------------------------------------------------------------------- converting


def name_table(model_name, model):
    """The ``[TorchModule]`` of the registered ``model_name`` built as ``model``."""
    for module_name in TABLE_MODULES:
        try:
            module = importlib.import_module(f"keras_cv_course.models.torchvision_tables.{module_name}")
        except ModuleNotFoundError as error:
            if error.name != f"keras_cv_course.models.torchvision_tables.{module_name}":
                raise
            continue
        if model_name in module.TABLES:
            return list(module.TABLES[model_name](model))
    known = ", ".join(sorted(TORCHVISION_FILES))
    raise TorchWeightsError(f"There is no torchvision name table for {model_name!r}; torch weights load into: {known}")


def load_torch_weights(model, source, model_name):
    """Convert the state_dict ``source`` (see ``read_state_dict``) into ``model``,
    the registered ``model_name``; every tensor is checked before any is set.
    Returns ``model``."""
    where = "the state_dict given" if isinstance(source, collections.abc.Mapping) else os.fspath(source)
    state = read_state_dict(source)
    for variable, value in plan(model, state, name_table(model_name, model), where, model_name):
        variable.assign(value)
    return model


def plan(model, state, table, where, model_name):
    """``[(Keras variable, converted array)]`` for every tensor of ``state``
    that ``table`` maps into ``model``; the errors of the module docstring."""
    by_name = {layer.name: layer for layer in model.layers}
    used, assignments = set(), []
    for entry in table:
        layer = by_name.get(entry.layer)
        if layer is None:
            if not entry.optional:
                raise TorchWeightsError(f"{model_name!r}'s name table maps {entry.prefix!r} to a layer "
                                        f"{entry.layer!r} that model {model.name!r} does not have")
            used.update(key for key in state if key.startswith(entry.prefix + "."))
            continue
        for param, variable, convert, torch_shape in _parameters(layer):
            key = f"{entry.prefix}.{param}"
            if key not in state:
                raise TorchWeightsError(
                    f"{where} has no tensor {key!r}, which {model_name!r} needs for layer {entry.layer!r} (shape "
                    f"{torch_shape}). {_file_hint(state)}")
            if tuple(state[key].shape) != torch_shape:
                raise TorchWeightsError(
                    f"{where}: tensor {key!r} has shape {tuple(state[key].shape)}, but layer {entry.layer!r} of "
                    f"{model_name!r} needs {torch_shape} (torch layout): a file of another architecture or width?")
            assignments.append((variable, convert(state[key]).astype(variable.dtype)))
            used.add(key)
        used.add(f"{entry.prefix}.num_batches_tracked")
    _check_complete(model, table, state, used, where, model_name)
    return assignments


def _check_complete(model, table, state, used, where, model_name):
    unused = [key for key in state if key not in used and not key.endswith("num_batches_tracked")]
    if unused:
        raise TorchWeightsError(
            f"{where} has {len(unused)} tensors that {model_name!r} has no place for, the first {unused[0]!r} "
            f"(shape {tuple(state[unused[0]].shape)}): a file of another architecture?")
    mapped = {entry.layer for entry in table}
    missed = [layer.name for layer in model.layers if layer.weights and layer.name not in mapped]
    if missed:
        raise TorchWeightsError(f"{model_name!r}'s name table leaves out the weighted layer {missed[0]!r} "
                                f"({len(missed)} in all): it would keep its random initial weights")


def _file_hint(state):
    first = next(iter(state), None)
    return f"The file's {len(state)} tensors start with {first!r}: a file of another architecture?" if first else \
        "The file holds no tensors."


def _parameters(layer):
    """``[(torch name, variable, numpy conversion, torch shape)]`` of one Keras layer."""
    if isinstance(layer, layers.DepthwiseConv2D):
        kh, kw, channels, multiplier = layer.kernel.shape
        found = [("weight", layer.kernel, _depthwise_kernel(channels, multiplier),
                  (channels * multiplier, 1, kh, kw))]
        return found + _bias(layer)
    if isinstance(layer, layers.Conv2D):
        kh, kw, inputs, outputs = layer.kernel.shape
        return [("weight", layer.kernel, lambda w: w.transpose(2, 3, 1, 0), (outputs, inputs, kh, kw))] + _bias(layer)
    if isinstance(layer, layers.Dense):
        inputs, units = layer.kernel.shape
        return [("weight", layer.kernel, _dense_kernel(layer), (units, inputs))] + _bias(layer)
    if isinstance(layer, layers.BatchNormalization):
        slots = [("weight", layer.gamma)] if layer.scale else []
        slots += [("bias", layer.beta)] if layer.center else []
        slots += [("running_mean", layer.moving_mean), ("running_var", layer.moving_variance)]
        return [(name, variable, np.asarray, tuple(variable.shape)) for name, variable in slots]
    raise TorchWeightsError(f"Layer {layer.name!r} ({type(layer).__name__}) has weights but no torch counterpart "
                            "the converter knows (Conv2D, DepthwiseConv2D, Dense, BatchNormalization)")


def _bias(layer):
    if not layer.use_bias:
        return []
    return [("bias", layer.bias, np.asarray, tuple(layer.bias.shape))]


def _depthwise_kernel(channels, multiplier):
    """torch's (C·m, 1, kh, kw), output channel c·m + j, as Keras's (kh, kw, C, m)."""
    return lambda w: w.transpose(2, 3, 0, 1).reshape(w.shape[2], w.shape[3], channels, multiplier)


def _dense_kernel(layer):
    """A Linear weight's conversion: transposed, and after a ``Flatten`` of an
    (H, W, C) map reordered from torch's (C, H, W) flatten order."""
    from keras_cv_course.surgery import dense_kernel_from_torch

    flattened = _flattened_map(layer)
    if flattened is None:
        return lambda w: w.T
    height, width, channels = flattened
    return lambda w: dense_kernel_from_torch(w, channels, height, width)


def _flattened_map(layer):
    """(H, W, C) of the map a ``Flatten`` turned into ``layer``'s input (through
    dropout and activations), or None."""
    from keras_cv_course._keras_compat import keras_history

    tensor = layer.input
    while True:
        source = keras_history(tensor)[0]
        if isinstance(source, layers.Flatten):
            shape = source.input.shape
            return tuple(shape[1:]) if len(shape) == 4 and shape[1] * shape[2] > 1 else None
        if not isinstance(source, (layers.Dropout, layers.Activation, layers.ReLU)):
            return None
        tensor = source.input
