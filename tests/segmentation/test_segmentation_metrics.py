"""FCN's segmentation metrics: a hand-worked example, void pixels, batch
accumulation, and keras.metrics.MeanIoU as an independent reference."""

import keras
import numpy as np
import pytest

from keras_cv_course.segmentation import SegmentationConfusion, confusion_matrix, segmentation_summary

# A 2x3 image, 3 classes, one void (255) pixel:
#   ground truth   0   0   1        prediction   0   1   1
#                  2 255   1                     2   2   0
# Counted pixels (gt -> pred): 0->0, 0->1, 1->1, 2->2, 1->0 (the void pixel, predicted 2, is not).
#   confusion  [[1, 1, 0],      t = (2, 2, 1), column sums (2, 2, 1), 5 pixels
#               [1, 1, 0],
#               [0, 0, 1]]
# pixel accuracy 3/5; per-class accuracy 1/2, 1/2, 1 -> mean 2/3
# IU: 1/(2+2-1) = 1/3, 1/3, 1/(1+1-1) = 1 -> mean 5/9
# frequency-weighted IU (2·1/3 + 2·1/3 + 1·1) / 5 = 7/15
GT = np.array([[0, 0, 1], [2, 255, 1]])
PRED = np.array([[0, 1, 1], [2, 2, 0]])


def test_hand_worked_example():
    matrix = confusion_matrix(GT, PRED, 3)
    assert matrix.dtype == np.int64
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [1, 1, 0], [0, 0, 1]])
    summary = segmentation_summary(matrix, ["bg", "cat", "dog"])
    assert summary["pixels"] == 5
    assert summary["pixel_accuracy"] == pytest.approx(3 / 5)
    assert summary["mean_accuracy"] == pytest.approx(2 / 3)
    assert summary["mean_iou"] == pytest.approx(5 / 9)
    assert summary["frequency_weighted_iou"] == pytest.approx(7 / 15)
    assert summary["per_class_iou"] == pytest.approx({"bg": 1 / 3, "cat": 1 / 3, "dog": 1.0})
    assert summary["per_class_accuracy"] == pytest.approx({"bg": 0.5, "cat": 0.5, "dog": 1.0})
    assert summary["confusion_matrix"] == [[1, 1, 0], [1, 1, 0], [0, 0, 1]]
    assert summary["class_names"] == ["bg", "cat", "dog"]


def test_absent_and_predicted_only_classes():
    # A fourth class nobody has or predicts: None, left out of every mean.
    summary = segmentation_summary(confusion_matrix(GT, PRED, 4))
    assert summary["per_class_iou"]["3"] is None and summary["per_class_accuracy"]["3"] is None
    assert summary["mean_iou"] == pytest.approx(5 / 9) and summary["mean_accuracy"] == pytest.approx(2 / 3)
    # Class 3 predicted once but absent from the ground truth: IU 0 counts in the mean,
    # accuracy stays undefined. IU: bg 1/(2+1-1) = 1/2, cat 1/3, dog 1, class 3 0 -> 11/24.
    predicted = np.where((np.arange(6) == 5).reshape(2, 3), 3, PRED)
    summary = segmentation_summary(confusion_matrix(GT, predicted, 4))
    assert summary["per_class_iou"] == pytest.approx({"0": 1 / 2, "1": 1 / 3, "2": 1.0, "3": 0.0})
    assert summary["per_class_accuracy"]["3"] is None
    assert summary["mean_iou"] == pytest.approx(11 / 24)
    # Frequency weights: (2·1/2 + 2·1/3 + 1·1) / 5; class 3 has weight 0.
    assert summary["frequency_weighted_iou"] == pytest.approx((1 + 2 / 3 + 1) / 5)
    empty = segmentation_summary(np.zeros((2, 2), int))
    assert empty["pixels"] == 0 and empty["pixel_accuracy"] is None and empty["mean_iou"] is None


def test_void_pixels_change_nothing(rng):
    gt = rng.integers(0, 5, (3, 12, 10))
    pred = rng.integers(0, 5, (3, 12, 10))
    void = rng.random(gt.shape) < 0.3
    reference = confusion_matrix(gt[~void], pred[~void], 5)
    for fill in (255, 7, -1):  # 255 and any other id outside [0, 5)
        np.testing.assert_array_equal(confusion_matrix(np.where(void, fill, gt), pred, 5), reference)
    # Whatever is predicted under the void pixels.
    scrambled = np.where(void, rng.integers(0, 5, gt.shape), pred)
    np.testing.assert_array_equal(confusion_matrix(np.where(void, 255, gt), scrambled, 5), reference)
    # ignore_index inside the class range drops that class's pixels; None keeps them.
    no_zero = confusion_matrix(gt, pred, 5, ignore_index=0)
    assert no_zero[0].sum() == 0 and no_zero.sum() == (gt != 0).sum()
    assert confusion_matrix(gt, pred, 5, ignore_index=None).sum() == gt.size


def test_score_maps_trailing_channel_and_batches(rng):
    gt = rng.integers(0, 4, (4, 8, 8))
    gt[:, :2] = 255
    scores = rng.random((4, 8, 8, 4)).astype("float32")
    labels = scores.argmax(-1)
    expected = confusion_matrix(gt, labels, 4)
    np.testing.assert_array_equal(confusion_matrix(gt, scores, 4), expected)
    np.testing.assert_array_equal(confusion_matrix(gt[..., None], scores, 4), expected)
    np.testing.assert_array_equal(confusion_matrix(gt[..., None], labels, 4), expected)
    np.testing.assert_array_equal(confusion_matrix(gt[..., None], labels[..., None], 4), expected)
    confusion = SegmentationConfusion(4)
    for start in range(0, 4, 2):
        assert confusion.update(gt[start : start + 2], scores[start : start + 2]) is confusion
    np.testing.assert_array_equal(confusion.matrix, expected)
    assert confusion.summary(list("abcd"))["mean_iou"] == segmentation_summary(expected)["mean_iou"]
    assert confusion.reset().matrix.sum() == 0


def test_errors():
    with pytest.raises(ValueError, match=r"outside \[0, 3\): min 0, max 3"):
        confusion_matrix(GT, np.where(PRED == 2, 3, PRED), 3)
    with pytest.raises(ValueError, match=r"score maps of shape \(2, 3, 3\); got \(2, 3, 4\)"):
        confusion_matrix(GT, np.zeros((2, 3, 4)), 3)
    with pytest.raises(ValueError, match="label maps of y_true's shape"):
        confusion_matrix(GT, PRED[:, :2], 3)
    with pytest.raises(ValueError, match="integer class ids"):
        confusion_matrix(GT, PRED + 0.5, 3)
    with pytest.raises(ValueError, match="square"):
        segmentation_summary(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="2 class names"):
        segmentation_summary(np.eye(3), ["a", "b"])


@pytest.mark.parametrize("num_classes", [5, 7])  # 7: classes 5 and 6 have an empty union
def test_mean_iou_matches_keras_mean_iou(rng, num_classes):
    # Keras 3.15 MeanIoU drops out-of-range ids (255) and leaves a class whose union is
    # empty out of the mean, counting a predicted-but-absent class as IU 0: FCN's nanmean.
    gt = rng.integers(0, 5, (2, 16, 16))
    gt[rng.random(gt.shape) < 0.15] = 255
    pred = rng.integers(0, 5, (2, 16, 16))
    pred[0, 0, :3] = 4 if num_classes == 5 else 6  # class 6 only predicted
    gt[0, 0, :3] = np.minimum(gt[0, 0, :3], 3)
    reference = keras.metrics.MeanIoU(num_classes, ignore_class=255)
    reference.update_state(gt, pred)
    ours = segmentation_summary(confusion_matrix(gt, pred, num_classes))["mean_iou"]
    assert ours == pytest.approx(float(reference.result()), rel=1e-5)
    np.testing.assert_array_equal(np.asarray(reference.total_cm), confusion_matrix(gt, pred, num_classes))


# --- PASCAL VOC's segmentation accuracy and the streaming Keras metric -----------------------------

from keras_cv_course.segmentation import SegmentationMetrics  # noqa: E402

SUMMARY_KEYS = {"mean_iou": "mean_iou", "pixel_accuracy": "pixel_accuracy", "mean_accuracy": "mean_accuracy",
                "frequency_weighted_iou": "frequency_weighted_iou"}


def test_voc_segmentation_accuracy_is_the_iu():
    # VOC: SA = TP / (TP + FP + FN). Hand-worked example: bg TP 1, FP 1 (cat predicted bg), FN 1 -> 1/3;
    # cat 1/3; dog 1/1.
    summary = segmentation_summary(confusion_matrix(GT, PRED, 3), ["bg", "cat", "dog"])
    assert summary["per_class_sa"] == pytest.approx({"bg": 1 / 3, "cat": 1 / 3, "dog": 1.0})
    assert summary["per_class_sa"] == summary["per_class_iou"] and summary["mean_sa"] == summary["mean_iou"]
    assert segmentation_summary(np.zeros((2, 2), int))["mean_sa"] is None


@pytest.mark.parametrize("metric, expected", [("mean_iou", 5 / 9), ("pixel_accuracy", 3 / 5),
                                              ("mean_accuracy", 2 / 3), ("frequency_weighted_iou", 7 / 15)])
def test_streaming_metric_hand_worked(metric, expected):
    labels = SegmentationMetrics(3, metric)
    labels.update_state(GT[None], PRED[None])
    assert float(labels.result()) == pytest.approx(expected, rel=1e-6)
    scores = SegmentationMetrics(3, metric)  # (B, H, W, 1) masks and (B, H, W, C) scores
    scores.update_state(GT[None, ..., None], np.eye(3, dtype="float32")[PRED][None])
    assert float(scores.result()) == pytest.approx(expected, rel=1e-6)
    np.testing.assert_array_equal(np.asarray(scores.confusion), confusion_matrix(GT, PRED, 3))
    assert labels.name == metric and np.asarray(labels.result()).shape == ()
    labels.reset_state()
    assert float(labels.result()) == 0.0 and int(np.asarray(labels.confusion).sum()) == 0


def test_streaming_metric_matches_numpy_over_batches(rng):
    gt = rng.integers(0, 5, (6, 12, 10))
    gt[rng.random(gt.shape) < 0.2] = 255
    scores = rng.random((6, 12, 10, 6)).astype("float32")  # class 5 predicted, never present
    summary = segmentation_summary(confusion_matrix(gt, scores, 6))
    metrics = {name: SegmentationMetrics(6, name) for name in SUMMARY_KEYS}
    for start in range(0, 6, 2):
        for metric in metrics.values():
            metric.update_state(gt[start : start + 2], scores[start : start + 2])
    for name, metric in metrics.items():
        assert float(metric.result()) == pytest.approx(summary[SUMMARY_KEYS[name]], rel=1e-5)
    # sample_weight masks pixels: weight 0 on the first image = leaving it out.
    weighted = SegmentationMetrics(6)
    weighted.update_state(gt, scores, sample_weight=np.array([0, 1, 1, 1, 1, 1]))
    expected = segmentation_summary(confusion_matrix(gt[1:], scores[1:], 6))["mean_iou"]
    assert float(weighted.result()) == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="metric must be one of"):
        SegmentationMetrics(3, "dice")


def test_streaming_metric_in_compile_and_saving(tmp_path, rng):
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(4, 1)(inputs))
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=255),
                  metrics=[SegmentationMetrics(4), SegmentationMetrics(4, "pixel_accuracy")])
    images = rng.random((6, 8, 8, 3)).astype("float32")
    masks = rng.integers(0, 4, (6, 8, 8))
    masks[:, 0] = 255
    logs = model.evaluate(images, masks, batch_size=4, verbose=0, return_dict=True)
    summary = segmentation_summary(confusion_matrix(masks, model.predict(images, verbose=0), 4))
    assert logs["mean_iou"] == pytest.approx(summary["mean_iou"], rel=1e-5)
    assert logs["pixel_accuracy"] == pytest.approx(summary["pixel_accuracy"], rel=1e-5)
    config = SegmentationMetrics(4, "mean_accuracy", ignore_index=None, name="acc").get_config()
    clone = SegmentationMetrics.from_config(config)
    assert (clone.num_classes, clone.metric, clone.ignore_index, clone.name) == (4, "mean_accuracy", None, "acc")
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)  # registered: no custom_objects needed
    again = loaded.evaluate(images, masks, batch_size=4, verbose=0, return_dict=True)
    assert again["mean_iou"] == pytest.approx(logs["mean_iou"], rel=1e-6)
