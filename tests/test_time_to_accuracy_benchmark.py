"""benchmarks/time_to_accuracy.py's table and target verdicts, on histories made
up here (the benchmark itself trains for many minutes and is not run by tests)."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def bench(load_script):
    return load_script("benchmarks/time_to_accuracy.py")


def history(*points):
    return [{"epoch": i, "train_seconds": t, "val_accuracy": a} for i, (t, a) in enumerate(points)]


def test_time_to_is_the_first_epoch_at_or_above_the_threshold(bench):
    rows = history((20, 0.85), (40, 0.92), (60, 0.915), (80, 0.93))
    assert bench.time_to(rows, 0.92) == 40
    assert bench.time_to(rows, 0.93) == 80
    assert bench.time_to(rows, 0.94) is None


def test_small_target_needs_accuracy_in_time_and_a_small_model(bench):
    results = {
        "fast_small": (history((25, 0.90), (50, 0.921)), 426_410),
        "slow_small": (history((70, 0.925),), 44_426),
        "big": (history((10, 0.95),), 2_000_000),  # too many parameters to count
    }
    lines = bench.target_lines(results)
    assert lines[0].endswith("met by fast_small (50 s)")
    results.pop("fast_small")
    assert "NOT met (slow_small: 70 s)" in bench.target_lines(results)[0]


def test_deep_target_reads_the_deeper_models_final_accuracy(bench):
    results = {bench.DEEP_MODEL: (history((100, 0.945), (200, 0.9395)), 1_701_706)}
    assert "NOT met" in bench.target_lines(results)[1] and "0.9395" in bench.target_lines(results)[1]
    results[bench.DEEP_MODEL] = (history((100, 0.93), (200, 0.9412)), 1_701_706)
    assert bench.target_lines(results)[1].startswith("target >= 94% for the deeper model: met")


def test_time_targets_name_the_first_model_in_time_or_the_closest(bench):
    results = {"a": (history((30, 0.925), (59, 0.931), (400, 0.941)), 1000),
               "b": (history((50, 0.932), (700, 0.945)), 10_000)}
    assert bench.time_target_line(results, 0.93, 60) == "target >= 93% within 60 s, any model: met by b (50 s)"
    assert bench.time_target_line(results, 0.94, 600).endswith("met by a (400 s)")
    assert bench.time_target_line(results, 0.94, 300).endswith("NOT met (soonest: a at 400 s)")
    assert bench.time_target_line(results, 0.95, 3600).endswith("NOT met (never reached; best b at 0.9450)")
    assert len(bench.target_lines(results)) == 1 + len(bench.TIME_TARGETS)


def test_table_has_a_column_per_threshold(bench):
    text = bench.table({"m": (history((10, 0.915), (20, 0.935)), 1000)})
    header, _, row = text.splitlines()
    assert header.split()[:4] == ["model", "params", "epochs", "s/epoch"]
    assert "s to 94%" in header and row.split()[4:8] == ["10", "20", "20", "not"]


def test_benchmark_commands_are_the_ones_the_published_weights_record(bench):
    """weights/manifest.json's command for a model and the benchmark's command
    for it parse to the same ``kcc train`` arguments (spelling may differ: 3e-3
    vs 0.003, an explicit default), so the table reproduces the published weights."""
    import shlex

    from keras_cv_course.cli import build_parser
    from keras_cv_course.models import trained_weights

    parser = build_parser()
    published = {e["model"]: e["command"] for e in trained_weights.read_manifest()["weights"]}
    checked = [name for name in bench.KCC_RUNS if name in published]
    assert "fashion_cnn_wide" in checked and "lenet5" in checked
    for name in checked:
        ours = parser.parse_args(shlex.split(bench.KCC_RUNS[name])[1:])
        theirs = parser.parse_args(shlex.split(published[name])[1:])
        assert vars(ours) == vars(theirs), name


def test_the_plain_script_peer_has_lenet5s_layer_shapes(bench):
    """The plain Keras script trains the same network as kcc's lenet5 (weights
    layer by layer), so the benchmark compares training code, not networks."""
    from keras_cv_course.models import get_model

    plain = [tuple(w.shape) for w in bench.plain_lenet5_model().weights]
    ours = [tuple(w.shape) for w in get_model("lenet5").weights]
    assert plain == ours and sum(int(np.prod(s)) for s in plain) == 44_426
