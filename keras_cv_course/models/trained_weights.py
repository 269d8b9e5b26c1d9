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
fetching a file verifies its sha256.
"""

import collections.abc
import dataclasses
import hashlib
import json
import os

from keras_cv_course.models._common import WeightSpec, WeightsUnavailableError

MANIFEST = "manifest.json"


def weights_dir():
    """``$KCC_WEIGHTS_DIR`` (read at call time), else ``<repo>/weights`` beside the package."""
    override = os.environ.get("KCC_WEIGHTS_DIR")
    if override:
        return override
    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(os.path.dirname(package_dir), "weights")


def read_manifest(directory=None):
    """The manifest as a dict (``{"weights": [...]}``); empty when there is none."""
    path = os.path.join(directory or weights_dir(), MANIFEST)
    if not os.path.exists(path):
        return {"weights": []}
    with open(path) as handle:
        return json.load(handle)


def sha256_of(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


class WeightHashMismatchError(ValueError):
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


class ManifestWeights(collections.abc.Mapping):
    """The ``WeightSpec``s of one model in the manifest, read at first use
    (from ``directory``, else ``weights_dir()`` at that time) and kept."""

    def __init__(self, model_name, directory=None):
        self.model_name, self.directory = model_name, directory
        self._read = {}

    def _specs(self):
        directory = self.directory or weights_dir()
        if directory not in self._read:
            self._read[directory] = read_weight_specs(self.model_name, directory)
        return self._read[directory]

    def __getitem__(self, name):
        return self._specs()[name]

    def __iter__(self):
        return iter(self._specs())

    def __len__(self):
        return len(self._specs())

    def __repr__(self):
        return f"ManifestWeights({self.model_name!r})"


def read_weight_specs(model_name, directory=None):
    """``{weights name: WeightSpec}`` of ``model_name``, read from the manifest now."""
    specs = {}
    for entry in read_manifest(directory).get("weights", []):
        if entry.get("model") != model_name:
            continue
        specs[entry["name"]] = WeightSpec(
            entry["name"],
            LocalFile(entry["file"], entry["sha256"]),
            None,
            classes=int(entry.get("classes", 10)),
            preprocessing=entry.get("preprocessing", "unit"),
            input_size=int(entry["input_shape"][0]) if entry.get("input_shape") else None,
            dataset=entry.get("dataset", entry["name"]),
        )
    return specs


def manifest_entry(model_name, name):
    """The raw manifest entry (dict) of ``model_name`` / weights ``name``."""
    for entry in read_manifest().get("weights", []):
        if entry.get("model") == model_name and entry.get("name") == name:
            return entry
    raise KeyError(f"weights/manifest.json has no {name!r} weights for {model_name!r}")
