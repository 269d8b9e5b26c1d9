"""OverFeat's dense evaluation (Sermanet et al. 2014): offset max-pooling (§3.3)
checked cell by cell against the classifier on image crops, the multi-scale parse
mapping every scale's boxes back to the image (§4.3), per-class box regression,
and the second stage of §4.2 (a box regressor trained on frozen features)."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_cv_course import data, models, surgery
from keras_cv_course.detection import boxes as box_lib
from keras_cv_course.detection import heads
from keras_cv_course.detection.overfeat import (
    MaskedBoxLoss, OverFeatHead, detect_multiscale, offset_pooled_scores, overfeat_fashion, score_maps,
    train_box_head)


@pytest.fixture(scope="module")
def lenet():
    keras.utils.set_random_seed(0)
    model = models.get_model("lenet5")
    return model, surgery.convolutionize(model)


def test_offset_pooling_cells_equal_the_classifier_on_the_crops(lenet):
    """LeNet-5 (no padding): total stride 4, 2×2 last pooling, so the offset-pooled
    map scores windows 4 / 2 = 2 pixels apart; cell (r, c) is LeNet-5 on the
    28×28 crop at (2r, 2c) exactly."""
    model, fcn = lenet
    k = 3
    images = np.random.default_rng(0).random((2, 28 + 4 * k, 28 + 4 * k, 1)).astype("float32")
    dense = offset_pooled_scores(fcn, images)
    # unpooled conv2 map 14×14: offset 0 pools to 7 → 4 windows, offset 1 to 6 → 3; 3 per offset, interleaved
    assert dense.shape == (2, 6, 6, 10)
    for r in range(6):
        for c in range(6):
            crop = images[:, 2 * r:2 * r + 28, 2 * c:2 * c + 28]
            np.testing.assert_allclose(dense[:, r, c], np.asarray(model(crop, training=False)), atol=1e-5)
    plain = np.asarray(fcn(images, training=False))
    np.testing.assert_allclose(dense[:, ::2, ::2], plain[:, :3, :3], atol=1e-6)  # offset (0, 0) is the plain map


def test_offset_pooling_refuses_what_it_cannot_offset():
    inputs = keras.Input((16, 16, 1))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    no_pool = keras.Model(inputs, keras.layers.Conv2D(2, 1, name="out")(x), name="no_pool")
    with pytest.raises(ValueError, match="'no_pool' has no MaxPooling2D"):
        offset_pooled_scores(no_pool, np.zeros((1, 16, 16, 1), "float32"))
    y = keras.layers.MaxPooling2D(3, strides=2, name="overlapping")(x)
    overlapping = keras.Model(inputs, keras.layers.Conv2D(2, 1, name="out")(y))
    with pytest.raises(ValueError, match=r"non-overlapping.*'overlapping' has pool_size \(3, 3\), strides \(2, 2\)"):
        offset_pooled_scores(overlapping, np.zeros((1, 16, 16, 1), "float32"))


def _perfect_detector(head, truth, classes):
    """A stand-in detector that outputs, at any input size, the head's own targets
    for ``truth`` (boxes given at 64×64) scaled to that size."""
    def model(images, training=False):
        scale = images.shape[1] / 64
        padded = {"boxes": tf.constant(truth[None] * scale), "classes": tf.constant(classes[None])}
        _, encoded = head.encode(images, padded)
        scores = tf.one_hot(tf.maximum(encoded["classes"], 0), head.num_classes + 1)
        offsets = encoded["boxes"][..., :4]
        if head.per_class_boxes:  # the offsets in the object's class slot only, zeros in the others
            slots = tf.one_hot(tf.maximum(encoded["classes"] - 1, 0), head.num_classes)[..., None] * offsets[..., None, :]
            offsets = tf.reshape(slots, tf.concat([tf.shape(offsets)[:-1], [head.box_channels]], 0))
        return {"classes": scores, "boxes": offsets}

    return model


@pytest.mark.parametrize("per_class_boxes", [False, True])
def test_multiscale_detections_map_every_scale_back_to_the_image(per_class_boxes):
    head = OverFeatHead(5, stride=8, window=32, score_threshold=0.5, per_class_boxes=per_class_boxes)
    truth = np.array([(8, 8, 30, 40), (36, 20, 60, 58)], "float32")
    model = _perfect_detector(head, truth, np.array([1, 4], "int32"))
    images = np.zeros((1, 64, 64, 1), "float32")
    single = detect_multiscale(model, head, images, scales=(1.0,))
    plain = head.decode(model(images), (64, 64))
    for key in ("boxes", "scores", "classes"):
        np.testing.assert_array_equal(single[key], plain[key])
    found = detect_multiscale(model, head, images, scales=(1.0, 1.5, 2.0))
    keep = found["classes"][0] >= 0
    assert sorted(found["classes"][0][keep]) == [1, 4]  # the scales' windows of one object merge into one box
    overlap = np.asarray(box_lib.iou(truth, found["boxes"][0][keep]))
    assert (overlap.max(axis=1) > 0.9).all()


def test_score_maps_per_scale_and_bad_scales():
    model, _ = overfeat_fashion(3, input_shape=(None, None, 1), width=8, fc_units=8)
    images = np.zeros((2, 64, 64, 1), "float32")
    maps = score_maps(model, images, scales=(0.5, 1.0, 1.3))
    assert [(scale, m.shape, size) for scale, m, size in maps] == [
        (0.5, (2, 4, 4, 4), (32, 32)), (1.0, (2, 8, 8, 4), (64, 64)), (1.3, (2, 10, 10, 4), (80, 80))]
    np.testing.assert_allclose(maps[1][1].sum(-1), 1.0, atol=1e-5)  # softmax over background + 3 classes
    for bad in ((), (0.0,), (-1.0,), (float("nan"),)):
        with pytest.raises(ValueError, match="scales must be positive numbers"):
            score_maps(model, images, scales=bad)


def test_a_detector_built_for_one_size_is_parsed_at_every_scale():
    keras.utils.set_random_seed(0)
    fixed, _ = overfeat_fashion(3, input_shape=(64, 64, 1), width=8, fc_units=8)
    images = np.random.default_rng(0).random((1, 64, 64, 1)).astype("float32")
    (_, at_1, _), (_, at_2, _) = score_maps(fixed, images, scales=(1.0, 2.0))
    np.testing.assert_allclose(at_1, np.asarray(fixed(images)["classes"]), atol=1e-6)
    any_size = surgery.with_input_shape(fixed, (None, None, 1))
    assert any_size.input_shape == (None, None, None, 1) and surgery.with_input_shape(any_size, (None, None, 1)) is any_size
    bigger = keras.ops.image.resize(images, (128, 128))
    np.testing.assert_allclose(at_2, np.asarray(any_size(bigger)["classes"]), atol=1e-6)


def test_per_class_box_loss_by_hand_and_encoding():
    loss = MaskedBoxLoss(num_classes=2)
    y_true = np.zeros((1, 1, 2, 6), "float32")
    y_pred = np.zeros((1, 1, 2, 8), "float32")
    y_pred[0, 0, 0, 4:8] = 1.0  # class 1's box; class 0's stays 0
    y_true[0, 0, 0] = (1, 1, 1, 1, 1, 1)  # positive, class 1: error 0
    y_true[0, 0, 1] = (1, 0, 0, 0, 1, 0)  # positive, class 0: error 1
    assert float(loss(y_true, y_pred)) == pytest.approx((0 + 1) / 2)
    assert MaskedBoxLoss.from_config(loss.get_config()).num_classes == 2
    head = OverFeatHead(3, stride=8, per_class_boxes=True)
    boxes = tf.constant([[(0, 0, 16, 16), (0, 0, 0, 0)]], tf.float32)
    _, encoded = head.encode(tf.zeros((1, 32, 32, 1)), {"boxes": boxes, "classes": tf.constant([[2, -1]])})
    target = encoded["boxes"].numpy()
    assert target.shape == (1, 4, 4, 6) and (target[0, :2, :2, 5] == 2).all() and (target[0, 2:, :, 4] == 0).all()
    assert head.losses()["boxes"].num_classes == 3 and head.box_channels == 12


def test_registered_detector_with_per_class_boxes_names_its_head():
    model = models.get_model("overfeat_fashion", input_shape=(32, 32, 1), classes=3, width=8, fc_units=8,
                             per_class_boxes=True)
    assert model.get_layer("boxes").output.shape[-1] == 12
    head = heads.head_for_model(model)
    assert head.per_class_boxes and head.num_classes == 3


def _scene_batches(head, scenes, batch_size=16):
    raw = data.load("fashion_scenes", "train", num_scenes=scenes, source="sample")
    return data.pipeline(raw, batch_size=batch_size, training=False, max_boxes=8).map(head.encode)


def test_box_head_trains_on_frozen_features():
    keras.utils.set_random_seed(0)
    model, head = overfeat_fashion(width=8, fc_units=16)
    train = _scene_batches(head, 32)
    box_layers = surgery.layers_feeding(model, "boxes") - surgery.layers_feeding(model, "classes")
    assert box_layers == {"fc7_boxes", "boxes"}
    with pytest.raises(ValueError, match=r"has no output 'masks'; its outputs are \['boxes', 'classes'\]"):
        surgery.layers_feeding(model, "masks")
    before = {layer.name: [np.array(w) for w in layer.weights] for layer in model.layers}
    history = train_box_head(model, head, train, epochs=2, learning_rate=1e-2, verbose=0)
    losses = history.history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    for layer in model.layers:
        changed = any(not np.array_equal(a, np.array(b)) for a, b in zip(before[layer.name], layer.weights))
        assert changed == (layer.name in box_layers), layer.name  # BN moving statistics included
    assert all(layer.trainable for layer in model.layers)  # the flags are given back


def test_registered_detector_trains_through_fit_by_name(tmp_path):
    """What ``kcc train overfeat_fashion --dataset fashion_scenes`` runs: the
    registry's task (detection) and the head the model names."""
    from keras_cv_course.training import fit

    train = data.load("fashion_scenes", "train", num_scenes=64, source="sample")
    val = data.load("fashion_scenes", "test", num_scenes=32, source="sample")
    result = fit("overfeat_fashion", train, val, epochs=1, batch_size=32, run_dir=str(tmp_path / "run"), verbose=0)
    assert result.model.name == "overfeat_fashion" and sorted(result.model.output_names) == ["boxes", "classes"]
    assert 0.0 <= result.summary["map50"] <= 1.0
    with open(tmp_path / "run" / "report.json", encoding="utf-8") as handle:
        config = json.load(handle)["config"]
    assert config["task"]["name"] == "detection" and config["task"]["head"]["kind"] == "overfeat"
