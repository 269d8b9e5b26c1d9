"""Semantic segmentation: FCN's evaluation metrics (``metrics``: a pixel
confusion matrix, summed over batches by ``SegmentationConfusion``, and
``segmentation_summary`` with pixel accuracy, mean accuracy, mean IU and
frequency-weighted IU, and PASCAL VOC's per-class segmentation accuracy, which is
the IU), and ``SegmentationMetrics``, the streaming Keras metric for ``compile``.
See ../shared/DENSE.md "FCN"."""

from keras_cv_course.segmentation.metrics import (
    SegmentationConfusion,
    SegmentationMetrics,
    confusion_matrix,
    segmentation_summary,
)

__all__ = ["confusion_matrix", "SegmentationConfusion", "segmentation_summary", "SegmentationMetrics"]
