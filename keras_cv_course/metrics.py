"""Classification metrics: top-k accuracy and error, balanced error rate,
per-class accuracy, confusion matrix, ROC curve and AUC; precision-recall curve,
average precision and a multi-label summary (mean AP, F1, Hamming loss).

Two forms:
- numpy functions on whole arrays (``y_true`` integer labels, ``y_prob`` scores of
  shape (N, classes) or, for ROC, the positive-class score of shape (N,)), used by
  the training report and ``kcc evaluate``;
- streaming ``keras.metrics.Metric`` subclasses where accumulating over batches
  makes sense (``TopKError``, ``BalancedErrorRate``, ``ConfusionMatrix``), written
  with ``keras.ops`` so they run under any backend and any tf.distribute strategy.
  For ROC AUC use ``keras.metrics.AUC``; its streaming approximation is Keras's.

Definitions: the balanced error rate is 1 − the mean over classes of the per-class
accuracy (recall), counting only classes that occur in ``y_true``; per-class
accuracy is the diagonal of the confusion matrix divided by its row sums (rows are
true classes, columns predictions, as in scikit-learn).
"""

import keras
import numpy as np
from keras import ops

__all__ = [
    "top_k_accuracy", "top_k_error", "confusion_matrix", "per_class_accuracy",
    "balanced_error_rate", "roc_curve", "auc", "roc_auc", "classification_summary",
    "precision_recall_curve", "average_precision", "multilabel_summary",
    "TopKError", "BalancedErrorRate", "ConfusionMatrix",
]


def _labels(y_true):
    y_true = np.asarray(y_true)
    if y_true.ndim == 2 and y_true.shape[1] > 1:  # one-hot
        y_true = y_true.argmax(axis=1)
    return y_true.reshape(-1).astype(np.int64)


def top_k_accuracy(y_true, y_prob, k=1):
    """Fraction of samples whose true label is among the ``k`` highest scores.

    Ties are broken by class index (lower first), as ``numpy.argsort`` on the
    negated scores does, so the result is deterministic.
    """
    y_true = _labels(y_true)
    y_prob = np.asarray(y_prob)
    if y_prob.ndim != 2 or len(y_prob) != len(y_true):
        raise ValueError(f"y_prob must have shape (N, classes) with N={len(y_true)}; got {y_prob.shape}")
    if not 1 <= k <= y_prob.shape[1]:
        raise ValueError(f"k must be between 1 and the number of classes ({y_prob.shape[1]}); got {k}")
    top = np.argsort(-y_prob, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(top == y_true[:, None], axis=1))) if len(y_true) else float("nan")


def top_k_error(y_true, y_prob, k=1):
    """1 − ``top_k_accuracy``: the ILSVRC top-1 / top-5 error."""
    return 1.0 - top_k_accuracy(y_true, y_prob, k)


def confusion_matrix(y_true, y_pred, num_classes=None):
    """(num_classes, num_classes) int64 counts; rows true class, columns predicted.

    ``y_pred`` may be labels (N,) or scores (N, classes), which are arg-maxed.
    """
    y_true = _labels(y_true)
    y_pred = np.asarray(y_pred)
    if y_pred.ndim == 2:
        num_classes = num_classes or y_pred.shape[1]
        y_pred = y_pred.argmax(axis=1)
    y_pred = y_pred.reshape(-1).astype(np.int64)
    if num_classes is None:
        num_classes = int(max(y_true.max(initial=-1), y_pred.max(initial=-1))) + 1
    for what, values in (("y_true", y_true), ("y_pred", y_pred)):
        if len(values) and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"{what} has labels outside [0, {num_classes}): min {values.min()}, max {values.max()}")
    counts = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).astype(np.int64)


def per_class_accuracy(matrix):
    """Per-class accuracy (recall) from a confusion matrix; NaN for absent classes."""
    matrix = np.asarray(matrix, dtype=np.float64)
    support = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(matrix) / np.maximum(support, 1), np.nan)


def balanced_error_rate(y_true, y_pred, num_classes=None):
    """1 − mean per-class accuracy over the classes present in ``y_true``."""
    recall = per_class_accuracy(confusion_matrix(y_true, y_pred, num_classes))
    present = ~np.isnan(recall)
    return float(1.0 - recall[present].mean()) if present.any() else float("nan")


def roc_curve(y_true, scores):
    """ROC curve of a two-class problem: ``(fpr, tpr, thresholds)``.

    ``y_true`` holds 0/1 labels, ``scores`` the score of class 1 (higher means more
    positive). Thresholds run from +inf down through every distinct score, so the
    curve starts at (0, 0) and ends at (1, 1) — scikit-learn's convention without
    dropping collinear points.
    """
    y_true = _labels(y_true)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(scores) != len(y_true):
        raise ValueError(f"scores has {len(scores)} entries, y_true {len(y_true)}")
    if not set(np.unique(y_true)) <= {0, 1}:
        raise ValueError("roc_curve needs binary labels 0/1")
    positives, negatives = int(y_true.sum()), int(len(y_true) - y_true.sum())
    if positives == 0 or negatives == 0:
        raise ValueError("roc_curve needs both classes in y_true (the curve is undefined otherwise)")
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_true = scores[order], y_true[order]
    last_of_run = np.r_[np.nonzero(np.diff(sorted_scores))[0], len(sorted_scores) - 1]
    true_pos = np.cumsum(sorted_true)[last_of_run]
    false_pos = (last_of_run + 1) - true_pos
    fpr = np.r_[0.0, false_pos / negatives]
    tpr = np.r_[0.0, true_pos / positives]
    thresholds = np.r_[np.inf, sorted_scores[last_of_run]]
    return fpr, tpr, thresholds


def auc(x, y):
    """Area under a curve by the trapezoidal rule (``x`` monotonic)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(abs(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2.0)))


def roc_auc(y_true, scores):
    """Area under the ROC curve: the probability that a random positive scores
    above a random negative (ties count one half)."""
    fpr, tpr, _ = roc_curve(y_true, scores)
    return auc(fpr, tpr)


def classification_summary(y_true, y_prob, class_names=None):
    """Every number of the training report from labels and scores, as a dict.

    Keys: ``samples``, ``top1_accuracy``, ``top5_accuracy`` (None with fewer than 5
    classes), ``error_rate``,
    ``top5_error``, ``balanced_error_rate``, ``per_class_accuracy`` (name → value),
    ``confusion_matrix`` (list of lists), and for two classes ``roc_auc``.
    """
    y_true = _labels(y_true)
    y_prob = np.asarray(y_prob, dtype=np.float64)
    if y_prob.ndim == 2 and y_prob.shape[1] == 1:  # a sigmoid output
        y_prob = np.concatenate([1.0 - y_prob, y_prob], axis=1)
    classes = y_prob.shape[1]
    names = list(class_names) if class_names is not None else [str(i) for i in range(classes)]
    matrix = confusion_matrix(y_true, y_prob, classes)
    recall = per_class_accuracy(matrix)
    top1 = top_k_accuracy(y_true, y_prob, 1)
    top5 = top_k_accuracy(y_true, y_prob, 5) if classes >= 5 else None
    summary = {
        "samples": int(len(y_true)),
        "classes": int(classes),
        "top1_accuracy": top1,
        "top5_accuracy": top5,
        "error_rate": 1.0 - top1,
        "top5_error": None if top5 is None else 1.0 - top5,
        "balanced_error_rate": balanced_error_rate(y_true, y_prob.argmax(axis=1), classes),
        "per_class_accuracy": {n: (None if np.isnan(r) else float(r)) for n, r in zip(names, recall)},
        "confusion_matrix": matrix.tolist(),
        "class_names": names,
    }
    if classes == 2 and 0 < y_true.sum() < len(y_true):
        summary["roc_auc"] = roc_auc(y_true, y_prob[:, 1])
    return summary


# ---------------------------------------------------------------- precision-recall, multi-label


def _found(values, limit=6):
    """The distinct values of an array, for an error message."""
    unique = np.unique(values)
    shown = ", ".join(repr(v.item()) for v in unique[:limit])
    return f"[{shown}{', ...' if len(unique) > limit else ''}]"


def _binary_labels(y_true01, what):
    """0/1 labels as int64, refusing anything else with the values found."""
    y_true01 = np.asarray(y_true01)
    if y_true01.dtype == bool:
        return y_true01.astype(np.int64)
    bad = ~np.isin(y_true01, (0, 1))
    if bad.any():
        raise ValueError(f"{what} must hold 0/1 labels; found {_found(y_true01[bad])} ({int(bad.sum())} entries)")
    return y_true01.astype(np.int64)


def _finite_scores(scores, what):
    scores = np.asarray(scores, dtype=np.float64)
    if np.isnan(scores).any():
        raise ValueError(f"{what} contains {int(np.isnan(scores).sum())} NaN scores")
    return scores


def precision_recall_curve(y_true01, scores):
    """Precision-recall curve of one binary problem: ``(precision, recall, thresholds)``.

    A sample is called positive when its score is >= the threshold. Thresholds run
    from +inf (nothing called positive; precision 1, recall 0 by convention) down
    through every distinct score, as in ``roc_curve``: tied scores enter together,
    so recall rises and the arrays keep the same length. Unlike scikit-learn, the
    order is by descending threshold (recall non-decreasing) and no point is
    dropped. Raises ValueError when ``y_true01`` has no positive (recall is
    undefined); ``average_precision`` returns NaN instead.
    """
    y_true = _binary_labels(y_true01, "y_true01").reshape(-1)
    scores = _finite_scores(scores, "scores").reshape(-1)
    if len(scores) != len(y_true):
        raise ValueError(f"scores has {len(scores)} entries, y_true01 {len(y_true)}")
    positives = int(y_true.sum())
    if positives == 0:
        raise ValueError("precision_recall_curve needs at least one positive in y_true01 (recall is undefined)")
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    changes = np.nonzero(sorted_scores[1:] != sorted_scores[:-1])[0]  # not np.diff: inf - inf is NaN
    last_of_run = np.r_[changes, len(sorted_scores) - 1]
    true_pos = np.cumsum(y_true[order])[last_of_run]
    precision = np.r_[1.0, true_pos / (last_of_run + 1)]
    recall = np.r_[0.0, true_pos / positives]
    thresholds = np.r_[np.inf, sorted_scores[last_of_run]]
    return precision, recall, thresholds


def average_precision(y_true01, scores):
    """Average precision: the step sum  AP = Σ_n (R_n − R_{n−1}) P_n  over the
    thresholds of ``precision_recall_curve`` — scikit-learn's
    ``average_precision_score``, with no interpolation (unlike VOC detection AP).

    1.0 for a perfect ranking; NaN when ``y_true01`` has no positive.
    """
    y_true = _binary_labels(y_true01, "y_true01").reshape(-1)
    if not y_true.any():
        _finite_scores(scores, "scores")
        return float("nan")
    precision, recall, _ = precision_recall_curve(y_true, scores)
    return float(np.sum(np.diff(recall) * precision[1:]))


def _ratio(numerator, denominator):
    """numerator / denominator as a float, None when the denominator is 0."""
    return float(numerator / denominator) if denominator > 0 else None


def _mean_defined(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def multilabel_summary(y_true, y_prob, class_names=None, threshold=0.5):
    """Every number of a multi-label report from 0/1 targets ``y_true`` (N, C) and
    sigmoid scores ``y_prob`` (N, C), as a dict.

    A label is predicted when its score is > ``threshold`` (strictly, as Keras's
    BinaryAccuracy, Precision and F1Score decide). Keys:

    - ``samples``, ``classes``, ``class_names``, ``threshold``;
    - ``mean_average_precision``: the mean of ``average_precision`` over the classes
      with at least one positive (None if none has); the ranking metric of
      multi-label VOC/COCO classification, threshold-free;
    - ``per_class``: name → {``average_precision``, ``precision``, ``recall``,
      ``f1``, ``support``} at the threshold; a value is None where its denominator
      is 0 (AP and recall without positives, precision without predictions, F1 =
      2TP / (2TP + FP + FN) for a class neither present nor predicted);
    - ``micro_precision``, ``micro_recall``, ``micro_f1``: from the counts summed
      over classes; ``macro_f1``: the mean of the defined per-class F1 (scikit-learn
      and Keras count a class neither present nor predicted as 0; it is left out here);
    - ``subset_accuracy``: fraction of samples whose whole label set is right;
      ``hamming_loss``: fraction of wrong label decisions; ``label_accuracy`` = 1 −
      ``hamming_loss`` (Keras's ``binary_accuracy``).
    """
    y_true, y_prob = np.asarray(y_true), _finite_scores(y_prob, "y_prob")
    if y_true.ndim != 2 or y_true.shape != y_prob.shape:
        raise ValueError(f"y_true and y_prob must both have shape (N, classes); got {y_true.shape} and {y_prob.shape}")
    if y_true.shape[0] == 0:
        raise ValueError("multilabel_summary got no samples")
    y_true = _binary_labels(y_true, "y_true")
    samples, classes = y_true.shape
    names = list(class_names) if class_names is not None else [str(i) for i in range(classes)]
    if len(names) != classes:
        raise ValueError(f"{len(names)} class names for {classes} classes")
    y_pred = (y_prob > threshold).astype(np.int64)
    tp = (y_pred * y_true).sum(axis=0)
    fp = (y_pred * (1 - y_true)).sum(axis=0)
    fn = ((1 - y_pred) * y_true).sum(axis=0)
    per_class = {}
    for c, name in enumerate(names):
        ap = average_precision(y_true[:, c], y_prob[:, c])
        per_class[name] = {
            "average_precision": None if np.isnan(ap) else ap,
            "precision": _ratio(tp[c], tp[c] + fp[c]),
            "recall": _ratio(tp[c], tp[c] + fn[c]),
            "f1": _ratio(2 * tp[c], 2 * tp[c] + fp[c] + fn[c]),
            "support": int(y_true[:, c].sum()),
        }
    hamming = float(np.mean(y_pred != y_true))
    return {
        "samples": int(samples),
        "classes": int(classes),
        "class_names": names,
        "threshold": float(threshold),
        "mean_average_precision": _mean_defined([v["average_precision"] for v in per_class.values()]),
        "per_class": per_class,
        "micro_precision": _ratio(tp.sum(), tp.sum() + fp.sum()),
        "micro_recall": _ratio(tp.sum(), tp.sum() + fn.sum()),
        "micro_f1": _ratio(2 * tp.sum(), 2 * tp.sum() + fp.sum() + fn.sum()),
        "macro_f1": _mean_defined([v["f1"] for v in per_class.values()]),
        "subset_accuracy": float(np.mean(np.all(y_pred == y_true, axis=1))),
        "hamming_loss": hamming,
        "label_accuracy": 1.0 - hamming,
    }


def _sparse_labels(y_true, y_pred):
    """Integer labels from sparse (N,) / (N, 1) or one-hot (N, C) targets."""
    if len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] == y_pred.shape[-1] and y_pred.shape[-1] != 1:
        return ops.argmax(y_true, axis=-1)
    return ops.cast(ops.reshape(y_true, (-1,)), "int32")


@keras.saving.register_keras_serializable(package="keras_cv_course")
class TopKError(keras.metrics.Metric):
    """Streaming top-k error rate (1 − top-k accuracy) for sparse or one-hot labels."""

    def __init__(self, k=5, name=None, dtype=None):
        super().__init__(name=name or f"top{k}_error", dtype=dtype)
        self.k = int(k)
        self.errors = self.add_variable(shape=(), initializer="zeros", name="errors")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.convert_to_tensor(y_pred)
        labels = _sparse_labels(ops.convert_to_tensor(y_true), y_pred)
        hit = ops.cast(ops.in_top_k(ops.cast(labels, "int32"), ops.cast(y_pred, "float32"), self.k), self.dtype)
        weight = ops.ones_like(hit) if sample_weight is None else ops.cast(ops.reshape(sample_weight, (-1,)), self.dtype)
        self.errors.assign_add(ops.sum((1.0 - hit) * weight))
        self.count.assign_add(ops.sum(weight))

    def result(self):
        return ops.divide_no_nan(self.errors, self.count)

    def reset_state(self):
        self.errors.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "k": self.k}


@keras.saving.register_keras_serializable(package="keras_cv_course")
class ConfusionMatrix(keras.metrics.Metric):
    """Streaming confusion matrix (rows true class, columns predicted class).

    ``result()`` is the (num_classes, num_classes) count matrix; Keras's progress
    bar cannot print it, so it is meant for ``evaluate`` and custom loops.
    """

    def __init__(self, num_classes, name="confusion_matrix", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.num_classes = int(num_classes)
        self.matrix = self.add_variable(shape=(self.num_classes, self.num_classes), initializer="zeros", name="matrix")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.convert_to_tensor(y_pred)
        labels = ops.cast(_sparse_labels(ops.convert_to_tensor(y_true), y_pred), "int32")
        if y_pred.shape[-1] == 1:  # sigmoid output of a two-class model
            predicted = ops.cast(ops.reshape(y_pred, (-1,)) > 0.5, "int32")
        else:
            predicted = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
        true_hot = ops.one_hot(labels, self.num_classes, dtype=self.dtype)
        pred_hot = ops.one_hot(predicted, self.num_classes, dtype=self.dtype)
        if sample_weight is not None:
            true_hot = true_hot * ops.cast(ops.reshape(sample_weight, (-1, 1)), self.dtype)
        self.matrix.assign_add(ops.matmul(ops.transpose(true_hot), pred_hot))

    def result(self):
        return ops.copy(self.matrix)  # a tensor, not the Variable (JAX's stateless metrics need one)

    def reset_state(self):
        self.matrix.assign(ops.zeros(self.matrix.shape, dtype=self.matrix.dtype))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package="keras_cv_course")
class BalancedErrorRate(ConfusionMatrix):
    """Streaming balanced error rate: 1 − mean recall over the classes seen so far."""

    def __init__(self, num_classes, name="balanced_error_rate", dtype=None):
        super().__init__(num_classes, name=name, dtype=dtype)

    def result(self):
        support = ops.sum(self.matrix, axis=1)
        recall = ops.divide_no_nan(ops.diagonal(self.matrix), support)
        present = ops.cast(support > 0, self.dtype)
        return 1.0 - ops.divide_no_nan(ops.sum(recall * present), ops.sum(present))
