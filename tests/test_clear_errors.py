"""Damaged or mistaken inputs to kcc train/evaluate/predict and training.fit get
one clear error naming the file or value (issue 19): truncated model files and
JSON records, run directories that do not exist, fine-tuning from another
architecture or class count, and weight files checked against a sha256. kcc
refuses each with exit status 2 and no traceback."""

import json
import os
import shutil

import pytest

from keras_cv_course import _files, runs
from keras_cv_course.cli import main as kcc
from keras_cv_course.training import fit

SAMPLE = "fashion_mnist_sample"


def status(argv):
    """``kcc argv``'s exit status, argparse's SystemExit included."""
    try:
        return kcc(argv)
    except SystemExit as exited:
        return exited.code


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Model files saved from fresh builds: LeNet-5 (10 and 5 classes), the
    classic LeNet-5, and a truncated copy of the first (its first half)."""
    from keras_cv_course import models

    folder = tmp_path_factory.mktemp("models")
    paths = {}
    for key, name, kwargs in (("lenet5", "lenet5", {}), ("five", "lenet5", {"classes": 5}),
                              ("classic", "lenet5_classic", {})):
        paths[key] = str(folder / f"{key}.keras")
        models.get_model(name, **kwargs).save(paths[key])
    whole = open(paths["lenet5"], "rb").read()
    paths["truncated"] = str(folder / "truncated.keras")
    open(paths["truncated"], "wb").write(whole[: len(whole) // 2])
    return paths


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A finished one-epoch run (state.json, report.json, best/last.keras)."""
    path = str(tmp_path_factory.mktemp("runs") / "lenet5")
    fit("lenet5", SAMPLE, epochs=1, steps_per_epoch=2, run_dir=path, verbose=0)
    return path


@pytest.fixture
def image(tmp_path):
    import numpy as np
    from PIL import Image

    path = str(tmp_path / "item.png")
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(path)
    return path


def assert_names_damage(err, path):
    assert path in err and "truncated or corrupt" in err, err
    assert "not found" not in err.lower() and "Traceback" not in err, err


# ----------------------------------------------------------------------------- 1. truncated .keras files

@pytest.mark.parametrize("command", ["evaluate", "predict", "finetune"])
def test_a_truncated_model_file_is_named_as_damaged_not_missing(command, files, image, tmp_path, capsys):
    argv = {"evaluate": ["evaluate", files["truncated"], "--dataset", SAMPLE],
            "predict": ["predict", files["truncated"], image],
            "finetune": ["train", "lenet5", "--finetune-from", files["truncated"], "--dataset", SAMPLE, "--epochs", "1",
                         "--run-dir", str(tmp_path / "run"), "--quiet"]}[command]
    assert status(argv) == 2
    assert_names_damage(capsys.readouterr().err, files["truncated"])
    assert not (tmp_path / "run" / "best.keras").exists()


def test_fit_on_a_truncated_model_file_names_it(files, tmp_path):
    with pytest.raises(_files.CorruptFileError) as error:
        fit(files["truncated"], SAMPLE, epochs=1, run_dir=str(tmp_path / "run"), verbose=0)
    assert_names_damage(str(error.value), files["truncated"])


def test_a_run_directory_with_a_truncated_best_model_names_that_file(run_dir, tmp_path, capsys):
    damaged = str(tmp_path / "damaged")
    shutil.copytree(run_dir, damaged)
    best = os.path.join(damaged, "best.keras")
    whole = open(best, "rb").read()
    open(best, "wb").write(whole[: len(whole) // 2])
    assert status(["evaluate", damaged]) == 2
    assert_names_damage(capsys.readouterr().err, best)


def test_a_model_file_damaged_inside_is_named(files, tmp_path):
    damaged = bytearray(open(files["lenet5"], "rb").read())
    middle = len(damaged) // 2
    damaged[middle:middle + 2000] = bytes(2000)  # the zip directory is intact, a member is not
    path = str(tmp_path / "damaged.keras")
    open(path, "wb").write(bytes(damaged))
    with pytest.raises(_files.CorruptFileError) as error:
        runs.load_model_file(path)
    assert_names_damage(str(error.value), path)


# ----------------------------------------------------------------------------- 2. truncated JSON records

def truncate(path):
    text = open(path).read()
    open(path, "w").write(text[: len(text) // 2])


def test_a_truncated_state_json_is_named_with_what_to_do(run_dir, tmp_path):
    damaged = str(tmp_path / "damaged")
    shutil.copytree(run_dir, damaged)
    truncate(os.path.join(damaged, "state.json"))
    for resume in (True, False):
        with pytest.raises(_files.CorruptFileError) as error:
            fit("lenet5", SAMPLE, epochs=2, steps_per_epoch=2, run_dir=damaged, resume=resume, verbose=0)
        message = str(error.value)
        assert os.path.join(damaged, "state.json") in message and "truncated or corrupt" in message
        assert "new run directory" in message and "restore" in message


def test_a_truncated_report_json_is_named(run_dir, tmp_path, capsys):
    damaged = str(tmp_path / "damaged")
    shutil.copytree(run_dir, damaged)
    truncate(os.path.join(damaged, "report.json"))
    assert status(["evaluate", damaged]) == 2
    err = capsys.readouterr().err
    assert os.path.join(damaged, "report.json") in err and "truncated or corrupt" in err


# ----------------------------------------------------------------------------- 4. paths that do not exist

@pytest.mark.parametrize("spec", ["runs/nope", "nope.keras", os.path.join("runs", "x", "best.keras")])
def test_a_missing_run_directory_or_file_is_named_without_model_name_suggestions(spec, image, tmp_path, monkeypatch,
                                                                                  capsys):
    monkeypatch.chdir(tmp_path)
    for argv in (["evaluate", spec], ["predict", spec, image]):
        assert status(argv) == 2
        err = capsys.readouterr().err
        assert repr(spec) in err and "does not exist" in err, err
        assert "Unknown model name" not in err and "Did you mean" not in err


def test_a_mistyped_model_name_is_still_offered_suggestions(image, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert status(["predict", "lenet", image]) != 0  # the registry's unknown-name status
    err = capsys.readouterr().err
    assert "Unknown model name 'lenet'" in err and "lenet5" in err
    assert "no file or run directory 'lenet'" in err


# ----------------------------------------------------------------------------- 8. another architecture

def test_fine_tuning_from_another_architecture_is_refused_naming_both(files, tmp_path, capsys):
    run = tmp_path / "run"
    with pytest.raises(ValueError, match=r"'lenet5'.*holds model 'lenet5_classic'"):
        fit("lenet5", SAMPLE, finetune_from=files["classic"], epochs=1, run_dir=str(run), verbose=0)
    assert status(["train", "lenet5", "--finetune-from", files["classic"], "--dataset", SAMPLE, "--epochs", "1",
                   "--run-dir", str(run), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "'lenet5'" in err and "'lenet5_classic'" in err and "kcc train lenet5_classic --finetune-from" in err
    assert not (run / "best.keras").exists()


def test_fine_tuning_with_a_built_model_or_model_file_as_well_is_refused(files, tmp_path):
    from keras_cv_course import models

    for given in (models.get_model("lenet5"), files["lenet5"]):
        with pytest.raises(ValueError, match="registered name"):
            fit(given, SAMPLE, finetune_from=files["lenet5"], epochs=1, run_dir=str(tmp_path / "run"), verbose=0)


def test_kcc_train_without_a_model_fine_tunes_the_architecture_the_file_holds(files, tmp_path):
    run = tmp_path / "run"
    assert status(["train", "--finetune-from", files["classic"], "--dataset", SAMPLE, "--epochs", "1",
                   "--batch-size", "256", "--run-dir", str(run), "--quiet"]) == 0
    config = json.load(open(run / "report.json"))["config"]
    assert config["model"] == "lenet5_classic" and config["input_shape"] == [32, 32, 1]
    assert config["command"].startswith("kcc train lenet5_classic ")


# ----------------------------------------------------------------------------- 9. another class count

def test_fine_tuning_a_five_class_model_on_ten_classes_stops_before_training(files, tmp_path, capsys):
    run = tmp_path / "run"
    assert status(["train", "lenet5", "--finetune-from", files["five"], "--dataset", SAMPLE, "--epochs", "1",
                   "--run-dir", str(run), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "top has 5 output(s)" in err and "needs 10 classes" in err and "surgery.transfer_classifier" in err
    assert not (run / "best.keras").exists() and not (run / "state.json").exists()


# ----------------------------------------------------------------------------- 7. --sha256

def test_sha256_checks_the_model_file_evaluate_and_predict_load(files, image, capsys):
    digest = _files.sha256_of(files["lenet5"])
    wrong = "0" * 64
    for argv in (["evaluate", files["lenet5"], "--dataset", SAMPLE], ["predict", files["lenet5"], image]):
        assert status([*argv, "--sha256", wrong]) == 2
        err = capsys.readouterr().err
        assert files["lenet5"] in err and wrong in err and digest in err
    assert status(["predict", files["lenet5"], image, "--sha256", digest.upper()]) == 0
    assert image in capsys.readouterr().out


def test_sha256_checks_the_finetune_from_file_before_training(files, tmp_path, capsys):
    run = tmp_path / "run"
    wrong = "f" * 64
    assert status(["train", "lenet5", "--finetune-from", files["lenet5"], "--sha256", wrong, "--dataset", SAMPLE,
                   "--epochs", "1", "--run-dir", str(run), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert files["lenet5"] in err and wrong in err and _files.sha256_of(files["lenet5"]) in err
    assert not run.exists()
    assert status(["train", "lenet5", "--sha256", wrong, "--run-dir", str(run), "--quiet"]) == 2
    assert "--sha256" in capsys.readouterr().err and not run.exists()


def test_a_malformed_sha256_is_an_argument_error(files, image, capsys):
    assert status(["predict", files["lenet5"], image, "--sha256", "abc"]) == 2
    err = capsys.readouterr().err
    assert "'abc'" in err and "64 hexadecimal" in err
