"""Bad data in gets a clear error or a reported skip, never a silent wrong answer
(issue 19): float and NaN/inf pixels, corrupt images in folders (skipped and
reported, or --strict), truncated idx and image files, --data-dir against
Debian's copy, dataset names that are paths."""

import importlib
import io
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_cv_course import data
from keras_cv_course._files import CorruptFileError
from keras_cv_course.cli import main as kcc
from keras_cv_course.data import datasets
from keras_cv_course.data.folders import CorruptImageError
from keras_cv_course.training import fit
from tests.data.conftest import DEBIAN_PRESENT, fake_images, write_idx_split

pipeline_lib = importlib.import_module("keras_cv_course.data.pipeline")  # data.pipeline is the function


def status(argv):
    """``kcc argv``'s exit status, argparse's SystemExit included."""
    try:
        return kcc(argv)
    except SystemExit as exited:
        return exited.code


def save_npz(folder, name, images, labels):
    folder.mkdir(exist_ok=True)
    np.savez(folder / f"{name}.npz", x_train=images, y_train=labels, x_test=images, y_test=labels)
    return folder


def arrays_dataset(images, labels=None):
    labels = np.zeros(len(images), np.int32) if labels is None else labels
    return tf.data.Dataset.from_tensor_slices((images, labels))


# ----------------------------------------------------------------------------- 1. float and NaN/inf pixels


def test_float_images_in_unit_range_from_an_npz_are_refused_naming_file_and_expectation(empty_env, tmp_path,
                                                                                         capsys):
    images, labels = fake_images(12)
    folder = save_npz(tmp_path / "mine", "mnist", images.astype(np.float32) / 255.0, labels)
    with pytest.raises(ValueError) as caught:
        data.load("mnist", "train", data_dir=folder, download=False)
    message = str(caught.value)
    assert str(folder / "mnist.npz") in message
    assert "float32 with every value in [0, 1]" in message and "0..255 (uint8)" in message
    assert status(["train", "lenet5", "--dataset", "mnist", "--data-dir", str(folder), "--run-dir",
                   str(tmp_path / "run"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert str(folder / "mnist.npz") in err and "every value in [0, 1]" in err and "Traceback" not in err
    assert not (tmp_path / "run" / "state.json").exists()


def test_nan_and_inf_pixels_are_refused_naming_how_many_images_hold_them(empty_env, tmp_path):
    images, labels = fake_images(20)
    images = images.astype(np.float64)
    images[3, 0, 0], images[7, 5, 5], images[11, 1, 2] = np.nan, np.inf, -np.inf
    folder = save_npz(tmp_path / "mine", "mnist", images, labels)
    with pytest.raises(ValueError, match=r"3 of 20 images hold NaN or infinite pixel values \(images 3, 7, 11\)"):
        data.load("mnist", "train", data_dir=folder, download=False)


@pytest.mark.parametrize("low, high", [(-1.0, 200.0), (0.0, 300.0)])
def test_pixel_values_outside_0_255_are_refused(empty_env, tmp_path, low, high):
    images, labels = np.full((6, 28, 28), 100, np.float32), np.arange(6)
    images[0, 0, 0], images[1, 0, 0] = low, high
    folder = save_npz(tmp_path / "mine", "mnist", images, labels)
    with pytest.raises(ValueError, match=rf"must lie in 0..255.*float32 values in \[{low:g}, {high:g}\]"):
        data.load("mnist", "train", data_dir=folder, download=False)


def test_float_pixels_in_0_255_are_rounded_not_truncated():
    images = np.full((2, 28, 28), 127.6, np.float32)
    np.testing.assert_array_equal(datasets.check_pixels(images, "x"), np.full((2, 28, 28), 128, np.uint8))
    all_black = np.zeros((2, 28, 28), np.float32)  # the same in either scale: accepted
    assert datasets.check_pixels(all_black, "x").dtype == np.uint8


def test_pipeline_refuses_a_float_dataset_scaled_to_unit_range():
    images = np.random.default_rng(0).random((40, 8, 8, 1)).astype(np.float32)
    with pytest.raises(ValueError, match=r"pipeline: the images of the dataset \(float32\).*every value in \[0, 1\]"):
        data.pipeline(arrays_dataset(images), batch_size=8, training=False)


def test_pipeline_counts_the_images_holding_nan_or_inf():
    images = np.full((30, 8, 8, 1), 100.0, np.float32)
    images[2, 1, 1], images[9, 0, 0] = np.nan, np.inf
    with pytest.raises(ValueError, match=r"2 of 30 images hold NaN or infinite pixel values \(images 2, 9\)"):
        data.pipeline(arrays_dataset(images), batch_size=8, training=False)


def test_pipeline_refuses_integer_pixels_outside_0_255():
    images = np.full((4, 8, 8, 1), 1000, np.int32)
    with pytest.raises(ValueError, match=r"int32 values in \[1000, 1000\]"):
        data.pipeline(arrays_dataset(images), batch_size=4, training=False)


def test_pipeline_checks_images_beyond_the_scanned_ones_when_read(monkeypatch):
    images = np.full((6, 8, 8, 1), 50.0, np.float32)
    images[5, 0, 0] = np.nan
    monkeypatch.setattr(pipeline_lib, "PIXEL_SCAN_IMAGES", 2)  # the first two are checked up front, and pass
    batches = data.pipeline(arrays_dataset(images), batch_size=6, training=False)
    with pytest.raises(tf.errors.InvalidArgumentError, match="finite pixel values in 0..255"):
        list(batches.as_numpy_iterator())


def test_pipeline_keeps_float_pixels_in_0_255():
    images = np.full((4, 8, 8, 1), 200.4, np.float32)
    x, _ = next(iter(data.pipeline(arrays_dataset(images), batch_size=4, training=False, preprocess="none")))
    np.testing.assert_array_equal(x.numpy(), np.full((4, 8, 8, 1), 200.0, np.float32))


def test_fit_on_float_images_in_unit_range_is_refused_before_training(tmp_path):
    images, labels = fake_images(32)
    train = arrays_dataset((images[..., None] / 255.0).astype(np.float32), labels.astype(np.int32))
    with pytest.raises(ValueError, match=r"every value in \[0, 1\]"):
        fit("lenet5", train, val=train, epochs=1, batch_size=8, run_dir=str(tmp_path / "run"), verbose=0)
    assert not (tmp_path / "run" / "history.csv").exists() and not (tmp_path / "run" / "state.json").exists()


# ----------------------------------------------------------------------------- 2. corrupt images in folders


def _png_bytes(seed):
    image = np.random.default_rng(seed).integers(0, 256, (28, 28), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def photos(tmp_path):
    """photos/train and photos/validation with two classes of 28x28 PNGs; train
    holds a file that is no image, one cut in half and one missing its last bytes."""
    root = tmp_path / "photos"
    for split, count in (("train", 8), ("validation", 4)):
        for label, name in enumerate(("bag", "boot")):
            folder = root / split / name
            folder.mkdir(parents=True)
            for index in range(count):
                (folder / f"{index}.png").write_bytes(_png_bytes(100 * label + index))
    whole = _png_bytes(7)
    (root / "train" / "bag" / "garbage.png").write_bytes(b"not an image at all")
    (root / "train" / "boot" / "half.png").write_bytes(whole[: len(whole) // 2])
    (root / "train" / "boot" / "no_end.png").write_bytes(whole[:-2])  # Pillow reads it, TensorFlow does not
    return root


BAD_NAMES = ("garbage.png", "half.png", "no_end.png")


def test_a_png_pillow_accepts_but_the_pipeline_cannot_decode_is_skipped_and_reported(photos):
    ds = data.image_folder(photos / "train", color_mode="grayscale")
    skipped = {os.path.basename(path): reason for path, reason in ds.report.skipped}
    assert sorted(skipped) == sorted(BAD_NAMES)
    assert all("truncated or corrupt" in reason for reason in skipped.values())
    assert len(list(ds.as_numpy_iterator())) == 16  # every kept file decodes


def test_on_error_raise_names_every_unreadable_file(photos):
    with pytest.raises(CorruptImageError) as caught:
        data.folder_split(photos, "train", on_error="raise")
    message = str(caught.value)
    assert message.startswith("3 unreadable image file(s)")
    assert all(name in message for name in BAD_NAMES)


def test_fit_reports_skipped_images_on_the_console_and_in_report_json(photos, tmp_path, capsys):
    run_dir = tmp_path / "run"
    fit("lenet5", str(photos / "train"), epochs=1, batch_size=8, run_dir=str(run_dir), verbose=1, progress_seconds=0)
    err = capsys.readouterr().err
    assert "skipped 3 unreadable image file(s)" in err and all(name in err for name in BAD_NAMES)
    config = json.load(open(run_dir / "report.json"))["config"]
    assert config["skipped_images"]["count"] == 3
    assert sorted(os.path.basename(entry["file"]) for entry in config["skipped_images"]["files"]) == sorted(BAD_NAMES)
    assert "3 unreadable image(s) skipped" in config["data_source"]
    assert config["train_samples"] == 16


def test_kcc_train_and_evaluate_strict_fail_naming_the_files(photos, tmp_path, capsys):
    run_dir = tmp_path / "run"
    argv = ["train", "lenet5", "--dataset", str(photos / "train"), "--epochs", "1", "--batch-size", "8",
            "--run-dir", str(run_dir), "--quiet"]
    assert status([*argv, "--strict"]) == 2
    err = capsys.readouterr().err
    assert "3 unreadable image file(s)" in err and all(name in err for name in BAD_NAMES)
    assert not (run_dir / "state.json").exists()  # nothing trained
    assert status(argv) == 0  # without --strict the run trains on the readable images
    capsys.readouterr()
    assert status(["evaluate", str(run_dir), "--dataset", str(photos), "--split", "train"]) == 0
    assert "skipped 3 unreadable image file(s)" in capsys.readouterr().err
    assert status(["evaluate", str(run_dir), "--dataset", str(photos), "--split", "train", "--strict"]) == 2
    err = capsys.readouterr().err
    assert "3 unreadable image file(s)" in err and "half.png" in err


# ----------------------------------------------------------------------------- 3. truncated idx and image files


def test_a_truncated_idx_gz_names_the_file(empty_env, tmp_path):
    images, labels = fake_images(10)
    write_idx_split(tmp_path / "mine", "test", images, labels)
    path = tmp_path / "mine" / datasets._IDX_FILES["test"][0]
    compressed = path.read_bytes()
    path.write_bytes(compressed[: len(compressed) // 2])  # the gzip stream ends early
    with pytest.raises(CorruptFileError, match=rf"{path} is truncated or corrupt: its gzip stream"):
        datasets.read_idx(path)
    with pytest.raises(ValueError, match=rf"{path} is truncated or corrupt"):
        data.load("fashion_mnist", "test", data_dir=tmp_path / "mine", download=False)


def test_a_truncated_npz_names_the_file(empty_env, tmp_path):
    folder = save_npz(tmp_path / "mine", "mnist", *fake_images(50))
    whole = (folder / "mnist.npz").read_bytes()
    (folder / "mnist.npz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match=rf"{folder / 'mnist.npz'} is truncated or corrupt"):
        data.load("mnist", "train", data_dir=folder, download=False)


def test_kcc_predict_on_a_truncated_image_names_the_file(tmp_path, capsys):
    whole = _png_bytes(3)
    path = tmp_path / "cut.png"
    path.write_bytes(whole[: len(whole) // 2])
    assert status(["predict", "lenet5", str(path)]) == 2  # a damaged file is a refused input
    err = capsys.readouterr().err
    assert str(path) in err and "truncated, corrupt or not an image" in err
    assert "Traceback" not in err


# ----------------------------------------------------------------------------- 4. --data-dir wins over Debian's copy


def test_an_explicit_data_dir_wins_over_debian_and_the_run_records_it(empty_env, tmp_path, monkeypatch):
    mine = tmp_path / "mine"
    train_images, train_labels = fake_images(20, seed=1)
    test_images, test_labels = fake_images(10, seed=2)
    write_idx_split(mine, "train", train_images, train_labels)
    write_idx_split(mine, "test", test_images, test_labels)
    debian_images, debian_labels = fake_images(30, seed=3)
    for split in ("train", "test"):
        write_idx_split(empty_env["debian"], split, debian_images, debian_labels)
    assert data.locate("fashion_mnist", "train", download=False).kind == "debian"
    source = data.locate("fashion_mnist", "train", data_dir=mine, download=False)
    assert (source.kind, source.path) == ("folder", str(mine))
    np.testing.assert_array_equal(datasets.load_arrays("fashion_mnist", "train", data_dir=mine)[0][..., 0], train_images)
    monkeypatch.chdir(tmp_path)
    run_dir = tmp_path / "run"
    assert status(["train", "lenet5", "--dataset", "fashion_mnist", "--data-dir", str(mine), "--epochs", "1",
                   "--batch-size", "10", "--run-dir", str(run_dir), "--quiet"]) == 0
    report = json.load(open(run_dir / "report.json"))
    assert report["config"]["data_source"] == f"folder: {mine}"
    assert report["config"]["train_samples"] == 20 and report["evaluation"]["samples"] == 10


@pytest.mark.skipif(not DEBIAN_PRESENT, reason="Debian package dataset-fashion-mnist not installed")
def test_data_dir_wins_over_the_installed_debian_copy(tmp_path, monkeypatch):
    monkeypatch.delenv("KCC_DEBIAN_FASHION_MNIST", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    images, labels = fake_images(5)
    write_idx_split(tmp_path / "mine", "test", images, labels)
    assert data.locate("fashion_mnist", "test", download=False).path == datasets.DEBIAN_FASHION_MNIST_DIR
    assert data.locate("fashion_mnist", "test", data_dir=tmp_path / "mine", download=False).path == str(tmp_path / "mine")


def test_a_split_missing_from_data_dir_is_recorded_as_not_from_it(empty_env, tmp_path):
    from keras_cv_course.training.fit import _describe_source

    mine = tmp_path / "mine"
    write_idx_split(mine, "train", *fake_images(4))
    write_idx_split(empty_env["debian"], "test", *fake_images(4))
    sources = {split: data.locate("fashion_mnist", split, data_dir=mine, download=False) for split in ("train", "test")}
    described = _describe_source(sources, mine)
    assert described == f"train folder: {mine}; test debian: {empty_env['debian']} (not in data_dir {mine})"


# ----------------------------------------------------------------------------- 5. dataset names that are paths


def _tree(path):
    return sorted(os.path.relpath(os.path.join(folder, name), path)
                  for folder, dirs, files in os.walk(path) for name in dirs + files)


@pytest.mark.parametrize("name", ["/../../x", "../../x", "a/../../b", "..", "~/x"])
def test_a_path_like_dataset_name_is_refused_before_anything_is_written(name, tmp_path, monkeypatch, capsys):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    before_parent, root_x = _tree(tmp_path), os.path.exists("/x")
    assert status(["train", "lenet5", "--dataset", name, "--epochs", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert repr(name) in err and "neither an existing image folder" in err and "fashion_mnist" in err
    assert status(["evaluate", "lenet5", "--dataset", name]) == 2
    assert _tree(tmp_path) == before_parent  # nothing under the working directory or beside it
    assert os.path.exists("/x") == root_x


def test_fit_refuses_a_path_like_dataset_name_without_creating_the_run_directory(tmp_path):
    with pytest.raises(ValueError, match=r"'\.\./\.\./x'"):
        fit("lenet5", "../../x", epochs=1, run_dir=str(tmp_path / "run"), verbose=0)
    assert not (tmp_path / "run").exists()
    with pytest.raises(ValueError, match="Unknown dataset 'fashion_mnst'"):
        fit("lenet5", "fashion_mnist_sample", val="fashion_mnst", epochs=1, run_dir=str(tmp_path / "run"), verbose=0)
    assert list(tmp_path.iterdir()) == []
