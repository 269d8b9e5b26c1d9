"""Tutorial 15 writes the lecture's two-class folder from real pictures, reads it
back, checks the lecture's parameter count, and trains plain and augmented runs."""

import os

import numpy as np
from PIL import Image

from keras_cv_course import data


def test_tutorial_15_small_data(tmp_path, load_tutorial):
    tutorial = load_tutorial("15_small_data.py")
    results = tutorial.main(fast=True, out=str(tmp_path))
    assert [os.path.basename(p) for p in results["files"]] == ["augmented_examples.png", "learning_curves.png"]
    assert all(os.path.getsize(p) > 1000 for p in results["files"])

    # the folder holds what was asked, and the reader finds all of it, per class
    assert results["written"] == tutorial.FAST_COUNTS
    assert results["class_names"] == ["shirt", "t_shirt_top"]
    for split, count in tutorial.FAST_COUNTS.items():
        assert results["found"][split] == {"shirt": count, "t_shirt_top": count}

    # the pictures are Fashion-MNIST's own, and no picture is in two splits
    root = tmp_path / "shirts_vs_tshirts"
    x_train, y_train = data.load_arrays("fashion_mnist_sample", "train")
    name = sorted(os.listdir(root / "train" / "shirt"))[0]
    index = int(name.split(".")[1])
    assert y_train[index] == tutorial.CLASSES["shirt"]
    np.testing.assert_array_equal(np.asarray(Image.open(root / "train" / "shirt" / name)), x_train[index].reshape(28, 28))
    for folder in tutorial.CLASSES:
        train = set(os.listdir(root / "train" / folder))
        validation = set(os.listdir(root / "validation" / folder))
        assert len(train) == tutorial.FAST_COUNTS["train"] and not train & validation

    # the lecture's 150x150x3 summary, by hand: (k*k*Cin + 1) * Cout per conv, 7x7x128 flattened
    assert results["lecture_parameters"] == tutorial.LECTURE_PARAMETERS == (
        (27 + 1) * 32 + (9 * 32 + 1) * 64 + (9 * 64 + 1) * 128 + (9 * 128 + 1) * 128
        + (7 * 7 * 128 + 1) * 512 + (512 + 1))

    plain, augmented = results["histories"]["plain"], results["histories"]["augmented"]
    assert len(plain["loss"]) == tutorial.EPOCHS["fast"][0] and len(augmented["loss"]) == tutorial.EPOCHS["fast"][1]
    assert plain["loss"][-1] < plain["loss"][0] and plain["accuracy"][-1] > 0.8  # it learns its 240 pictures
    assert results["accuracy"]["plain"] > 0.7  # two classes: chance is 0.5
    # the lecture's point: without augmentation the net fits its training pictures better than new ones
    assert results["gap"]["plain"] > results["gap"]["augmented"]
