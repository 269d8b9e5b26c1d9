"""``kcc visualize`` writes the PNGs it names."""

import os

import keras
import numpy as np
from keras import layers
from PIL import Image

from keras_cv_course.cli import main


def test_kcc_visualize_writes_every_kind_of_picture(tmp_path, capsys):
    model = keras.Sequential(
        [
            keras.Input((12, 12, 1)),
            layers.Conv2D(4, 3, activation="relu", name="conv1"),
            layers.MaxPooling2D(name="pool1"),
            layers.Conv2D(3, 3, activation="relu", name="conv2"),
            layers.GlobalAveragePooling2D(name="gap"),
            layers.Dense(2, activation="softmax", name="predictions"),
        ],
        name="tiny",
    )
    model_path = str(tmp_path / "tiny.keras")
    model.save(model_path)
    image_path = str(tmp_path / "image.png")
    pixels = np.zeros((20, 20), np.uint8)
    pixels[5:12, 6:14] = 255
    Image.fromarray(pixels).save(image_path)
    out = tmp_path / "out"
    status = main(
        ["visualize", model_path, "--image", image_path, "--out", str(out), "--steps", "3", "--filters", "2",
         "--what", "activations", "filters", "patterns", "gradcam", "saliency"]
    )
    assert status == 0
    printed = capsys.readouterr().out.split()
    expected = {
        "activations_conv1.png", "activations_pool1.png", "activations_conv2.png", "filters_conv1.png",
        "patterns_conv1.png", "patterns_conv2.png", "gradcam_conv2.png", "saliency_input.png",
    }
    assert {os.path.basename(p) for p in printed} == expected
    for name in expected:
        with open(out / name, "rb") as handle:
            assert handle.read(4) == b"\x89PNG"


def test_kcc_visualize_needs_an_image_for_maps(tmp_path, capsys):
    model = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(2, 3, name="c"), layers.Flatten(), layers.Dense(2)])
    model_path = str(tmp_path / "m.keras")
    model.save(model_path)
    assert main(["visualize", model_path, "--what", "gradcam", "--out", str(tmp_path)]) == 2
    assert "--image is needed" in capsys.readouterr().err
