"""Semantic segmentation: FCN's evaluation metrics (``metrics``: a pixel
confusion matrix, summed over batches by ``SegmentationConfusion``, and
``segmentation_summary`` with pixel accuracy, mean accuracy, mean IU and
frequency-weighted IU). See ../shared/DENSE.md "FCN"."""

from keras_cv_course.segmentation.metrics import SegmentationConfusion, confusion_matrix, segmentation_summary

__all__ = ["confusion_matrix", "SegmentationConfusion", "segmentation_summary"]
