"""Tutorial 14 builds the lecture's Monster: the borrowed layer stays frozen for half the epochs, then trains."""

import os

import numpy as np


def test_tutorial_14_monster(tmp_path, load_tutorial):
    results = load_tutorial("14_neuro_surgery.py").main(fast=True, out=str(tmp_path))
    assert [os.path.basename(p) for p in results["files"]] == ["borrowed_filters.png"]
    assert os.path.getsize(results["files"][0]) > 1000

    assert results["frozen"] == [True, True, False, False]  # the first half of 4 epochs
    lenet = results["lenet_kernel"]  # read after training: the source network kept its filters
    assert lenet.shape == (5, 5, 1, 6)
    np.testing.assert_array_equal(results["kernels"][0], lenet)
    np.testing.assert_array_equal(results["kernels"][1], lenet)
    assert np.abs(results["kernels"][3] - lenet).max() > 1e-4  # the copy trained once unfrozen

    errors = results["errors"]
    assert errors[-1] < errors[0] and errors[-1] < 0.4  # ten classes: chance is 90% error
