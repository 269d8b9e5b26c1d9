"""Tutorial 11 builds the lecture's convnet with its printed summary, trains it, and redoes the separable arithmetic."""

import os


def test_tutorial_11_keras_convnet(tmp_path, load_tutorial):
    tutorial = load_tutorial("11_keras_convnet.py")
    results = tutorial.main(fast=True, out=str(tmp_path))
    assert [os.path.basename(p) for p in results["files"]] == ["learning_curves.png"]
    assert os.path.getsize(results["files"][0]) > 1000

    assert results["rows"] == tutorial.LECTURE_SUMMARY and results["total"] == 93_322
    # by hand: weights (k*k*Cin + 1) * Cout, dense (in + 1) * out
    assert [p for _, _, p in results["rows"] if p] == [(9 + 1) * 32, (9 * 32 + 1) * 64, (9 * 64 + 1) * 64,
                                                      (576 + 1) * 64, (64 + 1) * 10]
    # MACs by hand: output positions x kernel size x input channels x filters, then the two dense layers
    assert results["macs"] == 26 * 26 * 9 * 32 + 11 * 11 * 9 * 32 * 64 + 3 * 3 * 9 * 64 * 64 + 576 * 64 + 64 * 10

    history = results["history"]
    assert len(history["loss"]) == 5 and history["loss"][-1] < history["loss"][0]  # it learns
    assert results["accuracy"] > 0.6  # ten classes: chance is 0.1
    assert results["separable"] == {"plain": 5 * 5 * 3 * 256, "separable": 5 * 5 * 1 * 3 + 1 * 1 * 3 * 256}
    assert results["separable"] == {"plain": 19_200, "separable": 843}  # the lecture's figures
