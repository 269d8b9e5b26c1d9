"""SSD (Liu et al. 2016): default boxes against the paper's VOC sizes worked by
hand, matching on hand-made cases and against a greedy reference, the box
coding against Keras' ``encode_box_to_deltas``, the MultiBox loss with hard
negative mining against values computed in numpy, and decoding + per-class NMS
on hand-made outputs. Layouts: keras_cv_course/detection/ssd.py."""

import inspect
import json
import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from keras_cv_course.detection import boxes as box_lib
from keras_cv_course.detection import heads
from keras_cv_course.detection import ssd
from keras_cv_course.detection.ssd import (
    SSD300_VOC, MultiBoxLoss, SSDConfidenceLoss, SSDHead, SSDLocalizationLoss, boxes_per_location, default_boxes,
    encode_targets, match_priors, prior_config)

VARIANCE = [0.1, 0.1, 0.2, 0.2]


def center(xyxy):
    """xyxy (N, 4) → center_xywh, numpy, by hand."""
    xyxy = np.asarray(xyxy, np.float64)
    return np.concatenate([(xyxy[:, :2] + xyxy[:, 2:]) / 2, xyxy[:, 2:] - xyxy[:, :2]], -1).astype("float32")


def match(prior_xyxy, gt, classes, threshold=0.5):
    return match_priors(center(prior_xyxy), np.asarray(gt, "float32")[None],
                        np.asarray(classes, "int32")[None], threshold).numpy()[0]


# --- default boxes ---------------------------------------------------------------------------------


def test_ssd300_voc_has_8732_priors_with_the_papers_sizes_at_each_map():
    priors = default_boxes(**SSD300_VOC)
    assert priors.shape == (8732, 4) and priors.dtype == np.float32
    assert boxes_per_location(SSD300_VOC["aspect_ratios"]) == (4, 6, 6, 6, 4, 4)
    r2, r3 = math.sqrt(2), math.sqrt(3)
    # map 38 (step 8): location (0, 0), then its 4 boxes in order
    np.testing.assert_allclose(priors[:4], [(4, 4, 30, 30), (4, 4, math.sqrt(30 * 60), math.sqrt(30 * 60)),
                                            (4, 4, 30 * r2, 30 / r2), (4, 4, 30 / r2, 30 * r2)], rtol=1e-6)
    np.testing.assert_allclose(priors[4, :2], (12, 4))  # row-major: x moves first ...
    np.testing.assert_allclose(priors[38 * 4, :2], (4, 12))  # ... then the next row
    np.testing.assert_allclose(priors[38 * 38 * 4 - 4, :2], (300, 300))  # 37.5 · 8: 38 steps of 8 overrun 300
    # map 19 (step 16) starts after 38·38·4 = 5776 priors: centre (8, 8), 6 boxes
    np.testing.assert_allclose(priors[5776:5782], [
        (8, 8, 60, 60), (8, 8, math.sqrt(60 * 111), math.sqrt(60 * 111)), (8, 8, 60 * r2, 60 / r2),
        (8, 8, 60 / r2, 60 * r2), (8, 8, 60 * r3, 60 / r3), (8, 8, 60 / r3, 60 * r3)], rtol=1e-6)
    # maps 10, 5: 600 and 150 priors; map 3 (step 100) has centres 50, 150, 250
    starts = np.cumsum([0, 5776, 19 * 19 * 6, 10 * 10 * 6, 5 * 5 * 6, 3 * 3 * 4])
    assert list(starts) == [0, 5776, 7942, 8542, 8692, 8728]
    for start, side in zip(starts, (30, 60, 111, 162, 213, 264)):
        np.testing.assert_allclose(priors[start, 2:], (side, side), rtol=1e-6)
    np.testing.assert_allclose(priors[8692:8696, :2], [(50, 50)] * 4)
    np.testing.assert_allclose(np.unique(priors[8692:8728, 0]), (50, 150, 250))
    # the last map: one location at the image centre, 264, sqrt(264·315), 264·√2 × 264/√2 and its transpose
    np.testing.assert_allclose(priors[-4:], [(150, 150, 264, 264), (150, 150, math.sqrt(264 * 315),
                                                                    math.sqrt(264 * 315)),
                                             (150, 150, 264 * r2, 264 / r2), (150, 150, 264 / r2, 264 * r2)],
                               rtol=1e-6)


def test_prior_config_reproduces_ssd300_voc_and_the_papers_eq_4():
    voc = prior_config(300, strides=(8, 16, 32, 64, 100, 300), s_min=0.2, s_max=0.88, first_scale=0.1,
                       aspect_ratios=SSD300_VOC["aspect_ratios"])
    assert voc["feature_sizes"] == [38, 19, 10, 5, 3, 1] and voc["steps"] == [8, 16, 32, 64, 100, 300]
    assert voc["min_sizes"] == list(SSD300_VOC["min_sizes"]) and voc["max_sizes"] == list(SSD300_VOC["max_sizes"])
    np.testing.assert_allclose(default_boxes(**voc), default_boxes(**SSD300_VOC), rtol=1e-6)
    # eq. 4 with s_min 0.2, s_max 0.9, m = 6: 0.2, 0.34, ..., 0.9 and 1.04 for the last map's extra box
    paper = prior_config(300, strides=(8, 16, 32, 64, 100, 300))
    np.testing.assert_allclose(paper["min_sizes"], [60, 102, 144, 186, 228, 270])
    np.testing.assert_allclose(paper["max_sizes"], [102, 144, 186, 228, 270, 312])
    assert paper["aspect_ratios"] == [[2], [2, 3], [2, 3], [2, 3], [2], [2]]
    # a small CPU SSD: 128×128, maps of stride 8, 16, 32 → 16, 8, 4; 4 boxes per location
    small = prior_config(128, strides=(8, 16, 32))
    assert small["feature_sizes"] == [16, 8, 4] and small["aspect_ratios"] == [[2], [2], [2]]
    np.testing.assert_allclose(small["min_sizes"], [25.6, 70.4, 115.2])
    np.testing.assert_allclose(small["max_sizes"], [70.4, 115.2, 160.0])
    priors = default_boxes(**small)
    assert priors.shape == (16 * 16 * 4 + 8 * 8 * 4 + 4 * 4 * 4, 4)
    np.testing.assert_allclose(priors[0], (4, 4, 25.6, 25.6), rtol=1e-6)
    two = prior_config(128, feature_sizes=(8, 4), s_min=0.15, s_max=0.5)  # steps 128/8, 128/4
    assert two["steps"] == [16, 32]
    np.testing.assert_allclose(two["min_sizes"], [19.2, 64])  # 0.15, 0.5 and 0.5 + 0.35 for the extra box
    np.testing.assert_allclose(two["max_sizes"], [64, 108.8])


def test_clip_clips_the_corners_to_the_image():
    priors = default_boxes(**{**SSD300_VOC, "clip": True})
    corners = np.asarray(box_lib.convert(priors, "center_xywh", "xyxy"))
    assert corners.min() >= 0 and corners.max() <= 300 + 1e-4
    half = math.sqrt(30 * 60) / 2  # the sqrt box at centre (4, 4): corners [4 - 21.2, 4 + 21.2] → [0, 25.2]
    np.testing.assert_allclose(priors[1], ((4 + half) / 2, (4 + half) / 2, 4 + half, 4 + half), rtol=1e-6)
    np.testing.assert_allclose(priors[-4], (150, 150, 264, 264))  # inside: unchanged
    np.testing.assert_allclose(priors[-2], (150, 150, 300, 264 / math.sqrt(2)), rtol=1e-6)


def test_a_map_without_max_size_has_no_extra_box():
    head = SSDHead(2, image_size=64, feature_sizes=[2, 1], min_sizes=[16, 32], max_sizes=[None, 48],
                   aspect_ratios=[[2], [2]], steps=[32, 64])
    assert head.boxes_per_location == (3, 4) and head.num_priors == 2 * 2 * 3 + 4
    r2 = math.sqrt(2)
    np.testing.assert_allclose(head.priors[:3], [(16, 16, 16, 16), (16, 16, 16 * r2, 16 / r2),
                                                 (16, 16, 16 / r2, 16 * r2)], rtol=1e-6)
    np.testing.assert_allclose(head.priors[13], (32, 32, math.sqrt(32 * 48), math.sqrt(32 * 48)), rtol=1e-6)
    assert heads.get_head(json.loads(json.dumps(heads.head_config(head)))).get_config() == head.get_config()


def test_prior_configurations_are_checked():
    with pytest.raises(ValueError, match="min_sizes has 1 entries for 2 feature maps"):
        default_boxes((2, 1), 64, min_sizes=(10,), max_sizes=(20, 30), aspect_ratios=((2,), (2,)), steps=(32, 64))
    with pytest.raises(ValueError, match="not 1"):
        default_boxes((2,), 64, min_sizes=(10,), max_sizes=(20,), aspect_ratios=((1, 2),), steps=(32,))
    with pytest.raises(ValueError, match="one sequence of ratios per map"):
        boxes_per_location((2, 3))


# --- matching --------------------------------------------------------------------------------------


def test_a_ground_truth_below_the_threshold_still_gets_its_best_prior():
    priors = [(0, 0, 10, 10), (10, 0, 20, 10), (0, 10, 10, 20)]
    # a 4×4 box inside prior 0: IoU 16/100 = 0.16 < 0.5, but prior 0 is its best
    assert list(match(priors, [(2, 2, 6, 6)], [3])) == [0, -1, -1]
    assert list(match(priors, [(12, 12, 13, 13)], [3])) == [-1, -1, -1]  # IoU 0 with every prior: nothing forced


def test_two_ground_truths_wanting_the_same_prior_the_better_one_gets_it():
    priors = [(0, 0, 10, 10), (10, 0, 20, 10)]
    # gt A: IoU 0.9 with prior 0, 0 with prior 1. gt B = (4, 0, 14, 10): 60/140 = 0.43 with prior 0,
    # 40/160 = 0.25 with prior 1. Both want prior 0; A's pair is higher, so B takes prior 1 (below 0.5).
    a, b = (0, 0, 10, 9), (4, 0, 14, 10)
    assert list(match(priors, [a, b], [0, 1])) == [0, 1]
    assert list(match(priors, [b, a], [1, 0])) == [1, 0]  # the same pairs in the other order


def test_forced_matches_override_the_threshold_matches():
    priors = [(0, 0, 10, 7), (0, 0, 10, 12.5)]
    # gt A (0, 0, 10, 10): IoU 0.7 with prior 0, 0.8 with prior 1 → forced to prior 1.
    # gt B (0, 0, 10, 4.2): IoU 0.6 with prior 0, 0.336 with prior 1 → forced to prior 0, which by
    # the threshold rule alone would have gone to A (0.7 > 0.6).
    assert list(match(priors, [(0, 0, 10, 10), (0, 0, 10, 4.2)], [5, 6])) == [1, 0]
    assert list(match(priors, [(0, 0, 10, 10)], [5])) == [0, 0]  # alone, A takes both (0.7 >= 0.5)


def test_the_threshold_is_inclusive():
    priors = [(0, 0, 10, 5), (0, 0, 10, 10), (0, 0, 10, 10.5)]  # IoU with the gt: 1, 0.5, 50/105 = 0.476
    assert list(match(priors, [(0, 0, 10, 5)], [2])) == [0, 0, -1]
    assert list(match(priors, [(0, 0, 10, 5)], [2], threshold=0.4)) == [0, 0, 0]


def test_padding_never_matches():
    priors = [(0, 0, 10, 10), (10, 0, 20, 10)]
    assert list(match(priors, [(0, 0, 10, 10), (10, 0, 20, 10)], [-1, -1])) == [-1, -1]  # identical boxes
    # padding between real boxes: indices stay the given ones
    assert list(match(priors, [(0, 0, 0, 0), (10, 0, 20, 10), (0, 0, 10, 10)], [-1, 4, -1])) == [-1, 1]
    empty = match_priors(center(priors), np.zeros((2, 0, 4), "float32"), np.zeros((2, 0), "int32"))
    assert empty.shape == (2, 2) and (empty.numpy() == -1).all()


def reference_match(overlap, classes, threshold=0.5):
    """Greedy bipartite + threshold matching over the full IoU matrix (P, M), in plain numpy loops."""
    overlap = np.where(classes[None] >= 0, overlap, -1.0)
    matched = np.where(overlap.max(1) >= threshold, overlap.argmax(1), -1)
    work = overlap.T.copy()  # (M, P): first maximum = lowest gt, then lowest prior
    for _ in range(int((classes >= 0).sum())):
        gi, pi = np.unravel_index(np.argmax(work), work.shape)
        if work[gi, pi] <= 0:
            break
        matched[pi] = gi
        work[gi, :] = -1
        work[:, pi] = -1
    return matched


def test_the_matching_iou_is_keras_compute_iou():
    rng = np.random.default_rng(2)
    corners = rng.uniform(0, 300, (2, 9, 2, 2))
    gt = np.concatenate([corners.min(2), corners.max(2) + 1], -1).astype("float32")
    priors_xyxy = np.asarray(box_lib.convert(default_boxes(**SSD300_VOC), "center_xywh", "xyxy"))
    ours = ssd._pairwise_iou(tf.constant(priors_xyxy), tf.constant(gt)).numpy()
    theirs = keras.utils.bounding_boxes.compute_iou(np.broadcast_to(priors_xyxy, (2,) + priors_xyxy.shape).copy(),
                                                    gt.copy(), "xyxy")
    np.testing.assert_allclose(ours, np.asarray(theirs), atol=1e-6)  # Keras adds an epsilon to the union


def test_matching_on_ssd300_priors_equals_a_greedy_reference():
    priors = default_boxes(**SSD300_VOC)
    priors_xyxy = np.asarray(box_lib.convert(priors, "center_xywh", "xyxy"))
    rng = np.random.default_rng(3)
    corners = rng.uniform(0, 300, (3, 12, 2, 2))
    gt = np.concatenate([corners.min(2), corners.max(2)], -1).astype("float32")
    gt[:, 6:] = gt[:, :6] + rng.uniform(-3, 3, (3, 6, 4)).astype("float32")  # near-duplicates compete
    gt[..., 2:] = np.maximum(gt[..., 2:], gt[..., :2] + 2)
    classes = rng.integers(0, 20, (3, 12)).astype("int32")
    classes[0, [1, 4, 7]] = -1
    classes[2, :] = -1
    classes[2, 5] = 7
    found = match_priors(priors, gt, classes).numpy()
    overlap = ssd._pairwise_iou(tf.constant(priors_xyxy), tf.constant(gt)).numpy()  # the same float32 IoU
    for i in range(3):
        expected = reference_match(overlap[i], classes[i])
        np.testing.assert_array_equal(found[i], expected)
        assert set(found[i][found[i] >= 0]) == set(np.flatnonzero(classes[i] >= 0))  # every gt has a prior


# --- encoding --------------------------------------------------------------------------------------


def test_encoding_equals_keras_encode_box_to_deltas():
    head = SSDHead(20)
    rng = np.random.default_rng(0)
    corners = rng.uniform(0, 300, (2, 8, 2, 2))
    gt = np.concatenate([corners.min(2), corners.max(2) + 5], -1).astype("float32")
    classes = rng.integers(0, 20, (2, 8)).astype("int32")
    classes[1, 6:] = -1
    targets = encode_targets(head.priors, gt, classes)
    matched = match_priors(head.priors, gt, classes).numpy()
    positive = matched >= 0
    chosen = np.take_along_axis(gt, np.maximum(matched, 0)[..., None], axis=1)  # (2, P, 4)
    expected = keras.utils.bounding_boxes.encode_box_to_deltas(
        anchors=head.priors.copy(), boxes=chosen.copy(), anchor_format="center_xywh", box_format="xyxy",
        encoding_format="center_xywh", variance=list(VARIANCE))
    got = targets["boxes"].numpy()
    np.testing.assert_allclose(got[..., :4][positive], np.asarray(expected)[positive], rtol=1e-5, atol=1e-5)
    assert (got[..., :4][~positive] == 0).all()
    np.testing.assert_array_equal(got[..., 4], positive)
    np.testing.assert_array_equal(targets["classes"].numpy(), np.where(positive, np.take_along_axis(
        classes, np.maximum(matched, 0), axis=1) + 1, 0))
    # by hand: a gt of (x 10..50, y 20..40) against the first prior (centre (4, 4), 30×30)
    one = ssd._encode_deltas(tf.constant([[10.0, 20, 50, 40]]), tf.constant(head.priors[:1]), VARIANCE).numpy()
    np.testing.assert_allclose(one[0], [(30 - 4) / 30 / 0.1, (30 - 4) / 30 / 0.1, math.log(40 / 30) / 0.2,
                                        math.log(20 / 30) / 0.2], rtol=1e-5)


def test_decoding_the_encoded_targets_gives_the_boxes_back():
    head = SSDHead(20)
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 200, (2, 5, 2))
    gt = np.concatenate([xy, xy + rng.uniform(8, 100, (2, 5, 2))], -1).astype("float32")
    classes = np.array([[0, 1, 2, 3, 4], [5, 6, -1, -1, -1]], "int32")
    targets = head.encode(tf.zeros((2, 300, 300, 3)), {"boxes": gt, "classes": classes})[1]
    matched = match_priors(head.priors, gt, classes).numpy()
    positive = matched >= 0
    outputs = {"boxes": targets["boxes"][..., :4].numpy(), "classes": np.zeros((2, head.num_priors, 21), "float32")}
    decoded, _ = head.decode_priors(outputs, (300, 300))
    expected = np.take_along_axis(gt, np.maximum(matched, 0)[..., None], axis=1)
    np.testing.assert_allclose(decoded[positive], expected[positive], atol=2e-3)
    np.testing.assert_allclose(decoded[~positive], np.clip(head.priors_xyxy, 0, 300)[np.nonzero(~positive)[1]],
                               atol=2e-3)  # zero deltas: the priors themselves


def test_a_padded_batch_is_encoded_in_a_tf_data_map():
    head = SSDHead.from_feature_sizes(3, 128, strides=(16, 32))  # maps 8, 4: (64 + 16)·4 = 320 priors
    assert head.num_priors == 320 and head.boxes_per_location == (4, 4) and head.feature_sizes == ((8, 8), (4, 4))
    boxes = np.zeros((3, 4, 4), "float32")
    classes = np.full((3, 4), -1, "int32")
    boxes[0, :2], classes[0, :2] = [(10, 10, 40, 50), (60, 70, 120, 126)], [0, 2]
    boxes[1, :1], classes[1, :1] = [(30, 30, 90, 90)], [1]
    boxes[2, 3] = (0, 0, 128, 128)  # image 2: nothing but a padding box the size of the image
    images = np.zeros((3, 128, 128, 1), "float32")
    dataset = tf.data.Dataset.from_tensor_slices((images, {"boxes": boxes, "classes": classes})).batch(3)
    encoded = dataset.map(head.encode)
    spec = encoded.element_spec[1]
    assert spec["boxes"].shape.as_list() == [None, 320, 5] and spec["classes"].dtype == tf.int32
    _, targets = next(iter(encoded))
    eager = head.encode(tf.constant(images), {"boxes": tf.constant(boxes), "classes": tf.constant(classes)})[1]
    single = encode_targets(head.priors, boxes[1], classes[1])  # one image, no batch axis
    for key in ("boxes", "classes"):
        np.testing.assert_array_equal(targets[key].numpy(), eager[key].numpy())
        np.testing.assert_array_equal(single[key].numpy(), eager[key].numpy()[1])
    labels = targets["classes"].numpy()
    assert set(np.unique(labels[0])) == {0, 1, 3} and set(np.unique(labels[1])) == {0, 2}
    assert (labels[2] == 0).all() and (targets["boxes"].numpy()[2] == 0).all()
    np.testing.assert_array_equal(targets["boxes"].numpy()[..., 4], labels > 0)
    with pytest.raises(ValueError, match=r"laid out for \(128, 128\) images; the batch's are \(64, 64\)"):
        head.encode(tf.zeros((1, 64, 64, 1)), {"boxes": boxes[:1], "classes": classes[:1]})


# --- losses ----------------------------------------------------------------------------------------


def log_softmax(logits):
    logits = np.asarray(logits, np.float64)
    top = logits.max(-1, keepdims=True)
    return logits - top - np.log(np.exp(logits - top).sum(-1, keepdims=True))


def test_the_localization_loss_is_smooth_l1_on_positives_over_the_batchs_matches():
    y_true = np.zeros((2, 3, 5), "float32")
    y_pred = np.full((2, 3, 4), 7.0, "float32")  # negatives' predictions are never scored
    y_true[0, 1] = (0, 0, 0, 0, 1)
    y_pred[0, 1] = (0.5, -2, 0, 1)  # 0.125 + 1.5 + 0 + 0.5 = 2.125
    y_true[1, 0], y_true[1, 2] = (1, 1, 1, 1, 1), (0, 0, 0, 0, 1)
    y_pred[1, 0], y_pred[1, 2] = (1, 1, 1, 1.2), (0.1, 0, 0, 0)  # 0.02 + 0.005
    loss = SSDLocalizationLoss()
    np.testing.assert_allclose(float(loss(y_true, y_pred)), (2.125 + 0.025) / 3, rtol=1e-6)  # N = 3 in the batch
    shares = SSDLocalizationLoss(reduction="none")(y_true, y_pred).numpy()
    np.testing.assert_allclose(shares, [2.125 / 3, 0.025 / 3], rtol=1e-5)
    assert float(loss(np.zeros((1, 3, 5)), y_pred[:1])) == 0.0  # no positives: 0


def mining_case():
    """One image of 10 priors, C = 2 (3 logit columns): prior 0 is positive
    (class 1 → label 2), priors 1..9 negatives whose background loss grows with
    their object logit a: log(2 + e^a)."""
    labels = np.zeros((1, 10), "int32")
    labels[0, 0] = 2
    logits = np.zeros((1, 10, 3), "float32")
    logits[0, 0] = (1.0, 0.0, 2.0)
    a = np.array([0.5, 3, -1, 2, 0, 4, 1, -2, 2.5], "float32")
    logits[0, 1:, 1] = a
    return labels, logits


def test_hard_negative_mining_keeps_three_negatives_per_positive_of_highest_background_loss():
    labels, logits = mining_case()
    loss = SSDConfidenceLoss()
    terms = loss.terms(labels, logits)
    mined = np.flatnonzero(terms["mined"].numpy()[0])
    assert list(mined) == [2, 6, 9]  # object logits 3, 4, 2.5: the three highest background losses
    assert int(terms["num_positives"][0]) == 1 and int(terms["num_negatives"][0]) == 3
    lsm = log_softmax(logits[0])
    expected = -lsm[0, 2] - lsm[2, 0] - lsm[6, 0] - lsm[9, 0]
    np.testing.assert_allclose(float(loss(labels, logits)), expected, rtol=1e-6)
    np.testing.assert_allclose(float(SSDConfidenceLoss(neg_pos_ratio=1, min_negatives=0)(labels, logits)),
                               -lsm[0, 2] - lsm[6, 0], rtol=1e-6)  # 1 : 1
    np.testing.assert_allclose(float(SSDConfidenceLoss(neg_pos_ratio=1)(labels, logits)), expected, rtol=1e-6)


def test_negatives_are_capped_by_those_available_and_ignored_priors_are_never_mined():
    labels, logits = mining_case()
    labels[0, 1:4] = 1  # 4 positives want 12 negatives; 6 are there
    terms = SSDConfidenceLoss().terms(labels, logits)
    assert int(terms["num_negatives"][0]) == 6 and list(np.flatnonzero(terms["mined"].numpy()[0])) == [4, 5, 6, 7, 8, 9]
    labels, logits = mining_case()
    labels[0, 6] = -1  # the hardest negative, ignored
    assert list(np.flatnonzero(SSDConfidenceLoss().terms(labels, logits)["mined"].numpy()[0])) == [2, 4, 9]


def test_an_image_without_objects_costs_its_mined_confidence_loss_only():
    labels, logits = mining_case()
    labels[0, 0] = 0  # no objects: 10 negatives, min_negatives = 3 of them mined
    lsm = log_softmax(logits[0])
    hardest = -np.sort(lsm[:, 0])[:3].sum()  # priors 6, 2, 9 (prior 0's background loss is lower)
    boxes_true, boxes_pred = np.zeros((1, 10, 5), "float32"), np.full((1, 10, 4), 3.0, "float32")
    head = SSDHead(2, image_size=64, feature_sizes=[1], min_sizes=[32], max_sizes=[48], aspect_ratios=[[2]],
                   steps=[64])
    total = head.multibox_loss()({"boxes": boxes_true, "classes": labels}, {"boxes": boxes_pred, "classes": logits})
    np.testing.assert_allclose(float(total), hardest, rtol=1e-6)  # N = 0 → over 1; no localisation term
    assert float(SSDLocalizationLoss()(boxes_true, boxes_pred)) == 0.0
    assert float(SSDConfidenceLoss(min_negatives=0)(labels, logits)) == 0.0  # Caffe / torchvision: nothing
    # next to an image with one object, the empty image's share is its mined loss over the batch's N = 1
    with_object, _ = mining_case()
    shares = SSDConfidenceLoss(reduction="none")(np.concatenate([labels, with_object]),
                                                 np.concatenate([logits, logits])).numpy()
    np.testing.assert_allclose(shares[0], hardest, rtol=1e-6)


def test_the_confidence_loss_normalises_by_the_matched_priors_of_the_whole_batch():
    labels, logits = mining_case()
    second = labels.copy()
    second[0, 1:3] = 1  # 3 positives, 9 negatives wanted, 7 available
    both_labels, both_logits = np.concatenate([labels, second]), np.concatenate([logits, logits])
    lsm = log_softmax(logits[0])
    first = -lsm[0, 2] - lsm[[2, 6, 9], 0].sum()
    other = -lsm[0, 2] - lsm[1, 1] - lsm[2, 1] - lsm[3:, 0].sum()
    np.testing.assert_allclose(float(SSDConfidenceLoss()(both_labels, both_logits)), (first + other) / 4, rtol=1e-6)


def test_losses_are_finite_with_extreme_inputs_and_their_gradients_too():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, (2, 50)).astype("int32")
    labels[1] = 0
    box_true = np.concatenate([rng.normal(size=(2, 50, 4)), (labels > 0)[..., None]], -1).astype("float32")
    for scale in (1e4, 1e30):
        logits = tf.constant((rng.choice([-1, 1], (2, 50, 3)) * scale).astype("float32"))
        deltas = tf.constant((rng.choice([-1, 1], (2, 50, 4)) * scale).astype("float32"))
        with tf.GradientTape(persistent=True) as tape:
            tape.watch([logits, deltas])
            total = MultiBoxLoss()({"boxes": box_true, "classes": labels}, {"boxes": deltas, "classes": logits})
        assert np.isfinite(float(total))
        for value in (logits, deltas):
            assert np.isfinite(tape.gradient(total, value).numpy()).all()


def test_alpha_weights_the_localisation_term_and_keras_adds_the_two_outputs_to_the_total():
    head = SSDHead(3, image_size=8, feature_sizes=[1], min_sizes=[4], max_sizes=[6], aspect_ratios=[[2, 3]],
                   steps=[8], alpha=2.0)
    priors = head.num_priors
    assert priors == 6 and head.loss_weights() == {"boxes": 2.0, "classes": 1.0}
    inputs = keras.Input((5,))
    outputs = {"boxes": layers.Reshape((priors, 4), name="boxes")(layers.Dense(priors * 4, name="dense_b")(inputs)),
               "classes": layers.Reshape((priors, 4), name="classes")(layers.Dense(priors * 4, name="dense_c")(inputs))}
    model = keras.Model(inputs, outputs)
    model.compile(loss=head.losses(), loss_weights=head.loss_weights())
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 5)).astype("float32")
    labels = np.zeros((4, priors), "int32")
    labels[:3, 0], labels[1, 3] = 2, 1
    y = {"boxes": np.concatenate([rng.normal(size=(4, priors, 4)), (labels > 0)[..., None]], -1).astype("float32"),
         "classes": labels}
    result = model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)
    predicted = model.predict(x, verbose=0)
    loc, conf = float(SSDLocalizationLoss()(y["boxes"], predicted["boxes"])), float(
        SSDConfidenceLoss()(y["classes"], predicted["classes"]))
    np.testing.assert_allclose([result["boxes_loss"], result["classes_loss"]], [loc, conf], rtol=1e-5)
    np.testing.assert_allclose(result["loss"], conf + 2 * loc, rtol=1e-5)
    np.testing.assert_allclose(float(head.multibox_loss()(y, predicted)), conf + 2 * loc, rtol=1e-5)
    np.testing.assert_allclose(float(MultiBoxLoss(alpha=0.5)(y, predicted)), conf + 0.5 * loc, rtol=1e-5)
    with pytest.raises(ValueError, match="MultiBoxLoss takes dicts"):
        MultiBoxLoss()(y["classes"], predicted["classes"])


@pytest.mark.parametrize("loss", [SSDLocalizationLoss(name="loc"), SSDConfidenceLoss(2.5, 7, reduction="none"),
                                  MultiBoxLoss(alpha=0.3, neg_pos_ratio=4, min_negatives=1)])
def test_loss_configs_are_complete_and_round_trip(loss):
    arguments = set(inspect.signature(type(loss).__init__).parameters) - {"self"}
    assert set(loss.get_config()) == arguments
    assert type(loss).from_config(loss.get_config()).get_config() == loss.get_config()
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert type(restored) is type(loss) and restored.get_config() == loss.get_config()


# --- the head: config, decoding ----------------------------------------------------------------------


def test_head_config_round_trips_through_the_registry_and_json():
    head = SSDHead(20)
    assert head.num_priors == 8732 and head.image_size == (300, 300) and head.kind == "ssd"
    assert head.get_config()["feature_sizes"] == [38, 19, 10, 5, 3, 1] and head.get_config()["image_size"] == 300
    for spec in (heads.head_config(head), json.loads(json.dumps(heads.head_config(head)))):
        rebuilt = heads.get_head(spec)
        assert isinstance(rebuilt, SSDHead) and rebuilt.get_config() == head.get_config()
        np.testing.assert_array_equal(rebuilt.priors, head.priors)
    small = SSDHead.from_feature_sizes(5, (96, 128), [(12, 16), (6, 8)], s_min=0.1, s_max=0.5, top_k=50,
                                       min_negatives=0, nms_iou=0.5)
    assert small.get_config()["image_size"] == [96, 128] and small.get_config()["steps"] == [8, 16]
    assert heads.get_head(heads.head_config(small)).get_config() == small.get_config()
    assert small.losses()["classes"].get_config()["min_negatives"] == 0
    assert set(head.losses()) == {"boxes", "classes"} == set(head.loss_weights())


def decode_case(**options):
    """A 64×64 head with one 2×2 map (step 32, 32 px boxes, 4 per location: 16
    priors). Priors 0, 1 sit at location (0, 0): [0, 0, 32, 32] and the sqrt
    box of side sqrt(32·48) = 39.19 (clipped to [0, 0, 35.6, 35.6]); prior 4 is
    location (0, 1): [32, 0, 64, 32]; prior 12 location (1, 1): [32, 32, 64, 64]."""
    head = SSDHead(3, image_size=64, feature_sizes=[2], min_sizes=[32], max_sizes=[48], aspect_ratios=[[2]],
                   steps=[32], score_threshold=0.2, max_detections=5, **options)
    deltas = np.zeros((1, 16, 4), "float32")
    logits = np.tile(np.array([10.0, 0, 0, 0], "float32"), (1, 16, 1))  # background: object scores 4.5e-5
    logits[0, 0] = (0, 3, 0, 0)  # class 0: e³/(e³ + 3)
    logits[0, 1] = (0, 2, 2, 0)  # classes 0 and 1 tie
    logits[0, 4] = (0, 0, 0, 1.5)  # class 2
    logits[0, 12] = (0, 1, 0, 0)  # class 0 again, far from prior 0
    # every other object score is below the threshold 0.2 (the highest: prior 12's classes 1, 2, 1/(e + 3) = 0.17)
    deltas[0, 12] = (1, 0, 0, 0)  # shifted right by 1 · 0.1 · 32 = 3.2 px: [35.2, 32, 67.2, 64], clipped at 64
    probability = np.exp(log_softmax(logits[0]))
    return head, {"boxes": deltas, "classes": logits}, probability


def test_decode_applies_softmax_per_class_nms_and_pads_with_class_minus_one():
    head, outputs, probability = decode_case()
    found = head.decode(outputs, (64, 64))
    assert {key: value.shape for key, value in found.items()} == {"boxes": (1, 5, 4), "scores": (1, 5),
                                                                   "classes": (1, 5)}
    side = 16 + math.sqrt(32 * 48) / 2
    # prior 1's class 0 (IoU 1024 / 35.6² = 0.81 with prior 0) is suppressed; its class 1 is kept
    np.testing.assert_allclose(found["scores"][0], [probability[0, 1], probability[4, 3], probability[12, 1],
                                                    probability[1, 2], 0], rtol=1e-5)
    assert list(found["classes"][0]) == [0, 2, 0, 1, -1]
    np.testing.assert_allclose(found["boxes"][0], [(0, 0, 32, 32), (32, 0, 64, 32), (35.2, 32, 64, 64),
                                                   (0, 0, side, side), (0, 0, 0, 0)], atol=1e-4)
    assert np.isclose(probability[0, 1], math.exp(3) / (math.exp(3) + 3))
    background = np.tile(np.array([10.0, 0, 0, 0], "float32"), (2, 16, 1))
    nothing = head.decode({"boxes": np.tile(outputs["boxes"], (2, 1, 1)), "classes": background}, (64, 64))
    assert (nothing["classes"] == -1).all() and (nothing["scores"] == 0).all() and nothing["boxes"].shape == (2, 5, 4)


def test_top_k_is_taken_per_class_before_nms():
    head, outputs, probability = decode_case(top_k=1)  # class 0 considers prior 0 only: prior 12's is dropped
    found = head.decode(outputs, (64, 64))
    assert list(found["classes"][0]) == [0, 2, 1, -1, -1]
    np.testing.assert_allclose(found["scores"][0][:3], [probability[0, 1], probability[4, 3], probability[1, 2]],
                               rtol=1e-5)


def test_decode_refuses_outputs_of_another_layout():
    head, outputs, _ = decode_case()
    with pytest.raises(ValueError, match=r"'boxes' must be \(B, 16, 4\)"):
        head.decode({"boxes": outputs["boxes"][:, :8], "classes": outputs["classes"][:, :8]}, (64, 64))
    with pytest.raises(ValueError, match=r"'classes' must be \(B, 16, 4\) logits with background in column 0"):
        head.decode({"boxes": outputs["boxes"], "classes": outputs["classes"][..., :3]}, (64, 64))
    with pytest.raises(ValueError, match=r"laid out for \(64, 64\) images"):
        head.decode(outputs, (128, 128))
    assert head.decode(outputs, (None, None))["classes"].shape == (1, 5)  # a fully convolutional input shape
