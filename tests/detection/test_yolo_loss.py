"""YOLOv1's loss (Redmon et al. 2016, §2.2) against values worked by hand on
2×2 grids with B = 2 predictors and C = 2 classes.

Layouts (keras_cv_course/detection/yolo.py): a prediction cell is
``[x, y, √w, √h, C] × B`` then C class probabilities (12 values); a target cell
is ``[1_obj, x, y, w, h, one-hot class]`` (7 values), x, y offsets in the cell,
w, h relative to the image."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_cv_course.detection.yolo import YOLOv1Loss

S, B, C = 2, 2, 2


def empty():
    return np.zeros((1, S, S, 5 + C), "float32"), np.zeros((1, S, S, 5 * B + C), "float32")


def set_predictor(y_pred, row, col, b, box, confidence):
    y_pred[0, row, col, 5 * b: 5 * b + 5] = (*box, confidence)


def one_object():
    """The object of cell (row 0, col 1): centre offset (0.5, 0.5), w = h = 0.25
    of the image, class 0 — in image units the box centred at (0.75, 0.25),
    x in [0.625, 0.875], y in [0.125, 0.375].

    Predictor 0: (0.5, 0.5, √w 0.5, √h 0.25): same centre, w 0.25, h 0.0625 →
    intersection 0.25·0.0625 = 0.015625, union 0.0625 → IoU 0.25.
    Predictor 1: (0.6, 0.5, 0.5, 0.5): centre x (1 + 0.6)/2 = 0.8, x in
    [0.675, 0.925] → intersection 0.2·0.25 = 0.05, union 0.0625·2 - 0.05 =
    0.075 → IoU 2/3. Predictor 1 is responsible though it comes second."""
    y_true, y_pred = empty()
    y_true[0, 0, 1] = (1, 0.5, 0.5, 0.25, 0.25, 1, 0)
    y_pred[..., 4] = y_pred[..., 9] = 0.1  # every confidence 0.1 ...
    set_predictor(y_pred, 0, 1, 0, (0.5, 0.5, 0.5, 0.25), 0.4)  # ... but the object cell's
    set_predictor(y_pred, 0, 1, 1, (0.6, 0.5, 0.5, 0.5), 0.7)
    y_pred[0, 0, 1, 10:] = (0.8, 0.1)
    y_pred[0, 1, 1, 10:] = (0.3, 0.3)  # class scores of an empty cell: never scored
    y_pred[0, 1, 0, :4] = (0.9, 0.9, 0.9, 0.9)  # nor are an empty cell's coordinates
    return y_true, y_pred


# The terms of one_object, by hand:
COORD = (0.6 - 0.5) ** 2 + 0 + (0.5 - np.sqrt(0.25)) ** 2 + (0.5 - np.sqrt(0.25)) ** 2  # predictor 1: 0.01
OBJECT = (0.7 - 2 / 3) ** 2  # its confidence against its IoU
NOOBJECT = 0.4 ** 2 + 6 * 0.1 ** 2  # predictor 0 of the object cell, and the 6 predictors of the empty cells
CLASS = (0.8 - 1) ** 2 + (0.1 - 0) ** 2  # the object cell only


def test_an_empty_image_costs_lambda_noobj_times_every_confidence_squared():
    y_true, y_pred = empty()
    y_pred[..., 4], y_pred[..., 9] = 0.5, -0.2
    y_pred[..., :4] = 0.3
    y_pred[..., 10:] = 0.9
    expected = 0.5 * S * S * (0.5 ** 2 + 0.2 ** 2)  # 0.58: no coordinate, object or class term
    assert float(YOLOv1Loss(B, C)(y_true, y_pred)) == pytest.approx(expected, rel=1e-6)


def test_one_object_by_hand_with_the_responsible_box_chosen_by_iou():
    y_true, y_pred = one_object()
    loss = YOLOv1Loss(B, C)
    overlap, responsible = loss.assignment(tf.constant(y_true[..., 1:5]), tf.constant(y_pred[..., :10].reshape(1, S, S, B, 5)[..., :4]))
    np.testing.assert_allclose(np.asarray(overlap)[0, 0, 1], [0.25, 2 / 3], rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(responsible)[0, 0, 1], [0, 1])
    terms = {key: float(value[0]) for key, value in loss.terms(y_true, y_pred).items()}
    assert terms == pytest.approx({"coord": COORD, "object": OBJECT, "noobject": NOOBJECT, "class": CLASS}, rel=1e-5)
    total = 5 * COORD + OBJECT + 0.5 * NOOBJECT + CLASS  # 0.05 + 0.00111 + 0.11 + 0.05 = 0.21111
    assert float(loss(y_true, y_pred)) == pytest.approx(total, rel=1e-5)


def test_two_predictors_of_equal_iou_the_first_is_responsible():
    y_true, y_pred = empty()
    y_true[0, 1, 0] = (1, 0.25, 0.75, 0.16, 0.09, 0, 1)
    set_predictor(y_pred, 1, 0, 0, (0.25, 0.75, 0.4, 0.3), 0.9)  # the object's own box: IoU 1 ...
    set_predictor(y_pred, 1, 0, 1, (0.25, 0.75, 0.4, 0.3), 0.3)  # ... twice
    y_pred[0, 1, 0, 10:] = (0, 1)
    terms = {key: float(value[0]) for key, value in YOLOv1Loss(B, C).terms(y_true, y_pred).items()}
    # predictor 0 responsible: (0.9 - 1)² object, 0.3² no-object (predictor 1 instead: 0.49 and 0.81)
    assert terms == pytest.approx({"coord": 0.0, "object": 0.01, "noobject": 0.09, "class": 0.0}, abs=1e-6)


def test_a_negative_root_width_is_a_zero_width_box_and_costs_its_squared_error():
    """√w = -0.5 is a box of width max(-0.5, 0)² = 0: IoU 0 (squaring would
    have made it the object's own 0.25-wide box, IoU 1). Predictor 1 is a tiny
    box in the cell's corner, IoU 0 too; with every IoU 0 the responsible
    predictor is the nearest box in (x, y, w, h): predictor 0 (distance 0.25² =
    0.0625 in w; predictor 1 is ~0.5 away in x and y). Its coordinate error
    counts (-0.5 - √0.25)² = 1, and its confidence is taught its IoU, 0."""
    y_true, y_pred = empty()
    y_true[0, 0, 0] = (1, 0.5, 0.5, 0.25, 0.25, 1, 0)
    set_predictor(y_pred, 0, 0, 0, (0.5, 0.5, -0.5, 0.5), 0.6)
    set_predictor(y_pred, 0, 0, 1, (0.0, 0.0, 0.1, 0.1), 0.2)
    y_pred[0, 0, 0, 10:] = (1, 0)
    loss = YOLOv1Loss(B, C)
    terms = {key: float(value[0]) for key, value in loss.terms(y_true, y_pred).items()}
    assert terms == pytest.approx({"coord": 1.0, "object": 0.6 ** 2, "noobject": 0.2 ** 2, "class": 0.0}, rel=1e-6)
    assert np.isfinite(float(loss(y_true, y_pred)))
    with tf.GradientTape() as tape:
        prediction = tf.constant(y_pred)
        tape.watch(prediction)
        value = loss(y_true, prediction)
    gradient = tape.gradient(value, prediction).numpy()[0, 0, 0]
    assert gradient[2] == pytest.approx(5 * 2 * (-0.5 - 0.5))  # pulled up towards √w = 0.5, through 0 and beyond


def test_no_gradient_flows_into_the_iou_target_or_the_choice():
    """d loss / d prediction of one_object: the responsible predictor's
    coordinates get only λcoord·2(p - t) — the IoU, which depends on them, is a
    constant target — its confidence 2(Ĉ - IoU); the other predictor's
    coordinates get nothing, its confidence λnoobj·2Ĉ."""
    y_true, y_pred = one_object()
    with tf.GradientTape() as tape:
        prediction = tf.constant(y_pred)
        tape.watch(prediction)
        value = YOLOv1Loss(B, C)(y_true, prediction)
    cell = tape.gradient(value, prediction).numpy()[0, 0, 1]
    np.testing.assert_allclose(cell[5:9], 5 * 2 * (y_pred[0, 0, 1, 5:9] - [0.5, 0.5, 0.5, 0.5]), atol=1e-6)
    assert cell[9] == pytest.approx(2 * (0.7 - 2 / 3), rel=1e-5)
    np.testing.assert_array_equal(cell[0:4], 0.0)
    assert cell[4] == pytest.approx(0.5 * 2 * 0.4)
    np.testing.assert_allclose(cell[10:], 2 * (np.array([0.8, 0.1]) - [1, 0]), atol=1e-6)


def test_each_lambda_scales_exactly_its_own_term():
    y_true, y_pred = one_object()

    def total(**weights):
        return float(YOLOv1Loss(B, C, **weights)(y_true, y_pred))

    base = total()
    assert total(lambda_coord=7.0) - base == pytest.approx((7.0 - 5.0) * COORD, rel=1e-4)
    assert total(lambda_noobj=2.0) - base == pytest.approx((2.0 - 0.5) * NOOBJECT, rel=1e-4)
    assert total(lambda_coord=0.0, lambda_noobj=0.0) == pytest.approx(OBJECT + CLASS, rel=1e-4)


def test_the_batch_reduction_is_the_mean_over_images():
    y_object, p_object = one_object()
    y_empty, p_empty = empty()
    p_empty[..., 4] = 1.0  # 4 confidences of 1: 0.5·4 = 2
    loss = YOLOv1Loss(B, C)
    single = [float(loss(y_object, p_object)), float(loss(y_empty, p_empty))]
    batch = float(loss(np.concatenate([y_object, y_empty]), np.concatenate([p_object, p_empty])))
    assert single[1] == pytest.approx(2.0)
    assert batch == pytest.approx(np.mean(single), rel=1e-6)
    assert float(YOLOv1Loss(B, C, reduction="sum")(np.concatenate([y_object, y_empty]),
                                                   np.concatenate([p_object, p_empty]))) == pytest.approx(sum(single))


@pytest.mark.parametrize("value", [0.0, 1e15, -1e15, 1e-30])
def test_the_loss_is_finite_for_extreme_predictions(value):
    y_true, _ = one_object()
    y_pred = np.full((1, S, S, 5 * B + C), value, "float32")
    with tf.GradientTape() as tape:
        prediction = tf.constant(y_pred)
        tape.watch(prediction)
        result = YOLOv1Loss(B, C)(y_true, prediction)
    assert np.isfinite(float(result))
    assert np.all(np.isfinite(tape.gradient(result, prediction).numpy()))


def test_config_round_trip_and_registration():
    loss = YOLOv1Loss(3, 7, lambda_coord=4.0, lambda_noobj=0.25, reduction="sum")
    clone = YOLOv1Loss.from_config(loss.get_config())
    assert clone.get_config() == loss.get_config()
    assert set(loss.get_config()) == {"boxes_per_cell", "num_classes", "lambda_coord", "lambda_noobj", "name",
                                      "reduction", "dtype"}
    assert keras.saving.get_registered_object("keras_cv_course>YOLOv1Loss") is YOLOv1Loss


def test_bad_weights_and_shapes_are_refused_by_name():
    with pytest.raises(ValueError, match="lambda_noobj must be a finite number >= 0; got -1"):
        YOLOv1Loss(B, C, lambda_noobj=-1)
    with pytest.raises(ValueError, match="boxes_per_cell must be a positive integer; got 0"):
        YOLOv1Loss(0, C)
    y_true, _ = empty()
    with pytest.raises(ValueError, match=r"expects predictions \(N, S, S, 12\); got shape \(1, 2, 2, 30\)"):
        YOLOv1Loss(B, C)(y_true, np.zeros((1, 2, 2, 30), "float32"))
    with pytest.raises(ValueError, match=r"targets' grid \(2, 2\) is not the predictions' \(3, 3\)"):
        YOLOv1Loss(B, C)(y_true, np.zeros((1, 3, 3, 12), "float32"))
