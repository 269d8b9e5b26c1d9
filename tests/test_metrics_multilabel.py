"""Precision-recall curve, average precision and the multi-label summary:
hand-worked values, edge cases, Keras's thresholded metrics and (if installed)
scikit-learn as independent references."""

import keras
import numpy as np
import pytest

from keras_cv_course import metrics

# Six samples, listed out of order; ranked by score they read
#   score  0.9  0.8  0.7  0.7  0.4  0.2
#   label   1    0    1    0    1    0        (3 positives; the two 0.7 are tied)
# Thresholds inf, 0.9, 0.8, 0.7, 0.4, 0.2 call 0, 1, 2, 4, 5, 6 samples positive:
#   TP         0    1    1    2    3    3
#   precision  1    1   1/2  2/4  3/5  3/6
#   recall     0   1/3  1/3  2/3   1    1
# AP = Σ (R_n − R_{n−1}) P_n = 1/3·1 + 0·1/2 + 1/3·1/2 + 1/3·3/5 + 0·1/2 = 21/30 = 0.7
TIED_LABELS = np.array([0, 1, 1, 0, 0, 1])
TIED_SCORES = np.array([0.7, 0.4, 0.9, 0.2, 0.8, 0.7])


def test_precision_recall_curve_by_hand_with_ties():
    precision, recall, thresholds = metrics.precision_recall_curve(TIED_LABELS, TIED_SCORES)
    np.testing.assert_allclose(thresholds, [np.inf, 0.9, 0.8, 0.7, 0.4, 0.2])
    np.testing.assert_allclose(precision, [1, 1, 1 / 2, 2 / 4, 3 / 5, 3 / 6])
    np.testing.assert_allclose(recall, [0, 1 / 3, 1 / 3, 2 / 3, 1, 1])


def test_average_precision_by_hand_ties_count_together():
    assert metrics.average_precision(TIED_LABELS, TIED_SCORES) == pytest.approx(0.7)
    # Untie them (the negative drops to 0.65, below the positive at 0.7):
    #   precision 1, 1/2, 2/3, 2/4, 3/5, 3/6 at recall 1/3, 1/3, 2/3, 2/3, 1, 1
    #   AP = 1/3·1 + 1/3·2/3 + 1/3·3/5 = 34/45
    untied = np.where((TIED_SCORES == 0.7) & (TIED_LABELS == 0), 0.65, TIED_SCORES)
    assert metrics.average_precision(TIED_LABELS, untied) == pytest.approx(34 / 45)
    # All scores tied: one threshold, AP = precision there = the prevalence.
    assert metrics.average_precision(TIED_LABELS, np.full(6, 0.3)) == pytest.approx(0.5)


def test_average_precision_perfect_and_worst_ranking():
    labels = np.array([0, 1, 0, 1, 1, 0, 0])
    assert metrics.average_precision(labels, labels + 0.1 * np.arange(7)) == 1.0
    # Positives ranked last (4 negatives first): precision 1/5, 2/6, 3/7 at recall 1/3, 2/3, 1.
    worst = -labels - 0.01 * np.arange(7)
    assert metrics.average_precision(labels, worst) == pytest.approx((1 / 5 + 2 / 6 + 3 / 7) / 3)
    # Negatives tied at 0 above positives tied at -1: one step to recall 1 at precision 3/7.
    assert metrics.average_precision(labels, -labels) == pytest.approx(3 / 7)
    assert metrics.average_precision([1, 1, 1], [0.1, 0.5, 0.2]) == 1.0  # no negative
    # Infinite scores (logits) tie like any other: one step to recall 1/2 at precision 1/2, then 2/3.
    logits = [np.inf, np.inf, -np.inf]
    assert metrics.average_precision([1, 0, 1], logits) == pytest.approx(1 / 2 * 1 / 2 + 1 / 2 * 2 / 3)


def test_absent_class_and_bad_input():
    assert np.isnan(metrics.average_precision([0, 0, 0], [0.1, 0.9, 0.5]))
    assert np.isnan(metrics.average_precision([], []))
    with pytest.raises(ValueError, match="at least one positive"):
        metrics.precision_recall_curve([0, 0], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"0/1 labels; found \[2, 3\]"):
        metrics.average_precision([0, 2, 1, 3], [0.1, 0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="NaN"):
        metrics.average_precision([0, 1], [0.1, np.nan])
    with pytest.raises(ValueError, match="3 entries"):
        metrics.precision_recall_curve([0, 1], [0.1, 0.2, 0.3])


# Four samples, three classes; predicted where the score is > 0.5.
ML_TRUE = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
ML_PROB = np.array([[0.9, 0.2, 0.1], [0.6, 0.7, 0.3], [0.4, 0.8, 0.2], [0.1, 0.3, 0.6]])
#   predicted      [[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1]]
# class a: TP 1 FP 1 FN 1 -> P = R = F1 = 1/2; ranked 0.9(1) 0.6(0) 0.4(1) 0.1(0): AP = 1/2·1 + 1/2·2/3 = 5/6
# class b: TP 2 FP 0 FN 0 -> P = R = F1 = 1; ranked 0.8(1) 0.7(1) ...: AP = 1
# class c: no positive, one false positive -> P 0, R None, F1 0/(0+1+0) = 0, AP None
# mAP over a, b = 11/12; micro TP 3 FP 2 FN 1 -> P 3/5, R 3/4, F1 6/9; macro F1 (1/2 + 1 + 0)/3
# exact matches: sample 0 only -> 1/4; wrong decisions 3 of 12 -> Hamming loss 1/4


def test_multilabel_summary_by_hand():
    summary = metrics.multilabel_summary(ML_TRUE, ML_PROB, class_names=["a", "b", "c"])
    assert summary["samples"] == 4 and summary["classes"] == 3 and summary["threshold"] == 0.5
    assert summary["class_names"] == ["a", "b", "c"]
    assert summary["per_class"]["a"] == pytest.approx(
        {"average_precision": 5 / 6, "precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert summary["per_class"]["b"] == {"average_precision": 1.0, "precision": 1.0, "recall": 1.0, "f1": 1.0,
                                         "support": 2}
    assert summary["per_class"]["c"] == {"average_precision": None, "precision": 0.0, "recall": None, "f1": 0.0,
                                         "support": 0}
    assert summary["mean_average_precision"] == pytest.approx(11 / 12)
    assert summary["micro_precision"] == pytest.approx(3 / 5)
    assert summary["micro_recall"] == pytest.approx(3 / 4)
    assert summary["micro_f1"] == pytest.approx(2 / 3)
    assert summary["macro_f1"] == pytest.approx(0.5)
    assert summary["subset_accuracy"] == pytest.approx(0.25)
    assert summary["hamming_loss"] == pytest.approx(0.25)
    assert summary["label_accuracy"] == pytest.approx(0.75)


def test_multilabel_summary_threshold_and_undefined_classes():
    # A fourth class neither present nor predicted: every ratio None, left out of the means.
    y_true = np.c_[ML_TRUE, np.zeros(4, int)]
    y_prob = np.c_[ML_PROB, np.full(4, 0.1)]
    summary = metrics.multilabel_summary(y_true, y_prob)
    assert summary["class_names"] == ["0", "1", "2", "3"]
    assert summary["per_class"]["3"] == {"average_precision": None, "precision": None, "recall": None, "f1": None,
                                         "support": 0}
    assert summary["mean_average_precision"] == pytest.approx(11 / 12)
    assert summary["macro_f1"] == pytest.approx(0.5)
    # A score equal to the threshold is not a positive (strict >, as Keras).
    at_threshold = metrics.multilabel_summary([[1, 0]], [[0.5, 0.5]])
    assert at_threshold["per_class"]["0"]["recall"] == 0.0 and at_threshold["per_class"]["1"]["f1"] is None
    assert metrics.multilabel_summary(ML_TRUE, ML_PROB, threshold=0.05)["micro_recall"] == 1.0
    nothing = metrics.multilabel_summary(np.zeros((2, 2)), np.zeros((2, 2)))
    assert nothing["mean_average_precision"] is None and nothing["micro_f1"] is None
    assert nothing["subset_accuracy"] == 1.0


def test_multilabel_summary_errors_name_what_was_found():
    with pytest.raises(ValueError, match=r"\(N, classes\); got \(4, 3\) and \(4, 2\)"):
        metrics.multilabel_summary(ML_TRUE, ML_PROB[:, :2])
    with pytest.raises(ValueError, match=r"\(N, classes\); got \(3,\)"):
        metrics.multilabel_summary([1, 0, 1], [0.2, 0.3, 0.9])
    with pytest.raises(ValueError, match=r"y_true must hold 0/1 labels; found \[-1, 2\] \(2 entries\)"):
        metrics.multilabel_summary([[1, -1], [2, 0]], [[0.1, 0.2], [0.3, 0.4]])
    with pytest.raises(ValueError, match="2 class names for 3 classes"):
        metrics.multilabel_summary(ML_TRUE, ML_PROB, class_names=["a", "b"])
    with pytest.raises(ValueError, match="no samples"):
        metrics.multilabel_summary(np.zeros((0, 3)), np.zeros((0, 3)))


def test_multilabel_summary_matches_keras_thresholded_metrics():
    rng = np.random.default_rng(3)
    y_true = (rng.random((64, 5)) < 0.3).astype("float32")
    y_prob = rng.random((64, 5)).astype("float32")
    summary = metrics.multilabel_summary(y_true, y_prob)
    accuracy = keras.metrics.BinaryAccuracy(threshold=0.5)
    accuracy.update_state(y_true, y_prob)
    assert summary["label_accuracy"] == pytest.approx(float(accuracy.result()), abs=1e-6)
    micro = keras.metrics.F1Score(average="micro", threshold=0.5)
    micro.update_state(y_true, y_prob)
    assert summary["micro_f1"] == pytest.approx(float(micro.result()), abs=1e-5)
    per_class = keras.metrics.F1Score(average=None, threshold=0.5)
    per_class.update_state(y_true, y_prob)
    ours = [summary["per_class"][str(c)]["f1"] for c in range(5)]
    np.testing.assert_allclose(ours, np.asarray(per_class.result()), atol=1e-5)


def test_against_scikit_learn_if_installed():
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(7)
    y_true = (rng.random((80, 4)) < 0.4).astype(int)
    y_prob = np.round(rng.random((80, 4)), 1)  # rounding makes many ties
    summary = metrics.multilabel_summary(y_true, y_prob)
    for c in range(4):
        assert metrics.average_precision(y_true[:, c], y_prob[:, c]) == pytest.approx(
            sk.average_precision_score(y_true[:, c], y_prob[:, c]))
        precision, recall, thresholds = metrics.precision_recall_curve(y_true[:, c], y_prob[:, c])
        sk_precision, sk_recall, sk_thresholds = sk.precision_recall_curve(y_true[:, c], y_prob[:, c])
        keep = np.isin(thresholds, sk_thresholds)
        order = np.argsort(-sk_thresholds)
        np.testing.assert_allclose(precision[keep], sk_precision[:-1][order])
        np.testing.assert_allclose(recall[keep], sk_recall[:-1][order])
    assert summary["mean_average_precision"] == pytest.approx(sk.average_precision_score(y_true, y_prob))
    y_pred = (y_prob > 0.5).astype(int)
    assert summary["micro_f1"] == pytest.approx(sk.f1_score(y_true, y_pred, average="micro"))
    assert summary["macro_f1"] == pytest.approx(sk.f1_score(y_true, y_pred, average="macro"))
    assert summary["subset_accuracy"] == pytest.approx(sk.accuracy_score(y_true, y_pred))
    assert summary["hamming_loss"] == pytest.approx(sk.hamming_loss(y_true, y_pred))
