"""benchmarks/torchvision_throughput.py at a tiny size (one pair, 64×64, batch 2,
one round): a row per Keras backend, each with Keras's and torch's images/s and
their ratio, in the printed table and in the JSON."""

import importlib.util

import pytest
from _benchmarks import run_benchmark

pytest.importorskip("torch")
pytest.importorskip("torchvision")

ARGV = ["--models", "resnet50", "--image-size", "64", "--batch-size", "2", "--rounds", "1", "--warmup", "0",
        "--steps", "1", "--threads", "1"]


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    return run_benchmark("torchvision_throughput.py", ARGV, str(tmp_path_factory.mktemp("torchvision_bench")))


def test_the_json_has_a_row_per_backend_with_the_ratios(bench_run):
    _, report = bench_run
    assert report["command"].startswith("python benchmarks/torchvision_throughput.py " + " ".join(ARGV))
    (pair,) = report["pairs"]
    assert pair["pair"] == "resnet50"
    assert pair["sides"]["keras_tensorflow"]["name"] == "resnet50_torchvision"
    assert pair["sides"]["keras_tensorflow"]["trainable_params"] == pair["sides"]["torch"]["trainable_params"]
    rows = {row["backend"]: row for row in pair["rows"]}
    assert set(rows) == {"tensorflow", "jax"}
    tf_row = rows["tensorflow"]
    assert tf_row["status"] == tf_row["torch_status"] == "ok"
    for mode in ("inference", "train"):
        figures = tf_row[mode]
        assert figures["keras"] > 0 and figures["torch"] > 0
        assert figures["keras_over_torch"] == pytest.approx(figures["keras"] / figures["torch"])
        assert len(figures["keras_rounds"]) == len(figures["torch_rounds"]) == 1
    if importlib.util.find_spec("jax") is None:
        assert rows["jax"]["status"] == "not installed"


def test_the_table_prints_the_threads_and_a_row_per_backend(bench_run):
    lines, report = bench_run
    assert lines[0] == f"command: {report['command']}"
    threads = next(line for line in lines if line.startswith("threads: "))
    assert "intra-op 1, inter-op 1" in threads and "set_num_threads 1, interop 1" in threads
    rows = [line for line in lines if line.startswith("| resnet50 |")]
    assert len(rows) == 2
    tf_cells = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert tf_cells[:3] == ["resnet50", "resnet50_torchvision", "tensorflow"]
    figures = report["pairs"][0]["rows"][0]
    assert tf_cells[5] == f"{figures['inference']['keras_over_torch']:.3f}"
    assert tf_cells[8] == f"{figures['train']['keras_over_torch']:.3f}"
    if importlib.util.find_spec("jax") is None:
        assert "| jax | not installed |" in rows[1]
