"""The registered SSD detectors: their heads' default boxes match their maps, and
ssd_fashion trains, evaluates, predicts, saves and loads through the package."""

import json
import os

import keras
import numpy as np
import pytest

from keras_cv_course import data, models
from keras_cv_course.detection import heads
from keras_cv_course.detection.ssd import (
    FASHION_PRIORS, SSD300_VOC, SSDHead, default_boxes, head_from_model, ssd_fashion)
from keras_cv_course.models.ssd import ssd_layout
from keras_cv_course.training import fit


def test_ssd300_trains_with_the_papers_voc_default_boxes():
    with keras.StatelessScope():
        model = models.get_model("ssd300_vgg16")
    head = heads.head_for_model(model)
    assert head.num_classes == 20 and head.num_priors == 8732
    np.testing.assert_array_equal(head.priors, default_boxes(**SSD300_VOC))


def test_ssdlite_gets_eq4_scales_with_two_and_three_ratios_on_its_six_maps():
    with keras.StatelessScope():
        model = models.get_model("ssdlite_mobilenetv2")
    head = heads.head_for_model(model)
    assert head.feature_sizes == ((20, 20), (10, 10), (5, 5), (3, 3), (2, 2), (1, 1))
    assert head.boxes_per_location == (6,) * 6 and head.num_priors == model.output["boxes"].shape[1] == 3234
    # eq. 4 from s_min 0.2 to s_max 0.95 of the 320 px side: 64, 112, 160, 208, 256, 304 px
    np.testing.assert_allclose(head.prior_config["min_sizes"], [64, 112, 160, 208, 256, 304], atol=1e-3)


def test_ssd_fashion_priors_cover_the_scenes_items_on_its_three_maps():
    model, head = ssd_fashion()
    assert model.count_params() == models.model_info("ssd_fashion").params
    assert ssd_layout(model).feature_sizes == head.feature_sizes == ((16, 16), (8, 8), (4, 4))
    assert head.boxes_per_location == (4, 6, 4) and head.num_priors == 16 * 16 * 4 + 8 * 8 * 6 + 4 * 4 * 4
    # eq. 4, s = 0.15, 0.30, 0.45 of 128 px; the last map's extra box uses s_4 = 0.60
    np.testing.assert_allclose(head.prior_config["min_sizes"], [19.2, 38.4, 57.6], atol=1e-4)
    np.testing.assert_allclose(head.prior_config["max_sizes"], [38.4, 57.6, 76.8], atol=1e-4)
    assert heads.head_for_model(model).get_config() == head.get_config()
    assert head_from_model(model, **FASHION_PRIORS).get_config() == head.get_config()


def test_a_head_whose_ratios_disagree_with_the_model_is_refused():
    model, _ = ssd_fashion()
    with pytest.raises(ValueError, match=r"predicts \(4, 6, 4\) boxes per location; aspect_ratios .* give \(4, 4, 4\)"):
        head_from_model(model, aspect_ratios=((2,), (2,), (2,)))


def test_ssd_fashion_saves_and_loads_with_its_head(tmp_path):
    model, head = ssd_fashion(3, width=4)
    images = np.random.default_rng(0).random((2, 128, 128, 1)).astype("float32")
    path = tmp_path / "ssd.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    for key in ("boxes", "classes"):
        np.testing.assert_allclose(loaded(images)[key], model(images)[key], atol=1e-5)
    assert heads.head_for_model(loaded).get_config() == head.get_config()
    assert isinstance(heads.get_head(heads.head_config(head)), SSDHead)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("ssd") / "run")
    train = data.load("fashion_scenes", "train", num_scenes=64, source="sample")
    val = data.load("fashion_scenes", "test", num_scenes=32, source="sample")
    return fit("ssd_fashion", train, val, epochs=1, batch_size=32, learning_rate=1e-3, run_dir=run_dir, verbose=0,
               augment="yolo")


def test_ssd_fashion_trains_by_name_through_fit_with_its_head(run):
    report = json.load(open(os.path.join(run.run_dir, "report.json")))
    _, head = ssd_fashion()
    assert report["task"]["head"] == {"kind": "ssd", **head.get_config()}
    assert 0.0 <= run.history[0]["val_map50"] <= 1.0
    assert all(np.isfinite(run.history[0][key]) for key in ("loss", "boxes_loss", "classes_loss"))
    assert report["evaluation"]["num_images"] == 32


def test_kcc_evaluate_and_predict_read_the_ssd_run(run, check_kcc_reads_run):
    check_kcc_reads_run(run.run_dir)
