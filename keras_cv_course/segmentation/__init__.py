"""Semantic segmentation: FCN's evaluation metrics (``metrics``: a pixel
confusion matrix, summed over batches by ``SegmentationConfusion``, and
``segmentation_summary`` with pixel accuracy, mean accuracy, mean IU and
frequency-weighted IU, and PASCAL VOC's per-class segmentation accuracy, which is
the IU), and ``SegmentationMetrics``, the streaming Keras metric for ``compile``;
FCN-32s/16s/8s (``fcn``: VGG-16 and small CPU nets, bilinear upsampling, the
crops of the reference geometry, FCN heads on any backbone's feature taps).
See ../shared/DENSE.md "FCN"."""

from keras_cv_course.segmentation.metrics import (
    SegmentationConfusion,
    SegmentationMetrics,
    confusion_matrix,
    segmentation_summary,
)
from keras_cv_course.segmentation.fcn import (
    BilinearInitializer,
    BilinearUpsampling,
    CropToReference,
    bilinear_kernel,
    crop_offsets,
    fcn_head,
    fcn_on_backbone,
    load_classifier_weights,
)

__all__ = ["confusion_matrix", "SegmentationConfusion", "segmentation_summary", "SegmentationMetrics"]
__all__ += ["bilinear_kernel", "BilinearInitializer", "BilinearUpsampling", "CropToReference", "crop_offsets",
            "fcn_head", "fcn_on_backbone", "load_classifier_weights"]
