"""A registered FCN trains through ``training.fit`` by its name (the registry's
task: segmentation) on fashion_scenes' semantic masks, writes the segmentation
report (mean IU, pixel accuracy, per-class SA, confusion matrix, overlays), and
``kcc predict`` on the run writes a mask PNG of class ids per image."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from keras_cv_course import data
from keras_cv_course.cli import main as kcc
from keras_cv_course.training import fit


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("fcn") / "run")
    train = data.load("fashion_scenes_masks", "train", num_scenes=64, source="sample")
    val = data.load("fashion_scenes_masks", "test", num_scenes=32, source="sample")
    return fit("fcn8s_fashion", train, val, epochs=1, batch_size=16, learning_rate=3e-3, run_dir=run_dir, verbose=0)


def test_fcn_trains_by_name_and_reports_mean_iu(run):
    assert run.model.name == "fcn8s_fashion" and run.model.output_shape == (None, 128, 128, 11)
    assert {"val_mean_iou", "val_pixel_accuracy", "val_loss"} <= set(run.history[0])
    report = json.load(open(os.path.join(run.run_dir, "report.json")))
    assert report["task"]["name"] == "segmentation" and report["task"]["num_classes"] == 11
    evaluation = report["evaluation"]
    assert 0.0 <= evaluation["mean_iou"] <= 1.0 and 0.0 <= evaluation["pixel_accuracy"] <= 1.0
    assert len(evaluation["per_class_sa"]) == 11
    truth = np.stack([mask for _, mask in data.load("fashion_scenes_masks", "test", num_scenes=32, source="sample")
                      .as_numpy_iterator()])
    assert evaluation["pixels"] == int((truth != 255).sum())  # void pixels are not counted
    markdown = open(os.path.join(run.run_dir, "report.md")).read()
    assert "| mean IU |" in markdown and "| pixel accuracy |" in markdown
    assert {"confusion_matrix.png", "segmentation_examples.png"} <= set(os.listdir(run.run_dir))


def test_kcc_predict_on_the_run_writes_mask_pngs(run, tmp_path, capsys):
    image, _ = next(data.load("fashion_scenes_masks", "test", num_scenes=1, source="sample").as_numpy_iterator())
    path = tmp_path / "scene.png"
    Image.fromarray(image[..., 0]).save(path)
    out = tmp_path / "masks"
    assert kcc(["predict", run.run_dir, str(path), "--out", str(out)]) == 0
    assert os.listdir(out) == ["scene_mask.png"]
    mask = np.asarray(Image.open(out / "scene_mask.png"))
    assert mask.shape == (128, 128) and mask.dtype == np.uint8 and mask.max() < 11
    assert f"{path}: {out / 'scene_mask.png'} (" in capsys.readouterr().out
