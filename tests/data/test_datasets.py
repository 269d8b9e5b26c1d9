"""Sources of data.load: real files, each cache layout, the user folder, the offline error."""

import os
import pickle

import numpy as np
import pytest

from keras_cv_course import data
from keras_cv_course.data import datasets
from tests.data.conftest import DEBIAN_PRESENT, fake_images, needs_debian, write_idx_split


def labels_of(ds):
    return np.concatenate([y for y in ds.map(lambda x, y: y).batch(100_000).as_numpy_iterator()])


def test_info_reports_classes_shapes_and_splits():
    fm = data.info("fashion_mnist")
    assert fm.num_classes == 10 and fm.class_names[0] == "T-shirt/top" and fm.class_names[9] == "Ankle boot"
    assert fm.image_shape == (28, 28, 1) and fm.splits == {"train": 60_000, "test": 10_000}
    c100 = data.info("cifar100")
    assert c100.num_classes == len(c100.class_names) == 100 and c100.image_shape == (32, 32, 3)
    assert data.info("CIFAR-10").name == "cifar10"
    assert {"mnist", "fashion_mnist", "cifar10", "cifar100", "fashion_mnist_sample"} <= set(data.list_datasets())


def test_unknown_dataset_and_split_are_clear_errors():
    with pytest.raises(ValueError, match=r"Unknown dataset 'fashion_mnst'.*Did you mean fashion_mnist"):
        data.load("fashion_mnst", "train")
    with pytest.raises(ValueError, match=r"has splits \['test', 'train'\]; got split='validation'"):
        data.load("mnist", "validation", download=False)


def test_embedded_sample_is_real_balanced_fashion_mnist():
    for split, n in (("train", 2000), ("test", 1000)):
        ds = data.load("fashion_mnist_sample", split)
        assert ds.element_spec[0].shape == (28, 28, 1) and ds.element_spec[0].dtype.name == "uint8"
        labels = labels_of(ds)
        assert len(labels) == n and np.bincount(labels).tolist() == [n // 10] * 10
    assert os.path.getsize(datasets.SAMPLE_FILE) <= 3_000_000
    if DEBIAN_PRESENT:  # the sample's images are the real ones at the recorded positions
        with np.load(datasets.SAMPLE_FILE) as f:
            x, index = f["x_test"], f["index_test"]
        full, _ = datasets.read_idx_pair(*(os.path.join(datasets.DEBIAN_FASHION_MNIST_DIR, p) for p in datasets._IDX_FILES["test"]))
        np.testing.assert_array_equal(x, full[index])


@needs_debian
def test_real_fashion_mnist_from_the_debian_package(empty_env, monkeypatch):
    monkeypatch.delenv("KCC_DEBIAN_FASHION_MNIST")
    assert data.locate("fashion_mnist", "train", download=False).kind == "debian"
    ds = data.load("fashion_mnist", "train", download=False)
    labels = labels_of(ds)
    assert len(labels) == 60_000 and np.bincount(labels).tolist() == [6000] * 10
    assert len(labels_of(data.load("fashion_mnist", "test", download=False))) == 10_000


def test_debian_source_reads_idx_files(empty_env):
    images, labels = fake_images(30)
    write_idx_split(empty_env["debian"], "test", images, labels)
    source = data.locate("fashion_mnist", "test", download=False)
    assert source.kind == "debian" and source.path == str(empty_env["debian"])
    x, y = datasets.load_arrays("fashion_mnist", "test", download=False)
    np.testing.assert_array_equal(x[..., 0], images)
    np.testing.assert_array_equal(y, labels)


def test_keras_cache_sources_take_precedence_over_debian(empty_env):
    cache = empty_env["keras_home"] / "datasets"
    images, labels = fake_images(12, seed=1)
    write_idx_split(cache / "fashion-mnist", "train", images, labels)  # keras.datasets.fashion_mnist layout
    write_idx_split(empty_env["debian"], "train", *fake_images(12, seed=2))
    assert data.locate("fashion_mnist", "train", download=False).kind == "keras_cache"
    np.testing.assert_array_equal(datasets.load_arrays("fashion_mnist", "train", download=False)[0][..., 0], images)
    # mnist.npz, as keras.datasets.mnist.load_data leaves it
    np.savez(cache / "mnist.npz", x_train=images, y_train=labels, x_test=images[:4], y_test=labels[:4])
    x, y = datasets.load_arrays("mnist", "test", download=False)
    assert x.shape == (4, 28, 28, 1) and y.tolist() == labels[:4].tolist()
    # CIFAR-10 python batches, in Keras 3's extracted layout
    cifar = cache / "cifar-10-batches-py-target" / "cifar-10-batches-py"
    cifar.mkdir(parents=True)
    rng = np.random.default_rng(3)
    pixels = {}
    for fname in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        pixels[fname] = rng.integers(0, 256, (2, 3 * 32 * 32), dtype=np.uint8)
        with open(cifar / fname, "wb") as f:
            pickle.dump({b"data": pixels[fname], b"labels": [1, 7]}, f)
    source = data.locate("cifar10", "train", download=False)
    assert source.kind == "keras_cache"
    x, y = datasets.load_arrays("cifar10", "train", download=False)
    assert x.shape == (10, 32, 32, 3) and y.tolist() == [1, 7] * 5
    np.testing.assert_array_equal(x[0], pixels["data_batch_1"][0].reshape(3, 32, 32).transpose(1, 2, 0))


def test_user_folder_layouts(empty_env, tmp_path):
    folder = tmp_path / "mine"
    images, labels = fake_images(20, shape=(32, 32, 3), seed=4)
    folder.mkdir()
    np.savez(folder / "cifar10.npz", x_train=images, y_train=labels, x_test=images, y_test=labels)
    assert data.locate("cifar10", "train", data_dir=folder, download=False).kind == "folder"
    np.testing.assert_array_equal(datasets.load_arrays("cifar10", "train", data_dir=folder, download=False)[0], images)
    # train/<class>/<png>: class folders named by label number
    from PIL import Image

    classes = tmp_path / "pngs" / "test"
    for i in range(3):
        (classes / str(i)).mkdir(parents=True)
        Image.fromarray(images[i]).save(classes / str(i) / "a.png")
    x, y = datasets.load_arrays("cifar10", "test", data_dir=tmp_path / "pngs", download=False)
    assert y.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(x, images[:3])


def test_prepared_tfds_directory_is_found_first(empty_env, tmp_path):
    prepared = empty_env["tfds"] / "mnist" / "3.0.1"
    prepared.mkdir(parents=True)
    (prepared / "dataset_info.json").write_text("{}")
    np.savez(empty_env["keras_home"] / "mnist.npz", x_train=np.zeros((1, 28, 28), np.uint8), y_train=[0])
    source = data.locate("mnist", "train", download=False)
    assert source.kind == "tfds" and source.path == str(prepared)


def test_offline_error_names_every_place_and_how_to_get_the_data(empty_env, tmp_path):
    with pytest.raises(data.DatasetNotFoundError) as caught:
        data.load("fashion_mnist", "train", data_dir=tmp_path / "nowhere", download=False)
    message = str(caught.value)
    for place in (empty_env["tfds"], empty_env["keras_home"] / "datasets", empty_env["debian"], tmp_path / "nowhere"):
        assert str(place) in message
    assert "apt-get install dataset-fashion-mnist" in message and "download=True" in message
    assert "fashion_mnist_sample" in message and len(caught.value.places) >= 5


def test_failed_download_is_reported_with_the_places(empty_env, monkeypatch):
    import tensorflow_datasets as tfds

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(tfds, "builder", offline)
    source = data.locate("cifar100", "test")
    assert source.kind == "download"
    with pytest.raises(data.DatasetNotFoundError, match=r"(?s)Keras dataset cache.*TFDS download .*no network"):
        source.read()


def test_bad_files_are_clear_errors(empty_env, tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    images, labels = fake_images(5)
    np.savez(folder / "mnist.npz", x_train=images, y_train=labels + 8, x_test=images, y_test=labels)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\).*3 out of range"):
        data.load("mnist", "train", data_dir=folder, download=False)
    write_idx_split(empty_env["debian"], "test", images, labels)
    path = empty_env["debian"] / datasets._IDX_FILES["test"][0]
    import gzip

    raw = gzip.open(path).read()
    with gzip.open(path, "wb") as f:
        f.write(raw[:-100])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        data.load("fashion_mnist", "test", download=False)


def test_a_crafted_cifar_pickle_is_refused_without_running_code(tmp_path, monkeypatch):
    """A file named like a CIFAR batch whose pickle calls os.system must not run it."""
    import os

    from keras_cv_course.data.datasets import UnsafePickleError

    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    cache = tmp_path / "keras"
    cifar = cache / "datasets" / "cifar-10-batches-py"
    cifar.mkdir(parents=True)
    for fname in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(cifar / fname, "wb") as f:
            pickle.dump({b"data": Exploit(), b"labels": [1]}, f)
    monkeypatch.setenv("KERAS_HOME", str(cache))
    with pytest.raises(UnsafePickleError, match=r"data_batch_1 is not a CIFAR batch file: its pickle names posix.system"):
        datasets.load_arrays("cifar10", "train", download=False)
    assert not marker.exists()


def test_a_truncated_cifar_batch_names_the_file(tmp_path):
    from keras_cv_course.data.datasets import read_cifar_batch

    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1]})[:40])
    with open(path, "rb") as handle, pytest.raises(ValueError, match="data_batch_1 is not a readable CIFAR batch file"):
        read_cifar_batch(handle, str(path))
