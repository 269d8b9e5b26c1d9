"""SSD (Liu, Anguelov, Erhan, Szegedy, Reed, Fu & Berg 2016, "SSD: Single Shot
MultiBox Detector"): default boxes, matching, target encoding, the MultiBox
loss with hard negative mining, and decoding. The networks (SSD300, SSDLite)
are ``keras_cv_course.models.ssd``.

The defaults are the paper's **VOC** configuration (``SSD300_VOC``, the Caffe
``ssd_pascal.py`` numbers: sizes 30 … 315 pixels). torchvision's ``ssd300_vgg16``
uses the COCO scales (0.07, 0.15, 0.33, …, 1.05: 21, 45, 99, 153, 207, 261,
315 pixels) instead: ``SSDHead(min_sizes=(21, 45, 99, 153, 207, 261),
max_sizes=(45, 99, 153, 207, 261, 315))``.

Conventions:

- **Default boxes (priors)** are ``center_xywh`` in **pixels** of the input
  image, float32 numpy (P, 4). Order: map by map (largest first), in each map
  row-major over locations (y, then x), and at each location: the ratio-1 box
  of side ``min_size``, the ratio-1 box of side ``sqrt(min_size · max_size)``
  (absent when the map's max size is None), then for each ratio r of the map
  ``(min·√r, min/√r)`` and ``(min/√r, min·√r)`` (width, height) — Caffe's
  PriorBox order (and torchvision's). Location (i, j) of a map is centred at
  ``((j + offset)·step_x, (i + offset)·step_y)``. ``clip=True`` clips the
  priors' corners to the image (Caffe's clip; torchvision clamps the centre
  form instead); the VOC configuration does not clip.
- **Matching** (``match_priors``, TensorFlow ops, batched): first every ground
  truth gets a prior of its own by the greedy bipartite matching of MultiBox /
  Caffe's ``MatchBBox`` (repeatedly the highest-IoU pair of a still unmatched
  ground truth and a still free prior; ties: the lower ground-truth index, then
  the lower prior index), then every other prior takes its best ground truth
  when their IoU is >= ``iou_threshold`` (0.5). The forced pairs override the
  threshold matches. Two ground truths whose best prior is the same: the one
  with the higher IoU gets it and the other its best free prior — Caffe's rule;
  torchvision's ``SSDMatcher`` gives the prior to the later ground truth and
  the other may be left without any. A ground truth with IoU 0 with every prior
  (an empty box) gets no forced prior. Padding (class < 0) never matches.
- **Targets** (``SSDHead.encode``): ``"boxes"`` float32 (B, P, 5), the four
  deltas of the matched ground truth against the prior and a positive flag
  (deltas 0 on background priors); ``"classes"`` int32 (B, P), 0 background,
  ``k + 1`` object class k. The deltas are SSD's eq. 2 in ``center_xywh`` with
  the variances (0.1, 0.1, 0.2, 0.2): ``((cx - cx_p) / w_p / 0.1, (cy - cy_p) /
  h_p / 0.1, log(w / w_p) / 0.2, log(h / h_p) / 0.2)`` — the same numbers as
  ``keras.utils.bounding_boxes.encode_box_to_deltas(priors, boxes, "center_xywh",
  "xyxy", encoding_format="center_xywh", variance=[.1, .1, .2, .2])`` and
  torchvision's ``BoxCoder((10, 10, 5, 5))``. The pipeline encoding is written
  with TensorFlow ops (so it runs in tf.data whatever the Keras backend: Keras'
  own ``encode_box_to_deltas`` and ``compute_iou`` call the global backend's
  ``ops`` on the tf.data tensors) and is tested equal to Keras'.
- **Model outputs**: ``"boxes"`` (B, P, 4) raw deltas, ``"classes"`` (B, P,
  num_classes + 1) **logits**, column 0 background.
- **Loss** (§2.2): ``L = (L_conf + α L_loc) / N``. ``SSDLocalizationLoss``
  (output ``"boxes"``) is the smooth-L1 of the positives' deltas summed over
  coordinates and priors, ``SSDConfidenceLoss`` (output ``"classes"``) the
  softmax cross-entropy of the positives plus the hard negatives: per image,
  the ``min(max(floor(neg_pos_ratio · positives), min_negatives), negatives)``
  background priors of highest background loss ``-log softmax(logits)[0]``.
  With ``head.loss_weights()`` = ``{"boxes": α, "classes": 1}`` Keras' sum of
  the two is exactly L. ``MultiBoxLoss`` is the same sum from the two dicts.

  *N is the number of matched priors of the whole batch* (at least 1), as in
  Caffe's MultiBoxLoss (normalization VALID) and torchvision: every matched
  prior weighs the same whatever image it is in, and an image with many
  objects counts more than one with few, as it should when each object is an
  example; a per-image normaliser would give a one-object image the weight of
  a twenty-object one. Each loss returns the per-image shares ``S_i / N``
  (B,) and reduces them with ``reduction="sum"``, so the loss value is the
  batch's L. Under ``tf.distribute`` N is the replica's (as torchvision's
  distributed training does) and Keras averages the replicas.

  *An image without objects* mines ``min_negatives`` (default 3) hard negatives
  — the TensorFlow Object Detection API's ``min_negatives_per_image`` — so its
  loss is the cross-entropy of its three hardest background priors (over N
  of the batch, or 1 when the batch has no objects) and no localisation term:
  finite, and background-only images still teach the background class.
  ``min_negatives=0`` is Caffe's and torchvision's rule (such an image costs
  0; with N = 0 the whole loss is 0, the paper's "if N = 0, we set the loss
  to 0"). With objects and ``neg_pos_ratio=3`` the minimum never binds, so the
  loss of images with objects is the paper's.
- **Decoding** (``SSDHead.decode``, §3 "inference"): softmax, boxes decoded
  with the exp clamped (``boxes.decode``) and clipped to the image, per class
  the top ``top_k`` (400) scores above ``score_threshold`` (0.01) *before*
  NMS (Caffe's ``nms_param.top_k``), per-class NMS at ``nms_iou`` (0.45,
  ``boxes.nms``), the best ``max_detections`` (200) per image. Class ids 0 …
  C - 1 (the logits' column k + 1 is class k); padding class -1.
"""

import math
import types

import keras
import numpy as np
from keras import ops

from keras_cv_course.detection import boxes as box_lib
from keras_cv_course.detection.heads import DetectionHead, register_head

__all__ = ["SSD300_VOC", "SSD_VARIANCE", "default_boxes", "boxes_per_location", "prior_config", "match_priors",
           "encode_targets", "SSDLocalizationLoss", "SSDConfidenceLoss", "MultiBoxLoss", "SSDHead", "head_from_model",
           "ssd300_head", "ssd_fashion_head", "SSDFashion", "ssd_fashion", "FASHION_PRIORS"]

SSD_VARIANCE = box_lib.SSD_VARIANCE

SSD300_VOC = types.MappingProxyType({
    "image_size": 300,
    "feature_sizes": (38, 19, 10, 5, 3, 1),
    "min_sizes": (30, 60, 111, 162, 213, 264),
    "max_sizes": (60, 111, 162, 213, 264, 315),
    "aspect_ratios": ((2,), (2, 3), (2, 3), (2, 3), (2,), (2,)),
    "steps": (8, 16, 32, 64, 100, 300),
    "offset": 0.5,
    "clip": False,
})
"""SSD300's default boxes on VOC (paper §3.1 / Caffe ``ssd_pascal.py``): the
keyword arguments of ``default_boxes`` (and of ``SSDHead``); 8,732 priors."""

PRIOR_KEYS = ("image_size", "feature_sizes", "min_sizes", "max_sizes", "aspect_ratios", "steps", "offset", "clip")


# --- default boxes --------------------------------------------------------------------------------


def _number(value):
    value = float(value)
    return int(value) if value.is_integer() else value


def _pair(value, what):
    """(a, b) from a number or a pair, as plain numbers."""
    if isinstance(value, (list, tuple, np.ndarray)):
        if len(value) != 2:
            raise ValueError(f"{what} must be a number or a (height, width) pair; got {value!r}")
        return _number(value[0]), _number(value[1])
    return _number(value), _number(value)


def _compact(pair):
    """A pair back to one number when square (how a config records it)."""
    return pair[0] if pair[0] == pair[1] else list(pair)


def _ratios(aspect_ratios):
    """Per-map ratio tuples (validated)."""
    if aspect_ratios is None:
        raise ValueError("aspect_ratios is required (one sequence of ratios per map, e.g. ((2,), (2, 3)))")
    ratios = []
    for map_ratios in aspect_ratios:
        if not isinstance(map_ratios, (list, tuple, np.ndarray)):
            raise ValueError(f"aspect_ratios must hold one sequence of ratios per map (e.g. ((2,), (2, 3))); got "
                             f"{aspect_ratios!r}")
        ratios.append(tuple(_number(r) for r in map_ratios))
    for map_ratios in ratios:
        for r in map_ratios:
            if not (r > 0 and math.isfinite(r)) or r == 1:
                raise ValueError(f"aspect ratios must be finite, > 0 and not 1 (ratio 1 is always there); got {r!r}")
    return ratios


def _normalise(image_size, feature_sizes, min_sizes, max_sizes, aspect_ratios, steps, offset, clip):
    """The canonical prior configuration (validated): pairs for sizes and steps, tuples per map."""
    feature_sizes = [_pair(f, "a feature size") for f in feature_sizes]
    count = len(feature_sizes)
    if count == 0:
        raise ValueError("feature_sizes must name at least one feature map")
    min_sizes = [_number(s) for s in min_sizes]
    max_sizes = [None if s is None else _number(s) for s in max_sizes]
    ratios = _ratios(aspect_ratios)
    steps = [_pair(s, "a step") for s in steps]
    for name, values in (("min_sizes", min_sizes), ("max_sizes", max_sizes), ("aspect_ratios", ratios),
                         ("steps", steps)):
        if len(values) != count:
            raise ValueError(f"{name} has {len(values)} entries for {count} feature maps (feature_sizes "
                             f"{[_compact(f) for f in feature_sizes]})")
    if any(min(f) < 1 for f in feature_sizes):
        raise ValueError(f"feature sizes must be >= 1; got {[_compact(f) for f in feature_sizes]}")
    if any(not (s > 0 and math.isfinite(s)) for s in min_sizes + [s for s in max_sizes if s is not None]):
        raise ValueError(f"min_sizes and max_sizes must be finite and > 0; got {min_sizes}, {max_sizes}")
    if any(min(s) <= 0 for s in steps):
        raise ValueError(f"steps must be > 0; got {[_compact(s) for s in steps]}")
    return {"image_size": _pair(image_size, "image_size"), "feature_sizes": feature_sizes, "min_sizes": min_sizes,
            "max_sizes": max_sizes, "aspect_ratios": ratios, "steps": steps, "offset": float(offset),
            "clip": bool(clip)}


def boxes_per_location(aspect_ratios, max_sizes=None):
    """Default boxes at each location of each map: ``2 + 2·len(ratios)`` (the two
    ratio-1 boxes, then r and 1/r per ratio) — (4, 6, 6, 6, 4, 4) for
    ``SSD300_VOC["aspect_ratios"]`` — or ``1 + 2·len(ratios)`` on a map whose
    ``max_sizes`` entry is None (no extra ratio-1 box). The model's box and
    class convolutions of map k have ``4·A_k`` and ``(C + 1)·A_k`` channels."""
    ratios = _ratios(aspect_ratios)
    extra = [True] * len(ratios) if max_sizes is None else [s is not None for s in max_sizes]
    if len(extra) != len(ratios):
        raise ValueError(f"max_sizes has {len(extra)} entries for {len(ratios)} maps of aspect ratios")
    return tuple(1 + int(has_extra) + 2 * len(r) for r, has_extra in zip(ratios, extra))


def default_boxes(feature_sizes, image_size, *, min_sizes, max_sizes, aspect_ratios, steps, offset=0.5, clip=False):
    """SSD's default boxes (§2.2 "Choosing scales and aspect ratios") as
    float32 numpy (P, 4) ``center_xywh`` in pixels, in the order of the module
    docstring. ``default_boxes(**SSD300_VOC)`` gives the 8,732 priors of SSD300.

    feature_sizes: per map its side (or (height, width)). image_size: the
        input's side or (height, width) — used by ``clip`` only, the boxes are
        in pixels already.
    min_sizes, max_sizes: per map s_k and s_{k+1} in pixels; the extra ratio-1
        box has side ``sqrt(min·max)``. A max size of None drops that map's
        extra box (Caffe without ``max_size``): with ratios (2,) a map has 3
        boxes, as many as the TF Object Detection API's lowest layer with
        ``reduce_boxes_in_lowest_layer`` (whose ratio-1 box is half the size).
    aspect_ratios: per map the ratios r > 1 (each gives r and 1/r).
    steps: per map the pixel distance between locations (or (y, x) pair).
    offset: where a location's centre lies in its cell (0.5: the middle).
    clip: clip each box's corners to the image (Caffe's ``clip``).
    """
    config = _normalise(image_size, feature_sizes, min_sizes, max_sizes, aspect_ratios, steps, offset, clip)
    out = []
    for (rows, cols), low, high, ratios, (step_y, step_x) in zip(
            config["feature_sizes"], config["min_sizes"], config["max_sizes"], config["aspect_ratios"],
            config["steps"]):
        sides = [(low, low)] + ([(math.sqrt(low * high),) * 2] if high is not None else [])
        for r in ratios:
            root = math.sqrt(r)
            sides += [(low * root, low / root), (low / root, low * root)]
        sides = np.asarray(sides, np.float64)  # (A, 2) width, height
        cy, cx = np.meshgrid((np.arange(rows) + offset) * step_y, (np.arange(cols) + offset) * step_x,
                             indexing="ij")
        centres = np.stack([cx, cy], axis=-1).reshape(-1, 1, 2)  # row-major (y, x)
        boxes = np.concatenate([np.broadcast_to(centres, (len(centres), len(sides), 2)),
                                np.broadcast_to(sides[None], (len(centres), len(sides), 2))], axis=-1)
        out.append(boxes.reshape(-1, 4))
    priors = np.concatenate(out)
    if config["clip"]:
        height, width = config["image_size"]
        limit = np.array([width, height], np.float64)
        low_corner = np.clip(priors[:, :2] - priors[:, 2:] / 2, 0, limit)
        high_corner = np.clip(priors[:, :2] + priors[:, 2:] / 2, 0, limit)
        priors = np.concatenate([(low_corner + high_corner) / 2, high_corner - low_corner], axis=-1)
    return priors.astype(np.float32)


def prior_config(image_size, feature_sizes=None, *, strides=None, steps=None, s_min=0.2, s_max=0.9,
                 first_scale=None, aspect_ratios=None, offset=0.5, clip=False):
    """The keyword arguments of ``default_boxes`` / ``SSDHead`` for any input
    size and maps, with the scales of the paper's eq. 4:
    ``s_k = s_min + (s_max - s_min)(k - 1)/(m - 1)``, k = 1 … m, and
    ``s_{m+1} = s_max + (s_max - s_min)/(m - 1)`` for the last map's extra box;
    a map's ``min_size`` is ``s_k`` and its ``max_size`` ``s_{k+1}`` times the
    image's shorter side.

    feature_sizes: per map its side (or (h, w)); or ``strides``: per map its
        stride, the map's side then ``ceil(image / stride)`` ("same" padding).
    steps: per map the spacing of its locations; default the strides, or
        ``image / feature_size`` (Caffe's default) without strides.
    first_scale: the Caffe VOC/COCO variant — the first map gets
        ``first_scale`` (max ``s_min``) and eq. 4 spreads s_min … s_max over
        the other m - 1 maps. ``prior_config(300, strides=(8, 16, 32, 64, 100,
        300), s_min=0.2, s_max=0.88, first_scale=0.1, aspect_ratios=
        SSD300_VOC["aspect_ratios"])`` is ``SSD300_VOC`` (Caffe steps the
        percentages by 17: 20, 37, …, 88).
    aspect_ratios: per map ratios; default (2, 3) on every map but the first
        and the last two, which get (2,) — SSD300's pattern (4, 6, 6, 6, 4, 4);
        with three maps or fewer every map has (2,) (4 boxes per location).

    A CPU SSD on 128×128 inputs with maps of stride 8, 16, 32:
    ``prior_config(128, strides=(8, 16, 32))`` → maps 16, 8, 4, sizes 25.6,
    70.4, 115.2 (max 70.4, 115.2, 160), 1,344 priors; smaller objects want a
    smaller ``s_min`` (e.g. ``s_min=0.1, s_max=0.6``: 12.8, 44.8, 76.8).
    """
    height, width = _pair(image_size, "image_size")
    if feature_sizes is None:
        if strides is None:
            raise ValueError("prior_config needs feature_sizes or strides")
        strides = [_pair(s, "a stride") for s in strides]
        feature_sizes = [(math.ceil(height / sy), math.ceil(width / sx)) for sy, sx in strides]
    else:
        feature_sizes = [_pair(f, "a feature size") for f in feature_sizes]
        if strides is not None and len(strides) != len(feature_sizes):
            raise ValueError("strides and feature_sizes must have one entry per map")
    count = len(feature_sizes)
    if steps is None:
        steps = strides if strides is not None else [(height / fh, width / fw) for fh, fw in feature_sizes]
    if not (0 < s_min <= s_max) or (first_scale is not None and not 0 < first_scale <= s_min):
        raise ValueError(f"scales must satisfy 0 < first_scale <= s_min <= s_max; got first_scale={first_scale}, "
                         f"s_min={s_min}, s_max={s_max}")
    head = [] if first_scale is None else [float(first_scale)]
    line_maps = count - len(head)  # maps on the eq. 4 line
    if line_maps == 0:
        line = [s_min]  # a single map given first_scale: its max is s_min
    elif line_maps == 1:
        line = [s_min, s_max]
    else:
        gap = (s_max - s_min) / (line_maps - 1)
        line = [s_min + gap * k for k in range(line_maps)] + [s_max + gap]
    scales = head + line  # count + 1 scales
    side = min(height, width)
    if aspect_ratios is None:
        aspect_ratios = [(2, 3) if 1 <= k < count - 2 else (2,) for k in range(count)]
    return {"image_size": _compact((height, width)), "feature_sizes": [_compact(f) for f in feature_sizes],
            "min_sizes": [_number(round(s * side, 6)) for s in scales[:count]],
            "max_sizes": [_number(round(s * side, 6)) for s in scales[1:count + 1]],
            "aspect_ratios": [list(r) for r in _ratios(aspect_ratios)],
            "steps": [_compact(_pair(s, "a step")) for s in steps], "offset": float(offset), "clip": bool(clip)}


# --- matching and encoding (TensorFlow, in tf.data) -----------------------------------------------


def _xyxy(center):
    import tensorflow as tf

    return tf.concat([center[..., :2] - center[..., 2:] / 2, center[..., :2] + center[..., 2:] / 2], axis=-1)


def _pairwise_iou(priors, gt):
    """IoU (B, P, M) of xyxy priors (P, 4) and xyxy ground truth (B, M, 4) (no +1, no epsilon)."""
    import tensorflow as tf

    p, g = priors[None, :, None, :], gt[:, None, :, :]
    sides = tf.maximum(tf.minimum(p[..., 2:], g[..., 2:]) - tf.maximum(p[..., :2], g[..., :2]), 0.0)
    inter = sides[..., 0] * sides[..., 1]
    area_p = (p[..., 2] - p[..., 0]) * (p[..., 3] - p[..., 1])
    area_g = tf.maximum(g[..., 2] - g[..., 0], 0.0) * tf.maximum(g[..., 3] - g[..., 1], 0.0)
    return inter / tf.maximum(area_p + area_g - inter, 1e-12)


def _bipartite(overlap, valid):
    """Greedy bipartite matching of ``overlap`` (B, P, M) (padding columns < 0):
    (B, M) int32, the prior each ground truth gets, -1 none.

    Only each ground truth's top min(M, P) priors can matter (at most M - 1 are
    taken by the others), so the greedy runs on (B, M, K) candidates, one pair
    per step, as many steps as the batch's largest count of valid boxes."""
    import tensorflow as tf

    per_gt = tf.transpose(overlap, [0, 2, 1])  # (B, M, P)
    batch, slots, count = tf.shape(per_gt)[0], tf.shape(per_gt)[1], tf.shape(per_gt)[2]
    k = tf.minimum(slots, count)
    candidates, prior_index = tf.math.top_k(per_gt, k)  # ties: the lower prior index first
    flat_index = tf.reshape(prior_index, [batch, -1])
    gt_ids = tf.range(slots)[None]
    steps = tf.reduce_max(tf.reduce_sum(tf.cast(valid, tf.int32), axis=1))

    def body(step, available, forced):
        scores = tf.reshape(tf.where(available, candidates, -2.0), [batch, -1])
        best = tf.argmax(scores, axis=1, output_type=tf.int32)  # first maximum: lowest gt, then lowest prior
        found = tf.reduce_max(scores, axis=1) > 0
        gt = best // k
        prior = tf.gather(flat_index, best[:, None], batch_dims=1)[:, 0]
        is_gt = gt_ids == gt[:, None]  # (B, M)
        forced = tf.where(found[:, None] & is_gt, prior[:, None], forced)
        taken = is_gt[:, :, None] | (prior_index == prior[:, None, None])
        return step + 1, available & ~(found[:, None, None] & taken), forced

    _, _, forced = tf.while_loop(lambda step, *_: step < steps, body,
                                 (tf.constant(0), tf.ones_like(candidates, tf.bool),
                                  tf.fill([batch, slots], tf.constant(-1, tf.int32))))
    return forced


def match_priors(priors, gt_boxes, gt_classes, iou_threshold=0.5):
    """SSD's matching (module docstring), TensorFlow ops, batched.

    priors: (P, 4) ``center_xywh`` pixels (``default_boxes``). gt_boxes: (B, M, 4)
    (or (M, 4)) xyxy pixels; gt_classes: (B, M) int, < 0 padding.
    Returns (B, P) (or (P,)) int32: the index of the ground truth each prior is
    matched to, -1 for background.
    """
    import tensorflow as tf

    priors = _xyxy(tf.cast(tf.convert_to_tensor(priors), tf.float32))
    gt = tf.cast(tf.convert_to_tensor(gt_boxes), tf.float32)
    classes = tf.cast(tf.convert_to_tensor(gt_classes), tf.int32)
    unbatched = gt.shape.rank == 2
    if unbatched:
        gt, classes = gt[None], classes[None]
    # Valid boxes first (in their order) and the padding beyond the batch's largest count cut off: the
    # pipeline pads to max_boxes (100), images hold far fewer. Then one padding column more, so that an
    # image with no boxes at all needs no special case.
    keep = tf.argsort(tf.cast(classes < 0, tf.int32), axis=1, stable=True)
    keep = keep[:, : tf.reduce_max(tf.reduce_sum(tf.cast(classes >= 0, tf.int32), axis=1))]
    gt = tf.pad(tf.gather(gt, keep, batch_dims=1), [[0, 0], [0, 1], [0, 0]])
    classes = tf.pad(tf.gather(classes, keep, batch_dims=1), [[0, 0], [0, 1]], constant_values=-1)
    valid = classes >= 0
    overlap = tf.where(valid[:, None, :], _pairwise_iou(priors, gt), -1.0)  # (B, P, M')
    best_gt = tf.argmax(overlap, axis=2, output_type=tf.int32)
    matched = tf.where(tf.reduce_max(overlap, axis=2) >= float(iou_threshold), best_gt, -1)
    forced = _bipartite(overlap, valid)  # (B, M'): distinct priors
    batch, count, slots = tf.shape(overlap)[0], tf.shape(overlap)[1], tf.shape(overlap)[2]
    segment = tf.where(forced >= 0, tf.range(batch)[:, None] * count + forced, batch * count)
    gt_ids = tf.broadcast_to(tf.range(slots)[None], tf.shape(forced))
    owner = tf.math.unsorted_segment_max(tf.reshape(gt_ids, [-1]), tf.reshape(segment, [-1]), batch * count + 1)
    owner = tf.reshape(owner[: batch * count], [batch, count])  # empty segments: the lowest int32
    matched = tf.where(owner >= 0, owner, matched)
    # Back to the given box indices (``keep`` padded by one column: no valid box leaves it empty).
    matched = tf.where(matched >= 0, tf.gather(tf.pad(keep, [[0, 0], [0, 1]]), tf.maximum(matched, 0), batch_dims=1),
                       -1)
    return matched[0] if unbatched else matched


def _encode_deltas(boxes, priors, variances):
    """SSD's deltas of xyxy ``boxes`` (..., P, 4) against ``center_xywh`` priors
    (P, 4) — Keras' ``encode_box_to_deltas(..., "center_xywh", variance)`` in
    TensorFlow ops (the same epsilon floor on the sides)."""
    import tensorflow as tf

    eps = keras.config.epsilon()
    centre = (boxes[..., :2] + boxes[..., 2:]) / 2
    sides = tf.maximum(boxes[..., 2:] - boxes[..., :2], eps)
    prior_sides = tf.maximum(priors[..., 2:], eps)
    deltas = tf.concat([(centre - priors[..., :2]) / prior_sides, tf.math.log(sides / prior_sides)], axis=-1)
    return deltas / tf.constant(np.asarray(variances, np.float32))


def encode_targets(priors, gt_boxes, gt_classes, *, iou_threshold=0.5, variances=SSD_VARIANCE):
    """The loss targets of padded ground truth (TensorFlow ops, batched):
    ``{"boxes": float32 (B, P, 5) deltas + positive flag, "classes": int32
    (B, P) 0 background / k + 1}`` (module docstring). ``priors``
    ``center_xywh`` (P, 4); ``gt_boxes`` (B, M, 4) xyxy; ``gt_classes`` (B, M)."""
    import tensorflow as tf

    priors = tf.cast(tf.convert_to_tensor(priors), tf.float32)
    gt = tf.cast(tf.convert_to_tensor(gt_boxes), tf.float32)
    classes = tf.cast(tf.convert_to_tensor(gt_classes), tf.int32)
    matched = match_priors(priors, gt, classes, iou_threshold)
    positive = matched >= 0
    index = tf.maximum(matched, 0)
    batch_dims = 1 if gt.shape.rank == 3 else 0
    if gt.shape[-2] == 0 or gt.shape[-2] is None:  # gather from an empty axis is not allowed: one dummy box
        pad = [[0, 0]] * batch_dims
        gt = tf.pad(gt, pad + [[0, 1], [0, 0]])
        classes = tf.pad(classes, pad + [[0, 1]], constant_values=-1)
    boxes = tf.gather(gt, index, batch_dims=batch_dims)
    labels = tf.where(positive, tf.gather(classes, index, batch_dims=batch_dims) + 1, 0)
    deltas = tf.where(positive[..., None], _encode_deltas(boxes, priors, variances), 0.0)
    return {"boxes": tf.concat([deltas, tf.cast(positive, tf.float32)[..., None]], axis=-1), "classes": labels}


# --- losses (keras.ops) ---------------------------------------------------------------------------


def _per_image(values):
    return ops.sum(ops.reshape(values, (ops.shape(values)[0], -1)), axis=-1)


def _smooth_l1(x):
    """Smooth-L1 with beta 1 (0.5x² below 1, |x| - 0.5 above), without overflow for huge |x|."""
    magnitude = ops.abs(x)
    small = ops.minimum(magnitude, 1.0)
    return 0.5 * small * small + (magnitude - small)


def _class_targets(y_true, y_pred):
    labels = ops.convert_to_tensor(y_true)
    if len(labels.shape) == len(y_pred.shape):  # (B, P, 1)
        labels = ops.squeeze(labels, axis=-1)
    return ops.cast(labels, "int32")


@keras.saving.register_keras_serializable(package="keras_cv_course")
class SSDLocalizationLoss(keras.losses.Loss):
    """SSD's L_loc / N (§2.2, eq. 3): the smooth-L1 of the positives' deltas,
    summed over the 4 coordinates and the priors, over N = the batch's matched
    priors (at least 1; no positives → 0).

    ``y_true`` (B, P, 5) from ``SSDHead.encode`` (deltas, positive flag);
    ``y_pred`` (B, P, 4). ``call`` returns each image's share (B,), which the
    default ``reduction="sum"`` adds up to L_loc / N.
    """

    def __init__(self, name="ssd_localization", reduction="sum", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.cast(y_true, y_pred.dtype)
        positive = y_true[..., 4] > 0
        error = ops.sum(_smooth_l1(y_pred - y_true[..., :4]), axis=-1)
        per_image = _per_image(ops.where(positive, error, ops.zeros_like(error)))
        count = ops.sum(ops.cast(positive, y_pred.dtype))
        return per_image / ops.maximum(count, 1.0)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, "dtype": self.dtype}


@keras.saving.register_keras_serializable(package="keras_cv_course")
class SSDConfidenceLoss(keras.losses.Loss):
    """SSD's L_conf / N (§2.2 eq. 1 with §3 "hard negative mining"): softmax
    cross-entropy of the positives and of the mined negatives, over N = the
    batch's matched priors (at least 1).

    Per image, the negatives (target 0) are ranked by their background loss
    ``-log softmax(logits)[0]`` and the top ``min(max(floor(neg_pos_ratio ·
    positives), min_negatives), negatives)`` are kept. Targets < 0 are ignored
    (neither positive nor a candidate negative; ``encode`` writes none).

    ``y_true`` (B, P) int from ``SSDHead.encode``; ``y_pred`` (B, P, C + 1)
    logits, column 0 background. ``call`` returns each image's share (B,),
    summed by the default ``reduction="sum"``. Finite for finite logits whose
    differences are representable (|logit| < 1.7e38).
    """

    def __init__(self, neg_pos_ratio=3.0, min_negatives=3, name="ssd_confidence", reduction="sum", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.neg_pos_ratio = _non_negative("neg_pos_ratio", neg_pos_ratio)
        self.min_negatives = int(min_negatives)
        if self.min_negatives < 0:
            raise ValueError(f"min_negatives must be >= 0; got {min_negatives!r}")

    def terms(self, y_true, y_pred):
        """Per image (B,): ``positive`` / ``negative`` (the summed cross-entropy
        of the positives / of the mined negatives, unnormalised),
        ``num_positives`` / ``num_negatives``; and ``mined`` (B, P) bool, the
        selected negatives."""
        y_pred = ops.convert_to_tensor(y_pred)
        labels = _class_targets(y_true, y_pred)
        log_norm = ops.logsumexp(y_pred, axis=-1)
        picked = ops.take_along_axis(y_pred, ops.maximum(labels, 0)[..., None], axis=-1)[..., 0]
        cross_entropy = log_norm - picked
        positive, negative = labels > 0, labels == 0
        mined = self.mine_from(ops.stop_gradient(log_norm - y_pred[..., 0]), positive, negative)
        zeros = ops.zeros_like(cross_entropy)
        return {"positive": _per_image(ops.where(positive, cross_entropy, zeros)),
                "negative": _per_image(ops.where(mined, cross_entropy, zeros)),
                "num_positives": _per_image(ops.cast(positive, "int32")),
                "num_negatives": _per_image(ops.cast(mined, "int32")), "mined": mined}

    def mine_from(self, background_loss, positive, negative):
        """(B, P) bool: per image the wanted number of negatives of highest
        ``background_loss`` (an exact count: ranks by a double argsort)."""
        flat = ops.reshape(background_loss, (ops.shape(background_loss)[0], -1))
        flat_negative = ops.reshape(negative, ops.shape(flat))
        available = ops.sum(ops.cast(flat_negative, "int32"), axis=-1)
        wanted = ops.cast(ops.floor(self.neg_pos_ratio * ops.cast(_per_image(ops.cast(positive, "int32")),
                                                                   "float32")), "int32")
        wanted = ops.minimum(ops.maximum(wanted, self.min_negatives), available)
        key = ops.where(flat_negative, -ops.cast(flat, "float32"), ops.full_like(flat, np.inf, dtype="float32"))
        rank = ops.argsort(ops.argsort(key, axis=-1), axis=-1)
        chosen = ops.logical_and(flat_negative, rank < wanted[:, None])
        return ops.reshape(chosen, ops.shape(background_loss))

    def call(self, y_true, y_pred):
        terms = self.terms(y_true, y_pred)
        dtype = terms["positive"].dtype
        count = ops.cast(ops.sum(terms["num_positives"]), dtype)
        return (terms["positive"] + terms["negative"]) / ops.maximum(count, 1.0)

    def get_config(self):
        return {"neg_pos_ratio": self.neg_pos_ratio, "min_negatives": self.min_negatives, "name": self.name,
                "reduction": self.reduction, "dtype": self.dtype}


@keras.saving.register_keras_serializable(package="keras_cv_course")
class MultiBoxLoss(keras.losses.Loss):
    """The whole SSD loss ``(L_conf + α L_loc) / N`` from the two dicts:
    ``y_true`` ``{"boxes" (B, P, 5), "classes" (B, P)}`` (``SSDHead.encode``),
    ``y_pred`` ``{"boxes" (B, P, 4), "classes" (B, P, C + 1)}`` (the model's
    outputs). Equal to ``SSDConfidenceLoss + α · SSDLocalizationLoss``, i.e. to
    what Keras computes from ``head.losses()`` and ``head.loss_weights()``;
    ``compile(loss=head.losses(), loss_weights=head.loss_weights())`` is how a
    model trains (Keras then reports both terms); Keras 3 applies a single
    (non-dict) compile loss to each output separately, so this one cannot be
    ``compile``'s loss: it is for evaluating the total in one call. ``call``
    returns the per-image shares (B,).
    """

    def __init__(self, alpha=1.0, neg_pos_ratio=3.0, min_negatives=3, name="multibox", reduction="sum", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.alpha = _non_negative("alpha", alpha)
        self.localization = SSDLocalizationLoss(dtype=dtype)
        self.confidence = SSDConfidenceLoss(neg_pos_ratio, min_negatives, dtype=dtype)

    @property
    def neg_pos_ratio(self):
        return self.confidence.neg_pos_ratio

    @property
    def min_negatives(self):
        return self.confidence.min_negatives

    def call(self, y_true, y_pred):
        for name, value in (("y_true", y_true), ("y_pred", y_pred)):
            if not isinstance(value, dict) or not {"boxes", "classes"} <= set(value):
                raise ValueError(f"MultiBoxLoss takes dicts with 'boxes' and 'classes'; {name} is "
                                 f"{type(value).__name__}{'' if not isinstance(value, dict) else sorted(value)}")
        return (self.confidence.call(y_true["classes"], y_pred["classes"])
                + self.alpha * self.localization.call(y_true["boxes"], y_pred["boxes"]))

    def get_config(self):
        return {"alpha": self.alpha, "neg_pos_ratio": self.neg_pos_ratio, "min_negatives": self.min_negatives,
                "name": self.name, "reduction": self.reduction, "dtype": self.dtype}


def _non_negative(name, value):
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}")
    return value


# --- the head -------------------------------------------------------------------------------------


@register_head("ssd")
class SSDHead(DetectionHead):
    """Priors, targets, loss and decoding of an SSD detector (module docstring).

    num_classes: C object classes (the model scores C + 1 with background).
    image_size, feature_sizes, min_sizes, max_sizes, aspect_ratios, steps,
        offset, clip: the default boxes (``default_boxes``); default
        ``SSD300_VOC``. ``SSDHead.from_feature_sizes`` makes them with
        ``prior_config`` (eq. 4 scales) for any input and maps.
    iou_threshold: a prior matches a ground truth at IoU >= this (0.5).
    variances: SSD's (0.1, 0.1, 0.2, 0.2).
    neg_pos_ratio, min_negatives: hard negative mining (3 : 1; 3 negatives in
        an image without objects). alpha: the localisation weight α (1).
    score_threshold, top_k, nms_iou, max_detections: decoding (0.01, 400 per
        class before NMS, 0.45, 200).
    """

    def __init__(self, num_classes=20, *, image_size=SSD300_VOC["image_size"],
                 feature_sizes=SSD300_VOC["feature_sizes"], min_sizes=SSD300_VOC["min_sizes"],
                 max_sizes=SSD300_VOC["max_sizes"], aspect_ratios=SSD300_VOC["aspect_ratios"],
                 steps=SSD300_VOC["steps"], offset=SSD300_VOC["offset"], clip=SSD300_VOC["clip"], iou_threshold=0.5,
                 variances=SSD_VARIANCE, neg_pos_ratio=3.0, min_negatives=3, alpha=1.0, score_threshold=0.01,
                 top_k=400, nms_iou=0.45, max_detections=200):
        self.num_classes = int(num_classes)
        if self.num_classes < 1:
            raise ValueError(f"num_classes must be >= 1; got {num_classes!r}")
        self.prior_config = _normalise(image_size, feature_sizes, min_sizes, max_sizes, aspect_ratios, steps, offset,
                                       clip)
        self.image_size = self.prior_config["image_size"]  # (height, width)
        self.iou_threshold = float(iou_threshold)
        if not 0 < self.iou_threshold <= 1:
            raise ValueError(f"iou_threshold must be in (0, 1]; got {iou_threshold!r}")
        self.variances = tuple(float(v) for v in variances)
        if len(self.variances) != 4 or min(self.variances) <= 0:
            raise ValueError(f"variances must be 4 numbers > 0; got {variances!r}")
        self.neg_pos_ratio, self.alpha = _non_negative("neg_pos_ratio", neg_pos_ratio), _non_negative("alpha", alpha)
        self.min_negatives = int(min_negatives)
        if self.min_negatives < 0:
            raise ValueError(f"min_negatives must be >= 0; got {min_negatives!r}")
        self.score_threshold, self.nms_iou = float(score_threshold), float(nms_iou)
        self.top_k, self.max_detections = int(top_k), int(max_detections)
        if self.top_k < 1 or self.max_detections < 1:
            raise ValueError(f"top_k and max_detections must be >= 1; got {top_k!r}, {max_detections!r}")
        self.priors = default_boxes(**self._prior_kwargs())
        self.priors_xyxy = np.asarray(box_lib.convert(self.priors, "center_xywh", "xyxy"), np.float32)

    @classmethod
    def from_feature_sizes(cls, num_classes, image_size, feature_sizes=None, *, strides=None, steps=None, s_min=0.2,
                           s_max=0.9, first_scale=None, aspect_ratios=None, offset=0.5, clip=False, **options):
        """A head whose priors come from ``prior_config`` (eq. 4 scales) for
        maps of the given sizes (or strides); ``options`` go to the head."""
        config = prior_config(image_size, feature_sizes, strides=strides, steps=steps, s_min=s_min, s_max=s_max,
                              first_scale=first_scale, aspect_ratios=aspect_ratios, offset=offset, clip=clip)
        return cls(num_classes, **config, **options)

    def _prior_kwargs(self):
        return {key: self.prior_config[key] for key in PRIOR_KEYS}

    def get_config(self):
        config = self.prior_config
        return {"num_classes": self.num_classes, "image_size": _compact(config["image_size"]),
                "feature_sizes": [_compact(f) for f in config["feature_sizes"]],
                "min_sizes": list(config["min_sizes"]), "max_sizes": list(config["max_sizes"]),
                "aspect_ratios": [list(r) for r in config["aspect_ratios"]],
                "steps": [_compact(s) for s in config["steps"]], "offset": config["offset"], "clip": config["clip"],
                "iou_threshold": self.iou_threshold, "variances": list(self.variances),
                "neg_pos_ratio": self.neg_pos_ratio, "min_negatives": self.min_negatives, "alpha": self.alpha,
                "score_threshold": self.score_threshold, "top_k": self.top_k, "nms_iou": self.nms_iou,
                "max_detections": self.max_detections}

    @property
    def num_priors(self):
        return len(self.priors)

    @property
    def boxes_per_location(self):
        """Default boxes per location of each map (the model's channel multipliers)."""
        return boxes_per_location(self.prior_config["aspect_ratios"], self.prior_config["max_sizes"])

    @property
    def feature_sizes(self):
        """Per map its (height, width)."""
        return tuple(self.prior_config["feature_sizes"])

    # --- training --------------------------------------------------------------------------------

    def losses(self):
        return {"boxes": SSDLocalizationLoss(),
                "classes": SSDConfidenceLoss(self.neg_pos_ratio, self.min_negatives)}

    def loss_weights(self):
        return {"boxes": self.alpha, "classes": 1.0}

    def multibox_loss(self):
        """The total ``(L_conf + α L_loc) / N`` as one ``MultiBoxLoss`` of the two dicts."""
        return MultiBoxLoss(self.alpha, self.neg_pos_ratio, self.min_negatives)

    def encode(self, images, targets):
        """Batch ``(images, {"boxes" (B, M, 4) xyxy pixels, "classes" (B, M), -1
        padding})`` → ``(images, {"boxes": float32 (B, P, 5), "classes": int32
        (B, P)})`` (TensorFlow ops; ``encode_targets``)."""
        height, width = images.shape[1], images.shape[2]
        if (height is not None and width is not None) and (int(height), int(width)) != tuple(self.image_size):
            raise ValueError(f"SSDHead's priors are laid out for {tuple(self.image_size)} images; the batch's are "
                             f"{(int(height), int(width))}")
        return images, encode_targets(self.priors, targets["boxes"], targets["classes"],
                                      iou_threshold=self.iou_threshold, variances=self.variances)

    # --- inference -------------------------------------------------------------------------------

    def decode_priors(self, outputs, image_shape=None):
        """Every prior's decoded xyxy box (B, P, 4), clipped to the image, and its
        class probabilities without the background (B, P, C) (numpy)."""
        import tensorflow as tf

        deltas, logits = box_lib.as_numpy(outputs["boxes"]), box_lib.as_numpy(outputs["classes"])
        self._check_outputs(deltas, logits, image_shape)
        boxes = np.asarray(box_lib.decode(deltas, self.priors_xyxy, self.variances), np.float32)
        height, width = self.image_size
        boxes = np.clip(boxes, 0, np.array([width, height, width, height], np.float32))
        scores = tf.nn.softmax(logits, axis=-1).numpy()[..., 1:]
        return boxes, scores

    def decode(self, outputs, image_shape=None):
        """Model outputs → padded detections ``{"boxes" (B, K, 4) xyxy pixels,
        "scores" (B, K), "classes" (B, K) int32}``, K = ``max_detections``, class
        -1 padding (numpy); see the module docstring."""
        import tensorflow as tf

        boxes, scores = self.decode_priors(outputs, image_shape)
        batch, count, classes = scores.shape
        k = min(self.top_k, count)
        # Caffe's nms_param.top_k: per class the k best priors are the NMS candidates.
        values, index = tf.math.top_k(tf.transpose(scores, [0, 2, 1]), k)  # (B, C, k)
        candidates = tf.gather(boxes, tf.reshape(index, [batch, -1]), batch_dims=1)  # (B, C·k, 4)
        labels = tf.broadcast_to(tf.repeat(tf.range(classes, dtype=tf.int32), k)[None], [batch, classes * k])
        found = box_lib.nms(candidates, tf.reshape(values, [batch, -1]), labels, iou_threshold=self.nms_iou,
                            score_threshold=self.score_threshold, max_detections=self.max_detections,
                            max_per_class=k)
        return {key: np.asarray(value) for key, value in found.items()}

    def _check_outputs(self, deltas, logits, image_shape):
        if image_shape is not None and None not in tuple(image_shape[:2]):
            if tuple(int(s) for s in image_shape[:2]) != tuple(self.image_size):
                raise ValueError(f"SSDHead's priors are laid out for {tuple(self.image_size)} images; asked to "
                                 f"decode for {tuple(image_shape[:2])}")
        if deltas.ndim != 3 or deltas.shape[1:] != (self.num_priors, 4):
            raise ValueError(f"SSDHead has {self.num_priors} priors: 'boxes' must be (B, {self.num_priors}, 4); got "
                             f"{deltas.shape}")
        expected = deltas.shape[:2] + (self.num_classes + 1,)
        if logits.shape != expected:
            raise ValueError(f"SSDHead(num_classes={self.num_classes}): 'classes' must be (B, {self.num_priors}, "
                             f"{self.num_classes + 1}) logits with background in column 0 (here {expected}); got "
                             f"{logits.shape}")


# --- the registered detectors' heads ------------------------------------------------------------


def head_from_model(model, *, s_min=0.2, s_max=0.95, aspect_ratios=None, **options):
    """The ``SSDHead`` of a built SSD ``model`` (``models.ssd.ssd_layout``: its
    input size, feature map sizes, boxes per location and classes), the default
    boxes spread by the paper's eq. 4 (``prior_config``) from ``s_min`` to
    ``s_max`` with ``aspect_ratios`` per map (default: (2, 3) where the model has
    6 boxes a location, (2,) where 4). ``options`` go to the head (matching,
    loss, decoding)."""
    from keras_cv_course.models.ssd import ssd_layout

    layout = ssd_layout(model)
    if aspect_ratios is None:
        aspect_ratios = [_ratios_for(k, model) for k in layout.boxes_per_location]
    head = SSDHead.from_feature_sizes(layout.num_classes, layout.image_size, layout.feature_sizes, s_min=s_min,
                                      s_max=s_max, aspect_ratios=aspect_ratios, **options)
    if head.boxes_per_location != tuple(layout.boxes_per_location):
        raise ValueError(f"{model.name!r} predicts {layout.boxes_per_location} boxes per location; aspect_ratios "
                         f"{aspect_ratios!r} give {head.boxes_per_location}")
    return head


def _ratios_for(boxes, model):
    ratios = {4: (2,), 6: (2, 3)}
    if boxes not in ratios:
        raise ValueError(f"{model.name!r} has {boxes} boxes per location: pass aspect_ratios= (4 boxes: (2,), 6: "
                         "(2, 3))")
    return ratios[boxes]


def ssd300_head(model, **options):
    """SSD300's head: the paper's VOC default boxes (``SSD300_VOC``) when the model
    has SSD300's layout, else eq. 4 scales (``head_from_model``)."""
    from keras_cv_course.models.ssd import ssd_layout

    layout = ssd_layout(model)
    voc = SSDHead(layout.num_classes)
    if tuple(layout.feature_sizes) == voc.feature_sizes and tuple(layout.boxes_per_location) == voc.boxes_per_location:
        return SSDHead(layout.num_classes, **options)
    return head_from_model(model, **options)


# --- a CPU-sized SSD for fashion_scenes ---------------------------------------------------------

FASHION_PRIORS = {"s_min": 0.15, "s_max": 0.45, "aspect_ratios": ((2,), (2, 3), (2,))}
"""Default boxes of ``ssd_fashion``: fashion_scenes' items are 17–56 px frames on
128×128 scenes, so the eq. 4 scales give ratio-1 boxes of 19.2, 38.4 and 57.6 px
on the stride-8, 16 and 32 maps (max sizes 38.4, 57.6, 76.8: the extra boxes
27.2, 47.0, 66.5 px), with tall and wide boxes for trousers and bags. Most items
match on the stride-8 and 16 maps; the stride-32 map takes the largest."""


def fashion_table(width):
    """The convolutions of ``SSDFashion`` per map (``models.yolo.Conv`` rows):
    three 3×3 stages of ``width``·2**k filters with 2×2 max-pools and one of
    ``8·width`` (stride 8, P3); after a 2×2 max-pool two of ``16·width``
    (stride 16, P4); one 3×3/2 of ``16·width`` (stride 32, P5)."""
    from keras_cv_course.models.yolo import Conv

    return ((Conv(width, 3, pool=True), Conv(2 * width, 3, pool=True), Conv(4 * width, 3, pool=True),
             Conv(8 * width, 3)),
            (Conv(16 * width, 3), Conv(16 * width, 3)),
            (Conv(16 * width, 3, stride=2),))


def ssd_fashion_family(request, *, width, boxes_per_location):
    """The generic builder of ``SSDFashion`` (``models._common`` contract):
    ``fashion_table(width)`` with BatchNorm and leaky ReLU 0.1 (``conv1`` …
    ``conv7``); heads (``models.ssd.ssd_head_layers``) on the stride-8, 16 and
    32 maps; without the top, the three maps as P3, P4, P5."""
    from keras_cv_course.models import yolo as yolo_models
    from keras_cv_course.models.ssd import ssd_head_layers

    p3_table, p4_table, p5_table = fashion_table(width)
    p3 = yolo_models.conv_stack(request.image, p3_table, batch_norm=True)
    x = keras.layers.MaxPooling2D(2, strides=2, name=f"pool{len(p3_table)}")(p3)
    p4 = yolo_models.conv_stack(x, p4_table, batch_norm=True, first=len(p3_table) + 1)
    p5 = yolo_models.conv_stack(p4, p5_table, batch_norm=True, first=len(p3_table) + len(p4_table) + 1)
    if not request.include_top:
        return request.finish({"P3": p3, "P4": p4, "P5": p5})
    return request.finish(ssd_head_layers([p3, p4, p5], boxes_per_location, request.classes))


FASHION_OPTIONS = {"width": 16, "boxes_per_location": (4, 6, 4)}


def ssd_fashion_head(model, **options):
    """``ssd_fashion``'s head: ``FASHION_PRIORS`` on the model's maps."""
    return head_from_model(model, **{**FASHION_PRIORS, **options})


def _register():
    from keras_cv_course.detection.heads import register_model_head
    from keras_cv_course.models import _common, trained_weights
    from keras_cv_course.models.registry import FeatureTap
    from keras_cv_course.models.ssd import PAPER

    rows = (_common.Row(
        "ssd_fashion", "SSDFashion", "ssd_detector", PAPER, 1_990_434, "unit", (128, 128, 1), 32,
        doc="A CPU-sized SSD for ``fashion_scenes`` (128×128 gray): seven 3×3 convolutions with BatchNorm and "
            "leaky ReLU 0.1 (``detection.ssd.fashion_table``), SSD heads on the stride-8, 16 and 32 maps (16², 8², "
            "4²) with 4, 6, 4 default boxes a location (1,472 priors), outputs ``boxes`` and ``classes`` (logits, "
            "column 0 background). Head: ``detection.ssd.ssd_fashion_head`` (``FASHION_PRIORS``).",
        user_options=dict(FASHION_OPTIONS), classes=10, task="detection",
        weights=trained_weights.default_build_weights("ssd_fashion", FASHION_OPTIONS),
        taps=(FeatureTap("P3", "conv4_leaky", 128, 8), FeatureTap("P4", "conv6_leaky", 256, 16),
              FeatureTap("P5", "conv7_leaky", 256, 32))),)
    builders = _common.define(rows, ssd_fashion_family)
    register_model_head("ssd_fashion", ssd_fashion_head)
    register_model_head("ssd300_vgg16", ssd300_head)
    register_model_head("ssdlite_mobilenetv2", head_from_model)
    return builders["SSDFashion"]


SSDFashion = _register()


def ssd_fashion(num_classes=10, *, input_shape=(128, 128, 1), head_options=None, weights=None, name="ssd_fashion",
                **options):
    """``(SSDFashion(...), head)``: the registered CPU-sized SSD and the ``SSDHead``
    it trains with (``head_options``: matching, loss, decoding)."""
    model = SSDFashion(input_shape=input_shape, classes=num_classes, weights=weights, name=name, **options)
    return model, ssd_fashion_head(model, **(head_options or {}))
