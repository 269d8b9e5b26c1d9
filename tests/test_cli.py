"""The kcc command: list, info, summary and its errors."""

import os
import subprocess
import sys

import numpy as np
import pytest

from keras_cv_course import cli


def test_list_prints_every_matching_model_with_its_parameters(capsys):
    assert cli.main(["list", "vgg1*"]) == 0
    out = capsys.readouterr().out
    assert "vgg16 " in out and "138,357,544" in out
    assert "lenet5" not in out


def test_info_shows_registry_facts(capsys):
    assert cli.main(["info", "vgg16"]) == 0
    out = capsys.readouterr().out
    assert "Simonyan & Zisserman" in out
    assert "P3: block4_conv3 (512 channels, stride 8)" in out
    assert "preprocessing:  caffe" in out and "weights:        imagenet" in out
    assert "task:           classification\n" in out


def test_info_shows_a_heads_task_and_backbone(capsys, monkeypatch):
    from keras_cv_course import models
    from keras_cv_course.models import registry

    head = registry.ModelInfo(name="test_fcn", builder=models.VGG16, family="fcn", paper="", input_shape=(64, 64, 3),
                              min_size=32, params=0, preprocessing="caffe", classes=21, task="segmentation", backbone="vgg16")
    monkeypatch.setitem(registry._REGISTRY, "test_fcn", head)
    assert cli.main(["info", "test_fcn"]) == 0
    assert "task:           segmentation (head on backbone vgg16)\n" in capsys.readouterr().out


def test_summary_builds_at_the_requested_shape(capsys):
    assert cli.main(["summary", "lenet5", "--input-shape", "32,32,3", "--classes", "5"]) == 0
    out = capsys.readouterr().out
    assert "(None, 5)" in out and "(None, 32, 32, 3)" in out


def test_unknown_model_is_refused_with_exit_2_and_a_suggestion(capsys):
    assert cli.main(["info", "resnet5O"]) == 2
    assert "Did you mean" in capsys.readouterr().err


def test_bad_input_shape_is_an_argument_error(capsys):
    with pytest.raises(SystemExit):
        cli.main(["summary", "lenet5", "--input-shape", "32,32"])
    assert "expected H,W,C" in capsys.readouterr().err


def test_console_script_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "keras_cv_course.cli", "list", "nin*"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "nin_cifar" in result.stdout


def run_module(*argv):
    """``python -m keras_cv_course ARGV...`` in a fresh interpreter."""
    return subprocess.run([sys.executable, "-m", "keras_cv_course", *argv], capture_output=True, text=True, timeout=300)


def test_python_m_keras_cv_course_is_kcc(capsys):
    result = run_module("list", "vgg1?")
    assert result.returncode == 0, result.stderr
    assert cli.main(["list", "vgg1?"]) == 0
    assert result.stdout == capsys.readouterr().out
    assert "vgg19 " in result.stdout


def in_process_status(argv):
    """``cli.main(argv)``'s exit status, argparse's SystemExit included."""
    try:
        return cli.main(argv)
    except SystemExit as exited:
        return exited.code


@pytest.mark.parametrize("argv, message", [(["frobnicate"], "invalid choice: 'frobnicate'"),
                                           (["info", "vgg61"], "Did you mean")])
def test_python_m_keras_cv_course_fails_with_kccs_status(argv, message, capsys):
    result = run_module(*argv)
    status = in_process_status(argv)
    assert result.returncode == status != 0
    assert message in result.stderr and message in capsys.readouterr().err


def test_kcc_uses_one_inter_op_thread_unless_told_otherwise(monkeypatch):
    from keras_cv_course import cli

    monkeypatch.delenv("TF_NUM_INTEROP_THREADS", raising=False)
    monkeypatch.delenv("TF_CONFIG", raising=False)
    cli.use_one_inter_op_thread()
    assert os.environ["TF_NUM_INTEROP_THREADS"] == "1"
    monkeypatch.setenv("TF_NUM_INTEROP_THREADS", "4")
    cli.use_one_inter_op_thread()
    assert os.environ["TF_NUM_INTEROP_THREADS"] == "4"  # the user's setting wins
    monkeypatch.delenv("TF_NUM_INTEROP_THREADS")
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}}')
    cli.use_one_inter_op_thread()
    assert "TF_NUM_INTEROP_THREADS" not in os.environ  # multi-worker collectives keep the pool


@pytest.mark.parametrize("argv, bad", [
    (["train", "--epochs", "0"], "'0'"), (["train", "--epochs", "-1"], "'-1'"),
    (["train", "--lr", "0"], "'0'"), (["train", "--lr", "-0.1"], "'-0.1'"), (["train", "--lr", "nan"], "'nan'"),
    (["train", "--lr", "inf"], "'inf'"), (["train", "--weight-decay", "-1"], "'-1'"),
    (["train", "--batch-size", "0"], "'0'"), (["train", "--validation-split", "1.5"], "'1.5'"),
    (["summary", "vgg16", "--classes", "0"], "'0'"), (["predict", "lenet5", "x.png", "--top", "-1"], "'-1'"),
    (["visualize", "lenet5", "--steps", "-1"], "'-1'"),
])
def test_bad_numeric_options_are_refused_naming_the_value(argv, bad, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert bad in err and "expected" in err
    assert list(tmp_path.iterdir()) == []  # refused before anything was written


def test_predict_refuses_class_names_of_another_class_count(tmp_path, capsys):
    from PIL import Image

    path = tmp_path / "x.png"
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(path)
    assert cli.main(["predict", "lenet5", str(path), "--dataset", "cifar100"]) == 2
    assert "'cifar100' has 100 classes but the model scores 10" in capsys.readouterr().err


@pytest.mark.parametrize("name, source", [("lenet5", "item"), ("ssd_fashion", "scene")])
def test_predict_with_a_registered_name_speaks_the_weights_dataset_and_task(name, source, tmp_path, capsys):
    """``kcc predict NAME image`` with a model's shipped weights names the classes
    of the dataset they were trained on, and a detector answers with boxes."""
    from PIL import Image

    from keras_cv_course import data

    if source == "item":
        images, labels = data.load_arrays("fashion_mnist_sample", "test")
        image, expected = images[0].reshape(28, 28), data.info("fashion_mnist").class_names[labels[0]]
    else:
        scene, target = next(iter(data.load("fashion_scenes", "test", num_scenes=1, source="sample")))
        image = scene.numpy()[..., 0]
        expected = data.info("fashion_scenes").class_names[int(target["classes"].numpy()[0])]
    path = tmp_path / "x.png"
    Image.fromarray(image).save(path)
    capsys.readouterr()
    assert cli.main(["predict", name, str(path)]) == 0
    answer = capsys.readouterr().out
    assert answer.startswith(f"{path}: ") and expected in answer
    if source == "scene":  # "class score [x1, y1, x2, y2]" per detection above 0.3
        assert answer.count("[") >= 2
