"""image_folder: classes from sub-folders, color modes, corrupt files counted or raised, the
file order shuffled by default (as Keras' image_dataset_from_directory) and the splits."""

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
    ds = data.image_folder(folder, image_size=8, shuffle=False)
    assert ds.class_names == ["cat", "dog"]
    assert ds.report.counts == {"cat": 3, "dog": 2} and ds.report.num_skipped == 2
    assert sorted(p.rsplit("/", 1)[-1] for p, _ in ds.report.skipped) == ["broken.jpg", "truncated.png"]
    assert "2 skipped" in str(ds.report)
    labels = [int(y) for _, y in ds.as_numpy_iterator()]
    assert labels == [0, 0, 0, 1, 1]  # shuffle=False: class by class, sorted by path
    assert [p.rsplit("/", 2)[-2:] for p in ds.file_paths] == [["cat", "0.png"], ["cat", "1.png"], ["cat", "2.png"],
                                                               ["dog", "0.png"], ["dog", "1.png"]]
    assert ds.shuffle_seed is None
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


def many(tmp_path, per_class=12, classes=("a", "b", "c")):
    """``per_class`` tiny distinct PNGs in each class folder."""
    rng = np.random.default_rng(1)
    for name in classes:
        (tmp_path / name).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)).save(tmp_path / name / f"{i:02d}.png")
    return tmp_path


def labels_of(ds):
    return [int(y) for _, y in ds.as_numpy_iterator()]


def test_shuffled_by_default_reproducible_with_seed_and_labels_follow_files(tmp_path):
    root = many(tmp_path)
    first, again, other = (data.image_folder(root, seed=s) for s in (3, 3, 4))
    assert first.file_paths == again.file_paths and labels_of(first) == labels_of(again)
    assert first.file_paths != other.file_paths
    ordered = data.image_folder(root, shuffle=False).file_paths
    assert first.file_paths != ordered and sorted(first.file_paths) == sorted(ordered)
    labels = labels_of(first)
    assert len(set(labels[:6])) > 1  # a few first images are no longer one class
    assert [first.class_names[y] for y in labels] == [p.rsplit("/", 2)[-2] for p in first.file_paths]
    assert labels_of(first) == labels  # the order is fixed: every iteration reads it


def test_seed_none_draws_a_seed_that_repeats_the_order(tmp_path):
    root = many(tmp_path)
    drawn = data.image_folder(root)
    assert isinstance(drawn.shuffle_seed, int)
    assert data.image_folder(root, seed=drawn.shuffle_seed).file_paths == drawn.file_paths


def test_held_out_validation_is_disjoint_deterministic_and_mixed(tmp_path):
    root = many(tmp_path / "photos")
    train = data.folder_split(root, "train", validation_split=0.25, seed=5)
    val = data.folder_split(root, "validation", validation_split=0.25, seed=5)
    assert len(val.dataset.file_paths) == 9 and len(train.dataset.file_paths) == 27
    assert not set(train.dataset.file_paths) & set(val.dataset.file_paths)
    assert sorted(train.dataset.file_paths + val.dataset.file_paths) == sorted(data.image_folder(root).file_paths)
    again = data.folder_split(root, "validation", validation_split=0.25, seed=5)
    assert again.dataset.file_paths == val.dataset.file_paths and labels_of(again.dataset) == labels_of(val.dataset)
    assert [val.class_names[y] for y in labels_of(val.dataset)] == [p.rsplit("/", 2)[-2] for p in val.dataset.file_paths]
    assert len(set(labels_of(val.dataset))) > 1
    unseeded = [data.folder_split(root, part, validation_split=0.25, seed=None).dataset.file_paths
                 for part in ("train", "validation")]
    assert not set(unseeded[0]) & set(unseeded[1]) and len(unseeded[0]) + len(unseeded[1]) == 36


def test_sibling_validation_and_test_folders_are_shuffled_by_the_split_seed(tmp_path):
    for split in ("train", "validation", "test"):
        many(tmp_path / "photos" / split, per_class=6)
    splits = {split: data.folder_split(tmp_path / "photos", split, seed=2) for split in ("validation", "test")}
    for split, part in splits.items():
        assert part.source == str(tmp_path / "photos" / split)
        assert part.dataset.file_paths == data.folder_split(tmp_path / "photos", split, seed=2).dataset.file_paths
        assert part.dataset.file_paths != data.image_folder(part.source, shuffle=False).file_paths
        assert len(set(labels_of(part.dataset)[:4])) > 1


def test_load_of_a_user_folder_keeps_file_order(tmp_path, empty_env):
    """data.load reads every source in its stored order; a user folder keeps class order."""
    for label in range(3):
        (tmp_path / "mine" / "test" / str(label)).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(np.full((32, 32, 3), 10 * label + i, np.uint8)).save(tmp_path / "mine" / "test" / str(label) / f"{i}.png")
    ds = data.load("cifar10", "test", data_dir=tmp_path / "mine", download=False)
    assert labels_of(ds) == [0, 0, 1, 1, 2, 2]
