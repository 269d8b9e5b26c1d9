"""Fixtures for the data tests: an isolated environment with no dataset anywhere."""

import gzip
import os

import numpy as np
import pytest

from keras_cv_course.data import datasets


@pytest.fixture
def empty_env(tmp_path, monkeypatch):
    """KERAS_HOME, TFDS_DATA_DIR, HOME and the Debian dir all point at empty tmp folders."""
    places = {k: tmp_path / k for k in ("keras_home", "tfds", "home", "debian")}
    for p in places.values():
        p.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(places["keras_home"]))
    monkeypatch.setenv("TFDS_DATA_DIR", str(places["tfds"]))
    monkeypatch.setenv("HOME", str(places["home"]))
    monkeypatch.setenv("KCC_DEBIAN_FASHION_MNIST", str(places["debian"]))
    return places


def write_idx(path, array):
    array = np.asarray(array, np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


def write_idx_split(directory, split, images, labels):
    os.makedirs(directory, exist_ok=True)
    images_file, labels_file = datasets._IDX_FILES[split]
    write_idx(os.path.join(directory, images_file), images)
    write_idx(os.path.join(directory, labels_file), labels)


def fake_images(n, shape=(28, 28), seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n,) + tuple(shape), dtype=np.uint8), (np.arange(n) % 10).astype(np.uint8)


DEBIAN_PRESENT = all(
    os.path.isfile(os.path.join(datasets.DEBIAN_FASHION_MNIST_DIR, f)) for pair in datasets._IDX_FILES.values() for f in pair
)
needs_debian = pytest.mark.skipif(
    not DEBIAN_PRESENT, reason="Debian package dataset-fashion-mnist not installed (/usr/share/datasets/fashion-mnist)"
)
