"""detection.boxes: hand-worked IoUs, conversions against Keras, SSD box coding
against torchvision's BoxCoder formula worked by hand, NMS on a hand-worked case
and against a greedy reference, OverFeat's merge on hand-worked cases."""

import math

import numpy as np
import pytest
from keras.utils import bounding_boxes as keras_boxes

from keras_cv_course.detection import boxes as B

FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx", "rel_xywh", "rel_center_xywh")


def _random_boxes(rng, n, size=100.0):
    corner = rng.uniform(0, size, (n, 2))
    return np.concatenate([corner, corner + rng.uniform(1, size / 2, (n, 2))], 1).astype("float32")


@pytest.mark.parametrize("target", FORMATS)
def test_convert_round_trip_and_keras(rng, target):
    boxes = _random_boxes(rng, 7)
    shape = (120, 160, 3)
    there = np.asarray(B.convert(boxes, "xyxy", target, image_shape=shape))
    expected = keras_boxes.convert_format(boxes, "xyxy", target, height=120, width=160)
    np.testing.assert_allclose(there, np.asarray(expected), rtol=1e-6)
    back = np.asarray(B.convert(there, target, "xyxy", image_shape=shape[:2]))
    np.testing.assert_allclose(back, boxes, rtol=1e-5, atol=1e-4)


def test_convert_hand_worked_and_dict_copy():
    box = np.array([[10.0, 20.0, 30.0, 60.0]], "float32")  # x1 y1 x2 y2
    np.testing.assert_allclose(B.convert(box, "xyxy", "xywh"), [[10, 20, 20, 40]])
    np.testing.assert_allclose(B.convert(box, "xyxy", "center_xywh"), [[20, 40, 20, 40]])
    np.testing.assert_allclose(B.convert(box, "xyxy", "rel_yxyx", image_shape=(100, 50)), [[0.2, 0.2, 0.6, 0.6]])
    # Keras converts a dict in place; convert() leaves the caller's dict alone.
    data = {"boxes": box.copy(), "classes": np.array([3])}
    out = B.convert(data, "xyxy", "xywh")
    np.testing.assert_array_equal(data["boxes"], box)
    np.testing.assert_allclose(out["boxes"], [[10, 20, 20, 40]])
    assert out["classes"] is data["classes"]
    with pytest.raises(ValueError):
        B.convert(box, "xyxy", "rel_xyxy")  # relative formats need image_shape


def test_iou_hand_worked_and_padding():
    a = np.array([[0, 0, 10, 10], [0, 0, 0, 0]], "float32")  # second: padding (box 0)
    b = np.array([[5, 5, 15, 15], [10, 0, 20, 10], [0, 0, 10, 5], [0, 0, 10, 10]], "float32")
    # [0,0,10,10] vs: overlap 5x5=25, union 175 -> 1/7; touching -> 0; half -> 0.5; itself -> 1
    result = np.asarray(B.iou(a, b))
    np.testing.assert_allclose(result[0], [1 / 7, 0.0, 0.5, 1.0], rtol=1e-6)
    np.testing.assert_allclose(result[1], 0.0)
    masked = np.asarray(B.iou(a, b, np.array([0, -1]), np.array([2, 0, -1, 1])))
    np.testing.assert_allclose(masked, [[1 / 7, 0.0, -1, 1.0], [-1, -1, -1, -1]], rtol=1e-6)
    # Batched, and mixed ranks (Keras' own masking crashes on those).
    batched = np.asarray(B.iou(np.stack([a, a]), b, np.array([[0, -1], [-1, 0]])))
    assert batched.shape == (2, 2, 4)
    np.testing.assert_allclose(batched[0], [result[0], [-1] * 4], rtol=1e-6)  # no b_classes: b all valid
    np.testing.assert_allclose(batched[1, 0], -1)
    np.testing.assert_allclose(np.asarray(B.iou(a, np.stack([b, b])))[1], result, rtol=1e-6)


def test_encode_matches_torchvision_box_coder_by_hand():
    # Anchor (10, 20, 50, 100): centre (30, 60), size 40x80. Box (20, 30, 60, 150): centre (40, 90), 40x120.
    # torchvision BoxCoder(weights=(10, 10, 5, 5)): dx = 10·(40-30)/40, dy = 10·(90-60)/80,
    # dw = 5·log(40/40), dh = 5·log(120/80).
    anchors = np.array([[10, 20, 50, 100]], "float32")
    boxes = np.array([[20, 30, 60, 150]], "float32")
    deltas = np.asarray(B.encode(boxes, anchors))
    np.testing.assert_allclose(deltas, [[2.5, 3.75, 0.0, 5 * math.log(1.5)]], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(B.decode(deltas, anchors)), boxes, rtol=1e-5)
    # Batched boxes against shared anchors.
    assert np.asarray(B.encode(np.stack([boxes, boxes]), anchors)).shape == (2, 1, 4)


def test_encode_decode_round_trip(rng):
    anchors, boxes = _random_boxes(rng, 50), _random_boxes(rng, 50)
    for variance in (B.SSD_VARIANCE, (1.0, 1.0, 1.0, 1.0)):
        decoded = B.decode(B.encode(boxes, anchors, variance), anchors, variance)
        np.testing.assert_allclose(np.asarray(decoded), boxes, rtol=1e-4, atol=1e-3)


def test_decode_clamps_the_log_scale():
    anchors = np.array([[0, 0, 16, 16]], "float32")
    huge = np.array([[0.0, 0.0, 1000.0, 1000.0]], "float32")
    raw = keras_boxes.decode_deltas_to_boxes(anchors, huge, "xyxy", "xyxy", encoded_format="center_xywh",
                                             variance=list(B.SSD_VARIANCE))
    assert np.isinf(np.asarray(raw)).all()  # Keras: exp overflows
    # Clamped at log(1000/16): a 16-pixel anchor grows to at most 1000 pixels, centred on it.
    np.testing.assert_allclose(np.asarray(B.decode(huge, anchors)), [[-492, -492, 508, 508]], rtol=1e-4)
    np.testing.assert_allclose(np.asarray(B.decode(huge, anchors, max_log_scale=None)), np.asarray(raw))


def test_clip():
    boxes = np.array([[-5, 3, 30, 12], [25, 1, 40, 4], [2, 2, 4, 4]], "float32")
    np.testing.assert_allclose(np.asarray(B.clip(boxes, (10, 20))), [[0, 3, 20, 10], [20, 1, 20, 4], [2, 2, 4, 4]])
    clipped = B.clip({"boxes": boxes, "classes": np.array([0, 1, 2])}, (10, 20, 3))
    np.testing.assert_array_equal(np.asarray(clipped["classes"]), [0, -1, 2])  # no area left: padding


# Hand-worked NMS: one image, iou_threshold 0.5, score_threshold 0.1.
#   box                 score  class
#   A (0, 0, 10, 10)     0.9    0
#   B (0, 0, 10, 20)     0.7    0      IoU(A, B) = 100 / 200 = 0.5: not > 0.5, kept
#   C (1, 0, 11, 10)     0.8    1      IoU(A, C) = 90 / 110 = 0.82: suppressed by A only class-agnostic
#   D (50, 50, 60, 60)   0.05   0      score <= 0.1: dropped
#   P (0, 0, 10, 10)     0.99  -1      padding: never kept, suppresses nothing
NMS_BOXES = np.array([[0, 0, 10, 10], [0, 0, 10, 20], [1, 0, 11, 10], [50, 50, 60, 60], [0, 0, 10, 10]], "float32")
NMS_SCORES = np.array([0.9, 0.7, 0.8, 0.05, 0.99], "float32")
NMS_CLASSES = np.array([0, 0, 1, 0, -1])


@pytest.mark.parametrize("per_class, iou_threshold, kept", [
    (True, 0.5, [0, 2, 1]), (False, 0.5, [0, 1]), (True, 0.4, [0, 2]), (False, 0.4, [0])])
def test_nms_hand_worked(per_class, iou_threshold, kept):
    out = B.nms(NMS_BOXES[None], NMS_SCORES[None], NMS_CLASSES[None], iou_threshold=iou_threshold,
                score_threshold=0.1, max_detections=6, per_class=per_class)
    boxes, scores, classes = (np.asarray(out[key])[0] for key in ("boxes", "scores", "classes"))
    assert boxes.shape == (6, 4) and scores.shape == (6,) and classes.dtype == np.int32
    count = len(kept)
    np.testing.assert_allclose(boxes[:count], NMS_BOXES[kept])
    np.testing.assert_allclose(scores[:count], NMS_SCORES[kept])
    np.testing.assert_array_equal(classes[:count], NMS_CLASSES[kept])
    np.testing.assert_array_equal(classes[count:], -1)
    np.testing.assert_array_equal(scores[count:], 0)
    np.testing.assert_array_equal(boxes[count:], 0)


def test_nms_dense_scores_and_unbatched():
    # (N, C) scores: box A scores 0.9 for class 0 and 0.6 for class 1; C scores 0.8 for class 1.
    scores = np.zeros((5, 2), "float32")
    scores[0] = 0.9, 0.6
    scores[2, 1] = 0.8
    out = B.nms(NMS_BOXES, scores, iou_threshold=0.5, score_threshold=0.1, max_detections=4)
    # Per class: class 0 keeps A; class 1 keeps C (0.8), which suppresses A's 0.6 (IoU 0.82).
    np.testing.assert_allclose(np.asarray(out["scores"]), [0.9, 0.8, 0, 0])
    np.testing.assert_array_equal(np.asarray(out["classes"]), [0, 1, -1, -1])
    np.testing.assert_array_equal(np.asarray(out["boxes"])[1], NMS_BOXES[2])
    scores[2, 1] = 0.0
    out = B.nms(NMS_BOXES, scores, iou_threshold=0.5, score_threshold=0.1, max_detections=4)
    np.testing.assert_array_equal(np.asarray(out["classes"]), [0, 1, -1, -1])  # one box kept for two classes
    agnostic = B.nms(NMS_BOXES, scores, iou_threshold=0.5, score_threshold=0.1, max_detections=4, per_class=False)
    np.testing.assert_array_equal(np.asarray(agnostic["classes"]), [0, -1, -1, -1])  # A's best class only


def _greedy(boxes, scores, classes, iou_threshold, score_threshold, limit, per_class):
    """Reference greedy NMS: by score (lower index first on ties), suppress IoU > threshold."""
    order = [i for i in np.argsort(-scores, kind="stable") if scores[i] > score_threshold and classes[i] >= 0]
    ious = np.asarray(B.iou(boxes, boxes))
    kept = []
    for i in order:
        rivals = [j for j in kept if not per_class or classes[j] == classes[i]]
        if all(ious[i, j] <= iou_threshold for j in rivals):
            kept.append(i)
    return kept[:limit]


@pytest.mark.parametrize("per_class", [True, False])
def test_nms_matches_greedy_reference(rng, per_class):
    batch, count = 3, 40
    boxes = np.stack([_random_boxes(rng, count, 60.0) for _ in range(batch)])
    scores = np.round(rng.random((batch, count)), 2).astype("float32")  # with ties
    classes = rng.integers(-1, 3, (batch, count))
    out = B.nms(boxes, scores, classes, iou_threshold=0.45, score_threshold=0.2, max_detections=12,
                per_class=per_class)
    for b in range(batch):
        kept = _greedy(boxes[b], scores[b], classes[b], 0.45, 0.2, 12, per_class)
        got = np.asarray(out["classes"])[b] >= 0
        assert got.sum() == len(kept)
        # Same set of (score, class, box); the order among equal scores may differ.
        expected = sorted(zip(scores[b][kept].tolist(), classes[b][kept].tolist(), boxes[b][kept].tolist()))
        actual = sorted(zip(np.asarray(out["scores"])[b][got].tolist(), np.asarray(out["classes"])[b][got].tolist(),
                            np.asarray(out["boxes"])[b][got].tolist()))
        assert actual == expected


def test_merge_boxes_hand_worked():
    # Class 0: b1 (0,0,2,2) centre (1,1); b2 (1,0,3,2) centre (2,1): distance 1 + intersection 1·2 = 3;
    # b3 (5,0,7,2) centre (6,1): to b2 4 + 0, to b1 5 + 0. Threshold 10:
    #   merge b1, b2 (3)   -> m = (0.5, 0, 2.5, 2), centre (1.5, 1), score 0.5 + 0.25
    #   m vs b3: 4.5 + 0   -> (2.75, 0, 4.75, 2), score 0.75 + 0.125 (pairwise means, not (2, 0, 4, 2))
    # Class 1 holds a copy of b1: never merged across classes. Class -1: padding, dropped.
    boxes = np.array([[0, 0, 2, 2], [1, 0, 3, 2], [5, 0, 7, 2], [0, 0, 2, 2], [0, 0, 2, 2]], "float32")
    scores = np.array([0.5, 0.25, 0.125, 0.3, 0.9])
    classes = np.array([0, 0, 0, 1, -1])
    merged = B.merge_boxes(boxes, scores, classes, threshold=10)
    np.testing.assert_allclose(merged["boxes"], [[2.75, 0, 4.75, 2], [0, 0, 2, 2]])
    np.testing.assert_allclose(merged["scores"], [0.875, 0.3])
    np.testing.assert_array_equal(merged["classes"], [0, 1])
    # Threshold 4: b1+b2 merge (3 <= 4), then 4.5 > 4 stops.
    merged = B.merge_boxes(boxes, scores, classes, threshold=4)
    np.testing.assert_allclose(merged["boxes"], [[0.5, 0, 2.5, 2], [0, 0, 2, 2], [5, 0, 7, 2]])
    np.testing.assert_allclose(merged["scores"], [0.75, 0.3, 0.125])
    # Threshold 2: nothing merges.
    assert len(B.merge_boxes(boxes, scores, classes, threshold=2)["scores"]) == 4


def test_overfeat_match_score_is_literal():
    # Identical 4x4 boxes: distance 0 + intersection 16 = 16; disjoint boxes 3 apart: 3 + 0.
    a = np.array([[0, 0, 4, 4]])
    assert B.overfeat_match_score(a, a)[0, 0] == 16
    assert B.overfeat_match_score(a, np.array([[3, 0, 7, 4]]))[0, 0] == 3 + 4
    assert B.overfeat_match_score(a, np.array([[0, 7, 4, 11]]))[0, 0] == 7
    # So at threshold 10 the two identical boxes stay apart; another criterion can be passed.
    two = np.array([[0, 0, 4, 4], [0, 0, 4, 4]])
    assert len(B.merge_boxes(two, [1, 1], [0, 0], threshold=10)["scores"]) == 2
    by_distance = B.merge_boxes(two, [1, 1], [0, 0], threshold=10,
                                match_score=lambda p, q: B.overfeat_match_score(p, q) - 16)
    np.testing.assert_allclose(by_distance["boxes"], [[0, 0, 4, 4]])
    assert B.merge_boxes(np.zeros((0, 4)), [], [], threshold=1)["boxes"].shape == (0, 4)


def _naive_merge(boxes, scores, threshold, match_score):
    """The greedy merge as §4.3 states it: recompute every pair after each merge."""
    boxes, scores = [np.asarray(b, np.float64) for b in boxes], list(scores)
    while len(boxes) > 1:
        table = np.asarray(match_score(np.asarray(boxes), np.asarray(boxes)), np.float64)
        table[np.tril_indices(len(boxes))] = np.inf
        i, j = np.unravel_index(np.argmin(table), table.shape)
        if table[i, j] > threshold:
            break
        boxes[i], scores[i] = (boxes[i] + boxes[j]) / 2, scores[i] + scores[j]
        del boxes[j], scores[j]
    return np.asarray(boxes).reshape(-1, 4), np.asarray(scores)


@pytest.mark.parametrize("score_name", ["iou", "overfeat"])
def test_incremental_greedy_merge_equals_recomputing_every_pair(score_name):
    rng = np.random.default_rng(3)
    corners = rng.uniform(0, 100, (120, 2))
    boxes = np.concatenate([corners, corners + rng.uniform(5, 40, (120, 2))], axis=1)
    scores, classes = rng.uniform(0, 1, 120), np.zeros(120, np.int64)
    if score_name == "iou":
        match, threshold = (lambda a, b: 1.0 - B.pairwise_iou(a, b)), 0.6
    else:
        match, threshold = B.overfeat_match_score, 30.0
    merged = B.merge_boxes(boxes, scores, classes, threshold=threshold, match_score=match)
    want_boxes, want_scores = _naive_merge(boxes, scores, threshold, match)
    order = np.argsort(-want_scores, kind="stable")
    assert 1 < len(merged["scores"]) < 120
    np.testing.assert_allclose(merged["boxes"], want_boxes[order])
    np.testing.assert_allclose(merged["scores"], want_scores[order])


def test_pairwise_iou_equals_iou():
    rng = np.random.default_rng(4)
    a = np.concatenate([rng.uniform(0, 50, (7, 2)), rng.uniform(50, 100, (7, 2))], axis=1)
    b = np.concatenate([rng.uniform(0, 50, (5, 2)), rng.uniform(50, 100, (5, 2))], axis=1)
    b[0] = (10, 10, 10, 30)  # no area: IoU 0
    np.testing.assert_allclose(B.pairwise_iou(a, b), np.asarray(B.iou(a, b)), atol=1e-6)
    assert (B.pairwise_iou(a, b)[:, 0] == 0).all()
