"""Semantic-segmentation metrics of FCN (Long, Shelhamer & Darrell, "Fully
Convolutional Networks for Semantic Segmentation", CVPR 2015, §5), all read off
one confusion matrix, in numpy, at evaluation time.

With n_ij the pixels of true class i predicted as class j and t_i = Σ_j n_ij:

- pixel accuracy          Σ_i n_ii / Σ_i t_i
- mean accuracy           mean_i  n_ii / t_i
- mean IU                 mean_i  n_ii / (t_i + Σ_j n_ji − n_ii)
- frequency-weighted IU   (Σ_k t_k)^−1 Σ_i t_i n_ii / (t_i + Σ_j n_ji − n_ii)

As in the FCN reference code, a pixel counts only when 0 <= ground truth <
num_classes (so VOC's void label 255 is left out), and the means are nanmeans:
a class with no ground-truth pixel is left out of mean accuracy, a class with an
empty union (neither present nor predicted) out of mean IU. That is also what
``keras.metrics.MeanIoU(num_classes, ignore_class=255)`` gives in Keras 3.15.

PASCAL VOC's segmentation accuracy (Everingham et al., IJCV 2010, §4.3; the
devkit's ``VOCevalseg``, VOC2008 onward) is per class SA = n / (n + e) = true
positives / (true positives + false positives + false negatives) =
n_ii / (t_i + Σ_j n_ji − n_ii): exactly the per-class IU above, and its mean over
the classes is mean IU. ``segmentation_summary`` reports it under VOC's names as
well (``per_class_sa``, ``mean_sa``: the same numbers as ``per_class_iou``,
``mean_iou``).

``SegmentationMetrics`` is the streaming Keras metric for ``compile``: the same
confusion matrix accumulated with ``keras.ops`` in the metric's state, and one of
the four numbers as its result.
"""

import keras
import numpy as np
from keras import ops

__all__ = ["confusion_matrix", "SegmentationConfusion", "segmentation_summary", "SegmentationMetrics"]


def _label_maps(y_true, y_pred, num_classes):
    """(y_true, y_pred) as label maps of one shape; score maps are arg-maxed."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_pred.shape != y_true.shape and y_true.ndim >= 3 and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]  # (..., H, W, 1) masks
    if y_pred.shape == y_true.shape + (num_classes,):
        y_pred = y_pred.argmax(axis=-1)
    elif y_pred.shape != y_true.shape:
        raise ValueError(f"y_pred must be label maps of y_true's shape {y_true.shape} or score maps of shape "
                         f"{y_true.shape + (num_classes,)}; got {y_pred.shape}")
    for what, values in (("y_true", y_true), ("y_pred", y_pred)):
        if values.dtype.kind == "f" and not np.array_equal(values, np.round(values)):
            raise ValueError(f"{what} label maps must hold integer class ids; got non-integer {values.dtype} values")
    return y_true.astype(np.int64), y_pred.astype(np.int64)


def confusion_matrix(y_true, y_pred, num_classes, ignore_index=255):
    """(num_classes, num_classes) int64 pixel counts, rows true class, columns
    predicted — FCN's ``fast_hist``.

    ``y_true``: label maps (..., H, W) or (..., H, W, 1). ``y_pred``: label maps of
    the same shape or score maps (..., H, W, num_classes), arg-maxed. Pixels count
    only where 0 <= y_true < num_classes and y_true != ``ignore_index`` (None: no
    extra id), so 255 and any other out-of-range ground truth are ignored. A
    prediction outside [0, num_classes) — anywhere, void pixels included — is a
    ValueError, since it means a wrong ``num_classes`` or a broken model output.
    """
    num_classes = int(num_classes)
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1; got {num_classes}")
    y_true, y_pred = _label_maps(y_true, y_pred, num_classes)
    if y_pred.size and (y_pred.min() < 0 or y_pred.max() >= num_classes):
        raise ValueError(f"y_pred has class ids outside [0, {num_classes}): min {y_pred.min()}, max {y_pred.max()}")
    valid = (y_true >= 0) & (y_true < num_classes)
    if ignore_index is not None:
        valid &= y_true != ignore_index
    counts = np.bincount(num_classes * y_true[valid] + y_pred[valid], minlength=num_classes**2)
    return counts.reshape(num_classes, num_classes).astype(np.int64)


class SegmentationConfusion:
    """A confusion matrix summed over batches, so an evaluation loop need not keep
    every mask::

        confusion = SegmentationConfusion(21)
        for images, masks in dataset:
            confusion.update(masks, model.predict_on_batch(images))
        summary = confusion.summary(class_names)
    """

    def __init__(self, num_classes, ignore_index=255):
        self.num_classes = int(num_classes)
        self.ignore_index = ignore_index
        self.matrix = np.zeros((self.num_classes, self.num_classes), np.int64)

    def update(self, y_true, y_pred):
        """Add one batch (see ``confusion_matrix`` for the shapes); returns self."""
        self.matrix += confusion_matrix(y_true, y_pred, self.num_classes, self.ignore_index)
        return self

    def reset(self):
        self.matrix[:] = 0
        return self

    def summary(self, class_names=None):
        """``segmentation_summary`` of the counts so far."""
        return segmentation_summary(self.matrix, class_names)


def _or_none(values):
    return [None if np.isnan(v) else float(v) for v in values]


def _nanmean(values):
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else None


def segmentation_summary(confusion, class_names=None):
    """FCN's four numbers and the per-class values from a confusion matrix, as a dict.

    Keys: ``pixels`` (counted pixels), ``pixel_accuracy``, ``mean_accuracy``,
    ``mean_iou``, ``frequency_weighted_iou`` (definitions in the module docstring;
    None when nothing was counted), ``per_class_accuracy`` and ``per_class_iou``
    (name → value, None for a class without ground truth / with an empty union),
    ``per_class_sa`` and ``mean_sa`` (PASCAL VOC's segmentation accuracy
    TP / (TP + FP + FN): the same values as ``per_class_iou`` and ``mean_iou``),
    ``confusion_matrix`` (list of lists), ``class_names``.
    """
    matrix = np.asarray(confusion)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or (matrix < 0).any():
        raise ValueError(f"segmentation_summary expects a square matrix of counts; got shape {matrix.shape}")
    count = matrix.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(count)]
    if len(names) != count:
        raise ValueError(f"{len(names)} class names for a {count}x{count} confusion matrix")
    matrix = matrix.astype(np.float64)
    true_pixels, predicted, hits = matrix.sum(axis=1), matrix.sum(axis=0), np.diag(matrix)
    total = true_pixels.sum()
    union = true_pixels + predicted - hits
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.where(true_pixels > 0, hits / true_pixels, np.nan)
        iou = np.where(union > 0, hits / union, np.nan)
    present = true_pixels > 0  # those have a non-empty union too
    return {
        "pixels": int(total),
        "pixel_accuracy": float(hits.sum() / total) if total else None,
        "mean_accuracy": _nanmean(accuracy),
        "mean_iou": _nanmean(iou),
        "frequency_weighted_iou": float((true_pixels[present] * iou[present]).sum() / total) if total else None,
        "per_class_accuracy": dict(zip(names, _or_none(accuracy))),
        "per_class_iou": dict(zip(names, _or_none(iou))),
        "per_class_sa": dict(zip(names, _or_none(iou))),  # VOC's n / (n + e) is the IU
        "mean_sa": _nanmean(iou),
        "confusion_matrix": matrix.astype(np.int64).tolist(),
        "class_names": names,
    }


@keras.saving.register_keras_serializable(package="keras_cv_course")
class SegmentationMetrics(keras.metrics.Metric):
    """FCN's segmentation metrics as a streaming Keras metric, for ``compile``::

        model.compile(..., metrics=[SegmentationMetrics(21),                       # logs "mean_iou"
                                    SegmentationMetrics(21, "pixel_accuracy")])

    The state is the (num_classes, num_classes) int64 confusion matrix of
    ``confusion_matrix`` (rows true class, columns predicted), summed over batches
    (and replicas) with ``keras.ops``; ``result()`` is a scalar: ``metric`` one of
    ``"mean_iou"`` (the default; = VOC's mean segmentation accuracy),
    ``"pixel_accuracy"``, ``"mean_accuracy"``, ``"frequency_weighted_iou"``, with
    the means over the defined classes as in ``segmentation_summary`` (0 when
    nothing was counted).

    ``y_true``: label maps (B, H, W) or (B, H, W, 1); pixels count only where
    0 <= y_true < num_classes and y_true != ``ignore_index`` (VOC's 255).
    ``y_pred``: score maps (B, H, W, num_classes), arg-maxed, or label maps of
    y_true's shape; a predicted id outside [0, num_classes) is not counted (the
    numpy ``confusion_matrix`` raises instead). ``sample_weight``, if given, acts
    as a mask: pixels of weight 0 are not counted.
    """

    METRICS = ("mean_iou", "pixel_accuracy", "mean_accuracy", "frequency_weighted_iou")

    def __init__(self, num_classes, metric="mean_iou", ignore_index=255, name=None, dtype=None):
        if metric not in self.METRICS:
            raise ValueError(f"metric must be one of {self.METRICS}; got {metric!r}")
        super().__init__(name=name or metric, dtype=dtype)
        self.num_classes, self.metric, self.ignore_index = int(num_classes), metric, ignore_index
        self.confusion = self.add_variable(shape=(self.num_classes, self.num_classes), initializer="zeros",
                                           dtype="int64", aggregation="sum", name="confusion")

    def _labels(self, y_true, y_pred):
        """(y_true, y_pred) as label maps of one shape; score maps arg-maxed."""
        y_true, y_pred = ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred)
        n = self.num_classes
        if len(y_pred.shape) == len(y_true.shape) and y_true.shape[-1] == 1 and y_pred.shape[-1] == n and n > 1:
            y_true = ops.squeeze(y_true, axis=-1)
        if len(y_pred.shape) == len(y_true.shape) + 1:
            y_pred = ops.argmax(y_pred, axis=-1)
        return ops.cast(y_true, "int32"), ops.cast(y_pred, "int32")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = self._labels(y_true, y_pred)
        n = self.num_classes
        valid = (y_true >= 0) & (y_true < n) & (y_pred >= 0) & (y_pred < n)
        if self.ignore_index is not None:
            valid = valid & (y_true != int(self.ignore_index))
        if sample_weight is not None:
            weight = ops.convert_to_tensor(sample_weight)
            while len(weight.shape) < len(y_true.shape):
                weight = ops.expand_dims(weight, -1)
            valid = valid & (ops.broadcast_to(weight, ops.shape(y_true)) > 0)
        index = ops.reshape(ops.where(valid, y_true * n + y_pred, n * n), (-1,))
        counts = ops.segment_sum(ops.ones_like(index), index, num_segments=n * n + 1)[: n * n]
        self.confusion.assign_add(ops.reshape(ops.cast(counts, "int64"), (n, n)))

    def result(self):
        matrix = ops.cast(self.confusion, "float32")
        true_pixels, predicted, hits = ops.sum(matrix, axis=1), ops.sum(matrix, axis=0), ops.diagonal(matrix)
        total = ops.sum(true_pixels)
        union = true_pixels + predicted - hits
        iou = ops.divide_no_nan(hits, union)
        if self.metric == "pixel_accuracy":
            value = ops.divide_no_nan(ops.sum(hits), total)
        elif self.metric == "mean_accuracy":
            present = ops.cast(true_pixels > 0, "float32")
            value = ops.divide_no_nan(ops.sum(ops.divide_no_nan(hits, true_pixels)), ops.sum(present))
        elif self.metric == "mean_iou":
            value = ops.divide_no_nan(ops.sum(iou), ops.sum(ops.cast(union > 0, "float32")))
        else:
            value = ops.divide_no_nan(ops.sum(true_pixels * iou), total)
        return ops.cast(value, self.dtype)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "metric": self.metric,
                "ignore_index": self.ignore_index}
