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
"""

import numpy as np

__all__ = ["confusion_matrix", "SegmentationConfusion", "segmentation_summary"]


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
        "confusion_matrix": matrix.astype(np.int64).tolist(),
        "class_names": names,
    }
