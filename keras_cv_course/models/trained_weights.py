"""Weights this project trained, listed in ``weights/manifest.json``.

The weight files live in the repository's top-level ``weights/`` folder (not in
the package), found relative to this source file: ``<repo>/weights`` for an
editable install (``pip install -e .``) or a source checkout. A non-editable
install has no such folder; set ``$KCC_WEIGHTS_DIR`` to a folder holding
``manifest.json`` and the files, or the loader says where it looked.

Each manifest entry records the file, its sha256, the model, the dataset, the
input preprocessing, the measured test accuracy and the command that reproduced
it. ``weight_specs(model)`` turns the entries of ``model`` into the
``WeightSpec`` objects builders take (``get_model("lenet5",
weights="fashion_mnist")``), read when first looked into (never at import);
fetching a file verifies its sha256. A truncated manifest is an error naming it;
an entry that cannot be used (no ``file``, say) is listed but refused, naming
the entry, what is wrong and the manifest, only when its weights are asked for,
so it breaks no command that does not need it.
"""

import collections.abc
import dataclasses
import os

from keras_cv_course import _files
from keras_cv_course._files import sha256_of  # noqa: F401 - the manifest's digest, used by training.export
from keras_cv_course.models._common import WeightSpec, WeightsUnavailableError

MANIFEST = "manifest.json"
REQUIRED_KEYS = ("name", "model", "file", "sha256")
RESTORE_ADVICE = ("Restore it (git checkout weights/manifest.json) or set KCC_WEIGHTS_DIR to a folder with a good "
                  "manifest.json.")


def weights_dir():
    """``$KCC_WEIGHTS_DIR`` (read at call time), else ``<repo>/weights`` beside the package."""
    override = os.environ.get("KCC_WEIGHTS_DIR")
    if override:
        return override
    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(os.path.dirname(package_dir), "weights")


def manifest_path(directory=None):
    """Where the manifest is: ``directory`` (default ``weights_dir()``)/manifest.json."""
    return os.path.join(directory or weights_dir(), MANIFEST)


def read_manifest(directory=None):
    """The manifest as a dict (``{"weights": [...]}``); empty when there is none.
    A truncated or corrupt file is a ``CorruptFileError`` naming it."""
    path = manifest_path(directory)
    if not os.path.exists(path):
        return {"weights": []}
    manifest = _files.read_json(path, advice=RESTORE_ADVICE)
    if not isinstance(manifest.get("weights", []), list):
        raise _files.CorruptFileError(f"{path} is corrupt: its 'weights' must be a list of entries, not "
                                      f"{type(manifest['weights']).__name__}. {RESTORE_ADVICE}")
    return manifest


class ManifestError(ValueError):
    """A manifest entry cannot be used: a key is missing or has a wrong value."""


def entry_problem(entry):
    """What makes a manifest entry unusable, as the end of a sentence ("has no
    'file'"), or None for a usable entry."""
    missing = [key for key in REQUIRED_KEYS if key not in entry]
    if missing:
        return "has no " + " and no ".join(repr(key) for key in missing)
    for key in REQUIRED_KEYS:
        if not isinstance(entry[key], str) or not entry[key]:
            return f"has {key} {entry[key]!r} where a non-empty string is expected"
    if _files.looks_like_path(entry["file"], suffixes=()):
        return f"has file {entry['file']!r}, which is not a file name inside the weights folder"
    try:
        _files.parse_sha256(entry["sha256"])
    except ValueError:
        return f"has sha256 {entry['sha256']!r}, which is not a sha256 digest (64 hexadecimal characters)"
    classes, shape = entry.get("classes", 10), entry.get("input_shape")
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        return f"has classes {classes!r} where a positive integer is expected"
    if shape is not None and not (isinstance(shape, list) and len(shape) == 3
                                  and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in shape)):
        return f"has input_shape {shape!r} where [height, width, channels] is expected"
    return None


class WeightHashMismatchError(_files.HashMismatchError):
    """A weight file's sha256 differs from the manifest's."""


@dataclasses.dataclass(frozen=True)
class LocalFile:
    """A weight file of the project's ``weights/`` folder, checked by sha256."""

    fname: str
    sha256: str

    def fetch(self, model_name):
        directory = weights_dir()
        path = os.path.join(directory, self.fname)
        if not os.path.exists(path):
            raise WeightsUnavailableError(
                f"The trained weights of {model_name!r} ({self.fname}) are not in {directory}. They ship in the "
                f"repository's weights/ folder: use an editable install (pip install -e .) of a checkout, or set "
                f"KCC_WEIGHTS_DIR to a folder with manifest.json and {self.fname}."
            )
        actual = sha256_of(path)
        if actual != self.sha256:
            raise WeightHashMismatchError(
                f"{path} has sha256 {actual}, but weights/manifest.json records {self.sha256} for {model_name!r}: "
                f"the file is corrupt or was replaced. Restore it (git checkout weights/) or retrain with the "
                f"manifest's command."
            )
        return path


def weight_specs(model_name, directory=None):
    """``{weights name: WeightSpec}`` for the manifest entries of ``model_name``:
    a read-only mapping that reads the manifest when first looked into, not when
    made, so a family can register it at import without touching the disk."""
    return ManifestWeights(model_name, directory)


def default_build_weights(model_name, defaults):
    """A registry row's ``weights`` hook: the manifest's weights of ``model_name``
    for a build whose options are ``defaults`` (the network that was trained),
    none for any other build (a different width has no trained weights)."""
    defaults = dict(defaults)

    def specs(options=None):
        if options is not None and any(options.get(key, value) != value for key, value in defaults.items()):
            return {}
        return weight_specs(model_name)

    return specs


class ManifestWeights(collections.abc.Mapping):
    """The ``WeightSpec``s of one model in the manifest, read at first use
    (from ``directory``, else ``weights_dir()`` at that time) and kept. The
    names of unusable entries are listed too; looking one up raises its
    ``ManifestError``."""

    def __init__(self, model_name, directory=None):
        self.model_name, self.directory = model_name, directory
        self._read = {}

    def _entries(self):
        directory = self.directory or weights_dir()
        if directory not in self._read:
            self._read[directory] = read_weight_entries(self.model_name, directory)
        return self._read[directory]

    def __getitem__(self, name):
        specs, problems = self._entries()
        if name in problems:
            raise ManifestError(problems[name])
        return specs[name]

    def _names(self):
        specs, problems = self._entries()
        return [*specs, *(name for name in problems if name not in specs and not name.startswith("#"))]

    def __iter__(self):
        return iter(self._names())

    def __len__(self):
        return len(self._names())

    def __repr__(self):
        return f"ManifestWeights({self.model_name!r})"


def read_weight_specs(model_name, directory=None):
    """``{weights name: WeightSpec}`` of ``model_name``'s usable entries, read from the manifest now."""
    return read_weight_entries(model_name, directory)[0]


def read_weight_entries(model_name, directory=None):
    """``(specs, problems)`` of ``model_name``'s manifest entries, read now:
    ``{weights name: WeightSpec}`` of the usable ones and ``{weights name:
    message}`` of the others (an entry without a name is keyed by its position,
    ``"#3"``). The message names the entry, what is wrong and the manifest."""
    path = manifest_path(directory)
    specs, problems = {}, {}
    for index, entry in enumerate(read_manifest(directory).get("weights", [])):
        if not isinstance(entry, dict) or entry.get("model") != model_name:
            continue
        name = entry.get("name") if isinstance(entry.get("name"), str) else f"#{index}"
        problem = entry_problem(entry)
        if problem is None:
            specs[name] = _weight_spec(entry)
        else:
            problems[name] = (f"The {name!r} weights of {model_name!r} (entry #{index} of {path}) cannot be used: "
                              f"the entry {problem}. {RESTORE_ADVICE}")
    return specs, problems


def _weight_spec(entry):
    return WeightSpec(
        entry["name"],
        LocalFile(entry["file"], entry["sha256"]),
        None,
        classes=int(entry.get("classes", 10)),
        preprocessing=entry.get("preprocessing", "unit"),
        input_size=int(entry["input_shape"][0]) if entry.get("input_shape") and entry.get("fixed_size", True) else None,
        dataset=entry.get("dataset", entry["name"]),
    )


def manifest_entry(model_name, name):
    """The raw manifest entry (dict) of ``model_name`` / weights ``name``."""
    for entry in read_manifest().get("weights", []):
        if entry.get("model") == model_name and entry.get("name") == name:
            return entry
    raise KeyError(f"weights/manifest.json has no {name!r} weights for {model_name!r}")
