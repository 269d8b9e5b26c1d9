"""YOLOv1's head (Redmon et al. 2016): target encoding (one object per cell,
collisions, the last cell's edge), decoding with class-specific scores and
per-class NMS, the detector builder on any backbone's tap, the registered
``yolov1_fashion`` through ``training.fit`` / ``kcc evaluate`` / ``kcc
predict``, and the paper's augmentation through the box-aware pipeline."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_cv_course import data, models
from keras_cv_course.detection import boxes as box_lib
from keras_cv_course.detection import heads
from keras_cv_course.detection.yolo import (
    RandomExposureSaturation, YOLOv1Head, head_from_model, yolo_augmentation, yolov1_detector, yolov1_fashion)
from keras_cv_course.training import fit

SIDE = 64


def padded(box_list, class_list, max_boxes=4):
    """One image's boxes padded to ``max_boxes`` (class -1; a padding box that would own a cell)."""
    boxes = np.zeros((1, max_boxes, 4), "float32")
    classes = np.full((1, max_boxes), -1, "int32")
    boxes[0, : len(box_list)] = np.asarray(box_list, "float32").reshape(-1, 4)
    classes[0, : len(class_list)] = class_list
    boxes[0, len(box_list):] = (0, 0, 30, 30)
    return {"boxes": tf.constant(boxes), "classes": tf.constant(classes)}


def encode(head, box_list, class_list):
    images = tf.zeros((1, SIDE, SIDE, 1))
    return head.encode(images, padded(box_list, class_list))[1]["yolo"].numpy()[0]


def test_an_object_belongs_to_the_cell_of_its_centre_with_cell_offsets_and_image_sizes():
    head = YOLOv1Head(5, grid=4)  # 16-pixel cells
    target = encode(head, [(20, 36, 40, 60)], [3])  # centre (30, 48): column 1, row 3
    assert target.shape == (4, 4, 10)
    np.testing.assert_allclose(target[3, 1], [1, 30 / 16 - 1, 48 / 16 - 3, 20 / 64, 24 / 64, 0, 0, 0, 1, 0], rtol=1e-6)
    others = np.ones((4, 4), bool)
    others[3, 1] = False
    assert (target[others] == 0).all()  # the padding box (class -1) owns no cell
    assert (encode(head, [], []) == 0).all()


def test_collisions_keep_the_centre_nearest_the_cells_centre_and_the_first_on_ties():
    head = YOLOv1Head(5, grid=4)
    near, far = (18, 18, 30, 30), (16, 16, 30, 22)  # centres (24, 24) — the cell's own — and (23, 19)
    for order in ([near, far], [far, near]):
        target = encode(head, order, [1, 2] if order[0] == near else [2, 1])
        assert target[1, 1, 0] == 1 and target[1, 1, 5 + 1] == 1 and target[1, 1, 5 + 2] == 0
        np.testing.assert_allclose(target[1, 1, 1:5], [0.5, 0.5, 12 / 64, 12 / 64])
    mirrored = (18, 18, 30, 30), (18, 18, 30, 30)  # the same distance: the first listed wins
    target = encode(head, list(mirrored), [4, 0])
    assert target[1, 1, 5 + 4] == 1 and target[1, 1, 5 + 0] == 0


def test_a_centre_on_the_last_edge_is_in_the_last_cell():
    head = YOLOv1Head(5, grid=4)
    target = encode(head, [(64, 0, 64, 10)], [2])  # centre x = 64 = W: cell index clamped to 3
    assert target[0, 3, 0] == 1 and target[0, 3, 1] == pytest.approx(1.0)


def perfect_outputs(head, target):
    """The outputs a perfect detector gives for ``target``: the object's box in
    predictor 0 (confidence 1) and its class probabilities."""
    out = np.zeros(target.shape[:-1] + (head.depth,), "float32")
    out[..., 0:2] = target[..., 1:3]
    out[..., 2:4] = np.sqrt(target[..., 3:5])
    out[..., 4] = target[..., 0]
    out[..., 5 * head.boxes_per_cell:] = target[..., 5:]
    return out


def test_decoding_perfect_outputs_gives_the_boxes_back():
    head = YOLOv1Head(5, grid=4, score_threshold=0.5)
    truth = np.array([(4, 6, 30, 40), (36, 20, 60, 58)], "float32")
    target = encode(head, truth, [2, 4])
    found = head.decode({"yolo": perfect_outputs(head, target)[None]}, (SIDE, SIDE))
    assert found["boxes"].shape == (1, head.max_detections, 4)
    keep = found["classes"][0] >= 0
    assert sorted(found["classes"][0][keep]) == [2, 4]
    np.testing.assert_allclose(np.sort(found["boxes"][0][keep], axis=0), np.sort(truth, axis=0), atol=1e-4)
    empty = head.decode({"yolo": np.zeros((1, 4, 4, head.depth), "float32")}, (SIDE, SIDE))
    assert (empty["classes"] == -1).all()


def test_class_scores_are_confidence_times_probability_and_nms_is_per_class():
    head = YOLOv1Head(3, grid=2, boxes_per_cell=2, score_threshold=0.05, iou_threshold=0.5)
    out = np.zeros((1, 2, 2, head.depth), "float32")
    box = (0.5, 0.5, 0.5, 0.5)  # a 16-pixel box in the middle of a 32-pixel cell
    out[0, 0, 0, 0:5] = (*box, 0.8)
    out[0, 0, 0, 5:10] = (*box, 0.6)  # the same box again, lower: suppressed
    out[0, 0, 0, 10:] = (0.5, 0.25, 0.0)  # two classes for one box: both kept
    out[0, 1, 1, 0:5] = (0.5, 0.5, -0.5, 0.5, 0.9)  # √w < 0: no box, no detection
    out[0, 1, 1, 10:] = (1.0, 0.0, 0.0)
    found = head.decode(out, (SIDE, SIDE))
    keep = found["classes"][0] >= 0
    np.testing.assert_allclose(found["scores"][0][keep], [0.8 * 0.5, 0.8 * 0.25], rtol=1e-6)
    assert list(found["classes"][0][keep]) == [0, 1]
    np.testing.assert_allclose(found["boxes"][0][keep], [(8, 8, 24, 24)] * 2, atol=1e-5)


def test_head_config_round_trip_and_refusals():
    head = YOLOv1Head(7, grid=5, boxes_per_cell=3, lambda_coord=4.0, score_threshold=0.2)
    rebuilt = heads.get_head(heads.head_config(head))
    assert isinstance(rebuilt, YOLOv1Head) and rebuilt.kind == "yolov1"
    assert rebuilt.get_config() == head.get_config()
    assert head.losses()["yolo"].get_config()["lambda_coord"] == 4.0
    with pytest.raises(ValueError, match="grid must be a positive integer; got 0"):
        YOLOv1Head(grid=0)
    with pytest.raises(ValueError, match="decodes 30 channels per cell; the outputs have 25"):
        YOLOv1Head(20, grid=2).decode(np.zeros((1, 2, 2, 25), "float32"), (SIDE, SIDE))


@pytest.mark.parametrize("backbone, tap, side, grid, boxes, classes", [
    ("resnet18", "P5", 128, 4, 3, 5),  # P5: 4×4×512
    ("fashion_cnn", None, 64, 6, 1, 2),  # the deepest tap, P2 (stride 4)
])
def test_the_head_sits_on_any_backbone_tap_with_general_s_b_c(backbone, tap, side, grid, boxes, classes):
    channels = models.model_info(backbone).input_shape[-1]
    model, head = yolov1_detector(backbone, tap=tap, grid=grid, boxes_per_cell=boxes, classes=classes,
                                  input_shape=(side, side, channels), units=32)
    images = np.random.default_rng(0).random((2, side, side, channels)).astype("float32")
    outputs = model(images, training=False)
    assert list(outputs) == ["yolo"] == list(head.losses())
    assert outputs["yolo"].shape == (2, grid, grid, 5 * boxes + classes)
    assert head_from_model(model).get_config() == head.get_config()
    found = head.decode(outputs, (side, side))
    assert set(found) == {"boxes", "scores", "classes"} and np.all(found["classes"] < classes)


def test_a_built_backbone_keeps_its_input_and_build_options_are_refused():
    backbone = models.get_model("fashion_cnn", include_top=False, input_shape=(48, 48, 1))
    model, head = yolov1_detector(backbone, grid=3, boxes_per_cell=2, classes=4, units=8)
    assert model.input_shape == (None, 48, 48, 1) and model.output_shape == (None, 3, 3, 14)
    with pytest.raises(ValueError, match="input_shape and build options apply to a backbone given by name"):
        yolov1_detector(backbone, input_shape=(64, 64, 1))


def test_head_from_model_refuses_a_model_without_a_yolo_grid():
    with pytest.raises(ValueError, match="'lenet5' has no YOLOGrid output layer named 'yolo'"):
        head_from_model(models.get_model("lenet5"))
    with pytest.raises(ValueError, match="'lenet5' has no feature taps for a YOLO head"):
        yolov1_detector("lenet5")


def test_the_registered_detector_saves_and_loads_with_its_head(tmp_path):
    model, head = yolov1_fashion(4, input_shape=(64, 64, 1), width=4, units=16, grid=4)
    assert models.model_info("yolov1_fashion").task == "detection"
    assert heads.head_for_model(model).get_config() == head.get_config()
    assert (head.grid, head.boxes_per_cell, head.num_classes) == (4, 2, 4)
    model.compile(optimizer="adam", loss=head.losses())
    images = np.random.default_rng(0).random((2, 64, 64, 1)).astype("float32")
    path = tmp_path / "yolo.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded(images)["yolo"], model(images)["yolo"], atol=1e-5)
    assert head_from_model(loaded).get_config() == head.get_config()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("yolo") / "run")
    train = data.load("fashion_scenes", "train", num_scenes=64, source="sample")
    val = data.load("fashion_scenes", "test", num_scenes=32, source="sample")
    return fit("yolov1_fashion", train, val, epochs=1, batch_size=32, learning_rate=1e-3, run_dir=run_dir, verbose=0)


def test_yolov1_fashion_trains_by_name_through_fit_with_its_head(run):
    report = json.load(open(os.path.join(run.run_dir, "report.json")))
    assert report["task"]["head"] == {"kind": "yolov1", **YOLOv1Head(10, grid=8).get_config()}
    assert 0.0 <= run.history[0]["val_map50"] <= 1.0 and np.isfinite(run.history[0]["loss"])
    assert report["evaluation"]["num_images"] == 32


def test_kcc_evaluate_and_predict_read_the_yolo_run(run, check_kcc_reads_run):
    check_kcc_reads_run(run.run_dir)


def test_the_papers_augmentation_moves_the_boxes_with_the_pixels():
    """A bright rectangle painted exactly inside its box still fills its moved box
    after random scaling and translation (and exposure) in the pipeline."""
    image = np.zeros((64, 64, 1), "uint8")
    image[20:40, 16:36] = 200
    ds = tf.data.Dataset.from_tensors((image, {"boxes": np.array([[16, 20, 36, 40]], "float32"),
                                               "classes": np.array([0], "int32")})).repeat(16)
    batches = data.pipeline(ds, batch_size=16, training=True, max_boxes=2, augment=yolo_augmentation(seed=3),
                            preprocess="none")
    images, targets = next(iter(batches))
    images, boxes, classes = images.numpy()[..., 0], targets["boxes"].numpy(), targets["classes"].numpy()
    moved = 0
    for picture, box, label in zip(images, boxes[:, 0], classes[:, 0]):
        assert label == 0
        rows, cols = np.nonzero(picture > 40)
        painted = (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
        np.testing.assert_allclose(painted, box, atol=1.5)
        moved += not np.allclose(box, (16, 20, 36, 40), atol=0.5)
    assert moved >= 12


def test_exposure_and_saturation_scale_by_at_most_their_factor():
    layer = RandomExposureSaturation(1.5, 1.5, seed=1)
    gray = np.full((64, 4, 4, 1), 100.0, "float32")
    scaled = np.asarray(layer(gray))[:, 0, 0, 0] / 100.0
    assert scaled.min() >= 1 / 1.5 - 1e-6 and scaled.max() <= 1.5 + 1e-6
    assert (scaled < 1).sum() > 10 and (scaled > 1).sum() > 10  # u or 1/u with equal chance
    assert np.array_equal(np.asarray(layer(gray, training=False)), gray)
    rgb = np.tile(np.array([200.0, 100.0, 50.0], "float32"), (64, 2, 2, 1))
    out = np.asarray(layer(rgb))
    assert out.min() >= 0 and out.max() <= 255 and not np.allclose(out, rgb)
    assert np.all(np.argmax(out[:, 0, 0], -1) == 0)  # the hue (red the largest) is kept
    with pytest.raises(ValueError, match="exposure must be a factor >= 1 .*; got 0.5"):
        RandomExposureSaturation(0.5)
    assert RandomExposureSaturation.from_config(layer.get_config()).get_config() == layer.get_config()


def test_the_yolo_preset_is_the_papers_augmentation_by_name():
    """``augment="yolo"`` (``kcc train --augment yolo``) builds yolo_augmentation's
    layers with the same seeds, so the pipeline gives the same boxes either way."""
    image = np.zeros((64, 64, 1), "uint8")
    image[20:40, 16:36] = 200
    ds = tf.data.Dataset.from_tensors((image, {"boxes": np.array([[16, 20, 36, 40]], "float32"),
                                               "classes": np.array([0], "int32")})).repeat(8)
    by_name = data.augment.preset("yolo", image_size=(64, 64), seed=3)
    assert [type(layer) for layer in by_name.layers] == [type(layer) for layer in yolo_augmentation(seed=3)]
    assert by_name.input_size == by_name.output_size == (64, 64)
    boxes = [next(iter(data.pipeline(ds, batch_size=8, training=True, max_boxes=2, augment=augment, seed=3,
                                     preprocess="none")))[1]["boxes"].numpy()
             for augment in ("yolo", yolo_augmentation(seed=3))]
    assert not np.allclose(boxes[0][:, 0], (16, 20, 36, 40))
    np.testing.assert_allclose(boxes[0], boxes[1], atol=1e-4)
