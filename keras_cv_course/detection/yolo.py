"""YOLOv1 (Redmon, Divvala, Girshick & Farhadi 2016, "You Only Look Once:
Unified, Real-Time Object Detection"): the loss of §2.2, the targets, the
decoding, a detector on any registered backbone's tap and a CPU-sized detector
for ``fashion_scenes``. The networks are ``keras_cv_course.models.yolo``.

Conventions (S cells per side, B predictors per cell, C classes):

- The model's output ``"yolo"`` is (N, S, S, 5B + C), linear: for cell (i, j)
  (row i, column j) channels ``5b:5b+5`` are predictor b's ``(x, y, √w, √h,
  confidence)``, channels ``5B:`` the conditional class probabilities
  Pr(class | object). ``x, y`` are the box centre's offset inside the cell, in
  [0, 1]; ``w, h`` are relative to the image; the network predicts √w and √h
  directly, so nothing takes the root of a prediction. A predicted width is
  ``max(√w, 0)²``: a negative √w output means a box of zero width (IoU 0 with
  anything; decoded, it is dropped). Squaring it instead would give -0.5 and
  +0.5 the same box while the loss tells them apart; the coordinate loss
  ``(√w_true - √w_pred)²`` is finite with gradient ``2(√w_pred - √w_true)``
  whatever the sign.
- Target ``"yolo"`` (N, S, S, 5 + C), from ``YOLOv1Head.encode``: ``1_obj``,
  ``x, y`` (cell offsets), ``w, h`` (relative to the image), the one-hot class.
  One object per cell: an object belongs to the cell its centre falls in (the
  index clamped to S - 1, so a centre at exactly 1.0 is in the last cell); when
  several centres fall in one cell, the one nearest the cell's centre wins
  (exact ties: the first listed) and the others get no target (on
  ``fashion_scenes`` that loses 1.7 % of the objects at S = 8 and 0.4 % at
  S = 16).
- The loss (``YOLOv1Loss``), per image, summed over cells and predictors:
  ``λcoord Σ 1_ij^obj [(x - x̂)² + (y - ŷ)² + (√w - √ŵ)² + (√h - √ĥ)²]``
  ``+ Σ 1_ij^obj (Ĉ - IoU)² + λnoobj Σ 1_ij^noobj Ĉ²``
  ``+ Σ_i 1_i^obj Σ_c (p(c) - p̂(c))²``. Predictor j of an object cell i is
  responsible (``1_ij^obj``) when its box has the highest IoU with the cell's
  object (image units; ties: the lowest j). When every predictor's IoU is 0,
  the responsible one is the predictor whose box (x, y, w, h in image units) is
  nearest the object's in squared distance, as darknet's detection layer does;
  its confidence target is then its IoU, 0. The choice and the confidence
  target (the IoU) carry no gradient. ``1_ij^noobj`` is every other predictor:
  the non-responsible ones in object cells and all of them in empty cells.
  Class probabilities are regressed only in object cells, once per cell.
  Batch reduction: Keras' default ``"sum_over_batch_size"`` on the per-image
  sums, i.e. the mean over the images of the batch — darknet sums over the
  batch and divides its learning rate by the batch size, which is the same
  step; a mean keeps the learning rate independent of the batch size (and of
  the number of replicas, which Keras' reduction already handles).
- Decoding (``YOLOv1Head.decode``): every predictor's box, the class-specific
  confidence ``Pr(class | object) · Ĉ`` (§2, both clipped to [0, 1]) for each
  class, per-class non-maximum suppression (``detection.boxes.nms``).

Detectors: ``yolov1_detector(backbone, tap=...)`` puts the top on any
registered backbone's tap (the paper's network: ``yolov1_detector("yolov1",
input_shape=(448, 448, 3))``, 7×7×30). ``yolov1_fashion`` (registered, task
detection) is sized for ``fashion_scenes`` on a CPU: six 3×3 convolutions to
an 8×8 map (S = 8, 16-pixel cells; objects are 17-60 px) and, by default,
YOLOv1's two layers applied per cell as 1×1 convolutions (``top="conv"``, no
dropout) instead of the paper's two fully connected layers (``top="fc"``). The
loss, targets, output grid and decoding are the paper's. Why: in short runs
(2,000 scenes, batches of 16, Adam 1e-3 cosine, mAP@0.5 on 300 test scenes)
after 625 steps the per-cell top reached 0.250 (0.143 with dropout 0.5) and a
fully connected top (a 1×1 reduction to 64 channels, 1024 units, no dropout,
6.5M parameters) 0.030; after 250 steps the paper-like fully connected top
(512 units, dropout 0.5, 10.0M parameters) 0.0002 against 0.058 for the
per-cell top with the same dropout. The fully connected layers must learn
which features belong to which cell from the data, which a CPU budget does
not give them.

The paper's augmentation (§2.2) is ``yolo_augmentation()``: layers for
``data.pipeline(augment=...)``, whose box-aware path moves and clips the boxes.
"""

import math

import keras
import numpy as np
from keras import layers, ops

from keras_cv_course.data import augment as augment_lib
from keras_cv_course.data.augment import RandomExposureSaturation, yolo_augmentation
from keras_cv_course.detection import boxes as box_lib
from keras_cv_course.detection.heads import DetectionHead, register_head, register_model_head
from keras_cv_course.models import _common, trained_weights
from keras_cv_course.models import yolo as yolo_models
from keras_cv_course.models.registry import FeatureTap
from keras_cv_course.precision import functional_model

__all__ = ["YOLOv1Loss", "YOLOv1Head", "RandomExposureSaturation", "yolo_augmentation", "yolov1_detector",
           "head_from_model", "YOLOv1Fashion", "yolov1_fashion", "OUTPUT"]

OUTPUT = yolo_models.DETECTION_OUTPUT
MAX_ROOT_SIDE = 100.0  # √w, √h above it count as 100 (boxes 10^4 images wide) in the IoU: keeps it finite


@keras.saving.register_keras_serializable(package="keras_cv_course")
class YOLOv1Loss(keras.losses.Loss):
    """The YOLOv1 loss (Redmon et al. 2016, §2.2) as the module docstring states it.

    ``y_true`` (N, S, S, 5 + C) from ``YOLOv1Head.encode``; ``y_pred`` (N, S, S,
    5B + C). ``call`` returns the per-image loss (N,); the default reduction
    averages it over the batch. ``terms`` gives the four sums unweighted.
    Finite for every finite input whose squared errors are representable
    (|prediction| < 1e19 in float32): the IoU divides by at least 1e-12 and
    reads √w, √h clipped to [0, ``MAX_ROOT_SIDE``].
    """

    def __init__(self, boxes_per_cell=2, num_classes=20, *, lambda_coord=5.0, lambda_noobj=0.5, name="yolov1_loss",
                 reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        yolo_models.check_grid(1, boxes_per_cell, num_classes)
        self.boxes_per_cell, self.num_classes = int(boxes_per_cell), int(num_classes)
        self.lambda_coord, self.lambda_noobj = _weight("lambda_coord", lambda_coord), _weight("lambda_noobj", lambda_noobj)

    def call(self, y_true, y_pred):
        terms = self.terms(y_true, y_pred)
        return (self.lambda_coord * terms["coord"] + terms["object"] + self.lambda_noobj * terms["noobject"]
                + terms["class"])

    def terms(self, y_true, y_pred):
        """Per-image sums (N,) of the four terms, unweighted: ``coord`` (x, y,
        √w, √h of responsible predictors), ``object`` ((Ĉ - IoU)² of responsible
        predictors), ``noobject`` (Ĉ² of every other predictor), ``class``."""
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.cast(y_true, y_pred.dtype)
        self._check_shapes(y_true, y_pred)
        b = self.boxes_per_cell
        has_object = y_true[..., 0]
        truth = y_true[..., 1:5]
        predicted = ops.reshape(y_pred[..., : 5 * b], (*ops.shape(y_pred)[:3], b, 5))
        boxes, confidence = predicted[..., :4], predicted[..., 4]
        overlap, responsible = self.assignment(truth, boxes)
        responsible = responsible * has_object[..., None]
        truth = truth[..., None, :]
        roots = ops.sqrt(ops.maximum(truth[..., 2:], 0.0))
        errors = (ops.sum(ops.square(boxes[..., :2] - truth[..., :2]), axis=-1)
                  + ops.sum(ops.square(boxes[..., 2:] - roots), axis=-1))
        class_errors = ops.sum(ops.square(y_pred[..., 5 * b:] - y_true[..., 5:]), axis=-1)
        return {"coord": _per_image(responsible * errors),
                "object": _per_image(responsible * ops.square(confidence - overlap)),
                "noobject": _per_image((1.0 - responsible) * ops.square(confidence)),
                "class": _per_image(has_object * class_errors)}

    def assignment(self, truth, boxes):
        """``(IoU, responsible)`` (N, S, S, B), both without gradient: each
        predictor's IoU with the cell's target box, and a one-hot of the
        responsible predictor (highest IoU, first on ties; the nearest box when
        every IoU is 0)."""
        rows, cols = ops.shape(boxes)[1], ops.shape(boxes)[2]
        predicted = _image_boxes(boxes, rows, cols)
        target = _image_boxes(ops.concatenate([truth[..., :2], ops.sqrt(ops.maximum(truth[..., 2:], 0.0))], -1),
                              rows, cols)[..., None, :]
        overlap = ops.stop_gradient(_center_iou(predicted, target))
        distance = ops.stop_gradient(ops.sum(ops.square(predicted - target), axis=-1))
        by_overlap = _first(overlap >= ops.max(overlap, axis=-1, keepdims=True))
        by_distance = _first(distance <= ops.min(distance, axis=-1, keepdims=True))
        any_overlap = ops.max(overlap, axis=-1, keepdims=True) > 0
        return overlap, ops.cast(ops.where(any_overlap, by_overlap, by_distance), overlap.dtype)

    def _check_shapes(self, y_true, y_pred):
        depth, expected = y_pred.shape[-1], 5 * self.boxes_per_cell + self.num_classes
        if len(y_pred.shape) != 4 or (depth is not None and depth != expected):
            raise ValueError(f"YOLOv1Loss(boxes_per_cell={self.boxes_per_cell}, num_classes={self.num_classes}) "
                             f"expects predictions (N, S, S, {expected}); got shape {tuple(y_pred.shape)}")
        if len(y_true.shape) != 4 or y_true.shape[-1] not in (None, 5 + self.num_classes):
            raise ValueError(f"YOLOv1Loss expects targets (N, S, S, {5 + self.num_classes}) from YOLOv1Head.encode; "
                             f"got shape {tuple(y_true.shape)}")
        if None not in (y_true.shape[1:3] + y_pred.shape[1:3]) and tuple(y_true.shape[1:3]) != tuple(y_pred.shape[1:3]):
            raise ValueError(f"YOLOv1Loss: the targets' grid {tuple(y_true.shape[1:3])} is not the predictions' "
                             f"{tuple(y_pred.shape[1:3])}; encode with the head of this model's grid")

    def get_config(self):
        return {"boxes_per_cell": self.boxes_per_cell, "num_classes": self.num_classes,
                "lambda_coord": self.lambda_coord, "lambda_noobj": self.lambda_noobj, "name": self.name,
                "reduction": self.reduction, "dtype": self.dtype}


def _weight(name, value):
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}")
    return value


def _per_image(values):
    return ops.sum(ops.reshape(values, (ops.shape(values)[0], -1)), axis=-1)


def _image_boxes(boxes, rows, cols):
    """(x, y, √w, √h) cell boxes (N, S, S, [B,] 4) → (cx, cy, w, h) relative to the image."""
    extra = len(boxes.shape) - 4
    shape = (1, rows, 1) + (1,) * extra
    row = ops.reshape(ops.arange(rows, dtype=boxes.dtype), shape)
    col = ops.reshape(ops.arange(cols, dtype=boxes.dtype), (1, 1, cols) + (1,) * extra)
    cx = (col + boxes[..., 0]) / ops.cast(cols, boxes.dtype)
    cy = (row + boxes[..., 1]) / ops.cast(rows, boxes.dtype)
    sides = ops.square(ops.clip(boxes[..., 2:], 0.0, MAX_ROOT_SIDE))
    return ops.stack([cx, cy, sides[..., 0], sides[..., 1]], axis=-1)


def _center_iou(a, b):
    """Element-wise IoU of (cx, cy, w, h) boxes (broadcasting)."""
    a_min, a_max = a[..., :2] - a[..., 2:] / 2, a[..., :2] + a[..., 2:] / 2
    b_min, b_max = b[..., :2] - b[..., 2:] / 2, b[..., :2] + b[..., 2:] / 2
    sides = ops.maximum(ops.minimum(a_max, b_max) - ops.maximum(a_min, b_min), 0.0)
    inter = sides[..., 0] * sides[..., 1]
    union = a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - inter
    return inter / ops.maximum(union, 1e-12)


def _first(mask):
    """One-hot (as bool) of the first True along the last axis (all False stays all False)."""
    counts = ops.cumsum(ops.cast(mask, "int32"), axis=-1)
    return ops.logical_and(mask, counts == 1)


@register_head("yolov1")
class YOLOv1Head(DetectionHead):
    """Targets, loss and decoding of a YOLOv1 detector (see the module docstring).

    num_classes: C. grid: S (cells per side). boxes_per_cell: B.
    lambda_coord, lambda_noobj: the loss weights (5 and 0.5, §2.2).
    score_threshold, iou_threshold, max_detections: decoding (a class score
    ``Pr(class | object) · Ĉ`` must exceed ``score_threshold``; per-class NMS
    suppresses IoU > ``iou_threshold``; at most ``max_detections`` per image).
    """

    def __init__(self, num_classes=20, *, grid=7, boxes_per_cell=2, lambda_coord=5.0, lambda_noobj=0.5,
                 score_threshold=0.01, iou_threshold=0.5, max_detections=100):
        yolo_models.check_grid(grid, boxes_per_cell, num_classes)
        self.num_classes, self.grid, self.boxes_per_cell = int(num_classes), int(grid), int(boxes_per_cell)
        self.lambda_coord, self.lambda_noobj = _weight("lambda_coord", lambda_coord), _weight("lambda_noobj", lambda_noobj)
        self.score_threshold, self.iou_threshold = float(score_threshold), float(iou_threshold)
        self.max_detections = int(max_detections)

    def get_config(self):
        return {"num_classes": self.num_classes, "grid": self.grid, "boxes_per_cell": self.boxes_per_cell,
                "lambda_coord": self.lambda_coord, "lambda_noobj": self.lambda_noobj,
                "score_threshold": self.score_threshold, "iou_threshold": self.iou_threshold,
                "max_detections": self.max_detections}

    @property
    def depth(self):
        """Channels of the model's output: 5B + C."""
        return 5 * self.boxes_per_cell + self.num_classes

    def losses(self):
        return {OUTPUT: self.loss()}

    def loss(self):
        """The ``YOLOv1Loss`` of this head's B, C and weights."""
        return YOLOv1Loss(self.boxes_per_cell, self.num_classes, lambda_coord=self.lambda_coord,
                          lambda_noobj=self.lambda_noobj)

    # --- training --------------------------------------------------------------------------------

    def encode(self, images, targets):
        """Batch ``(images, {"boxes" (N, M, 4) xyxy pixels, "classes" (N, M)})`` →
        ``(images, {"yolo": float32 (N, S, S, 5 + C)})`` (TensorFlow ops)."""
        import tensorflow as tf

        height, width = _image_size(images)
        s = self.grid
        boxes = tf.cast(targets["boxes"], tf.float32)
        classes = tf.cast(targets["classes"], tf.int32)
        cx, cy = (boxes[..., 0] + boxes[..., 2]) / (2 * width), (boxes[..., 1] + boxes[..., 3]) / (2 * height)
        sides = tf.stack([(boxes[..., 2] - boxes[..., 0]) / width, (boxes[..., 3] - boxes[..., 1]) / height], -1)
        col = tf.clip_by_value(tf.floor(cx * s), 0, s - 1)
        row = tf.clip_by_value(tf.floor(cy * s), 0, s - 1)
        offsets = tf.stack([cx * s - col, cy * s - row], axis=-1)  # (N, M, 2)
        cells = tf.range(s, dtype=tf.float32)
        owned = ((row[:, None, None, :] == cells[None, :, None, None])
                 & (col[:, None, None, :] == cells[None, None, :, None])
                 & (classes >= 0)[:, None, None, :])  # (N, S, S, M)
        distance = tf.reduce_sum(tf.square(offsets - 0.5), axis=-1)[:, None, None, :]
        nearest = tf.where(owned, distance, np.inf)
        winner = owned & (nearest <= tf.reduce_min(nearest, axis=-1, keepdims=True))
        winner = winner & (tf.cumsum(tf.cast(winner, tf.int32), axis=-1) == 1)  # first on exact ties
        pick = tf.cast(winner, tf.float32)  # (N, S, S, M) one-hot or zeros
        fields = tf.concat([offsets, sides, tf.one_hot(tf.maximum(classes, 0), self.num_classes)], axis=-1)
        cell_fields = tf.einsum("nijm,nmf->nijf", pick, fields)
        has_object = tf.reduce_max(pick, axis=-1, keepdims=True)
        return images, {OUTPUT: tf.concat([has_object, cell_fields], axis=-1)}

    # --- inference -------------------------------------------------------------------------------

    def decode_cells(self, outputs, image_shape):
        """Every predictor's xyxy pixel box (N, S·S·B, 4), clipped to the image,
        and its class scores ``Pr(class | object) · Ĉ`` (N, S·S·B, C), 0 for
        boxes with no area (numpy)."""
        grid = box_lib.as_numpy(outputs[OUTPUT] if isinstance(outputs, dict) else outputs)
        batch, rows, cols, depth = grid.shape
        if depth != self.depth:
            raise ValueError(f"YOLOv1Head(boxes_per_cell={self.boxes_per_cell}, num_classes={self.num_classes}) "
                             f"decodes {self.depth} channels per cell; the outputs have {depth}")
        height, width = float(image_shape[0]), float(image_shape[1])
        predicted = grid[..., : 5 * self.boxes_per_cell].reshape(batch, rows, cols, self.boxes_per_cell, 5)
        cx = (np.arange(cols)[None, None, :, None] + predicted[..., 0]) / cols * width
        cy = (np.arange(rows)[None, :, None, None] + predicted[..., 1]) / rows * height
        w = np.square(np.clip(predicted[..., 2], 0, MAX_ROOT_SIDE)) * width
        h = np.square(np.clip(predicted[..., 3], 0, MAX_ROOT_SIDE)) * height
        xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)
        xyxy = np.clip(xyxy, 0, np.array([width, height, width, height], np.float32))
        area = (xyxy[..., 2] - xyxy[..., 0]) * (xyxy[..., 3] - xyxy[..., 1])
        confidence = np.clip(predicted[..., 4], 0, 1) * (area > 0)
        probabilities = np.clip(grid[..., 5 * self.boxes_per_cell:], 0, 1)
        scores = confidence[..., None] * probabilities[:, :, :, None, :]
        return xyxy.reshape(batch, -1, 4), scores.reshape(batch, -1, self.num_classes)

    def decode(self, outputs, image_shape):
        """Model outputs → padded detections ``{"boxes" (N, K, 4), "scores", "classes"}``
        (K = max_detections, class -1 padding) by per-class NMS."""
        cell_boxes, scores = self.decode_cells(outputs, image_shape)
        found = box_lib.nms(cell_boxes, scores, iou_threshold=self.iou_threshold,
                            score_threshold=self.score_threshold, max_detections=self.max_detections)
        return {key: np.asarray(value) for key, value in found.items()}


def _image_size(images):
    """(height, width) of a batch as float32 scalars (static when known)."""
    import tensorflow as tf

    shape = tf.shape(images)
    height = images.shape[1] if images.shape[1] is not None else shape[1]
    width = images.shape[2] if images.shape[2] is not None else shape[2]
    return tf.cast(height, tf.float32), tf.cast(width, tf.float32)


def head_from_model(model, **options):
    """The ``YOLOv1Head`` of a built (or loaded) YOLO detector: its grid, B and C
    read from its ``"yolo"`` output layer (``models.yolo.YOLOGrid``); ``options``
    go to the head (loss weights, decoding thresholds)."""
    try:
        layer = model.get_layer(OUTPUT)
    except ValueError:
        layer = None
    if not isinstance(layer, yolo_models.YOLOGrid):
        raise ValueError(f"{model.name!r} has no YOLOGrid output layer named {OUTPUT!r}: it is not a YOLO detector "
                         "built by yolov1_detector or yolov1_fashion")
    return YOLOv1Head(layer.classes, grid=layer.grid, boxes_per_cell=layer.boxes_per_cell, **options)


# --- a detector on any backbone ----------------------------------------------------------------------------------


def yolov1_detector(backbone_or_name, *, tap=None, grid=7, boxes_per_cell=2, classes=20, input_shape=None,
                    top="fc", units=4096, dropout=0.5, name=None, head_options=None, **build_kwargs):
    """``(model, head)``: YOLOv1's two fully connected layers (``models.yolo.detection_top``)
    on one feature tap of a registered backbone.

    backbone_or_name: a registered model name (built with ``include_top=False``,
        ``input_shape`` and ``build_kwargs``) or a built registered backbone
        (``models.feature_extractor`` finds it).
    tap: the tap's key (``"P5"``, a named tap); default the backbone's deepest
        (largest stride). grid, boxes_per_cell, classes: S, B, C.
    top, units, dropout: ``"fc"`` (the paper's two fully connected layers, the
        first of ``units`` with ``dropout`` after it) or ``"conv"`` (the same
        per position of an S×S tap, see ``detection_top``).
    head_options: keyword arguments of the ``YOLOv1Head`` (loss weights, decoding).
    The model's output is named ``"yolo"``, the key of the head's loss.
    ``yolov1_detector("yolov1", input_shape=(448, 448, 3))`` is the paper's network.
    """
    from keras_cv_course import models

    if isinstance(backbone_or_name, str):
        info = models.model_info(backbone_or_name)
        kwargs = dict(build_kwargs, **({"input_shape": input_shape} if input_shape is not None else {}))
        source = backbone_or_name
    else:
        if input_shape is not None or build_kwargs:
            raise ValueError("input_shape and build options apply to a backbone given by name; a built backbone keeps "
                             "its own")
        info, kwargs, source = models.features.find_backbone(backbone_or_name)[1], {}, backbone_or_name
    key = tap or _deepest_tap(info)
    extractor = models.feature_extractor(source, [key], **kwargs)
    outputs = yolo_models.detection_top(extractor.output[key], grid=grid, boxes_per_cell=boxes_per_cell,
                                        classes=classes, top=top, units=units, dropout=dropout)
    model = functional_model(extractor.inputs, {OUTPUT: outputs}, name=name or f"yolov1_{info.name}")
    return model, YOLOv1Head(classes, grid=grid, boxes_per_cell=boxes_per_cell, **(head_options or {}))


def _deepest_tap(info):
    if not info.taps:
        raise ValueError(f"Model {info.name!r} has no feature taps for a YOLO head; pick a backbone that lists some "
                         "(models.model_info(name).taps)")
    return max(info.taps, key=lambda tap: tap.stride).key


# --- the CPU-sized detector for fashion_scenes -------------------------------------------------------------------


def fashion_table(width):
    """The convolutions of ``YOLOv1Fashion``: four 3×3 stages of ``width``·2**k
    filters, each with a 2×2 max-pool (stride 16), then two 3×3 of 16·width."""
    return tuple(yolo_models.Conv(width * 2 ** k, 3, pool=True) for k in range(4)) + (
        yolo_models.Conv(width * 16, 3),) * 2


def yolov1_fashion_family(request, *, grid, boxes_per_cell, width, top, units, dropout):
    """The generic builder of ``YOLOv1Fashion`` (``models._common`` contract):
    ``fashion_table(width)`` with BatchNorm and leaky ReLU 0.1, then the
    detection top (``include_top``; else the stride-16 features). ``grid``
    None: the side of the stride-16 map (8 for 128×128)."""
    x = yolo_models.conv_stack(request.image, fashion_table(width), batch_norm=True)
    if grid is None:
        grid = x.shape[1]
        if grid is None or x.shape[2] != grid:
            raise ValueError(f"YOLOv1Fashion with grid=None takes S from its square stride-16 map; the input "
                             f"{tuple(request.image.shape[1:3])} gives {tuple(x.shape[1:3])}: pass a square input "
                             f"or grid=")
    return request.finish(request.tail(x, lambda features: {OUTPUT: yolo_models.detection_top(
        features, grid=grid, boxes_per_cell=boxes_per_cell, classes=request.classes, top=top, units=units,
        dropout=dropout)}))


FASHION_OPTIONS = {"grid": None, "boxes_per_cell": 2, "width": 16, "top": "conv", "units": 256, "dropout": 0.0}
ROWS = (
    _common.Row("yolov1_fashion", "YOLOv1Fashion", "yolo_detector", yolo_models.PAPER, 1_055_588, "unit",
                (128, 128, 1), 16,
                doc="A CPU-sized YOLOv1 for ``fashion_scenes`` (128×128 gray): six 3×3 convolutions with BatchNorm "
                    "and leaky ReLU 0.1 down to stride 16, then the detection top (``models.yolo.detection_top``) "
                    "to the ``yolo`` output (S = ``grid``, None: the 8×8 map's side; B = ``boxes_per_cell``; "
                    "C = ``classes``). ``top='conv'`` (default): YOLOv1's two layers per cell as 1×1 convolutions "
                    "(``units``, ``dropout``); ``top='fc'``: the paper's two fully connected layers. Head, loss "
                    "and targets: ``detection.yolo.YOLOv1Head``.",
                user_options=dict(FASHION_OPTIONS), classes=10, task="detection",
                weights=trained_weights.default_build_weights("yolov1_fashion", FASHION_OPTIONS),
                taps=(FeatureTap("P4", "conv6_leaky", 256, 16),)),
)
YOLOv1Fashion = _common.define(ROWS, yolov1_fashion_family)["YOLOv1Fashion"]
register_model_head("yolov1_fashion", head_from_model)


def yolov1_fashion(num_classes=10, *, input_shape=(128, 128, 1), head_options=None, weights=None,
                   name="yolov1_fashion", **options):
    """``(YOLOv1Fashion(...), head)``: the registered detector and the ``YOLOv1Head``
    it trains with (``head_options``: loss weights, decoding thresholds)."""
    model = YOLOv1Fashion(input_shape=input_shape, classes=num_classes, weights=weights, name=name, **options)
    return model, head_from_model(model, **(head_options or {}))
