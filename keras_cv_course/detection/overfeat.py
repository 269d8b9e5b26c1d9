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

from keras_cv_course import _keras_compat
from keras_cv_course.detection import boxes as box_lib
from keras_cv_course.detection.heads import DetectionHead, register_head, register_model_head
from keras_cv_course.models import _common, trained_weights
from keras_cv_course.models.alexnet import OVERFEAT_PAPER
from keras_cv_course.models.registry import FeatureTap

__all__ = ["OverFeatHead", "MaskedBoxLoss", "OverFeatFashion", "overfeat_fashion", "score_maps", "detect_multiscale",
           "offset_pooled_scores", "train_box_head"]


@keras.saving.register_keras_serializable(package="keras_cv_course")
class MaskedBoxLoss(keras.losses.Loss):
    """OverFeat's l2 box regression loss (Sermanet et al. 2014, §4.2), only on
    the windows that hold an object.

    ``y_true`` (..., 5): 4 targets and a weight (1 positive, 0 not), and with
    ``num_classes`` (per-class regression, one box per class as in the paper's
    class-specific regressors) a 6th channel, the object class of the cell.
    ``y_pred`` (..., 4), or (..., 4·num_classes) per class: the class's 4 channels
    ``4k:4k+4`` are the ones scored. Returns the sum of the squared coordinate
    errors over positive cells divided by the number of positive cells in the
    batch (at least 1), so it is 0 with no positives.
    """

    def __init__(self, num_classes=None, name="masked_box_l2", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.num_classes = None if num_classes is None else int(num_classes)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        weight = y_true[..., 4]
        predicted = y_pred[..., :4] if self.num_classes is None else self._class_boxes(y_true, y_pred)
        error = ops.sum(ops.square(predicted - y_true[..., :4]), axis=-1)
        return ops.sum(error * weight) / ops.maximum(ops.sum(weight), 1.0)

    def _class_boxes(self, y_true, y_pred):
        per_class = ops.reshape(y_pred, (*ops.shape(y_pred)[:-1], self.num_classes, 4))
        chosen = ops.one_hot(ops.cast(y_true[..., 5], "int32"), self.num_classes, dtype=y_pred.dtype)
        return ops.sum(per_class * chosen[..., None], axis=-2)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "reduction": self.reduction, "dtype": self.dtype}


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
    per_class_boxes: one box per class per cell (the ``"boxes"`` output has
        4·num_classes channels; the target gets the cell's class as a 6th
        channel) instead of one class-agnostic box (4 channels).
    """

    def __init__(self, num_classes=10, *, stride=8, window=32, center_fraction=1.0, ignore_border=True,
                 score_threshold=0.01, iou_threshold=0.5, max_detections=100, merge="nms",
                 merge_threshold=0.5, box_loss_weight=2.0, per_class_boxes=False):
        if merge not in ("nms", "greedy"):
            raise ValueError(f"merge must be 'nms' or 'greedy'; got {merge!r}")
        self.num_classes, self.stride, self.window = int(num_classes), int(stride), float(window)
        self.center_fraction, self.ignore_border = float(center_fraction), bool(ignore_border)
        self.score_threshold, self.iou_threshold = float(score_threshold), float(iou_threshold)
        self.max_detections, self.merge, self.merge_threshold = int(max_detections), merge, float(merge_threshold)
        self.box_loss_weight, self.per_class_boxes = float(box_loss_weight), bool(per_class_boxes)

    def get_config(self):
        return {"num_classes": self.num_classes, "stride": self.stride, "window": self.window,
                "center_fraction": self.center_fraction, "ignore_border": self.ignore_border,
                "score_threshold": self.score_threshold, "iou_threshold": self.iou_threshold,
                "max_detections": self.max_detections, "merge": self.merge,
                "merge_threshold": self.merge_threshold, "box_loss_weight": self.box_loss_weight,
                "per_class_boxes": self.per_class_boxes}

    # --- training --------------------------------------------------------------------------------

    def losses(self):
        """Softmax cross-entropy over every window (ignoring class -1) and the masked l2 box loss."""
        return {"classes": keras.losses.SparseCategoricalCrossentropy(ignore_class=-1),
                "boxes": self.box_loss()}

    def box_loss(self):
        """The l2 box loss of §4.2 (per class when ``per_class_boxes``)."""
        return MaskedBoxLoss(self.num_classes if self.per_class_boxes else None)

    @property
    def box_channels(self):
        """Channels of the ``"boxes"`` output: 4, or 4 per class."""
        return 4 * self.num_classes if self.per_class_boxes else 4

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
        box_target = [offsets * weight, weight]
        if self.per_class_boxes:
            box_target.append(tf.cast(tf.maximum(cls - 1, 0), tf.float32)[..., None] * weight)
        return images, {"classes": cls, "boxes": tf.concat(box_target, axis=-1)}

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
        scores = box_lib.as_numpy(outputs["classes"])[..., 1:]
        offsets = box_lib.as_numpy(outputs["boxes"])
        batch, h, w = scores.shape[:3]
        if self.per_class_boxes:
            per_class = offsets.reshape(batch, h, w, self.num_classes, 4)
            offsets = np.take_along_axis(per_class, scores.argmax(-1)[..., None, None], axis=3)[..., 0, :]
        offsets = offsets[..., :4]
        centers = self.cell_centers(int(image_shape[0]), int(image_shape[1]))[:h, :w]
        decoded = offsets * self.window + np.tile(centers, 2)[None]
        size = np.asarray([image_shape[1], image_shape[0]] * 2, np.float32)
        decoded = np.clip(decoded, 0, size)
        return (decoded.reshape(batch, -1, 4), scores.max(-1).reshape(batch, -1),
                scores.argmax(-1).reshape(batch, -1).astype("int32"))

    def decode(self, outputs, image_shape):
        """Model outputs → padded detections ``{"boxes" (B, K, 4), "scores", "classes"}``
        (K = max_detections, class -1 padding), by per-class NMS or OverFeat's greedy merge."""
        return self.combine(*self.decode_cells(outputs, image_shape))

    def combine(self, cell_boxes, scores, classes):
        """Per-window boxes (B, N, 4), scores and classes (B, N) → padded detections,
        by per-class NMS or the greedy merge (``merge``); ``detect_multiscale``
        combines the windows of every scale with it."""
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
    return 1.0 - box_lib.pairwise_iou(a, b)


# --- the model -------------------------------------------------------------------------------------


def _conv_bn_relu(x, filters, name, *, strides=1, dilation=1):
    x = layers.Conv2D(filters, 3, strides=strides, dilation_rate=dilation, padding="same", use_bias=False,
                      name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)




def overfeat_fashion_family(request, *, width, fc_units, per_class_boxes):
    """The generic builder of ``OverFeatFashion`` (``models._common`` contract).

    Three conv-BN-ReLU stages down to stride 8 (widths ``width``, 2·width,
    4·width), two dilated 3×3 convolutions that widen each cell's receptive field
    to ~140 px (the objects reach 60 px), then OverFeat's classifier "fc" layers as
    1×1 convolutions (§3.5) with two output layers: ``"classes"`` (softmax over
    background + ``classes``) and ``"boxes"`` (4 linear box coordinates; the
    regressor of §4.2 on the shared features, see ``train_box_head`` for the
    paper's second stage on frozen features). ``include_top=False`` gives the
    stride-8 feature map (``pooling`` as in keras.applications);
    ``per_class_boxes`` regresses one box per class (4·classes channels).
    """
    x = _conv_bn_relu(request.image, width // 2, "stem")
    for stage, filters in enumerate((width, 2 * width, 4 * width), start=1):
        x = _conv_bn_relu(x, filters, f"stage{stage}_down", strides=2)
        x = _conv_bn_relu(x, filters, f"stage{stage}_conv")
    for dilation in (2, 4):
        x = _conv_bn_relu(x, 4 * width, f"context_d{dilation}", dilation=dilation)
    box_channels = 4 * request.classes if per_class_boxes else 4
    return request.finish(request.tail(x, lambda features: _detector_top(features, request.classes, fc_units,
                                                                         box_channels)))


def _detector_top(features, classes, fc_units, box_channels):
    features = layers.Conv2D(fc_units, 1, activation="relu", name="fc6")(features)
    cls = layers.Conv2D(fc_units, 1, activation="relu", name="fc7_classes")(features)
    cls = layers.Conv2D(classes + 1, 1, activation="softmax", name="classes")(cls)
    box = layers.Conv2D(fc_units, 1, activation="relu", name="fc7_boxes")(features)
    box = layers.Conv2D(box_channels, 1, name="boxes")(box)
    return {"classes": cls, "boxes": box}


ROWS = (
    _common.Row("overfeat_fashion", "OverFeatFashion", "overfeat_detector", OVERFEAT_PAPER, 639_711, "unit", (128, 128, 1), 8,
                doc="A small fully convolutional OverFeat detector for ``fashion_scenes`` on a CPU (stride 8, "
                    "outputs ``classes``: background + ``classes`` softmax per cell, ``boxes``: 4 per cell; "
                    "targets and decoding: ``OverFeatHead``). ``width``: channels of the first stage; "
                    "``fc_units``: width of the 1×1 'fully connected' layers; ``per_class_boxes``: a box "
                    "per class per cell.",
                user_options={"width": 32, "fc_units": 128, "per_class_boxes": False}, classes=10, task="detection",
                weights=trained_weights.default_build_weights(
                    "overfeat_fashion", {"width": 32, "fc_units": 128, "per_class_boxes": False}),
                taps=(FeatureTap("P3", "context_d4_relu", 128, 8),)),
)
OverFeatFashion = _common.define(ROWS, overfeat_fashion_family)["OverFeatFashion"]


def _head_for(model):
    """The ``OverFeatHead`` a built ``overfeat_fashion`` trains with (its class
    count, stride 8, per-class boxes when its box output has 4 per class)."""
    classes = int(model.get_layer("classes").output.shape[-1]) - 1
    per_class = int(model.get_layer("boxes").output.shape[-1]) == 4 * classes != 4
    return OverFeatHead(classes, stride=8, per_class_boxes=per_class)


register_model_head("overfeat_fashion", _head_for)


def overfeat_fashion(num_classes=10, *, input_shape=(128, 128, 1), width=32, fc_units=128, head=None,
                     weights=None, name="overfeat_fashion"):
    """``(OverFeatFashion(...), head)``: the registered detector and the
    ``OverFeatHead`` it trains with (``head`` replaces the default one; its
    ``per_class_boxes`` sets the box output's width)."""
    per_class = bool(head is not None and head.per_class_boxes)
    model = OverFeatFashion(input_shape=input_shape, classes=num_classes, width=width, fc_units=fc_units,
                            per_class_boxes=per_class, weights=weights, name=name)
    return model, head or _head_for(model)


# --- dense multi-scale evaluation (§3.3-3.5, §4.3) ---------------------------------------------------


def _resize(images, scale, stride):
    """``images`` (B, H, W, C) resized by ``scale``, each side rounded to a multiple of ``stride``."""
    height, width = int(images.shape[1]), int(images.shape[2])
    size = tuple(max(stride, int(round(side * scale / stride)) * stride) for side in (height, width))
    return ops.image.resize(ops.convert_to_tensor(images, "float32"), size, interpolation="bilinear"), size


def score_maps(model, images, scales=(1.0,), *, stride=8):
    """OverFeat's multi-scale parse (§3.3): the dense detector ``model`` run on
    ``images`` (B, H, W, C, [0, 1]) resized by each of ``scales``. Returns one
    ``(scale, classes map (B, h, w, 1 + num_classes), image size (h_px, w_px))``
    per scale (column 0 is background); a larger scale gives a finer map of the
    same scene, so small objects are scored at large scales and large ones at
    small scales."""
    maps, model = [], _any_size(model)
    for scale in _check_scales(scales):
        resized, size = _resize(images, scale, stride)
        maps.append((scale, ops.convert_to_numpy(model(resized, training=False)["classes"]), size))
    return maps


def detect_multiscale(model, head, images, scales=(1.0,)):
    """Detections of ``images`` (B, H, W, C, [0, 1]) from every window at every
    scale (OverFeat §4.3): each scale's per-window boxes are decoded in its
    resized frame (``head.decode_cells``), mapped back to the original pixels,
    pooled over the scales and combined by the head's merge (per-class NMS or the
    greedy merge). Returns padded detections ``{"boxes", "scores", "classes"}``."""
    images = np.asarray(images, np.float32)
    height, width = images.shape[1:3]
    parts, model = [], _any_size(model)
    for scale in _check_scales(scales):
        resized, size = _resize(images, scale, head.stride)
        cell_boxes, cell_scores, cell_classes = head.decode_cells(model(resized, training=False), size)
        back = np.asarray([width / size[1], height / size[0]] * 2, np.float32)
        parts.append((cell_boxes * back, cell_scores, cell_classes))
    return head.combine(*(np.concatenate(values, axis=1) for values in zip(*parts)))


def _any_size(model):
    """``model`` taking inputs of any height and width (a copy when it was built
    for one size; a callable that is not a Keras model is used as it is)."""
    if not isinstance(model, keras.Model):
        return model
    from keras_cv_course import surgery

    return surgery.with_input_shape(model, (None, None, model.input_shape[-1]))


def _check_scales(scales):
    scales = tuple(float(scale) for scale in scales)
    if not scales or not all(np.isfinite(scale) and scale > 0 for scale in scales):
        raise ValueError(f"scales must be positive numbers (1.0 is the image's own size); got {scales!r}")
    return scales


def offset_pooled_scores(model, images, *, pool_layer=None):
    """OverFeat's offset max-pooling (§3.3, Fig. 3) on a convolutionized classifier.

    The last max-pooling layer (or ``pool_layer``, by name) of ``model`` (from
    ``surgery.convolutionize``, or any flat functional network whose layers after
    that pooling form a chain) is applied at each of its P×P offsets
    ``(Δy, Δx)`` of the unpooled map, the rest of the network is run on each
    pooled map, and the P² outputs are interleaved: the result (B, P·h, P·w, K)
    scores windows ``s / P`` pixels apart instead of ``s`` (``s`` the total
    stride), cell ``(P·i + Δy, P·j + Δx)`` being the network on the window at
    offset ``s·i + (s/P)·Δy``, ``s·j + (s/P)·Δx``. Without offsets
    (Δ = 0) it is ``model(images)``.
    """
    pool, front, back = _split_at_pool(model, pool_layer)
    size = pool.pool_size[0]
    if tuple(pool.pool_size) != (size, size) or tuple(pool.strides) != (size, size) or pool.padding != "valid":
        raise ValueError(f"Offset max-pooling needs a non-overlapping 'valid' square pooling; {pool.name!r} has "
                         f"pool_size {pool.pool_size}, strides {pool.strides}, padding {pool.padding!r}")
    unpooled = front(images, training=False)
    outputs = [[back(pool(unpooled[:, dy:, dx:]), training=False) for dx in range(size)] for dy in range(size)]
    height = min(out.shape[1] for row in outputs for out in row)
    width = min(out.shape[2] for row in outputs for out in row)
    if not height or not width:
        raise ValueError(f"The input {tuple(images.shape[1:3])} is too small for offset pooling: some offset leaves "
                         f"no window (pass an input at least {size - 1} unpooled cells larger than the native size)")
    grid = ops.stack([ops.stack([out[:, :height, :width] for out in row], axis=3) for row in outputs], axis=2)
    batch, channels = ops.shape(grid)[0], grid.shape[-1]
    return ops.convert_to_numpy(ops.reshape(grid, (batch, height * size, width * size, channels)))


def _split_at_pool(model, pool_name):
    """``(pool layer, model up to its input, model after its output)``."""
    from keras_cv_course import surgery

    leaves = surgery.flat_layers(model)
    if pool_name is None:
        pools = [layer for layer in leaves if isinstance(layer, layers.MaxPooling2D)]
        if not pools:
            raise ValueError(f"{model.name!r} has no MaxPooling2D layer to offset-pool")
        pool = pools[-1]
    else:
        pool = model.get_layer(pool_name)
    if len(_keras_compat.layer_calls(pool)) != 1 or len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(f"Offset pooling needs a flat single-input, single-output functional model with {pool.name!r} "
                         "called once (convolutionize a nested classifier first)")
    front = keras.Model(model.inputs[0], pool.input)
    back = keras.Model(pool.output, model.outputs[0])
    return pool, front, back


# --- the paper's second stage: a box regressor on frozen features (§4.2) -------------------------


def train_box_head(model, head, train, *, epochs=1, learning_rate=1e-3, validation=None, verbose=1):
    """Train only the layers that feed ``model``'s ``"boxes"`` output and not its
    ``"classes"`` output (the regression network of OverFeat §4.2: "we fix the
    feature extraction layers from the classification network and train a
    regression network using an ℓ2 loss"), on ``train`` (batches already encoded
    by ``head.encode``: ``(images, {"classes", "boxes"})``). Every other layer
    (the shared features, BatchNormalization included: it runs in inference
    mode) is frozen for the stage and gets its ``trainable`` flag back after it.
    Returns the ``keras.callbacks.History`` of the box loss."""
    from keras_cv_course import surgery

    box_layers = surgery.layers_feeding(model, "boxes") - surgery.layers_feeding(model, "classes")
    if not box_layers:
        raise ValueError(f"{model.name!r} has no layer that feeds only its 'boxes' output: nothing to train")
    boxes_only = keras.Model(model.inputs, model.outputs[model.output_names.index("boxes")])
    flags = {layer: layer.trainable for layer in surgery.flat_layers(model)}
    try:
        for layer in flags:
            layer.trainable = layer.name in box_layers
        boxes_only.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=head.box_loss())
        return boxes_only.fit(train.map(_box_targets), epochs=epochs, verbose=verbose,
                              validation_data=None if validation is None else validation.map(_box_targets))
    finally:
        for layer, flag in flags.items():
            layer.trainable = flag


def _box_targets(images, targets):
    return images, targets["boxes"]
