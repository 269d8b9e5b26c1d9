"""Tutorial 4 runs end to end in its fast mode and its pictures are meaningful."""

import os

import numpy as np


def test_tutorial_04_fast_mode(tmp_path, load_tutorial):
    results = load_tutorial("04_visualization.py").main(fast=True, out=str(tmp_path))
    names = {os.path.basename(path) for path in results["files"]}
    assert names == {
        "history.png", "activation_channels.png", "activation_grids.png", "filters.png",
        "patterns.png", "gradcam.png", "gradient_maps.png",
    }
    for path in results["files"]:
        assert os.path.getsize(path) > 1000
    assert results["accuracy"] > 0.5  # two epochs on 2,000 real images: far above chance (0.1)
    assert results["activation_keys"] == ["conv_base/conv1", "conv_base/pool1", "conv_base/conv2", "conv_base/pool2", "conv_base/conv3"]
    assert results["pattern_objective"][-1] > results["pattern_objective"][0]
    assert np.isfinite(results["gradcam"]).all() and results["gradcam"].max() == np.float32(1.0)
    assert results["randomized_correlation"] < 0.9
