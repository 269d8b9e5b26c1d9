"""Object detection: box utilities (``boxes``: format conversion, IoU, SSD box
coding, clipping, non-maximum suppression, OverFeat's box merging) and mean
average precision (``evaluate``: PASCAL VOC 2007/2010+ and COCO, identical to
pycocotools' COCOeval; an accumulating evaluator and a Keras callback for
per-epoch validation), the head protocol detectors train through (``heads``),
OverFeat's detector (``overfeat``), YOLOv1 (``yolo``) and SSD (``ssd``; the networks
are ``models.ssd``). Boxes are xyxy pixels; padding is class -1. See
../shared/DENSE.md "What Keras 3.15 already gives", "Mean average precision"."""

from keras_cv_course.detection.boxes import (
    BBOX_XFORM_CLIP,
    SSD_VARIANCE,
    clip,
    convert,
    decode,
    encode,
    iou,
    merge_boxes,
    nms,
    overfeat_match_score,
)
from keras_cv_course.detection.evaluate import (
    DetectionEvaluator,
    MeanAveragePrecision,
    evaluate_coco,
    evaluate_voc,
    to_coco_json,
)

from keras_cv_course.detection.heads import DetectionHead, get_head, head_config, register_head
from keras_cv_course.detection.overfeat import (
    MaskedBoxLoss, OverFeatFashion, OverFeatHead, detect_multiscale, offset_pooled_scores, overfeat_fashion, score_maps,
    train_box_head)
from keras_cv_course.detection.yolo import (
    RandomExposureSaturation, YOLOv1Fashion, YOLOv1Head, YOLOv1Loss, head_from_model, yolo_augmentation,
    yolov1_detector, yolov1_fashion)
from keras_cv_course.detection.ssd import (
    MultiBoxLoss, SSDConfidenceLoss, SSDFashion, SSDHead, SSDLocalizationLoss, default_boxes, ssd_fashion)

__all__ = [
    "DetectionHead", "get_head", "head_config", "register_head", "MaskedBoxLoss", "OverFeatHead", "OverFeatFashion",
    "overfeat_fashion", "score_maps", "detect_multiscale", "offset_pooled_scores", "train_box_head",
    "SSD_VARIANCE", "BBOX_XFORM_CLIP", "convert", "iou", "encode", "decode", "clip", "nms", "merge_boxes",
    "overfeat_match_score", "evaluate_voc", "evaluate_coco", "to_coco_json", "DetectionEvaluator",
    "MeanAveragePrecision",
]
__all__ += ["YOLOv1Loss", "YOLOv1Head", "YOLOv1Fashion", "yolov1_fashion", "yolov1_detector", "head_from_model",
            "yolo_augmentation", "RandomExposureSaturation"]
__all__ += ["SSDHead", "MultiBoxLoss", "SSDLocalizationLoss", "SSDConfidenceLoss", "SSDFashion", "ssd_fashion",
            "default_boxes"]
