"""Shared checks of the detection tests."""

import json

import pytest
from PIL import Image

from keras_cv_course import data
from keras_cv_course.cli import main as kcc


@pytest.fixture
def check_kcc_reads_run(tmp_path, capsys):
    """``check(run_dir)``: ``kcc evaluate RUN --dataset fashion_scenes --json``
    scores the 1,000 test scenes and ``kcc predict RUN scene.png`` answers for
    a real scene, both exiting 0."""

    def check(run_dir):
        capsys.readouterr()
        assert kcc(["evaluate", run_dir, "--dataset", "fashion_scenes", "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["num_images"] == 1000 and 0.0 <= summary["map50"] <= 1.0
        image, _ = next(iter(data.load("fashion_scenes", "test", num_scenes=1, source="sample")))
        path = str(tmp_path / "scene.png")
        Image.fromarray(image.numpy()[..., 0]).save(path)
        assert kcc(["predict", run_dir, path]) == 0
        assert capsys.readouterr().out.startswith(f"{path}: ")

    return check
