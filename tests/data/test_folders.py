"""image_folder: classes from sub-folders, color modes, corrupt files counted or raised."""

import numpy as np
import pytest
from PIL import Image

from keras_cv_course import data
from keras_cv_course.data.folders import CorruptImageError


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    for name, count in (("cat", 3), ("dog", 2)):
        (tmp_path / name).mkdir()
        for i in range(count):
            Image.fromarray(rng.integers(0, 256, (10 + i, 12, 3), dtype=np.uint8)).save(tmp_path / name / f"{i}.png")
    (tmp_path / "dog" / "broken.jpg").write_bytes(b"this is not a jpeg")
    good = (tmp_path / "cat" / "0.png").read_bytes()
    (tmp_path / "cat" / "truncated.png").write_bytes(good[: len(good) // 2])
    (tmp_path / "dog" / "notes.txt").write_text("ignored: not an image extension")
    return tmp_path


def test_classes_labels_and_corrupt_files_skipped_and_counted(folder):
    ds = data.image_folder(folder, image_size=8)
    assert ds.class_names == ["cat", "dog"]
    assert ds.report.counts == {"cat": 3, "dog": 2} and ds.report.num_skipped == 2
    assert sorted(p.rsplit("/", 1)[-1] for p, _ in ds.report.skipped) == ["broken.jpg", "truncated.png"]
    assert "2 skipped" in str(ds.report)
    labels = [int(y) for _, y in ds.as_numpy_iterator()]
    assert labels == [0, 0, 0, 1, 1]
    x = next(iter(ds))[0]
    assert x.shape == (8, 8, 3) and x.dtype.name == "uint8"


def test_corrupt_file_raises_when_asked(folder):
    with pytest.raises(CorruptImageError, match="broken.jpg|truncated.png"):
        data.image_folder(folder, on_error="raise")


def test_grayscale_conversion_and_pipeline(folder):
    ds = data.image_folder(folder, color_mode="grayscale", class_names=["dog", "cat"])
    assert ds.element_spec[0].shape[-1] == 1 and ds.class_names == ["dog", "cat"]
    x, y = next(iter(data.pipeline(ds, batch_size=5, training=False, image_size=16)))
    assert x.shape == (5, 16, 16, 1) and sorted(y.numpy().tolist()) == [0, 0, 1, 1, 1]


def test_missing_or_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.image_folder(tmp_path / "absent")
    with pytest.raises(ValueError, match="no class sub-folders"):
        data.image_folder(tmp_path)
