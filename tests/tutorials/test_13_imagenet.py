"""Tutorial 13: the ILSVRC history as the lecture tells it, and ZFNet's first layer against AlexNet's."""

import os

import keras
import numpy as np
import pytest


def test_tutorial_13_history_and_first_layers(tmp_path, load_tutorial):
    tutorial = load_tutorial("13_imagenet.py")
    results = tutorial.main(fast=True, out=str(tmp_path))
    assert [os.path.basename(p) for p in results["files"]] == ["ilsvrc_top5_error.png", "first_layer_filters.png"]
    assert os.path.getsize(results["files"][0]) > 1000

    errors = [error for _, _, error in tutorial.ILSVRC_WINNERS]
    assert errors == sorted(errors, reverse=True)  # every winner beat the year before
    assert results["largest_drop"] == 2012  # AlexNet: 9.4 points, more than any other year
    assert results["below_human"] == 2015  # ResNet's 3.57% < 5.1%

    alexnet, zfnet = results["first_layers"]["alexnet"], results["first_layers"]["zfnet"]
    assert (alexnet["kernel"], alexnet["stride"], zfnet["kernel"], zfnet["stride"]) == (11, 4, 7, 2)
    # map size floor((224 + 2p - k) / s) + 1: AlexNet (torchvision) pads 2, ZFNet 1
    assert alexnet["output"] == (224 + 4 - 11) // 4 + 1 == 55 and zfnet["output"] == (224 + 2 - 7) // 2 + 1 == 110
    assert alexnet["params"] == (11 * 11 * 3 + 1) * 64 and zfnet["params"] == (7 * 7 * 3 + 1) * 96

    # trained here on the same images: both first layers are 96 grey filters, moved from their start
    alexnet_trained, zfnet_trained = results["trained"]["alexnet"], results["trained"]["zfnet"]
    assert alexnet_trained["kernel"].shape == (11, 11, 1, 96) and zfnet_trained["kernel"].shape == (7, 7, 1, 96)
    keras.utils.set_random_seed(0)
    start = keras.ops.convert_to_numpy(tutorial.first_layer_net("alexnet").get_layer("conv1").kernel)
    assert np.abs(alexnet_trained["kernel"] - start).max() > 1e-4
    moved = np.linalg.norm(alexnet_trained["kernel"] - start) / np.linalg.norm(start)  # the same start, rebuilt here
    assert 0 < alexnet_trained["moved"] == pytest.approx(moved, rel=1e-5)
    for trained in (alexnet_trained, zfnet_trained):
        assert 0.0 <= trained["accuracy"] <= 1.0 and set(trained["dead"]) <= set(range(96))
    assert os.path.getsize(results["files"][1]) > 1000


def test_dead_filters_are_the_channels_zero_everywhere(load_tutorial):
    tutorial = load_tutorial("13_imagenet.py")
    outputs = np.zeros((2, 3, 3, 4))  # ReLU outputs of 4 filters on 2 images
    outputs[1, 2, 0, 1] = 0.5  # filter 1 fires once, on the second image
    outputs[0, :, :, 3] = 2.0  # filter 3 fires everywhere on the first
    assert tutorial.dead_filters(outputs).tolist() == [0, 2]
