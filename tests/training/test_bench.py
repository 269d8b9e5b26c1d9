"""``kcc bench``: the table's figures are consistent with their definitions
(share of peak = FLOPs per image × images/s / peak; ratios against the float32
row), it draws its PNG, and --write-choices' document gives the ratios that
``precision``'s "auto" reads."""

import json

import pytest

from keras_cv_course.cli import main as kcc
from keras_cv_course.models import get_model
from keras_cv_course.models.complexity import count_flops
from keras_cv_course import bench


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    status = kcc(["bench", "lenet5", "--precision", "float32", "mixed_bfloat16", "--rounds", "1", "--steps", "1",
                  "--batch-size", "4", "--png", str(out / "bench.png"), "--json", str(out / "bench.json")])
    assert status == 0
    return out, json.load(open(out / "bench.json"))


def test_each_configuration_has_its_row_and_the_float32_row_is_the_unit(figures):
    _, result = figures
    by_precision = {row["precision"]: row for row in result["rows"]}
    assert set(by_precision) == {"float32", "mixed_bfloat16"}
    assert by_precision["float32"]["train_ratio"] == 1.0 and by_precision["float32"]["inference_ratio"] == 1.0
    half = by_precision["mixed_bfloat16"]
    assert half["train_ratio"] == pytest.approx(half["train_images_per_s"] / by_precision["float32"]["train_images_per_s"])


def test_share_of_peak_is_flops_times_rate_over_the_peak_of_the_compute_dtype(figures):
    _, result = figures
    flops = count_flops(get_model("lenet5", weights=None)).flops  # 2 × MACs per image
    for row in result["rows"]:
        peak = result["peaks"]["float32" if row["precision"] == "float32" else "bfloat16"]
        assert row["gflops_per_image"] == pytest.approx(flops / 1e9)
        assert row["inference_peak_share"] == pytest.approx(row["inference_images_per_s"] * flops / peak)
        assert row["train_peak_share"] == pytest.approx(3 * row["train_images_per_s"] * flops / peak)
        assert 0 < row["train_peak_share"] < 1


def test_the_chart_is_a_png(figures):
    out, _ = figures
    assert (out / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_choices_are_the_ratios_to_float32_without_xla():
    def row(precision, jit, train, inference):
        return {"model": "resnet50", "precision": precision, "jit_compile": jit, "train_images_per_s": train,
                "inference_images_per_s": inference}

    table = [row("float32", False, 10.0, 40.0), row("float32", True, 8.0, 30.0),
             row("mixed_bfloat16", False, 14.0, 48.0), row("mixed_bfloat16", True, 12.0, 50.0)]
    document = bench.choices(table, "test cpu")
    assert document["models"]["resnet50"] == {
        "family": "resnet",
        "train": {"float32": 1.0, "float32+xla": 0.8, "mixed_bfloat16": 1.4, "mixed_bfloat16+xla": 1.2},
        "inference": {"float32": 1.0, "float32+xla": 0.75, "mixed_bfloat16": 1.2, "mixed_bfloat16+xla": 1.25}}


def test_a_bad_precision_is_refused_by_name(capsys):
    assert kcc(["bench", "lenet5", "--precision", "float8", "--rounds", "1", "--steps", "1", "--png", ""]) == 2
    assert "got 'float8'" in capsys.readouterr().err
