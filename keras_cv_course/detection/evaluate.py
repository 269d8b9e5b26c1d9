"""Mean average precision, in numpy, for evaluation and per-epoch validation.

Input, per image: ground truth ``{"boxes": (N, 4) xyxy, "classes": (N,),
"difficult": (N,) optional}`` and detections ``{"boxes": (M, 4) xyxy, "scores":
(M,), "classes": (M,)}`` — a list of such dicts, or one padded batch dict with a
leading batch axis (class -1 = padding, as ``data.pipeline`` and
``detection.boxes.nms`` produce). Boxes are pixels, pixel ``i`` covering
``[i, i + 1)``.

- ``evaluate_voc``: PASCAL VOC (Everingham et al. 2010, §4.2; the devkit's
  ``VOCevaldet`` and its Python port ``voc_eval``). Detections of a class sorted
  by score (a stable sort, as MATLAB's ``sort``: ties keep image order, then box
  order); a detection is a true positive when its best-IoU ground truth of the
  class in its image has IoU > 0.5 (strict), is not ``difficult`` and was not
  matched before; matching a difficult object makes it neither TP nor FP;
  matching an already matched object is a FP (no fall-back to the next ground
  truth). Difficult objects do not count as positives. AP: VOC2007's 11-point
  interpolation (``use_07_metric=True``; the recall points are voc_eval's
  ``np.arange(0, 1.1, 0.1)``, so 0.3 is 0.30000000000000004) or VOC2010+'s area
  under the monotone precision envelope (default).
- ``evaluate_coco``: pycocotools' ``COCOeval(iouType="bbox")`` re-done with
  vectorised matching, with identical numbers on the same boxes (checked in
  tests/detection/test_evaluate.py). Left out: crowd annotations (``iscrowd`` is
  taken as 0: no crowd IoU, no multiple matches) and ``difficult`` (every object
  counts). Areas are box areas (w·h; the official COCO ground truth uses
  segment areas for the small/medium/large split). ``maxDets`` is per image
  *and class*, as in pycocotools.
- ``to_coco_json``: the same data as a COCO ground-truth dict and results list
  for running pycocotools yourself.
- ``DetectionEvaluator`` accumulates padded batches; ``MeanAveragePrecision``
  is a Keras callback that writes ``val_map50`` (and the rest) into the logs.
"""

import keras
import numpy as np

__all__ = ["evaluate_voc", "evaluate_coco", "to_coco_json", "DetectionEvaluator", "MeanAveragePrecision",
           "plot_precision_recall", "COCO_IOU_THRESHOLDS", "COCO_RECALL_POINTS", "COCO_AREA_RANGES",
           "COCO_MAX_DETECTIONS"]

# pycocotools' Params (iouType "bbox"), the same numbers computed the same way.
COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
COCO_RECALL_POINTS = np.linspace(0.0, 1.0, int(np.round((1.0 - 0.0) / 0.01)) + 1, endpoint=True)
COCO_AREA_RANGES = {"all": (0**2, 1e5**2), "small": (0**2, 32**2), "medium": (32**2, 96**2), "large": (96**2, 1e5**2)}
COCO_MAX_DETECTIONS = (1, 10, 100)
_BLOCK_BUDGET = 1 << 20  # pairs × padded gts × (padded detections + 40) per vectorised block


# --- input ----------------------------------------------------------------------------------------


def _image_list(data):
    """A list of per-image dicts from a list, or from one padded batch dict (B, N, ...)."""
    if isinstance(data, dict):
        data = {key: np.asarray(value) for key, value in data.items()}
        if data["boxes"].ndim == 2:
            return [data]
        return [{key: value[i] for key, value in data.items()} for i in range(len(data["boxes"]))]
    return list(data)


def _table(images, detections):
    """Concatenated arrays of every valid box: image index, position in its image,
    class, xyxy float64, score (detections) or difficult (ground truth)."""
    columns = {"image": [], "position": [], "classes": [], "boxes": [], "extra": []}
    for index, item in enumerate(images):
        classes = np.asarray(item["classes"]).reshape(-1).astype(np.int64)
        boxes = np.asarray(item["boxes"], np.float64).reshape(-1, 4)
        if detections:
            extra = np.asarray(item["scores"], np.float64).reshape(-1)
        else:
            extra = np.asarray(item.get("difficult", np.zeros(len(classes), bool))).reshape(-1).astype(bool)
        if not len(boxes) == len(classes) == len(extra):
            raise ValueError(f"image {index}: {len(boxes)} boxes, {len(classes)} classes and {len(extra)} "
                             f"{'scores' if detections else 'difficult flags'}")
        keep = classes >= 0
        columns["image"].append(np.full(keep.sum(), index))
        columns["position"].append(np.flatnonzero(keep))
        for key, value in (("classes", classes), ("boxes", boxes), ("extra", extra)):
            columns[key].append(value[keep])
    table = {key: np.concatenate(value) if value else np.zeros((0,)) for key, value in columns.items()}
    table["boxes"] = table["boxes"].reshape(-1, 4)
    for key in ("image", "position", "classes"):
        table[key] = table[key].astype(np.int64)
    table["score" if detections else "difficult"] = table.pop("extra")
    return table


def _prepare(ground_truth, detections, class_names, num_classes):
    gt_images, dt_images = _image_list(ground_truth), _image_list(detections)
    if len(gt_images) != len(dt_images):
        raise ValueError(f"{len(gt_images)} ground-truth images but {len(dt_images)} detection images")
    gt, dt = _table(gt_images, False), _table(dt_images, True)
    if class_names is not None:
        if num_classes is not None and int(num_classes) != len(class_names):
            raise ValueError(f"num_classes={num_classes} but {len(class_names)} class_names were given; pass one, "
                             "or names for every class")
        num_classes = len(class_names)
    if num_classes is None:
        num_classes = int(max(gt["classes"].max(initial=-1), dt["classes"].max(initial=-1))) + 1
    for what, table in (("ground truth", gt), ("detections", dt)):
        if table["classes"].size and table["classes"].max() >= num_classes:
            raise ValueError(f"{what} have class {table['classes'].max()} >= num_classes {num_classes}")
    names = list(class_names) if class_names is not None else [str(c) for c in range(num_classes)]
    return gt, dt, int(num_classes), names, len(gt_images)


def _sorted_detections(dt, num_classes):
    """Detections ordered by (image, class, -score, position): each (image, class)
    pair's detections by score, ties in input order. Adds ``key`` and ``rank``."""
    key = dt["image"] * num_classes + dt["classes"]
    order = np.lexsort((dt["position"], -dt["score"], key))
    dt = {name: value[order] for name, value in dt.items()}
    dt["key"] = key[order]
    _, first, inverse = np.unique(dt["key"], return_index=True, return_inverse=True)
    dt["rank"] = np.arange(len(order)) - first[inverse]
    return dt


def _sorted_ground_truth(gt, num_classes):
    key = gt["image"] * num_classes + gt["classes"]
    order = np.lexsort((gt["position"], key))
    gt = {name: value[order] for name, value in gt.items()}
    gt["key"] = key[order]
    return gt


def _blocks(dt_key, gt_key):
    """Index matrices (P, D) into the detections and (P, G) into the ground truth
    (-1: padding) for the (image, class) pairs that have both, in blocks of pairs of
    similar sizes so that the padding stays small."""
    d_keys, d_start, d_count = np.unique(dt_key, return_index=True, return_counts=True)
    g_keys, g_start, g_count = np.unique(gt_key, return_index=True, return_counts=True)
    _, di, gi = np.intersect1d(d_keys, g_keys, assume_unique=True, return_indices=True)
    d_start, d_count, g_start, g_count = d_start[di], d_count[di], g_start[gi], g_count[gi]
    bucket = np.ceil(np.log2(g_count)).astype(np.int64) * 64 + np.ceil(np.log2(d_count)).astype(np.int64)
    for value in np.unique(bucket):
        members = np.flatnonzero(bucket == value)
        width_d, width_g = d_count[members].max(), g_count[members].max()
        size = max(1, _BLOCK_BUDGET // (width_g * (width_d + 40)))
        for start in range(0, len(members), size):
            part = members[start : start + size]
            yield (_index_matrix(d_start[part], d_count[part], width_d),
                   _index_matrix(g_start[part], g_count[part], width_g))


def _index_matrix(starts, counts, width):
    columns = np.arange(width)
    return np.where(columns < counts[:, None], starts[:, None] + columns, -1)


# --- VOC ------------------------------------------------------------------------------------------


def _voc_iou(d, g, offset):
    """The devkit's IoU of xyxy boxes (P, D, 4) × (P, G, 4) → (P, D, G); ``offset``
    1 adds a pixel to every width and height (1-based inclusive coordinates)."""
    d, g = d[:, :, None], g[:, None]
    iw = np.maximum(np.minimum(d[..., 2], g[..., 2]) - np.maximum(d[..., 0], g[..., 0]) + offset, 0.0)
    ih = np.maximum(np.minimum(d[..., 3], g[..., 3]) - np.maximum(d[..., 1], g[..., 1]) + offset, 0.0)
    inter = iw * ih
    union = ((d[..., 2] - d[..., 0] + offset) * (d[..., 3] - d[..., 1] + offset)
             + (g[..., 2] - g[..., 0] + offset) * (g[..., 3] - g[..., 1] + offset) - inter)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def _voc_best_match(dt, gt, offset):
    """Each detection's best-IoU ground truth of its class and image (first on
    ties, -1 if none) and that IoU (-inf if none)."""
    best, overlap = np.full(len(dt["key"]), -1), np.full(len(dt["key"]), -np.inf)
    for d_index, g_index in _blocks(dt["key"], gt["key"]):
        ious = _voc_iou(dt["boxes"][d_index], gt["boxes"][g_index], offset)
        ious = np.where((g_index >= 0)[:, None, :], ious, -np.inf)
        valid = d_index >= 0
        column = ious.argmax(-1)
        best[d_index[valid]] = np.take_along_axis(g_index, column, axis=1)[valid]
        overlap[d_index[valid]] = ious.max(-1)[valid]
    return best, overlap


def _voc_ap(recall, precision, use_07_metric):
    """VOC2007 11-point interpolated AP, or the VOC2010+ area under the
    monotone precision envelope (the devkit's ``voc_ap``)."""
    if use_07_metric:
        points = [precision[recall >= t].max() if (recall >= t).any() else 0.0 for t in np.arange(0.0, 1.1, 0.1)]
        return float(sum(p / 11.0 for p in points))
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.maximum.accumulate(np.concatenate(([0.0], precision, [0.0]))[::-1])[::-1]
    steps = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))


def _voc_class_curve(hits, best, difficult, threshold):
    """True/false positive flags of one class's detections in score order."""
    over = hits > threshold
    candidate = over & ~np.append(difficult, False)[best]  # best -1 (no ground truth): not difficult
    indices = np.flatnonzero(candidate)
    _, first = np.unique(best[indices], return_index=True)
    tp = np.zeros(len(hits), bool)
    tp[indices[first]] = True
    return tp, ~over | (candidate & ~tp)


def evaluate_voc(ground_truth, detections, class_names=None, *, num_classes=None, use_07_metric=False,
                 iou_threshold=0.5, voc_pixel_offset=False):
    """PASCAL VOC detection AP per class and its mean (see the module docstring).

    ``voc_pixel_offset``: False (default) — IoU of continuous boxes, widths
    ``x2 - x1``, this package's convention, under which boxes converted from VOC's
    1-based inclusive XML as ``(xmin - 1, ymin - 1, xmax, ymax)`` give exactly the
    devkit's numbers. True — the devkit's ``+1`` on every width and height, for
    boxes that keep VOC's inclusive pixel indices (the raw XML, or TFDS ``voc``
    scaled back to pixels, which divides xmin..xmax by the width as they are).

    Returns ``{"protocol": "voc2007" | "voc2010", "map50": mean AP over the
    classes with positives (None if none), "per_class_ap": {name: AP or None},
    "precision": {name: array}, "recall": {name: array} (the devkit's curves, one
    point per detection of the class in score order), "num_positives": {name:
    non-difficult objects}, "num_detections", "num_images", "class_names"}``.
    """
    gt, dt, count, names, num_images = _prepare(ground_truth, detections, class_names, num_classes)
    gt, dt = _sorted_ground_truth(gt, count), _sorted_detections(dt, count)
    best, overlap = _voc_best_match(dt, gt, 1.0 if voc_pixel_offset else 0.0)
    order = np.lexsort((dt["position"], dt["image"], -dt["score"], dt["classes"]))
    bounds = np.searchsorted(dt["classes"][order], np.arange(count + 1))
    positives = np.bincount(gt["classes"][~gt["difficult"]], minlength=count)
    ap, precision, recall = {}, {}, {}
    for k, name in enumerate(names):
        chosen = order[bounds[k] : bounds[k + 1]]
        tp, fp = _voc_class_curve(overlap[chosen], best[chosen], gt["difficult"], iou_threshold)
        tp, fp = np.cumsum(tp).astype(np.float64), np.cumsum(fp).astype(np.float64)
        precision[name] = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
        recall[name] = tp / positives[k] if positives[k] else np.zeros_like(tp)
        ap[name] = _voc_ap(recall[name], precision[name], use_07_metric) if positives[k] else None
    defined = [value for value in ap.values() if value is not None]
    return {"protocol": "voc2007" if use_07_metric else "voc2010",
            "map50": float(np.mean(defined)) if defined else None, "per_class_ap": ap, "precision": precision,
            "recall": recall, "num_positives": dict(zip(names, positives.tolist())),
            "num_detections": int(len(dt["key"])), "num_images": num_images, "class_names": names}


# --- COCO -----------------------------------------------------------------------------------------


def _xywh(boxes):
    return np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)


def _coco_iou(d, g):
    """pycocotools' ``bbIou`` on xywh boxes (P, D, 4) × (P, G, 4) → (P, D, G), the
    same float64 operations in the same order."""
    d, g = d[:, :, None], g[:, None]
    w = np.minimum(d[..., 2] + d[..., 0], g[..., 2] + g[..., 0]) - np.maximum(d[..., 0], g[..., 0])
    h = np.minimum(d[..., 3] + d[..., 1], g[..., 3] + g[..., 1]) - np.maximum(d[..., 1], g[..., 1])
    inter = w * h
    union = d[..., 2] * d[..., 3] + g[..., 2] * g[..., 3] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((w > 0) & (h > 0), inter / union, 0.0)


def _last_best(candidates, overlap):
    """Index of the candidate with the highest IoU — the last one on ties, as
    pycocotools' loop (``>=`` replaces) — and whether there was any."""
    values = np.where(candidates, overlap, -1.0)
    top = candidates & (values == values.max(-1, keepdims=True))
    width = candidates.shape[-1]
    return width - 1 - np.argmax(top[..., ::-1], axis=-1), candidates.any(-1)


def _coco_match_block(ious, d_valid, g_valid, g_ignore):
    """pycocotools' greedy matching (``evaluateImg``) for a block of (image, class)
    pairs, vectorised over area ranges, IoU thresholds, pairs and ground truths.
    ``ious`` (P, D, G); ``g_ignore`` (A, P, G). Each detection, in score order,
    takes the unmatched non-ignored ground truth with the best IoU >= t, else the
    best unmatched ignored one (and is then ignored itself).
    Returns ``matched``, ``ignored`` (A, T, P, D)."""
    thresholds = np.minimum(COCO_IOU_THRESHOLDS, 1 - 1e-10)[None, :, None, None]
    areas, pairs, width = g_ignore.shape
    shape = (areas, len(COCO_IOU_THRESHOLDS), pairs)
    taken = np.zeros(shape + (width,), bool)
    matched, ignored = np.zeros(shape + (ious.shape[1],), bool), np.zeros(shape + (ious.shape[1],), bool)
    ignore = g_ignore[:, None]
    for d in range(ious.shape[1]):
        overlap = ious[:, d]
        open_ = (overlap >= thresholds) & ~taken & (g_valid & d_valid[:, d, None])
        pick_kept, has_kept = _last_best(open_ & ~ignore, overlap)
        pick_ignored, has_ignored = _last_best(open_ & ignore, overlap)
        pick, hit = np.where(has_kept, pick_kept, pick_ignored), has_kept | has_ignored
        taken |= hit[..., None] & (np.arange(width) == pick[..., None])
        matched[..., d], ignored[..., d] = hit, hit & ~has_kept
    return matched, ignored


def _outside(area):
    """(A, N): is the area outside each of COCO's area ranges (bounds inclusive)."""
    return np.stack([(area < low) | (area > high) for low, high in COCO_AREA_RANGES.values()])


def _coco_matches(dt, gt):
    """``matched``, ``ignored`` (A, T, Ndt) for every kept detection."""
    shape = (len(COCO_AREA_RANGES), len(COCO_IOU_THRESHOLDS), len(dt["key"]))
    matched, ignored = np.zeros(shape, bool), np.zeros(shape, bool)
    gt_outside = _outside(gt["area"])
    for d_index, g_index in _blocks(dt["key"], gt["key"]):
        ious = _coco_iou(dt["xywh"][d_index], gt["xywh"][g_index])
        block_matched, block_ignored = _coco_match_block(ious, d_index >= 0, g_index >= 0, gt_outside[:, g_index])
        valid = d_index >= 0
        matched[:, :, d_index[valid]] = block_matched[:, :, valid]
        ignored[:, :, d_index[valid]] = block_ignored[:, :, valid]
    ignored |= ~matched & _outside(dt["area"])[:, None]
    return matched, ignored


def _precision_at_recalls(tp, fp, positives):
    """pycocotools' ``accumulate`` for one class, area and maxDets: (T, R)
    interpolated precision and (T,) final recall from (T, n) tp/fp flags."""
    tp, fp = np.cumsum(tp, axis=1).astype(np.float64), np.cumsum(fp, axis=1).astype(np.float64)
    count = tp.shape[1]
    recall = tp / positives
    precision = np.maximum.accumulate((tp / (fp + tp + np.spacing(1)))[:, ::-1], axis=1)[:, ::-1]
    table = np.zeros((tp.shape[0], len(COCO_RECALL_POINTS)))
    for t in range(tp.shape[0]):
        index = np.searchsorted(recall[t], COCO_RECALL_POINTS, side="left")
        inside = index < count
        table[t, inside] = precision[t, index[inside]]
    return table, (recall[:, -1] if count else np.zeros(tp.shape[0]))


def _coco_accumulate(dt, gt, matched, ignored, num_classes):
    """pycocotools' ``eval["precision"]`` (T, R, K, A, M) and ``eval["recall"]``
    (T, K, A, M), -1 where a class has no (non-ignored) ground truth."""
    shape_t, shape_r, shape_a, shape_m = (len(COCO_IOU_THRESHOLDS), len(COCO_RECALL_POINTS),
                                          len(COCO_AREA_RANGES), len(COCO_MAX_DETECTIONS))
    precision = -np.ones((shape_t, shape_r, num_classes, shape_a, shape_m))
    recall = -np.ones((shape_t, num_classes, shape_a, shape_m))
    # Per class: images in order, each image's detections by score, then a stable sort by score.
    order = np.lexsort((dt["rank"], dt["image"], -dt["score"], dt["classes"]))
    bounds = np.searchsorted(dt["classes"][order], np.arange(num_classes + 1))
    gt_outside = _outside(gt["area"])
    positives = np.stack([np.bincount(gt["classes"][~out], minlength=num_classes) for out in gt_outside])
    for k in range(num_classes):
        chosen = order[bounds[k] : bounds[k + 1]]
        for a in range(shape_a):
            if positives[a, k] == 0:
                continue
            for m, max_dets in enumerate(COCO_MAX_DETECTIONS):
                kept = chosen[dt["rank"][chosen] < max_dets]
                hit, skip = matched[a][:, kept], ignored[a][:, kept]
                table, final = _precision_at_recalls(hit & ~skip, ~hit & ~skip, positives[a, k])
                precision[:, :, k, a, m], recall[:, k, a, m] = table, final
    return precision, recall


def _coco_stat(values, threshold=None):
    """pycocotools' ``_summarize``: the mean of the defined (> -1) entries, -1 if none."""
    if threshold is not None:
        values = values[np.where(threshold == COCO_IOU_THRESHOLDS)[0]]
    defined = values[values > -1]
    return -1.0 if defined.size == 0 else float(np.mean(defined))


_COCO_STATS = (("map", True, None, 0, 2), ("map50", True, 0.5, 0, 2), ("map75", True, 0.75, 0, 2),
               ("map_small", True, None, 1, 2), ("map_medium", True, None, 2, 2), ("map_large", True, None, 3, 2),
               ("mar1", False, None, 0, 0), ("mar10", False, None, 0, 1), ("mar100", False, None, 0, 2),
               ("mar_small", False, None, 1, 2), ("mar_medium", False, None, 2, 2), ("mar_large", False, None, 3, 2))


def evaluate_coco(ground_truth, detections, class_names=None, *, num_classes=None):
    """COCO detection metrics, the numbers of pycocotools' ``COCOeval`` with
    ``iouType="bbox"`` (Lin et al. 2014; cocodataset.org/#detection-eval) on the
    same boxes (see the module docstring for what is left out).

    Returns ``{"protocol": "coco", "map" (AP@[.5:.95]), "map50", "map75",
    "map_small", "map_medium", "map_large", "mar1", "mar10", "mar100",
    "mar_small", "mar_medium", "mar_large"`` (None where pycocotools prints -1),
    ``"stats"`` (``COCOeval.stats``' 12 numbers in its order, -1 kept),
    ``"per_class_ap"`` (AP@[.5:.95]), ``"per_class_ap50"`` ({name: AP or None}),
    ``"precision"`` / ``"recall"`` ({name: 101 interpolated precisions at IoU 0.5,
    all areas, 100 detections} / {name: the 101 recall points}, classes with
    ground truth only), ``"num_detections"``, ``"num_images"``, ``"class_names"``}.
    """
    gt, dt, count, names, num_images = _prepare(ground_truth, detections, class_names, num_classes)
    gt, dt = _sorted_ground_truth(gt, count), _sorted_detections(dt, count)
    dt = {key: value[dt["rank"] < COCO_MAX_DETECTIONS[-1]] for key, value in dt.items()}
    for table in (gt, dt):
        table["xywh"] = _xywh(table["boxes"])
        table["area"] = table["xywh"][:, 2] * table["xywh"][:, 3]
    matched, ignored = _coco_matches(dt, gt)
    precision, recall = _coco_accumulate(dt, gt, matched, ignored, count)
    stats = [_coco_stat(precision[:, :, :, a, m] if is_ap else recall[:, :, a, m], threshold)
             for _, is_ap, threshold, a, m in _COCO_STATS]
    summary = {"protocol": "coco", **{key: (None if value == -1 else value)
                                       for (key, *_), value in zip(_COCO_STATS, stats)}, "stats": stats}
    per_class = precision[:, :, :, 0, 2]
    defined = per_class[0, 0] > -1
    summary["per_class_ap"] = {n: float(per_class[:, :, k].mean()) if defined[k] else None for k, n in enumerate(names)}
    summary["per_class_ap50"] = {n: float(per_class[0, :, k].mean()) if defined[k] else None
                                 for k, n in enumerate(names)}
    summary["precision"] = {n: per_class[0, :, k].copy() for k, n in enumerate(names) if defined[k]}
    summary["recall"] = {n: COCO_RECALL_POINTS.copy() for k, n in enumerate(names) if defined[k]}
    summary.update(num_detections=int(len(dt["key"])), num_images=num_images, class_names=names)
    return summary


# --- COCO json ------------------------------------------------------------------------------------


def to_coco_json(ground_truth, detections, class_names):
    """The data in COCO's formats, for pycocotools: ``(ground_truth_dict,
    results_list)``.

    ``ground_truth_dict``: instances-style ``{"info", "images": [{"id"}],
    "annotations": [{"id", "image_id", "category_id", "bbox": [x, y, w, h],
    "area": w·h, "iscrowd": 0}], "categories": [{"id", "name"}]}`` with image id =
    image index + 1, category id = class + 1 and annotation ids 1, 2, ... (an id
    of 0 makes pycocotools count that object's matches as false positives: it
    stores the matched id and tests it for truth). ``results_list``: ``[{"image_id",
    "category_id", "bbox", "score"}]``. Use them as::

        coco = COCO(); coco.dataset = ground_truth_dict; coco.createIndex()
        evaluator = COCOeval(coco, coco.loadRes(results_list), "bbox")

    (``loadRes`` fails on an empty results list.) Difficult flags are not written.
    """
    gt = _table(_image_list(ground_truth), False)
    dt = _table(_image_list(detections), True)
    gt_xywh, dt_xywh = _xywh(gt["boxes"]), _xywh(dt["boxes"])
    annotations = [{"id": n + 1, "image_id": int(i) + 1, "category_id": int(c) + 1, "bbox": [float(v) for v in box],
                    "area": float(box[2] * box[3]), "iscrowd": 0}
                   for n, (i, c, box) in enumerate(zip(gt["image"], gt["classes"], gt_xywh))]
    results = [{"image_id": int(i) + 1, "category_id": int(c) + 1, "bbox": [float(v) for v in box], "score": float(s)}
               for i, c, box, s in zip(dt["image"], dt["classes"], dt_xywh, dt["score"])]
    images = [{"id": i + 1} for i in range(len(_image_list(ground_truth)))]
    categories = [{"id": c + 1, "name": str(name)} for c, name in enumerate(class_names)]
    return {"info": {"description": "keras_cv_course.detection.evaluate.to_coco_json"}, "images": images,
            "annotations": annotations, "categories": categories}, results


# --- accumulation, callback, plot -----------------------------------------------------------------


class DetectionEvaluator:
    """mAP over batches, for per-epoch validation::

        evaluator = DetectionEvaluator(class_names, protocol="voc2010")
        for images, targets in dataset:
            evaluator.update(targets, postprocess(model.predict_on_batch(images)))
        evaluator.result()["map50"]

    ``protocol``: ``"voc2010"``, ``"voc2007"`` (``evaluate_voc``) or ``"coco"``
    (``evaluate_coco``); ``options`` go to that function (e.g.
    ``voc_pixel_offset``). ``update`` takes padded batches (``{"boxes" (B, N, 4),
    "classes" (B, N)[, "difficult"]}`` and ``{"boxes", "scores", "classes"}``) or
    lists of per-image dicts; tensors are converted with ``np.asarray``.
    """

    def __init__(self, class_names=None, *, num_classes=None, protocol="voc2010", **options):
        if protocol not in ("voc2010", "voc2007", "coco"):
            raise ValueError(f"protocol must be 'voc2010', 'voc2007' or 'coco'; got {protocol!r}")
        self.class_names, self.num_classes, self.protocol, self.options = class_names, num_classes, protocol, options
        self.reset()

    def reset(self):
        self.ground_truth, self.detections = [], []
        return self

    def update(self, y_true, y_pred):
        """Add a batch; returns self."""
        true, pred = _image_list(_numpy(y_true)), _image_list(_numpy(y_pred))
        if len(true) != len(pred):
            raise ValueError(f"{len(true)} ground-truth images but {len(pred)} predicted ones in the batch")
        self.ground_truth += true
        self.detections += pred
        return self

    def result(self):
        """The summary of everything since the last reset (keys of
        ``evaluate_voc`` / ``evaluate_coco``; ``"map50"`` in both)."""
        kwargs = dict(num_classes=self.num_classes, **self.options)
        if self.protocol == "coco":
            return evaluate_coco(self.ground_truth, self.detections, self.class_names, **kwargs)
        return evaluate_voc(self.ground_truth, self.detections, self.class_names,
                            use_07_metric=self.protocol == "voc2007", **kwargs)


def _numpy(data):
    if isinstance(data, dict):
        return {key: np.asarray(value) for key, value in data.items()}
    return [{key: np.asarray(value) for key, value in item.items()} for item in data]


SCALAR_KEYS = ("map", "map50", "map75", "map_small", "map_medium", "map_large", "mar1", "mar10", "mar100",
               "mar_small", "mar_medium", "mar_large")


class MeanAveragePrecision(keras.callbacks.Callback):
    """A Keras callback that evaluates mAP on ``dataset`` (``(images, targets)``
    batches) at the end of every ``frequency``-th epoch and writes ``val_map50``
    (and, for COCO, ``val_map``, ``val_map75``, ...) into the epoch logs, so
    ``ModelCheckpoint`` / ``EarlyStopping`` listed after it can monitor them.

    ``predict(images)`` → padded detections ``{"boxes", "scores", "classes"}``
    (e.g. decode + ``detection.boxes.nms``); default ``model.predict_on_batch``,
    for a model whose outputs already are that dict.
    """

    def __init__(self, dataset, evaluator, predict=None, *, prefix="val_", frequency=1):
        super().__init__()
        self.dataset, self.evaluator, self.predict, self.prefix, self.frequency = (
            dataset, evaluator, predict, prefix, int(frequency))
        self.summary = None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.frequency:
            return
        predict = self.predict or self.model.predict_on_batch
        self.evaluator.reset()
        for images, targets in self.dataset:
            self.evaluator.update(targets, predict(images))
        self.summary = self.evaluator.result()
        if logs is not None:
            logs.update({self.prefix + key: self.summary[key] for key in SCALAR_KEYS
                         if self.summary.get(key) is not None})


def plot_precision_recall(ax, summary, class_names=None, title=None):
    """The per-class precision-recall curves of an ``evaluate_voc`` /
    ``evaluate_coco`` summary, with their AP in the legend, through
    ``visualize.plots.plot_precision_recall`` (classes without detections or
    ground truth are skipped). Returns ``ax``."""
    from keras_cv_course.visualize import plots

    ap_key = "per_class_ap" if summary["protocol"] != "coco" else "per_class_ap50"
    names = [n for n in (class_names or summary["precision"])
             if len(summary["precision"].get(n, ())) > 0 and summary[ap_key].get(n) is not None]
    default = f"precision-recall ({summary['protocol']}{', IoU 0.5' if summary['protocol'] == 'coco' else ''})"
    return plots.plot_precision_recall(ax, {n: summary["precision"][n] for n in names},
                                       {n: summary["recall"][n] for n in names},
                                       {n: summary[ap_key][n] for n in names}, title=title or default)
