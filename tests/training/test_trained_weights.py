"""weights/manifest.json: the trained LeNet-5 loads through get_model(weights=
"fashion_mnist") with its sha256 checked, and its recorded full-test-set accuracy
holds on the embedded sample (1,000 real test images); a trained detector's
recorded mAP@0.5 and a segmenter's mean IU hold on fashion_scenes made from
those sample items."""

import os
import shutil

import pytest

from keras_cv_course.models import get_model, model_info
from keras_cv_course.models import trained_weights
from keras_cv_course.models._common import WeightsUnavailableError
from keras_cv_course import data
from keras_cv_course.training.export import measure_accuracy, measure_task_metric

ENTRIES = [e for e in trained_weights.read_manifest().get("weights", [])]
CLASSIFIERS = [e for e in ENTRIES if e.get("task", "classification") == "classification"]
DETECTORS = [e for e in ENTRIES if e.get("task") == "detection"]
SEGMENTERS = [e for e in ENTRIES if e.get("task") == "segmentation"]
METRIC = {"classification": "test_accuracy", "detection": "test_map50", "segmentation": "test_mean_iou"}


def test_manifest_entries_are_complete_and_files_match():
    assert {e["model"] for e in ENTRIES} >= {"lenet5"}
    for entry in ENTRIES:
        metric = METRIC[entry.get("task", "classification")]
        for key in ("file", "sha256", "model", "dataset", "preprocessing", metric, "command"):
            assert entry.get(key) not in (None, ""), (entry["model"], key)
        splits = data.info(entry["dataset"]).splits
        assert entry["train_samples"] == splits["train"] and entry["test_samples"] == splits["test"], entry["model"]
        # kcc train, or a benchmark that trains each of its models through training.fit
        assert entry["command"].startswith(("kcc train " + entry["model"], "python benchmarks/")), entry["command"]
        path = os.path.join(trained_weights.weights_dir(), entry["file"])
        assert trained_weights.sha256_of(path) == entry["sha256"]
        assert entry["name"] in model_info(entry["model"]).weights


@pytest.mark.parametrize("entry", CLASSIFIERS, ids=[e["model"] for e in CLASSIFIERS])
def test_recorded_accuracy_holds_on_the_embedded_sample(entry):
    model = get_model(entry["model"], weights=entry["name"])
    accuracy, samples = measure_accuracy(model, "fashion_mnist_sample", "test", entry["preprocessing"])
    assert samples == 1000
    # 1,000 of the 10,000 test images: the standard error of an accuracy near 0.9 is
    # about 0.01, so 3 points either way is a 3-sigma band.
    assert abs(accuracy - entry["test_accuracy"]) < 0.03, (accuracy, entry["test_accuracy"])


@pytest.mark.parametrize("entry", DETECTORS, ids=[e["model"] for e in DETECTORS])
def test_recorded_map_holds_on_scenes_of_the_sample_items(entry):
    """The detector's mAP@0.5 on 300 test scenes pasted from the embedded sample's
    1,000 real test items (other scenes than the full split's, same generator):
    an AP over ~1,000 objects varies by a few points, so 0.06 either way."""
    model = get_model(entry["model"], weights=entry["name"])
    metric, value, images = measure_task_metric(model, {"name": "detection"}, entry["dataset"], "test",
                                                entry["preprocessing"], num_scenes=300, source="sample")
    assert (metric, images) == ("map50", 300)
    assert abs(value - entry["test_map50"]) < 0.06, (value, entry["test_map50"])


@pytest.mark.parametrize("entry", SEGMENTERS, ids=[e["model"] for e in SEGMENTERS])
def test_recorded_mean_iou_holds_on_scenes_of_the_sample_items(entry):
    """The segmenter's mean IU on 300 test scenes pasted from the embedded sample's
    real test items: about 1,000 items and 5 million pixels, so 0.05 either way."""
    model = get_model(entry["model"], weights=entry["name"])
    metric, value, images = measure_task_metric(model, {"name": "segmentation"}, entry["dataset"], "test",
                                                entry["preprocessing"], num_scenes=300, source="sample")
    assert (metric, images) == ("mean_iou", 300)
    assert abs(value - entry["test_mean_iou"]) < 0.05, (value, entry["test_mean_iou"])


def test_hash_mismatch_and_missing_file_are_clear_errors(tmp_path, monkeypatch):
    entry = next(e for e in ENTRIES if e["model"] == "lenet5")
    original = os.path.join(trained_weights.weights_dir(), entry["file"])
    shutil.copy(os.path.join(trained_weights.weights_dir(), trained_weights.MANIFEST), tmp_path)
    monkeypatch.setenv("KCC_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(WeightsUnavailableError, match="KCC_WEIGHTS_DIR"):
        get_model("lenet5", weights="fashion_mnist")
    data = bytearray(open(original, "rb").read())
    data[-1] ^= 0xFF
    (tmp_path / entry["file"]).write_bytes(bytes(data))
    with pytest.raises(trained_weights.WeightHashMismatchError, match="sha256"):
        get_model("lenet5", weights="fashion_mnist")


def test_the_manifest_is_read_when_the_weights_are_looked_up_not_at_import(tmp_path):
    import subprocess
    import sys

    (tmp_path / trained_weights.MANIFEST).write_text("not json")
    script = ("import keras_cv_course, keras_cv_course.models as m\n"
              "assert 'lenet5' in m.list_models()\n"
              "print('imported', flush=True)\n"
              "m.model_info('lenet5').weights['fashion_mnist']\n")
    env = {**os.environ, "KCC_WEIGHTS_DIR": str(tmp_path), "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "-1"}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert proc.stdout.strip() == "imported", proc.stderr[-3000:]
    assert proc.returncode != 0 and "JSONDecodeError" in proc.stderr
