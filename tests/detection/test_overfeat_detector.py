"""OverFeat detector (Sermanet et al. 2014): target encoding, decoding, masked box loss, model."""

import numpy as np
import pytest
import tensorflow as tf

import keras
from keras_cv_course.detection import boxes as box_lib
from keras_cv_course.detection import heads
from keras_cv_course.detection.overfeat import MaskedBoxLoss, OverFeatHead, overfeat_fashion

IMAGE = (64, 64)


def _batch(box_list, class_list, max_boxes=3):
    """A padded batch of 2 images: ``box_list`` in image 0, image 1 empty."""
    boxes = np.zeros((2, max_boxes, 4), "float32")
    classes = np.full((2, max_boxes), -1, "int32")
    boxes[0, : len(box_list)], classes[0, : len(class_list)] = box_list, class_list
    boxes[1, 0] = (5, 5, 40, 40)  # padding (class -1): must be ignored
    return np.zeros((2,) + IMAGE + (1,), "float32"), {"boxes": tf.constant(boxes), "classes": tf.constant(classes)}


def test_encode_one_box_marks_central_cells_with_class_and_box_target():
    head = OverFeatHead(10, stride=8, window=32, center_fraction=0.5)
    images, targets = _batch([(16, 16, 48, 48)], [3])
    _, encoded = head.encode(tf.constant(images), targets)
    cls, box = encoded["classes"].numpy(), encoded["boxes"].numpy()
    assert cls.shape == (2, 8, 8) and box.shape == (2, 8, 8, 5)
    # Central half of the box: centres in [24, 40] → cells 3 and 4 (centres 28, 36) on each axis.
    positive = np.zeros((8, 8), bool)
    positive[3:5, 3:5] = True
    assert (cls[0][positive] == 4).all()  # class 3 → column 4 (0 is background)
    border = np.zeros((8, 8), bool)
    border[2:6, 2:6] = True
    assert (cls[0][border & ~positive] == -1).all()  # inside the box, not central: ignored
    assert (cls[0][~border] == 0).all()
    np.testing.assert_array_equal(box[0, ..., 4], positive.astype("float32"))
    cx = cy = 28.0  # cell (3, 3)
    np.testing.assert_allclose(box[0, 3, 3, :4], np.array([16 - cx, 16 - cy, 48 - cx, 48 - cy]) / 32)
    assert (cls[1] == 0).all() and (box[1] == 0).all()  # the empty image (padding only) is all background


def test_encode_tiny_box_gets_its_centre_cell_and_smallest_box_wins():
    head = OverFeatHead(10, stride=8, window=32, center_fraction=0.5)
    images, targets = _batch([(0, 0, 64, 64), (17, 17, 22, 22)], [1, 7])
    _, encoded = head.encode(tf.constant(images), targets)
    cls = encoded["classes"].numpy()[0]
    assert cls[2, 2] == 8  # the 5 px box's centre (19.5) is in cell 2: it is positive there, over the big box
    assert (cls[3:5, 3:5] == 2).all()


def test_decode_of_perfect_outputs_gives_back_the_boxes():
    head = OverFeatHead(10, stride=8, window=32, center_fraction=0.5, score_threshold=0.5)
    truth = np.array([(8, 8, 30, 40), (36, 20, 60, 58)], "float32")
    images, targets = _batch(truth, [2, 5])
    _, encoded = head.encode(tf.constant(images), targets)
    cls, box = encoded["classes"].numpy(), encoded["boxes"].numpy()
    scores = np.eye(11, dtype="float32")[np.maximum(cls, 0)]
    for merge in ("nms", "greedy"):
        head.merge = merge
        found = head.decode({"classes": scores, "boxes": box[..., :4]}, IMAGE)
        assert found["boxes"].shape == (2, head.max_detections, 4)
        keep = found["classes"][0] >= 0
        assert sorted(found["classes"][0][keep]) == [2, 5]
        overlap = np.asarray(box_lib.iou(truth, found["boxes"][0][keep]))
        assert (overlap.max(axis=1) > 0.9).all()
        assert (found["classes"][1] == -1).all()


def test_masked_box_loss_by_hand():
    loss = MaskedBoxLoss()
    y_true = np.zeros((1, 2, 2, 5), "float32")
    y_pred = np.ones((1, 2, 2, 4), "float32")
    assert float(loss(y_true, y_pred)) == 0.0  # no positives: 0 and finite
    y_true[0, 0, 0] = (0.5, 0, 1, 1, 1)
    y_true[0, 1, 1] = (1, 1, 1, 3, 1)
    assert float(loss(y_true, y_pred)) == pytest.approx((0.25 + 1 + 0) / 2 + (4 / 2))
    clone = MaskedBoxLoss.from_config(loss.get_config())
    assert clone.get_config() == loss.get_config()
    assert keras.saving.get_registered_object("keras_cv_course>MaskedBoxLoss") is MaskedBoxLoss


def test_model_outputs_and_keras_round_trip(tmp_path):
    model, head = overfeat_fashion(input_shape=(64, 64, 1), width=8, fc_units=16)
    images = np.random.default_rng(0).random((2, 64, 64, 1)).astype("float32")
    outputs = model(images)
    assert set(outputs) == {"classes", "boxes"}
    assert outputs["classes"].shape == (2, 8, 8, 11) and outputs["boxes"].shape == (2, 8, 8, 4)
    assert {"classes", "boxes"} <= {layer.name for layer in model.layers}
    model.compile(optimizer="adam", loss=head.losses(), loss_weights=head.loss_weights())
    path = tmp_path / "overfeat.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    again = loaded(images)
    for key in ("classes", "boxes"):
        np.testing.assert_allclose(again[key], outputs[key], atol=1e-5)


def test_head_config_round_trip():
    head = OverFeatHead(7, stride=4, window=24, merge="greedy", score_threshold=0.2)
    rebuilt = heads.get_head(heads.head_config(head))
    assert isinstance(rebuilt, OverFeatHead) and rebuilt.kind == "overfeat"
    assert rebuilt.get_config() == head.get_config()
    with pytest.raises(ValueError):
        OverFeatHead(merge="mean")
