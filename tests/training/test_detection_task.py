"""DetectionTask: a detector trains, validates (val_map50 each epoch), resumes and
reports through ``training.fit`` on real fashion_scenes, with the run directory
every task writes. The head here is the simplest one the protocol admits — the
cell holding a box's centre predicts its class and its box — so the test checks
the training path, not a detector's quality."""

import json
import os

import keras
import pytest
import tensorflow as tf
from keras import layers, ops

from keras_cv_course import data
from keras_cv_course.cli import main as kcc
from keras_cv_course.detection import boxes as box_ops
from keras_cv_course.detection import heads
from keras_cv_course.tasks import DetectionTask, get_task
from keras_cv_course.training import fit

SIDE, STRIDE, CLASSES = 128, 16, 10
GRID = SIDE // STRIDE


@keras.saving.register_keras_serializable(package="keras_cv_course_tests")
class MaskedBoxLoss(keras.losses.Loss):
    """Mean squared box error over the cells whose 5th target channel is 1."""

    def call(self, y_true, y_pred):
        weight = y_true[..., 4:5]
        return ops.sum(weight * ops.square(y_true[..., :4] - y_pred)) / ops.maximum(ops.sum(weight), 1.0)


@heads.register_head("test_center_cell")
class CenterCellHead(heads.DetectionHead):
    def __init__(self, num_classes=CLASSES):
        self.num_classes = num_classes

    def losses(self):
        return {"classes": keras.losses.SparseCategoricalCrossentropy(), "boxes": MaskedBoxLoss()}

    def encode(self, images, targets):
        boxes, classes = targets["boxes"], targets["classes"]
        valid = classes >= 0
        center = (boxes[..., :2] + boxes[..., 2:]) / 2.0
        cell = tf.clip_by_value(tf.cast(center // STRIDE, tf.int32), 0, GRID - 1)  # (B, M, 2) as (x, y)
        batch = tf.broadcast_to(tf.range(tf.shape(boxes)[0])[:, None], tf.shape(classes))
        index = tf.boolean_mask(tf.stack([batch, cell[..., 1], cell[..., 0]], axis=-1), valid)
        shape = tf.stack([tf.shape(boxes)[0], GRID, GRID])
        class_map = tf.tensor_scatter_nd_update(tf.zeros(shape, tf.int32), index, tf.boolean_mask(classes, valid) + 1)
        box_values = tf.concat([tf.boolean_mask(boxes, valid) / SIDE, tf.ones_like(index[:, :1], tf.float32)], -1)
        box_map = tf.tensor_scatter_nd_update(tf.zeros(tf.concat([shape, [5]], 0)), index, box_values)
        return images, {"classes": class_map, "boxes": box_map}

    def decode(self, outputs, image_shape):
        scores = tf.reshape(outputs["classes"][..., 1:], (-1, GRID * GRID, self.num_classes))
        found = tf.reshape(outputs["boxes"], (-1, GRID * GRID, 4)) * SIDE
        return box_ops.nms(found, scores, iou_threshold=0.5, score_threshold=0.05, max_detections=20)

    def get_config(self):
        return {"num_classes": self.num_classes}


def detector():
    inputs = keras.Input((SIDE, SIDE, 1), name="input_layer")
    x = inputs
    for index, width in enumerate((16, 32, 64, 64), start=1):
        x = layers.Conv2D(width, 3, strides=2, padding="same", activation="relu", name=f"conv{index}")(x)
    outputs = {"classes": layers.Conv2D(CLASSES + 1, 1, activation="softmax", name="classes")(x),
               "boxes": layers.Conv2D(4, 1, name="boxes")(x)}
    return keras.Model(inputs, outputs, name="center_cell_detector")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("detection") / "run")
    train = data.load("fashion_scenes", "train", num_scenes=256, source="sample")
    val = data.load("fashion_scenes", "test", num_scenes=64, source="sample")
    return fit(detector(), train, val, task=DetectionTask(head=CenterCellHead()), epochs=2, batch_size=32,
               learning_rate=3e-3, schedule="onecycle", run_dir=run_dir, verbose=0)


def test_a_detector_trains_with_val_map50_and_writes_the_common_layout(run):
    names = set(os.listdir(run.run_dir))
    assert {"best.keras", "last.keras", "history.csv", "logs", "report.json", "report.md", "state.json",
            "checkpoints", "learning_curve_loss.png", "pr_curves.png", "detection_examples.png"} <= names
    assert [row["epoch"] for row in run.history] == [0, 1]
    assert all(0.0 <= row["val_map50"] <= 1.0 for row in run.history)
    report = json.load(open(os.path.join(run.run_dir, "report.json")))
    assert report["task"] == {"name": "detection", "head": {"kind": "test_center_cell", "num_classes": 10},
                              "num_classes": 10, "protocol": "voc2010"}
    assert report["evaluation"]["num_images"] == 64 and 0.0 <= report["evaluation"]["map50"] <= 1.0
    markdown = open(os.path.join(run.run_dir, "report.md")).read()
    assert "| map50 |" in markdown and "pr_curves.png" in markdown and "detection_examples.png" in markdown


def test_the_recorded_task_rebuilds_its_head_and_the_run_resumes(run, capsys):
    task = get_task(json.load(open(os.path.join(run.run_dir, "state.json")))["config"]["task"])
    assert isinstance(task.bind(run.model).head, CenterCellHead)
    resumed = fit(detector(), data.load("fashion_scenes", "train", num_scenes=256, source="sample"),
                  data.load("fashion_scenes", "test", num_scenes=64, source="sample"),
                  task=DetectionTask(head=CenterCellHead()), epochs=3, batch_size=32, learning_rate=3e-3,
                  schedule="onecycle", run_dir=run.run_dir, resume=True, verbose=0, evaluate=False)
    assert [row["epoch"] for row in resumed.history] == [0, 1, 2]


def test_a_detector_without_a_known_head_is_refused():
    with pytest.raises(ValueError, match="No detection head is known for 'center_cell_detector'"):
        DetectionTask().bind(detector())
    with pytest.raises(ValueError, match=r"losses \['boxes'\] name no output"):
        inputs = keras.Input((SIDE, SIDE, 1))
        only_classes = keras.Model(inputs, {"classes": layers.Conv2D(11, 1, name="classes")(inputs)}, name="m")
        DetectionTask(head=CenterCellHead()).bind(only_classes)
