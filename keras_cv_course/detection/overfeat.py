"""OverFeat-style dense detection (Sermanet et al. 2014, "OverFeat: Integrated
Recognition, Localization and Detection using Convolutional Networks").

A fully convolutional network scores every window of the image at once (§3.5:
a convolutionized classifier applied to a bigger image gives one output cell per
window, ``stride`` pixels apart); a second head regresses one box per window
(§4.2); a background class turns the classifier into a detector (§5); the
per-window boxes are combined by non-maximum suppression or by OverFeat's greedy
merge (§4.3, ``boxes.merge_boxes``).

Conventions of ``OverFeatHead``:

- Cell ``(i, j)`` of an ``(h, w)`` output map (``h = H // stride``) owns the
  window of side ``window`` centred at ``((j + 0.5) * stride, (i + 0.5) * stride)``
  (the centre of the cell's receptive field with "same" padding).
- ``"classes"``: (B, h, w, num_classes + 1) softmax; **column 0 is background**,
  object class ``k`` is column ``k + 1``. Target: int (B, h, w), 0 background,
  ``k + 1`` object, -1 ignored (a cell whose centre lies inside an object but is
  not positive for any: it is neither taught background nor the object).
- ``"boxes"``: (B, h, w, 4) ``(x1 - cx, y1 - cy, x2 - cx, y2 - cy) / window``,
  the box corners relative to the window centre ``(cx, cy)`` in window units.
  Target: (B, h, w, 5), the 4 encoded corners and a weight (1 on positive
  cells); ``MaskedBoxLoss`` slices it.
- Assignment: a cell is positive for a ground-truth box when the cell's centre
  lies in the box's central region (the box shrunk about its centre to
  ``center_fraction`` of its size) or the box's centre falls in the cell (so
  every box, however small, has a positive cell); among several boxes the
  smallest (by area) wins, as a window is most responsible for the object it
  frames most tightly.
"""

import keras
import numpy as np
from keras import layers, ops

from keras_cv_course.detection import boxes as box_lib
from keras_cv_course.detection.heads import DetectionHead, register_head

__all__ = ["OverFeatHead", "MaskedBoxLoss", "overfeat_fashion"]


@keras.saving.register_keras_serializable(package="keras_cv_course")
class MaskedBoxLoss(keras.losses.Loss):
    """OverFeat's l2 box regression loss (Sermanet et al. 2014, §4.2), only on
    the windows that hold an object.

    ``y_true`` (..., 5): 4 targets and a weight (1 positive, 0 not); ``y_pred``
    (..., 4) or more (only the first 4 channels are read). Returns the sum of the
    squared coordinate errors over positive cells divided by the number of
    positive cells in the batch (at least 1), so it is 0 with no positives.
    """

    def __init__(self, name="masked_box_l2", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        weight = y_true[..., 4]
        error = ops.sum(ops.square(y_pred[..., :4] - y_true[..., :4]), axis=-1)
        return ops.sum(error * weight) / ops.maximum(ops.sum(weight), 1.0)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, "dtype": self.dtype}


@register_head("overfeat")
class OverFeatHead(DetectionHead):
    """Targets and decoding of a dense OverFeat detector (see the module docstring).

    num_classes: object classes (background is added as column 0).
    stride: pixels between output cells (the backbone's total stride).
    window: side (pixels) of the window a cell's box is encoded against.
    center_fraction: size of the central region of a box whose cells are positive
        (1.0, the default: every cell whose centre is in the box; 0.5 trained far
        worse on fashion_scenes, too few positives — see the benchmark).
    ignore_border: cells inside a box but not positive get class -1 (ignored;
        only matters when center_fraction < 1).
    score_threshold, iou_threshold, max_detections: decoding (NMS: suppress IoU
        > iou_threshold within a class; keep at most max_detections per image).
    merge: ``"nms"`` (per class, default) or ``"greedy"`` (OverFeat §4.3: merge
        the pair of boxes with the smallest match score, 1 - IoU here, while it
        is <= merge_threshold; the merged box's score is the sum).
    box_loss_weight: weight of the box loss against the classification loss.
    """

    def __init__(self, num_classes=10, *, stride=8, window=32, center_fraction=1.0, ignore_border=True,
                 score_threshold=0.01, iou_threshold=0.5, max_detections=100, merge="nms",
                 merge_threshold=0.5, box_loss_weight=2.0):
        if merge not in ("nms", "greedy"):
            raise ValueError(f"merge must be 'nms' or 'greedy'; got {merge!r}")
        self.num_classes, self.stride, self.window = int(num_classes), int(stride), float(window)
        self.center_fraction, self.ignore_border = float(center_fraction), bool(ignore_border)
        self.score_threshold, self.iou_threshold = float(score_threshold), float(iou_threshold)
        self.max_detections, self.merge, self.merge_threshold = int(max_detections), merge, float(merge_threshold)
        self.box_loss_weight = float(box_loss_weight)

    def get_config(self):
        return {"num_classes": self.num_classes, "stride": self.stride, "window": self.window,
                "center_fraction": self.center_fraction, "ignore_border": self.ignore_border,
                "score_threshold": self.score_threshold, "iou_threshold": self.iou_threshold,
                "max_detections": self.max_detections, "merge": self.merge,
                "merge_threshold": self.merge_threshold, "box_loss_weight": self.box_loss_weight}

    # --- training --------------------------------------------------------------------------------

    def losses(self):
        """Softmax cross-entropy over every window (ignoring class -1) and the masked l2 box loss."""
        return {"classes": keras.losses.SparseCategoricalCrossentropy(ignore_class=-1),
                "boxes": MaskedBoxLoss()}

    def loss_weights(self):
        return {"classes": 1.0, "boxes": self.box_loss_weight}

    def cell_centers(self, height, width):
        """(h, w, 2) float32 numpy ``(cx, cy)`` window centres of the output map of an H×W image."""
        h, w = height // self.stride, width // self.stride
        xs, ys = (np.arange(w) + 0.5) * self.stride, (np.arange(h) + 0.5) * self.stride
        return np.stack(np.meshgrid(xs, ys), axis=-1).astype("float32")

    def encode(self, images, targets):
        """Batch ``(images, {"boxes" (B, M, 4), "classes" (B, M)})`` → ``(images,
        {"classes": int32 (B, h, w), "boxes": float32 (B, h, w, 5)})`` (TensorFlow ops)."""
        import tensorflow as tf

        height, width = int(images.shape[1]), int(images.shape[2])
        centers = tf.constant(self.cell_centers(height, width))[None, :, :, None]  # (1, h, w, 1, 2)
        gt = tf.cast(targets["boxes"], tf.float32)[:, None, None]  # (B, 1, 1, M, 4)
        classes = tf.cast(targets["classes"], tf.int32)
        valid = (classes >= 0)[:, None, None]  # (B, 1, 1, M)
        positive = self._candidates(centers, gt) & valid
        area = (gt[..., 2] - gt[..., 0]) * (gt[..., 3] - gt[..., 1])
        best = tf.argmin(tf.where(positive, area, np.inf), axis=-1, output_type=tf.int32)  # (B, h, w)
        is_positive = tf.reduce_any(positive, axis=-1)
        inside = tf.reduce_any(self._inside(centers, gt) & valid, axis=-1)
        cls = tf.gather(classes, best, batch_dims=1) + 1
        ignore = -1 if self.ignore_border else 0
        cls = tf.where(is_positive, cls, tf.where(inside, ignore, 0))
        chosen = tf.gather(tf.cast(targets["boxes"], tf.float32), best, batch_dims=1)  # (B, h, w, 4)
        offsets = (chosen - tf.tile(centers[:, :, :, 0], [1, 1, 1, 2])) / self.window
        weight = tf.cast(is_positive, tf.float32)[..., None]
        return images, {"classes": cls, "boxes": tf.concat([offsets * weight, weight], axis=-1)}

    def _candidates(self, centers, gt):
        import tensorflow as tf

        mid = (gt[..., :2] + gt[..., 2:]) / 2
        half = (gt[..., 2:] - gt[..., :2]) * (self.center_fraction / 2)
        central = tf.reduce_all(tf.abs(centers - mid) <= half, axis=-1)
        own_cell = tf.reduce_all(tf.floor(mid / self.stride) == tf.floor(centers / self.stride), axis=-1)
        return central | own_cell

    @staticmethod
    def _inside(centers, gt):
        import tensorflow as tf

        return tf.reduce_all((centers >= gt[..., :2]) & (centers < gt[..., 2:]), axis=-1)

    # --- inference -------------------------------------------------------------------------------

    def decode_cells(self, outputs, image_shape):
        """Per cell: xyxy box (B, h·w, 4), best object score (B, h·w) and class (B, h·w) (numpy)."""
        scores = np.asarray(outputs["classes"], np.float32)[..., 1:]
        offsets = np.asarray(outputs["boxes"], np.float32)[..., :4]
        batch, h, w = scores.shape[:3]
        centers = self.cell_centers(int(image_shape[0]), int(image_shape[1]))[:h, :w]
        decoded = offsets * self.window + np.tile(centers, 2)[None]
        size = np.asarray([image_shape[1], image_shape[0]] * 2, np.float32)
        decoded = np.clip(decoded, 0, size)
        return (decoded.reshape(batch, -1, 4), scores.max(-1).reshape(batch, -1),
                scores.argmax(-1).reshape(batch, -1).astype("int32"))

    def decode(self, outputs, image_shape):
        """Model outputs → padded detections ``{"boxes" (B, K, 4), "scores", "classes"}``
        (K = max_detections, class -1 padding), by per-class NMS or OverFeat's greedy merge."""
        cell_boxes, scores, classes = self.decode_cells(outputs, image_shape)
        if self.merge == "nms":
            result = box_lib.nms(cell_boxes, scores, classes, iou_threshold=self.iou_threshold,
                                 score_threshold=self.score_threshold, max_detections=self.max_detections)
            return {key: np.asarray(value) for key, value in result.items()}
        return self._greedy(cell_boxes, scores, classes)

    def _greedy(self, cell_boxes, scores, classes):
        k = self.max_detections
        out = {"boxes": np.zeros((len(scores), k, 4), np.float32), "scores": np.zeros((len(scores), k), np.float32),
               "classes": np.full((len(scores), k), -1, np.int32)}
        for b in range(len(scores)):
            keep = scores[b] > self.score_threshold
            merged = box_lib.merge_boxes(cell_boxes[b][keep], scores[b][keep], classes[b][keep],
                                         threshold=self.merge_threshold, match_score=_one_minus_iou)
            n = min(k, len(merged["scores"]))
            for key in out:
                out[key][b, :n] = merged[key][:n]
        return out


def _one_minus_iou(a, b):
    """Match score for ``merge_boxes``: 1 - IoU (0 for identical boxes)."""
    return 1.0 - np.asarray(box_lib.iou(a, b))


# --- the model -------------------------------------------------------------------------------------


def _conv_bn_relu(x, filters, name, *, strides=1, dilation=1):
    x = layers.Conv2D(filters, 3, strides=strides, dilation_rate=dilation, padding="same", use_bias=False,
                      name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def overfeat_fashion(num_classes=10, *, input_shape=(128, 128, 1), width=32, fc_units=128, head=None,
                     name="overfeat_fashion"):
    """A small fully convolutional OverFeat detector for ``fashion_scenes`` on a CPU.

    Three conv-BN-ReLU stages down to stride 8 (widths ``width``, 2·width,
    4·width), two dilated 3×3 convolutions that widen each cell's receptive field
    to ~140 px (the objects reach 60 px), then OverFeat's classifier "fc" layers as
    1×1 convolutions (§3.5) with two output layers: ``"classes"`` (softmax over
    background + ``num_classes``) and ``"boxes"`` (4 linear box coordinates; the
    regressor of §4.2, sharing the features). Inputs are [0, 1] images
    (``data.pipeline``'s ``"unit"`` preprocessing). Returns ``(model, head)``.
    """
    head = head or OverFeatHead(num_classes, stride=8)
    inputs = keras.Input(input_shape, name="images")
    x = _conv_bn_relu(inputs, width // 2, "stem")
    for stage, filters in enumerate((width, 2 * width, 4 * width), start=1):
        x = _conv_bn_relu(x, filters, f"stage{stage}_down", strides=2)
        x = _conv_bn_relu(x, filters, f"stage{stage}_conv")
    for dilation in (2, 4):
        x = _conv_bn_relu(x, 4 * width, f"context_d{dilation}", dilation=dilation)
    features = layers.Conv2D(fc_units, 1, activation="relu", name="fc6")(x)
    cls = layers.Conv2D(fc_units, 1, activation="relu", name="fc7_classes")(features)
    cls = layers.Conv2D(num_classes + 1, 1, activation="softmax", name="classes")(cls)
    box = layers.Conv2D(fc_units, 1, activation="relu", name="fc7_boxes")(features)
    box = layers.Conv2D(4, 1, name="boxes")(box)
    return keras.Model(inputs, {"classes": cls, "boxes": box}, name=name), head
