"""Box utilities for the detection heads: thin wrappers over
``keras.utils.bounding_boxes`` and TensorFlow's non-maximum suppression, plus
OverFeat's greedy box merging, which neither library has.

Conventions (those of ``data.pipeline``): boxes are ``xyxy`` in absolute pixels,
float32, pixel ``i`` covering ``[i, i + 1)``, so a box's width is ``x2 - x1`` (no
+1). Batches are padded to a fixed count with class -1 and box 0, and a box is
valid when its class is >= 0 — class 0 is a real class.

What Keras 3.15.1 / TensorFlow 2.21 get wrong or leave out, and what is done here:

- ``compute_iou(..., use_masking=True)`` masks boxes whose four coordinates are
  all negative, which is not this package's padding (box 0, class -1), and it
  crashes when the two arguments have different ranks although its docstring
  offers that::

      a = np.array([[0, 0, 10, 10]], "float32")
      compute_iou(a, a[None], "xyxy", use_masking=True)   # InvalidArgumentError (transpose)
      compute_iou(a[None], a, "xyxy", use_masking=True)   # ValueError: axis 2 is out of bounds

  ``iou`` masks by class instead and broadcasts the ranks itself. (Its union has
  ``+ epsilon``, so the IoU of a 1×1 box with itself is 0.9999999: harmless for
  pixel boxes.)
- ``convert_format`` writes the converted boxes back into a dict argument:
  ``convert`` passes a copy.
- ``decode_deltas_to_boxes`` has no clamp on ``exp(dw)``: a delta of 1000 gives
  ``inf`` boxes. ``decode`` clamps the log-scale at log(1000/16) as torchvision's
  BoxCoder does.
- ``tf.image.combined_non_max_suppression`` clips boxes to [0, 1] unless
  ``clip_boxes=False`` (wrong for pixel boxes) and pads with class 0, a real
  class; ``nms`` passes ``clip_boxes=False`` and pads with -1. Both TF NMS ops
  were checked against a greedy reference: they suppress IoU > threshold
  (strictly), keep scores > ``score_threshold`` (strictly) and, among equal
  scores, take the lower index first.
"""

import math

import numpy as np
from keras import ops
from keras.utils import bounding_boxes as box_utils

__all__ = ["SSD_VARIANCE", "BBOX_XFORM_CLIP", "convert", "iou", "encode", "decode", "clip", "nms",
           "merge_boxes", "overfeat_match_score"]

SSD_VARIANCE = (0.1, 0.1, 0.2, 0.2)  # SSD's variances = 1 / torchvision BoxCoder weights (10, 10, 5, 5)
BBOX_XFORM_CLIP = math.log(1000.0 / 16)  # torchvision's clamp on the decoded log-scale


def as_numpy(values):
    """A model output (a tensor of any Keras backend, a PyTorch one that carries
    gradients included) as a float32 numpy array."""
    return np.asarray(ops.convert_to_numpy(values), np.float32)


def _height_width(image_shape):
    if image_shape is None:
        return None, None
    return int(image_shape[0]), int(image_shape[1])


def convert(boxes, source, target, image_shape=None):
    """Boxes converted between the formats of ``keras.utils.bounding_boxes``
    (``xyxy``, ``yxyx``, ``xywh``, ``center_xywh``, ``center_yxhw`` and the
    ``rel_*`` ones, which need ``image_shape`` (H, W[, C])).

    ``boxes``: an array (..., 4) or a dict with a ``"boxes"`` key; a dict is
    copied (Keras converts a dict in place) and returned with its boxes converted.
    """
    height, width = _height_width(image_shape)
    if isinstance(boxes, dict):
        converted = dict(boxes)
        converted["boxes"] = convert(boxes["boxes"], source, target, image_shape)
        return converted
    return box_utils.convert_format(boxes, source=source, target=target, height=height, width=width)


def iou(a, b, a_classes=None, b_classes=None, *, mask_value=-1.0):
    """Pairwise intersection over union of xyxy boxes (no +1 pixel), with
    ``keras.utils.bounding_boxes.compute_iou``.

    ``a`` (Na, 4) or (B, Na, 4), ``b`` (Nb, 4) or (B, Nb, 4) → (Na, Nb) or
    (B, Na, Nb). With ``a_classes`` / ``b_classes`` (same leading shapes as the
    boxes), pairs in which either box is padding (class < 0) read ``mask_value``.
    """
    a, b = ops.convert_to_tensor(a, "float32"), ops.convert_to_tensor(b, "float32")
    if len(a.shape) != len(b.shape):  # broadcast the unbatched side to the batch
        if len(a.shape) == 2:
            a = ops.broadcast_to(a[None], (ops.shape(b)[0],) + tuple(ops.shape(a)))
        else:
            b = ops.broadcast_to(b[None], (ops.shape(a)[0],) + tuple(ops.shape(b)))
    result = box_utils.compute_iou(a, b, "xyxy")
    mask = None
    if a_classes is not None:
        mask = ops.expand_dims(ops.convert_to_tensor(a_classes) < 0, -1)
    if b_classes is not None:
        b_mask = ops.expand_dims(ops.convert_to_tensor(b_classes) < 0, -2)
        mask = b_mask if mask is None else ops.logical_or(mask, b_mask)
    if mask is None:
        return result
    return ops.where(ops.broadcast_to(mask, ops.shape(result)), ops.cast(mask_value, result.dtype), result)


def encode(boxes, anchors, variance=SSD_VARIANCE):
    """Regression targets of xyxy ``boxes`` (N, 4) or (B, N, 4) against xyxy
    ``anchors`` (N, 4): ``((cx - cx_a) / w_a, (cy - cy_a) / h_a, log(w / w_a),
    log(h / h_a)) / variance`` — SSD (Liu et al. 2016, eq. 2) with its variances,
    which is torchvision's SSD ``BoxCoder(weights=(10, 10, 5, 5))``.
    Keras floors widths at epsilon, so empty (padding) boxes stay finite."""
    return box_utils.encode_box_to_deltas(anchors, boxes, anchor_format="xyxy", box_format="xyxy",
                                          encoding_format="center_xywh", variance=list(variance))


def decode(deltas, anchors, variance=SSD_VARIANCE, max_log_scale=BBOX_XFORM_CLIP):
    """xyxy boxes from ``encode``'s deltas (N, 4) or (B, N, 4) and xyxy
    ``anchors`` (N, 4). The log-scales ``dw, dh`` (after the variance) are
    clamped at ``max_log_scale`` (torchvision's log(1000/16); None: no clamp)
    so that ``exp`` cannot overflow — Keras' decoder has no clamp."""
    deltas = ops.convert_to_tensor(deltas, "float32")
    if max_log_scale is not None:
        scale = np.asarray(variance[2:] if variance is not None else (1.0, 1.0), "float32")
        limit = ops.convert_to_tensor(np.float32(max_log_scale) / scale)
        deltas = ops.concatenate([deltas[..., :2], ops.minimum(deltas[..., 2:], limit)], axis=-1)
    return box_utils.decode_deltas_to_boxes(anchors, deltas, anchor_format="xyxy", box_format="xyxy",
                                            encoded_format="center_xywh",
                                            variance=None if variance is None else list(variance))


def clip(boxes, image_shape):
    """xyxy boxes clipped to the image (H, W[, C]) with
    ``keras.utils.bounding_boxes.clip_to_image_size``. ``boxes``: an array
    (..., 4), or a dict ``{"boxes", "classes"}``, returned as a new dict whose
    boxes left with no area get class -1 (padding)."""
    height, width = _height_width(image_shape)
    if isinstance(boxes, dict):
        clipped = box_utils.clip_to_image_size({"boxes": ops.convert_to_tensor(boxes["boxes"], "float32"),
                                                "labels": ops.convert_to_tensor(boxes["classes"])},
                                               height=height, width=width, bounding_box_format="xyxy")
        return {**boxes, "boxes": clipped["boxes"], "classes": clipped["labels"]}
    return box_utils.clip_to_image_size({"boxes": ops.convert_to_tensor(boxes, "float32")}, height=height,
                                        width=width, bounding_box_format="xyxy")["boxes"]


# --- non-maximum suppression (TensorFlow) ---------------------------------------------------------


def nms(boxes, scores, classes=None, *, iou_threshold=0.45, score_threshold=0.01, max_detections=200,
        per_class=True, max_per_class=None):
    """Greedy non-maximum suppression over a padded batch, with TensorFlow's ops.

    Defaults are SSD's inference settings (Liu et al. 2016 §3: score > 0.01, NMS
    at IoU 0.45, keep 200). A box is dropped when its score is <= ``score_threshold``
    or its IoU with a kept box of higher score (of the same class when
    ``per_class``) is > ``iou_threshold``.

    Args:
        boxes: (B, N, 4) or (N, 4) xyxy pixels.
        scores: (B, N) with ``classes`` (B, N) int — one class per box, class < 0
            is padding and never kept; or (B, N, C) per-class scores with
            ``classes=None`` (an SSD head's softmax without its background column).
        per_class: True: suppression within each class (VOC, SSD) — with (B, N, C)
            scores a box may be kept for several classes — through
            ``tf.image.combined_non_max_suppression``. False: class-agnostic, through
            ``tf.image.non_max_suppression`` per image; (B, N, C) scores are first
            reduced to each box's best class.
        max_detections: boxes kept per image (the output size).
        max_per_class: per-class cap before the top ``max_detections`` are taken
            (``per_class`` only; default ``max_detections``).

    Returns:
        ``{"boxes": (B, K, 4) float32 xyxy, "scores": (B, K) float32, "classes":
        (B, K) int32}`` as TensorFlow tensors, K = ``max_detections``, sorted by
        score, padded with class -1, score 0, box 0 (no batch axis for (N, 4) boxes).
    """
    import tensorflow as tf

    boxes = tf.convert_to_tensor(boxes, tf.float32)
    scores = tf.convert_to_tensor(scores, tf.float32)
    unbatched = boxes.shape.rank == 2
    if unbatched:
        boxes, scores = boxes[None], scores[None]
        classes = None if classes is None else tf.convert_to_tensor(classes)[None]
    if classes is None:
        if scores.shape.rank != 3:
            raise ValueError(f"nms: scores must be (B, N, C) when classes is None; got shape {scores.shape}")
        if not per_class:
            classes, scores = tf.argmax(scores, axis=-1, output_type=tf.int32), tf.reduce_max(scores, axis=-1)
    else:
        classes = tf.cast(classes, tf.int32)
        scores = tf.where(classes >= 0, scores, float("-inf"))
    kwargs = dict(iou_threshold=float(iou_threshold), score_threshold=float(score_threshold),
                  max_detections=int(max_detections))
    if per_class:
        if classes is not None:  # one class per box: a (B, N, C) score matrix, -inf off the box's class
            depth = tf.maximum(tf.reduce_max(classes) + 1, 1)
            scores = tf.where(tf.one_hot(classes, depth) > 0, scores[..., None], float("-inf"))
        result = _combined_nms(boxes, scores, max_per_class=max_per_class or max_detections, **kwargs)
    else:
        result = _agnostic_nms(boxes, scores, classes, **kwargs)
    return {key: value[0] for key, value in result.items()} if unbatched else result


def _combined_nms(boxes, scores, *, iou_threshold, score_threshold, max_detections, max_per_class):
    import tensorflow as tf

    # TF's NMS reads any diagonal corner pair (IoU is symmetric in x and y): xyxy goes in as is.
    out = tf.image.combined_non_max_suppression(
        boxes[:, :, None, :], scores, max_output_size_per_class=int(max_per_class), max_total_size=max_detections,
        iou_threshold=iou_threshold, score_threshold=score_threshold, pad_per_class=False, clip_boxes=False)
    valid = tf.range(max_detections)[None] < out.valid_detections[:, None]
    return {"boxes": tf.where(valid[..., None], out.nmsed_boxes, 0.0),
            "scores": tf.where(valid, out.nmsed_scores, 0.0),
            "classes": tf.where(valid, tf.cast(out.nmsed_classes, tf.int32), -1)}


def _agnostic_nms(boxes, scores, classes, *, iou_threshold, score_threshold, max_detections):
    import tensorflow as tf

    def one_image(args):
        image_boxes, image_scores, image_classes = args
        keep = tf.image.non_max_suppression(image_boxes, image_scores, max_detections, iou_threshold,
                                            score_threshold)
        pad = max_detections - tf.shape(keep)[0]
        return (tf.pad(tf.gather(image_boxes, keep), [[0, pad], [0, 0]]),
                tf.pad(tf.gather(image_scores, keep), [[0, pad]]),
                tf.pad(tf.gather(image_classes, keep), [[0, pad]], constant_values=-1))

    signature = (tf.TensorSpec([max_detections, 4], tf.float32), tf.TensorSpec([max_detections], tf.float32),
                 tf.TensorSpec([max_detections], tf.int32))
    out = tf.map_fn(one_image, (boxes, scores, classes), fn_output_signature=signature)
    return dict(zip(("boxes", "scores", "classes"), out))


# --- OverFeat box merging (numpy) -----------------------------------------------------------------


def overfeat_match_score(a, b):
    """OverFeat's match score (Sermanet et al. 2013, §4.3): "the sum of the
    distance between centers of the two bounding boxes and the intersection area
    of the boxes" — taken literally: Euclidean distance of the centres (pixels)
    plus the intersection area (pixels²), (Na, 4) × (Nb, 4) xyxy → (Na, Nb)."""
    a, b = np.asarray(a, np.float64)[:, None], np.asarray(b, np.float64)[None]
    centers_a, centers_b = (a[..., :2] + a[..., 2:]) / 2, (b[..., :2] + b[..., 2:]) / 2
    distance = np.sqrt(((centers_a - centers_b) ** 2).sum(-1))
    sides = np.clip(np.minimum(a[..., 2:], b[..., 2:]) - np.maximum(a[..., :2], b[..., :2]), 0, None)
    return distance + sides[..., 0] * sides[..., 1]


def pairwise_iou(a, b):
    """IoU of every pair of xyxy boxes (Na, 4) × (Nb, 4) → (Na, Nb), numpy float64
    (0 for boxes that do not overlap or have no area); for numpy callers such as
    the greedy merge, where ``iou``'s tensor round trip per call would dominate."""
    a, b = np.asarray(a, np.float64)[:, None], np.asarray(b, np.float64)[None]
    sides = np.clip(np.minimum(a[..., 2:], b[..., 2:]) - np.maximum(a[..., :2], b[..., :2]), 0, None)
    inter = sides[..., 0] * sides[..., 1]
    union = np.prod(a[..., 2:] - a[..., :2], -1) + np.prod(b[..., 2:] - b[..., :2], -1) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def merge_boxes(boxes, scores, classes, *, threshold, match_score=overfeat_match_score):
    """OverFeat's greedy merge of one image's boxes (Sermanet et al. 2013, §4.3).

    Within each class (class < 0 is padding, dropped): while two boxes remain,
    take the pair with the smallest ``match_score`` (the first pair in row-major
    order on ties); if that score is > ``threshold`` stop, else replace the pair
    by one box, the mean of the two boxes' coordinates, whose score is the sum of
    theirs ("cumulatively adding the detection class outputs"). So a box merged
    from three is ((b1 + b2) / 2 + b3) / 2, not their plain mean — the paper's
    pairwise box_merge. ``match_score(a, b)`` maps (Na, 4), (Nb, 4) to (Na, Nb);
    the default is the paper's literal one, ``overfeat_match_score`` (centre
    distance + intersection area: note that the more two boxes overlap the
    *higher* it is, so identical big boxes merge later than small distant ones —
    pass another criterion to change that).

    Returns ``{"boxes": (M, 4) float64, "scores": (M,), "classes": (M,) int64}``,
    numpy, sorted by score (descending).
    """
    boxes, scores = np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(scores, np.float64).reshape(-1)
    classes = np.asarray(classes).reshape(-1).astype(np.int64)
    merged = [_merge_class(boxes[classes == c], scores[classes == c], threshold, match_score) + (c,)
              for c in np.unique(classes[classes >= 0])]
    out_boxes = np.concatenate([m[0] for m in merged]) if merged else np.zeros((0, 4))
    out_scores = np.concatenate([m[1] for m in merged]) if merged else np.zeros((0,))
    out_classes = np.concatenate([np.full(len(m[1]), m[2]) for m in merged]) if merged else np.zeros((0,), np.int64)
    order = np.argsort(-out_scores, kind="stable")
    return {"boxes": out_boxes[order], "scores": out_scores[order], "classes": out_classes[order]}


def _merge_class(boxes, scores, threshold, match_score):
    # The pair table is computed once; a merge recomputes only the merged box's
    # row and column and drops the absorbed box's (an O(n²) merge, not O(n³)).
    boxes, scores = boxes.copy(), scores.copy()
    alive = np.ones(len(boxes), bool)
    table = np.asarray(match_score(boxes, boxes), np.float64).copy()
    table[np.tril_indices(len(boxes))] = np.inf  # pairs b1 != b2, each once
    while alive.sum() > 1:
        i, j = np.unravel_index(np.argmin(table), table.shape)
        if table[i, j] > threshold:
            break
        boxes[i], scores[i] = (boxes[i] + boxes[j]) / 2, scores[i] + scores[j]
        alive[j] = False
        table[j, :] = table[:, j] = np.inf
        row = np.asarray(match_score(boxes[i:i + 1], boxes), np.float64)[0]
        later, earlier = alive & (np.arange(len(boxes)) > i), alive & (np.arange(len(boxes)) < i)
        table[i, later], table[earlier, i] = row[later], row[earlier]
    return boxes[alive].reshape(-1, 4), scores[alive]
