"""Tutorial 10 computes the lecture's measures: checked against independent counts and hand-worked cases."""

import os

import numpy as np


def test_tutorial_10_measures(tmp_path, load_tutorial):
    results = load_tutorial("10_tasks_and_measures.py").main(fast=True, out=str(tmp_path))
    assert [os.path.basename(p) for p in results["files"]] == ["roc_curve.png"]
    assert os.path.getsize(results["files"][0]) > 1000

    labels, scores = results["labels"], results["scores"]
    assert labels.sum() == 100 and (1 - labels).sum() == 100  # the class-balanced sample's two classes
    # AUC = the share of (positive, negative) pairs ranked right, ties one half (Mann-Whitney)
    diff = scores[labels == 1][:, None] - scores[labels == 0][None]
    assert abs(results["auc"] - (np.mean(diff > 0) + 0.5 * np.mean(diff == 0))) < 1e-9
    assert results["auc"] > 0.85  # a trained net tells shirts from T-shirts, imperfectly

    points = results["operating_points"]
    for threshold, row in points.items():
        decided = scores >= threshold
        assert row["error_rate"] == np.mean(decided != labels.astype(bool))
        # balanced: the mean of the two classes' error rates = (FNR + FPR) / 2
        assert abs(row["balanced_error_rate"] - ((1 - row["tpr"]) + row["fpr"]) / 2) < 1e-12
    low, high = points[0.1], points[0.9]
    assert low["tpr"] > high["tpr"] and low["fpr"] > high["fpr"]  # screening catches more, at more false alarms
    assert high["precision"] > low["precision"]  # retrieval returns fewer wrong items

    assert results["majority"] == {"error_rate": 0.1, "balanced_error_rate": 0.5}
    boxes = results["boxes"]
    assert abs(boxes["shifted by 2"][0] - 80 / 120) < 1e-6 and boxes["shifted by 2"][1]
    assert abs(boxes["shifted by 5"][0] - 50 / 150) < 1e-6 and not boxes["shifted by 5"][1]
    assert abs(results["sa"]["item"] - 3 / 5) < 1e-12 and abs(results["sa"]["background"] - 11 / 13) < 1e-12
