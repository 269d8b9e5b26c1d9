"""benchmarks/fcn_fashion_scenes.py at a tiny size: each variant is one
``training.fit`` run, the table's figures are those runs' test evaluations, and
the JSON names the command that reproduces it."""

import json

import pytest


@pytest.fixture(scope="module")
def bench_run(load_script, tmp_path_factory):
    bench = load_script("benchmarks/fcn_fashion_scenes.py")
    out = tmp_path_factory.mktemp("fcn_bench")
    argv = ["--epochs", "1", "--train-scenes", "16", "--test-scenes", "8", "--source", "sample", "--width", "4",
            "--variants", "32s", "8s", "--save-dir", str(out / "runs"), "--json", str(out / "table.json")]
    rows = bench.main(argv)
    return bench, rows, out, argv


def test_each_variant_is_a_run_whose_report_the_table_quotes(bench_run):
    _, rows, out, _ = bench_run
    assert [row["variant"] for row in rows] == ["FCN-32s", "FCN-8s"]
    for row in rows:
        with open(f"{row['run_dir']}/report.json") as handle:
            report = json.load(handle)
        assert report["config"]["model"] == row["model"]
        assert report["config"]["epochs"] == 1 and report["config"]["augment"] is None
        assert row["test_mean_iou"] == round(report["evaluation"]["mean_iou"], 4)
        assert row["test_pixel_accuracy"] == round(report["evaluation"]["pixel_accuracy"], 4)
        assert set(row["per_class_iou"]) == set(report["evaluation"]["class_names"])


def test_the_json_and_the_table_carry_the_reproducing_command(bench_run):
    bench, rows, out, argv = bench_run
    with open(out / "table.json") as handle:
        saved = json.load(handle)
    assert saved["command"].endswith(" ".join(argv)) and saved["rows"] == rows
    lines = bench.table(rows, saved["command"])
    assert lines[0] == f"command: {saved['command']}"
    assert len([line for line in lines if line.startswith("| FCN-")]) == 2
