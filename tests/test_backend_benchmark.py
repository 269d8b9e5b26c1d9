"""benchmarks/backend_throughput.py at a tiny size (one job, one round): a row
per Keras backend with its images/s and its ratio to TensorFlow, in the
printed table and in the JSON."""

import pytest
from _benchmarks import run_benchmark

ARGV = ["--jobs", "lenet5_train", "resnet50_inference", "--resnet-size", "32", "--rounds", "1", "--warmup", "0",
        "--steps", "1", "--threads", "1"]


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    return run_benchmark("backend_throughput.py", ARGV, str(tmp_path_factory.mktemp("backend_bench")))


def test_a_row_per_job_and_backend_with_the_ratio_to_tensorflow(bench_run):
    _, report = bench_run
    assert report["command"].startswith("python benchmarks/backend_throughput.py " + " ".join(ARGV))
    rows = {(row["job"], row["backend"]): row for row in report["rows"]}
    assert set(rows) == {(job, backend) for job in ("lenet5_train", "resnet50_inference")
                         for backend in ("tensorflow", "jax", "torch")}
    for (job, backend), row in rows.items():
        if row["status"] == "not installed":
            continue
        assert row["status"] == "ok", row
        assert row["images_per_s"] > 0
        tf_rate = rows[(job, "tensorflow")]["images_per_s"]
        assert row["ratio_to_tensorflow"] == pytest.approx(row["images_per_s"] / tf_rate)
    assert rows[("lenet5_train", "tensorflow")]["batch"] == 128
    assert rows[("resnet50_inference", "tensorflow")]["input"] == [32, 32, 3]
    measured = [row for row in report["rows"] if row["job"] == "lenet5_train" and row["images_per_s"]]
    assert report["fastest"]["lenet5_train"] == max(measured, key=lambda row: row["images_per_s"])["backend"]


def test_the_table_prints_every_row_and_the_fastest_backend(bench_run):
    lines, report = bench_run
    for row in report["rows"]:
        assert any(line.startswith(f"{row['job']:<20} {row['backend']:<11}") for line in lines), row
    assert f"fastest for lenet5_train: {report['fastest']['lenet5_train']}" in lines
