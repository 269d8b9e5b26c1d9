"""Tutorial 13: the ILSVRC history as the lecture tells it, and ZFNet's first layer against AlexNet's."""

import os


def test_tutorial_13_history_and_first_layers(tmp_path, load_tutorial):
    tutorial = load_tutorial("13_imagenet.py")
    results = tutorial.main(fast=True, out=str(tmp_path))
    assert [os.path.basename(p) for p in results["files"]] == ["ilsvrc_top5_error.png"]
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
