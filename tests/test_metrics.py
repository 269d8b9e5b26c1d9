"""Classification metrics: hand-computed values, and the streaming Keras metrics
agree with the numpy functions."""

import keras
import numpy as np
import pytest

from keras_cv_course import metrics

Y_TRUE = np.array([0, 1, 2, 2, 1, 0])
Y_PROB = np.array([
    [0.7, 0.2, 0.1],   # 0 -> 0
    [0.1, 0.3, 0.6],   # 1 -> 2 (1 is second)
    [0.2, 0.2, 0.6],   # 2 -> 2
    [0.5, 0.4, 0.1],   # 2 -> 0 (2 is last)
    [0.2, 0.5, 0.3],   # 1 -> 1
    [0.3, 0.6, 0.1],   # 0 -> 1 (0 is second)
])


def test_top_k_accuracy_and_error_by_hand():
    assert metrics.top_k_accuracy(Y_TRUE, Y_PROB, 1) == pytest.approx(3 / 6)
    assert metrics.top_k_accuracy(Y_TRUE, Y_PROB, 2) == pytest.approx(5 / 6)
    assert metrics.top_k_accuracy(Y_TRUE, Y_PROB, 3) == 1.0
    assert metrics.top_k_error(Y_TRUE, Y_PROB, 2) == pytest.approx(1 / 6)
    with pytest.raises(ValueError, match="k must be"):
        metrics.top_k_accuracy(Y_TRUE, Y_PROB, 4)


def test_confusion_matrix_per_class_and_balanced_error():
    matrix = metrics.confusion_matrix(Y_TRUE, Y_PROB)
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [0, 1, 1], [1, 0, 1]])
    np.testing.assert_allclose(metrics.per_class_accuracy(matrix), [0.5, 0.5, 0.5])
    assert metrics.balanced_error_rate(Y_TRUE, Y_PROB.argmax(1)) == pytest.approx(0.5)
    # Imbalanced: 3 of class 0 all right, 1 of class 1 wrong -> error 1/4, balanced (0 + 1) / 2.
    assert metrics.balanced_error_rate([0, 0, 0, 1], [0, 0, 0, 0], 2) == pytest.approx(0.5)
    # Absent classes do not count.
    assert metrics.balanced_error_rate([0, 0, 1], [0, 1, 1], 5) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="outside"):
        metrics.confusion_matrix([0, 3], [0, 1], 3)


def test_roc_curve_and_auc_by_hand():
    y = np.array([0, 0, 1, 1])
    scores = np.array([0.1, 0.4, 0.35, 0.8])
    fpr, tpr, thresholds = metrics.roc_curve(y, scores)
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 0.5, 1, 1])
    assert thresholds[0] == np.inf
    assert metrics.roc_auc(y, scores) == pytest.approx(0.75)  # 3 of 4 positive/negative pairs ordered
    assert metrics.roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == pytest.approx(0.5)  # ties count a half
    assert metrics.roc_auc([0, 1], [0.2, 0.9]) == 1.0
    with pytest.raises(ValueError, match="both classes"):
        metrics.roc_curve([1, 1], [0.3, 0.4])


def test_classification_summary_two_class_sigmoid():
    summary = metrics.classification_summary([0, 1, 1, 0], np.array([[0.2], [0.7], [0.4], [0.1]]), ["cat", "dog"])
    assert summary["top1_accuracy"] == pytest.approx(0.75)
    assert summary["top5_accuracy"] is None
    assert summary["per_class_accuracy"] == {"cat": 1.0, "dog": 0.5}
    assert summary["roc_auc"] == pytest.approx(1.0)


def test_streaming_metrics_match_numpy_over_batches():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 7, size=200)
    y_prob = rng.random((200, 7)).astype("float32")
    top3, ber, cm = metrics.TopKError(3), metrics.BalancedErrorRate(7), metrics.ConfusionMatrix(7)
    for start in range(0, 200, 64):
        for metric in (top3, ber, cm):
            metric.update_state(y_true[start:start + 64], y_prob[start:start + 64])
    assert float(top3.result()) == pytest.approx(metrics.top_k_error(y_true, y_prob, 3), abs=1e-6)
    assert float(ber.result()) == pytest.approx(metrics.balanced_error_rate(y_true, y_prob.argmax(1), 7), abs=1e-6)
    np.testing.assert_array_equal(np.asarray(cm.result()), metrics.confusion_matrix(y_true, y_prob, 7))
    ber.reset_state()
    assert float(ber.result()) == pytest.approx(1.0)  # nothing seen: no class present -> 1 - 0


def test_streaming_metrics_compile_and_round_trip():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(6, activation="softmax")(inputs))
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=[metrics.TopKError(2), metrics.BalancedErrorRate(6)])
    x = np.random.default_rng(1).random((32, 4)).astype("float32")
    y = np.arange(32) % 6
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    probs = model.predict(x, verbose=0)
    assert logs["top2_error"] == pytest.approx(metrics.top_k_error(y, probs, 2), abs=1e-6)
    assert logs["balanced_error_rate"] == pytest.approx(metrics.balanced_error_rate(y, probs.argmax(1), 6), abs=1e-6)
    for metric in (metrics.TopKError(2), metrics.BalancedErrorRate(6)):
        clone = type(metric).from_config(metric.get_config())
        assert clone.get_config() == metric.get_config()
