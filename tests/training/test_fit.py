"""training.fit and kcc train/evaluate/predict on the embedded Fashion-MNIST sample."""

import json
import os

import keras
import numpy as np
import pytest

from keras_cv_course import data
from keras_cv_course.cli import main as kcc
from keras_cv_course.training import fit
from keras_cv_course.training.callbacks import read_history_csv
from keras_cv_course.training.report import write_report

SAMPLE = "fashion_mnist_sample"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("runs") / "lenet5")
    result = fit("lenet5", SAMPLE, epochs=2, batch_size=128, learning_rate=3e-3, schedule="onecycle",
                 run_dir=run_dir, seed=0, verbose=0)
    return result


def test_run_directory_holds_models_history_logs_and_report(run):
    names = set(os.listdir(run.run_dir))
    for expected in ("best.keras", "last.keras", "history.csv", "logs", "report.json", "report.md",
                     "confusion_matrix.png", "learning_curve_loss.png", "learning_curve_accuracy.png"):
        assert expected in names, expected
    assert os.listdir(os.path.join(run.run_dir, "logs", "train"))  # TensorBoard event files
    history = read_history_csv(os.path.join(run.run_dir, "history.csv"))
    assert [row["epoch"] for row in history] == [0, 1]
    assert all("val_accuracy" in row and "train_seconds" in row and "lr" in row for row in history)
    report = json.load(open(os.path.join(run.run_dir, "report.json")))
    evaluation = report["evaluation"]
    assert evaluation["samples"] == 1000
    assert set(evaluation["per_class_accuracy"]) == set(data.info(SAMPLE).class_names)
    assert evaluation["error_rate"] == pytest.approx(1 - evaluation["top1_accuracy"])
    assert evaluation["top5_accuracy"] >= evaluation["top1_accuracy"] > 0.3  # two short epochs learn something
    assert evaluation["top1_accuracy"] == pytest.approx(history[-1]["val_accuracy"], abs=1e-6)  # last model reported
    markdown = open(os.path.join(run.run_dir, "report.md")).read()
    for text in ("top-1 accuracy", "top-5 accuracy", "balanced error rate", "Per-class accuracy", "confusion_matrix.png"):
        assert text in markdown


def test_resume_continues_and_a_second_run_is_refused(run, tmp_path):
    with pytest.raises(ValueError, match="resume=True"):
        fit("lenet5", SAMPLE, epochs=2, run_dir=run.run_dir, verbose=0)
    resumed = fit("lenet5", SAMPLE, epochs=3, batch_size=128, run_dir=run.run_dir, resume=True, seed=0, verbose=0)
    assert [row["epoch"] for row in resumed.history] == [0, 1, 2]
    assert int(resumed.model.optimizer.iterations.numpy()) == 3 * (2000 // 128 + 1)


def test_kcc_evaluate_ten_crop_and_predict(run, tmp_path, capsys):
    assert kcc(["evaluate", run.run_dir, "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert plain["samples"] == 1000
    assert kcc(["evaluate", run.run_dir, "--ten-crop"]) == 0
    out = capsys.readouterr().out
    assert "(ten-crop)" in out and "top-1 accuracy" in out
    from PIL import Image

    images, labels = data.load_arrays(SAMPLE, "test")
    paths = []
    for index in (0, 1):
        path = tmp_path / f"item{index}.png"
        Image.fromarray(images[index][..., 0]).save(path)
        paths.append(str(path))
    assert kcc(["predict", os.path.join(run.run_dir, "best.keras"), *paths, "--top", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    names = data.info(SAMPLE).class_names
    assert all(sum(name in line for name in names) >= 3 - 1 for line in lines)  # class names, not indices


def test_two_class_report_has_roc(tmp_path):
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 2, 200)
    y_prob = np.clip(y_true * 0.6 + rng.random(200) * 0.5, 0, 1)[:, None]
    from keras_cv_course.metrics import classification_summary

    summary = classification_summary(y_true, y_prob, ["cat", "dog"])
    path = write_report(str(tmp_path), summary, [{"epoch": 0, "loss": 0.5, "val_loss": 0.6}], {"model": "m"},
                        y_true=y_true, y_prob=np.concatenate([1 - y_prob, y_prob], axis=1))
    assert os.path.exists(tmp_path / "roc_curve.png")
    assert "ROC AUC" in open(path).read()
    assert 0.9 < summary["roc_auc"] <= 1.0


def test_fit_adapts_a_whitening_stem_to_the_first_training_images_and_counts_the_time(tmp_path):
    from keras_cv_course.blocks import PatchWhitening

    result = fit("fashion_cnn", SAMPLE, epochs=1, batch_size=64, steps_per_epoch=2, run_dir=str(tmp_path / "run"),
                 seed=0, verbose=0)
    images, _ = data.load_arrays(SAMPLE, "train")
    expected = PatchWhitening(3).adapt(images.reshape(-1, 28, 28, 1) / 255.0)  # the sample's 2,000 < 5,000 images
    stem = result.model.get_layer("stem_whiten")
    np.testing.assert_allclose(stem.kernel.numpy(), expected.kernel.numpy(), rtol=1e-4, atol=1e-5)
    config = json.load(open(os.path.join(result.run_dir, "report.json")))["config"]
    assert config["adapted_layers"] == ["stem_whiten"]
    assert 0 < config["adapt_seconds"] < result.history[0]["train_seconds"]


def test_resume_refuses_a_checkpoint_path_outside_the_run_directory(tmp_path):
    """A state.json naming a file outside its run (absolute or ../) is neither loaded nor deleted."""
    run_dir = tmp_path / "run"
    fit("lenet5", SAMPLE, epochs=1, steps_per_epoch=1, run_dir=str(run_dir), verbose=0, evaluate=False)
    outside = tmp_path / "precious.keras"
    outside.write_bytes(b"not yours")
    state_path = run_dir / "state.json"
    state = json.load(open(state_path))
    for escaping in ("../precious.keras", str(outside)):
        state["checkpoint"] = escaping
        state_path.write_text(json.dumps(state))
        with pytest.raises(ValueError, match="outside the run directory"):
            fit("lenet5", SAMPLE, epochs=2, steps_per_epoch=1, run_dir=str(run_dir), resume=True, verbose=0)
    assert outside.read_bytes() == b"not yours"


@pytest.mark.parametrize("option, value", [("epochs", 0), ("epochs", -1), ("batch_size", 0), ("learning_rate", 0.0),
                                           ("learning_rate", float("nan")), ("learning_rate", -1e-3),
                                           ("weight_decay", -1.0), ("validation_split", 1.0)])
def test_fit_refuses_bad_options_naming_them(option, value, tmp_path):
    with pytest.raises(ValueError, match=rf"{option} must be .*got {value!r}"):
        fit("lenet5", SAMPLE, run_dir=str(tmp_path / "run"), verbose=0, **{option: value})
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd", "rmsprop"])
def test_every_optimizer_takes_the_weight_decay_asked_for(name):
    """--weight-decay reaches every optimizer (Adam and RMSprop dropped it); one
    step on a zero gradient shrinks a weight by exactly lr · decay."""
    from keras_cv_course.training.fit import make_optimizer

    optimizer = make_optimizer(name, 0.1, weight_decay=0.01)
    assert optimizer.weight_decay == 0.01
    weight = keras.Variable([1.0])
    optimizer.apply_gradients([(keras.ops.zeros((1,)), weight)])
    np.testing.assert_allclose(np.asarray(weight), [1.0 - 0.1 * 0.01], rtol=1e-6)
    assert make_optimizer(name, 0.1).weight_decay == (1e-4 if name == "adamw" else None)
