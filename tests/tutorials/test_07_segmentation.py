"""Tutorial 7 runs end to end in its fast mode and its masks and scores are meaningful."""

import os

import numpy as np

VARIANTS = ("32s", "8s")


def test_tutorial_07_fast_mode(tmp_path, load_tutorial):
    results = load_tutorial("07_segmentation.py").main(fast=True, out=str(tmp_path))
    names = {os.path.basename(path) for path in results["files"]}
    assert names == {"bilinear_upsampling.png", "score_maps.png", "predictions.png", "confusion_matrices.png"}
    for path in results["files"]:
        assert os.path.dirname(os.path.abspath(path)) == str(tmp_path) and os.path.getsize(path) > 1000

    # 1. the closed-form kernel, and the transposed convolution is bilinear resizing away from the border
    np.testing.assert_allclose(results["kernel_axis"], [0.25, 0.75, 0.75, 0.25], atol=1e-6)
    assert results["kernel_sum"] == 4.0
    assert set(results["upsampling"]) == {2, 32}
    for factor, row in results["upsampling"].items():
        assert row["output"] == row["input"] * factor
        assert row["interior"] < 1e-5, factor
        assert row["border"] > 1e-2, factor  # zeros beyond the map darken the border: the comparison can tell
    assert results["upsampling_trainable_weights"] == 0
    assert results["upsampling_frozen_max_change"] == 0.0  # training left the bilinear kernels as they were

    # 2. both nets give masks of the input's size; FCN-32s' last map is 1/32 of it, FCN-8s' 1/8
    scenes = 48
    assert results["output_shapes"] == {v: (scenes, 128, 128, 11) for v in VARIANTS}
    assert results["map_shapes"] == {"32s": (3, 4, 4, 11), "8s": (3, 16, 16, 11)}
    for low, high, off_one in results["probability_range"].values():
        assert 0.0 <= low <= high <= 1.0 and off_one < 1e-4  # softmax scores per pixel

    scores = results["scores"]
    baseline, coarse, fine = scores["background"], scores["32s"], scores["8s"]
    for row in scores.values():
        assert all(0.0 <= value <= 1.0 for value in row.values())
    assert abs(baseline["pixel_accuracy"] - results["background_share"]) < 1e-9
    assert abs(baseline["mean_iou"] - results["background_share"] / 11) < 1e-9  # every class occurs in 48 scenes
    # FCN-8s beats predicting background everywhere, class by class too
    assert fine["pixel_accuracy"] > baseline["pixel_accuracy"]
    assert fine["mean_iou"] > baseline["mean_iou"] + 0.01
    # both find the items (whatever their class); the skips make FCN-8s' outlines far better
    assert coarse["object_iou"] > 0.2
    assert fine["object_iou"] > 0.6 and fine["object_iou"] > coarse["object_iou"] + 0.2
    # near the boundaries the 32-px cells blur the outline: the finer net wins there
    assert coarse["band_object_accuracy"] > baseline["band_object_accuracy"]
    assert fine["band_object_accuracy"] > coarse["band_object_accuracy"] + 0.1
    assert coarse["band_object_accuracy"] < coarse["object_accuracy"] - 0.1  # boundaries are FCN-32s' weak spot
    assert fine["object_accuracy"] > coarse["object_accuracy"] > baseline["object_accuracy"]

    # 3. per-class IU: the confusion matrix's, background the best class of both weak nets
    for variant in VARIANTS:
        per_class = results["per_class_iou"][variant]
        assert len(per_class) == 11 and all(v is None or 0.0 <= v <= 1.0 for v in per_class.values())
        defined = [v for v in per_class.values() if v is not None]
        assert abs(np.mean(defined) - scores[variant]["mean_iou"]) < 1e-9
        assert max(per_class, key=lambda name: per_class[name] or 0.0) == "background"
        matrix = results["confusion"][variant]
        assert matrix.shape == (11, 11)
        assert matrix.sum() == results["labelled_pixels"]
        assert abs(np.trace(matrix) / matrix.sum() - scores[variant]["pixel_accuracy"]) < 1e-9
    assert sum(v > 0 for v in results["per_class_iou"]["8s"].values() if v is not None) > 1  # it names some items
