"""One training path for every task: one-hot, binary and multi-label
classification and segmentation train through ``fit`` on real Fashion-MNIST
items and write the same run-directory layout; the course's binary recipe
trains through ``kcc train --dataset <image folder>``; resume refuses another
model, dataset or task and re-plans a longer schedule."""

import json
import os

import keras
import numpy as np
import pytest
from PIL import Image

import task_data
from keras_cv_course import tasks
from keras_cv_course.cli import main as kcc
from keras_cv_course.training import fit
from keras_cv_course.training.callbacks import StepProgress, read_history_csv

COMMON_LAYOUT = {"best.keras", "last.keras", "history.csv", "logs", "report.json", "report.md", "state.json",
                 "checkpoints", "learning_curve_loss.png"}
TASK_FIGURES = {"one_hot": {"confusion_matrix.png", "learning_curve_accuracy.png"},
                "multilabel": {"pr_curves.png", "learning_curve_auc.png"},
                "segmentation": {"confusion_matrix.png", "segmentation_examples.png", "learning_curve_mean_iou.png"}}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("task_runs")
    return {kind: task_data.train(kind, str(root / kind), epochs=3) for kind in ("one_hot", "multilabel", "segmentation")}


def _report(run):
    with open(os.path.join(run.run_dir, "report.json")) as handle:
        return json.load(handle)


def test_every_task_writes_the_same_run_directory_layout(runs):
    for kind, run in runs.items():
        names = set(os.listdir(run.run_dir))
        assert COMMON_LAYOUT | TASK_FIGURES[kind] <= names, (kind, COMMON_LAYOUT | TASK_FIGURES[kind] - names)
        assert [row["epoch"] for row in read_history_csv(os.path.join(run.run_dir, "history.csv"))] == [0, 1, 2]
        assert os.listdir(os.path.join(run.run_dir, "logs", "train"))
        assert keras.saving.load_model(os.path.join(run.run_dir, "best.keras")).output_shape == run.model.output_shape


def test_one_hot_labels_train_as_multiclass(runs):
    report = _report(runs["one_hot"])
    assert report["task"] == {"name": "classification", "kind": "multiclass", "one_hot": True, "from_logits": False,
                              "threshold": 0.5}
    assert isinstance(runs["one_hot"].model.loss, keras.losses.CategoricalCrossentropy)
    evaluation = report["evaluation"]
    assert evaluation["samples"] == 1000 and evaluation["top1_accuracy"] > 0.5
    assert evaluation["top1_accuracy"] == pytest.approx(runs["one_hot"].history[-1]["val_accuracy"], abs=1e-6)


def test_multilabel_reports_average_precision_and_pr_curves(runs, tmp_path, capsys):
    run = runs["multilabel"]
    report = _report(run)
    assert report["task"]["kind"] == "multilabel"
    assert "val_auc" in run.history[-1]
    evaluation = report["evaluation"]
    assert evaluation["samples"] == 1000
    assert 0.5 < evaluation["mean_average_precision"] <= 1.0  # random scores give about 0.19 (1.9 labels of 10)
    assert os.path.exists(os.path.join(run.run_dir, "pr_curves.png"))
    assert "mean average precision" in open(os.path.join(run.run_dir, "report.md")).read()
    images, _ = task_data.pairs("test")
    best = keras.saving.load_model(os.path.join(run.run_dir, "best.keras"))
    scores = np.asarray(best(images[:50] / 255.0))
    index = int(np.argmax(scores.max(axis=1)))
    path = tmp_path / "pair.png"
    Image.fromarray(images[index][..., 0]).save(path)
    assert kcc(["predict", run.run_dir, str(path)]) == 0
    shown = capsys.readouterr().out.split(": ", 1)[1]
    names = task_data.class_names("multilabel")
    expected = {names[i] for i in np.nonzero(scores[index] > 0.5)[0]}
    assert expected and {part.rsplit(" ", 1)[0] for part in shown.strip().split(", ")} == expected


def test_segmentation_reports_mean_iu_and_examples(runs):
    run = runs["segmentation"]
    report = _report(run)
    assert report["task"]["name"] == "segmentation" and report["task"]["num_classes"] == 11
    evaluation = report["evaluation"]
    _, truth = task_data.masks("test")
    assert evaluation["pixels"] == truth.size
    # Background is half the pixels; calling every pixel background would give
    # mean IU about 0.5 / 11 = 0.05. Three epochs learn items and their classes.
    assert evaluation["per_class_iou"]["background"] > 0.7 and evaluation["mean_iou"] > 0.2
    assert evaluation["mean_iou"] == pytest.approx(run.history[-1]["val_mean_iou"], abs=0.02)
    assert os.path.exists(os.path.join(run.run_dir, "segmentation_examples.png"))
    assert "mean IU" in open(os.path.join(run.run_dir, "report.md")).read()


def _save_folder(root, split, images, labels, names):
    for index, (image, label) in enumerate(zip(images, labels)):
        folder = root / split / names[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image[..., 0]).save(folder / f"{index}.png")


@pytest.fixture(scope="module")
def binary_folder(tmp_path_factory):
    """Bag / Trouser PNGs in photos/train/<class> and photos/validation/<class>."""
    root = tmp_path_factory.mktemp("photos")
    names = task_data.class_names("binary")
    for split, source in (("train", "train"), ("validation", "test")):
        images, labels = task_data.binary_arrays(source)
        _save_folder(root, split, images, labels, names)
    return root


def test_course_binary_recipe_trains_through_kcc_on_an_image_folder(binary_folder, tmp_path, capsys):
    model = task_data.model("binary")
    assert model.count_params() == 16 * 4 * 4 * 256 + 256 + 257 + model.layers[1].count_params()
    model_path = str(tmp_path / "course_binary.keras")
    model.save(model_path)
    run_dir = str(tmp_path / "run")
    assert kcc(["train", model_path, "--dataset", str(binary_folder / "train"), "--epochs", "2", "--batch-size", "32",
                "--run-dir", run_dir, "--quiet"]) == 0
    report = _report(type("Run", (), {"run_dir": run_dir}))
    assert report["task"]["kind"] == "binary"
    assert report["config"]["class_names"] == ["Bag", "Trouser"]  # sorted folder names
    assert report["config"]["eval_split"] == "validation"
    assert report["evaluation"]["samples"] == 200
    assert report["evaluation"]["roc_auc"] > 0.95  # Bag vs Trouser is easy
    markdown = open(os.path.join(run_dir, "report.md")).read()
    assert "ROC AUC" in markdown and "roc_curve.png" in markdown
    assert os.path.exists(os.path.join(run_dir, "roc_curve.png"))
    capsys.readouterr()
    assert kcc(["evaluate", run_dir, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["roc_auc"] == pytest.approx(report["evaluation"]["roc_auc"])
    trouser = next((binary_folder / "validation" / "Trouser").iterdir())
    assert kcc(["predict", run_dir, str(trouser)]) == 0
    assert capsys.readouterr().out.split(": ")[1].startswith("Trouser")


def test_image_folder_without_validation_folder_is_split_by_seed(tmp_path):
    images, labels = task_data.binary_arrays("test")
    _save_folder(tmp_path, "photos", images, labels, task_data.class_names("binary"))
    result = fit("lenet5", str(tmp_path / "photos"), task="binary", epochs=1, batch_size=32, run_dir=str(tmp_path / "r"),
                 validation_split=0.25, verbose=0)
    config = _report(result)["config"]
    assert config["train_samples"] == 150 and result.summary["samples"] == 50
    assert "seed 0" in config["data_source"]
    assert result.model.output_shape == (None, 1) and result.model.input_shape == (None, 28, 28, 3)


def test_fine_tuning_a_top_of_other_classes_is_refused_naming_both(binary_folder, tmp_path):
    ten_class = task_data.model("one_hot")
    path = str(tmp_path / "ten.keras")
    ten_class.save(path)
    with pytest.raises(ValueError, match=r"top has 10 output\(s\).*one sigmoid output for its 2 classes"):
        fit("lenet5", str(binary_folder / "train"), task="binary", finetune_from=path, epochs=1,
            run_dir=str(tmp_path / "r"), verbose=0)
    with pytest.raises(ValueError, match=r"top has 10 output\(s\) but the data needs 2 classes"):
        fit(path, str(binary_folder / "train"), epochs=1, run_dir=str(tmp_path / "r2"), verbose=0)


def test_resume_is_refused_for_another_dataset_or_task(tmp_path):
    run_dir = str(tmp_path / "run")
    fit("lenet5", "fashion_mnist_sample", epochs=1, steps_per_epoch=2, run_dir=run_dir, verbose=0, evaluate=False)
    with pytest.raises(ValueError, match=r"dataset 'mnist'.*trained with dataset 'fashion_mnist_sample'"):
        fit("lenet5", "mnist", epochs=2, run_dir=run_dir, resume=True, verbose=0)
    with pytest.raises(ValueError, match=r"task 'binary': it was trained with task 'multiclass'"):
        fit("lenet5", "fashion_mnist_sample", task="binary", epochs=2, run_dir=run_dir, resume=True, verbose=0)
    with pytest.raises(ValueError, match=r"model 'lenet5_classic'.*trained with model 'lenet5'"):
        fit("lenet5_classic", "fashion_mnist_sample", epochs=2, run_dir=run_dir, resume=True, verbose=0)


def test_resume_with_more_epochs_replans_the_one_cycle_schedule(tmp_path, capsys):
    run_dir = str(tmp_path / "run")
    options = dict(schedule="onecycle", learning_rate=3e-3, steps_per_epoch=4, run_dir=run_dir, evaluate=False)
    first = fit("lenet5", "fashion_mnist_sample", epochs=2, verbose=0, **options)
    assert first.history[-1]["lr"] < 1e-6  # a finished one-cycle run sits at its final rate
    resumed = fit("lenet5", "fashion_mnist_sample", epochs=4, resume=True, verbose=1, progress_seconds=0, **options)
    out = capsys.readouterr().out
    assert "re-planning the onecycle schedule over 4 epochs instead of 2" in out
    rows = resumed.history
    assert [row["epoch"] for row in rows] == [0, 1, 2, 3]
    assert int(resumed.model.optimizer.iterations.numpy()) == 16
    from keras_cv_course.training.schedules import make_schedule

    planned = make_schedule("onecycle", 3e-3, epochs=4, steps_per_epoch=4)
    assert rows[2]["lr"] == pytest.approx(float(planned(12)), rel=1e-5)  # the 4-epoch plan's rate after step 12
    assert rows[2]["lr"] > 1e-4
    state = json.load(open(os.path.join(run_dir, "state.json")))
    assert state["config"]["epochs"] == 4 and "extended to 4" in state["config"]["resumed"]


def test_step_progress_prints_inside_the_epoch():
    lines = []
    progress = StepProgress(3, 10, every_steps=4, print_fn=lines.append)
    progress.on_epoch_begin(1)
    for batch in range(10):
        progress.on_train_batch_end(batch, {"loss": 1.0 / (batch + 1)})
    assert [line.split("step ")[1].split()[0] for line in lines] == ["4/10", "8/10"]
    assert lines[0].startswith("  epoch 2/3") and "loss 0.2500" in lines[0]


def test_fit_prints_progress_lines_for_long_epochs(tmp_path, capsys):
    fit("lenet5", "fashion_mnist_sample", epochs=1, steps_per_epoch=6, run_dir=str(tmp_path / "r"), evaluate=False,
        verbose=1, progress_seconds=1e-9)
    out = capsys.readouterr().out
    assert "step 1/6" in out and "step 5/6" in out and "epoch 1/1" in out


def test_task_inference_and_refusals():
    softmax = task_data.model("one_hot")
    assert tasks.resolve_task(None, None, softmax, _spec(())).kind == "multiclass"
    assert tasks.resolve_task(None, None, task_data.model("binary"), _spec(())).kind == "binary"
    assert tasks.resolve_task(None, None, task_data.model("multilabel"), _spec((10,))).kind == "multilabel"
    assert tasks.resolve_task(None, None, task_data.model("segmentation"), _spec((28, 28))).name == "segmentation"
    with pytest.raises(ValueError, match=r"top has 10 output\(s\) but the data needs one sigmoid output"):
        tasks.get_task("binary").bind(softmax)
    with pytest.raises(ValueError, match="vectors of length 7 but the model has 10 outputs"):
        tasks.get_task("classification").bind(softmax, _spec((7,)))
    with pytest.raises(ValueError, match=r"outputs \(batch, H, W, classes\)"):
        tasks.get_task("segmentation").bind(softmax)
    with pytest.raises(ValueError, match="Unknown task 'detect'"):
        tasks.get_task("detect")
    recorded = tasks.get_task("multilabel").bind(task_data.model("multilabel"), _spec((10,)))
    assert tasks.get_task(recorded.get_config()) == recorded


def test_logits_outputs_are_trained_and_evaluated_as_logits():
    logits = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="logits")], name="linear")
    task = tasks.get_task("classification").bind(logits, _spec(()))
    assert task.from_logits and task.compile_kwargs(logits)["loss"].get_config()["from_logits"]
    probs = task.probabilities(np.array([[0.0, 0.0, np.log(2.0)]]))
    np.testing.assert_allclose(probs, [[0.25, 0.25, 0.5]])


def _spec(shape):
    import tensorflow as tf

    return tf.TensorSpec(shape, tf.float32)
