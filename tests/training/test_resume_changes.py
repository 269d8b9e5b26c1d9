"""``resume`` with other options than the run recorded: learning rate, schedule,
batch size, epochs and augmentation apply from the next epoch and are listed in
the report; optimizer and weight decay are refused; options left unset keep the
recorded values (``fit`` and ``kcc train --resume``); nothing is silently ignored."""

import json
import os

import keras
import pytest

from keras_cv_course.cli import main as kcc
from keras_cv_course.training import fit
from keras_cv_course.training.schedules import Shifted, make_schedule

SAMPLE = "fashion_mnist_sample"
STEPS = 2000 // 128 + 1  # the embedded sample at batch 128, last partial batch kept


def _report(run_dir):
    return json.load(open(os.path.join(run_dir, "report.json")))


def _markdown(run_dir):
    return open(os.path.join(run_dir, "report.md")).read()


@pytest.fixture
def two_epochs(tmp_path):
    """A constant-rate run of two 2-step epochs."""
    run_dir = str(tmp_path / "run")
    fit("lenet5", SAMPLE, epochs=2, steps_per_epoch=2, learning_rate=3e-3, schedule="constant", run_dir=run_dir,
        verbose=0, evaluate=False)
    return run_dir


def test_a_new_learning_rate_and_augmentation_apply_and_are_listed_in_the_report(two_epochs, capsys):
    resumed = fit("lenet5", SAMPLE, epochs=3, steps_per_epoch=2, learning_rate=1e-3, augment="fashion",
                  run_dir=two_epochs, resume=True, verbose=1, progress_seconds=0)
    assert [row["epoch"] for row in resumed.history] == [0, 1, 2]
    assert resumed.history[1]["lr"] == pytest.approx(3e-3)
    assert resumed.history[2]["lr"] == pytest.approx(1e-3)  # applied from the next epoch
    config = _report(two_epochs)["config"]
    assert config["learning_rate"] == 1e-3 and config["augment"] == "fashion" and config["epochs"] == 3
    assert config["changed_on_resume"] == ["epochs 2 -> 3 (from epoch 3)", "learning_rate 0.003 -> 0.001 (from epoch 3)",
                                           "augment none -> fashion (from epoch 3)"]
    assert "| changed_on_resume | epochs 2 -> 3 (from epoch 3), learning_rate 0.003 -> 0.001" in _markdown(two_epochs)
    assert "changed on resume: epochs 2 -> 3" in capsys.readouterr().out


def test_options_left_unset_keep_the_recorded_values(two_epochs):
    resumed = fit("lenet5", SAMPLE, epochs=3, steps_per_epoch=2, run_dir=two_epochs, resume=True, verbose=0)
    assert resumed.history[2]["lr"] == pytest.approx(3e-3)
    config = _report(two_epochs)["config"]
    assert config["learning_rate"] == 3e-3 and config["schedule"] == "constant" and config["batch_size"] == 128
    assert config["changed_on_resume"] == ["epochs 2 -> 3 (from epoch 3)"]


@pytest.mark.parametrize("option, value, message", [
    ("optimizer", "sgd", r"optimizer 'sgd': it was trained with optimizer 'adam' \(its state, restored from the "
                         r"checkpoint, belongs to that optimizer\)"),
    ("weight_decay", 0.01, r"weight_decay 0.01: it was trained with weight_decay None"),
])
def test_another_optimizer_or_weight_decay_is_refused_naming_both(two_epochs, option, value, message):
    before = os.path.getmtime(os.path.join(two_epochs, "state.json"))
    with pytest.raises(ValueError, match=rf"Cannot resume this run with {message}"):
        fit("lenet5", SAMPLE, epochs=3, steps_per_epoch=2, run_dir=two_epochs, resume=True, verbose=0,
            **{option: value})
    assert os.path.getmtime(os.path.join(two_epochs, "state.json")) == before


def test_fewer_epochs_than_trained_or_changes_no_epoch_would_train_with_are_refused(two_epochs):
    with pytest.raises(ValueError, match="with epochs 1: it has already trained 2 epochs. Pass epochs >= 2"):
        fit("lenet5", SAMPLE, epochs=1, run_dir=two_epochs, resume=True, verbose=0)
    with pytest.raises(ValueError, match=r"with learning_rate 0.01: it has trained all its 2 epochs, so no epoch "
                                         r"would train with it"):
        fit("lenet5", SAMPLE, learning_rate=0.01, run_dir=two_epochs, resume=True, verbose=0)


def test_a_new_batch_size_replans_the_schedule_at_the_new_steps_per_epoch(tmp_path):
    run_dir = str(tmp_path / "run")
    fit("lenet5", SAMPLE, epochs=2, batch_size=128, learning_rate=3e-3, schedule="onecycle", run_dir=run_dir,
        verbose=0, evaluate=False)
    resumed = fit("lenet5", SAMPLE, epochs=4, batch_size=256, run_dir=run_dir, resume=True, verbose=0, evaluate=False)
    half = 2000 // 256 + 1
    assert int(resumed.model.optimizer.iterations.numpy()) == 2 * STEPS + 2 * half  # the step count runs on
    planned = make_schedule("onecycle", 3e-3, epochs=4, steps_per_epoch=half)
    assert resumed.history[2]["lr"] == pytest.approx(float(planned(3 * half)), rel=1e-5)  # the end of epoch 3 on it
    assert resumed.history[3]["lr"] == pytest.approx(float(planned(4 * half)), rel=1e-5)
    state = json.load(open(os.path.join(run_dir, "state.json")))
    assert state["config"]["global_batch_size"] == 256 and state["config"]["steps_per_epoch"] == half
    assert "batch_size 128 -> 256 (from epoch 3)" in state["config"]["changed_on_resume"]
    reloaded = keras.models.load_model(os.path.join(run_dir, "last.keras"))  # the shifted schedule is saved
    assert isinstance(reloaded.optimizer._learning_rate, Shifted)
    assert float(reloaded.optimizer.learning_rate) == pytest.approx(resumed.history[3]["lr"], rel=1e-5)


def test_a_scheduled_run_resumed_at_a_constant_rate_trains_at_that_rate(tmp_path):
    run_dir = str(tmp_path / "run")
    fit("lenet5", SAMPLE, epochs=1, steps_per_epoch=2, learning_rate=3e-3, schedule="onecycle", run_dir=run_dir,
        verbose=0, evaluate=False)
    resumed = fit("lenet5", SAMPLE, epochs=2, steps_per_epoch=2, learning_rate=5e-4, schedule="constant",
                  run_dir=run_dir, resume=True, verbose=0, evaluate=False)
    assert resumed.history[1]["lr"] == pytest.approx(5e-4)
    reloaded = keras.models.load_model(os.path.join(run_dir, "last.keras"))
    assert float(reloaded.optimizer.learning_rate) == pytest.approx(5e-4)


def test_kcc_train_resume_without_options_keeps_the_recorded_ones_and_the_starting_command(tmp_path, capsys):
    run_dir = str(tmp_path / "run")
    start = ["train", "lenet5", "--dataset", SAMPLE, "--epochs", "1", "--lr", "0.01", "--schedule", "constant",
             "--batch-size", "256", "--run-dir", run_dir, "--quiet"]
    assert kcc(start) == 0
    assert kcc(["train", "lenet5", "--dataset", SAMPLE, "--epochs", "2", "--run-dir", run_dir, "--resume",
                "--quiet"]) == 0
    report = _report(run_dir)
    config = report["config"]
    assert [row["lr"] for row in report["history"]] == pytest.approx([0.01, 0.01])
    assert (config["learning_rate"], config["schedule"], config["batch_size"]) == (0.01, "constant", 256)
    assert config["changed_on_resume"] == ["epochs 1 -> 2 (from epoch 2)"]
    assert "--lr 0.01 --optimizer adam --schedule constant" in config["command"]  # the command that started it
    assert "--batch-size 256" in config["command"] and "--resume" not in config["command"]
