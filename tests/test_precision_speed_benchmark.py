"""benchmarks/precision_speed.py's tables and its accuracy verdict, on figures
made up here (the benchmark itself trains for minutes and is not run by tests)."""

import pytest


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("benchmarks/precision_speed.py")


def run(policy, seed, accuracy, jit=False):
    return {"policy": policy, "seed": seed, "jit_compile": jit, "test_accuracy": accuracy, "train_seconds": 60.0}


def test_the_bf16_difference_is_judged_against_the_float32_spread(script):
    results = [run("float32", 0, 0.9200), run("float32", 1, 0.9250), run("float32", 2, 0.9230),
               run("mixed_bfloat16", 0, 0.9240, jit=True)]
    verdict = script.accuracy_lines(results)[-1]
    assert verdict.startswith("seed 0: bfloat16 - float32 = +0.40 points, within")
    assert "spread of 0.50 points (3 seeds)" in verdict
    results[-1] = run("mixed_bfloat16", 0, 0.9140)  # 0.60 points below: outside a 0.50 spread
    assert "-0.60 points, OUTSIDE" in script.accuracy_lines(results)[-1]
    assert "| mixed_bfloat16 | off | 0 | 0.9140 | 60.0 |" in script.accuracy_lines(results)


def test_the_speed_table_gives_bf16_over_float32_per_mode_and_xla_setting(script):
    row = {"input": "28×28×1", "batch": 256, "float32": {"train": 10.0, "inference": 20.0},
           "mixed_bfloat16": {"train": 5.0, "inference": 30.0}, "float32+xla": {"train": 12.0, "inference": 20.0},
           "mixed_bfloat16+xla": {"train": 15.0, "inference": 10.0}}
    header, _, line = script.format_speeds({"m": row}, [False, True]).splitlines()
    assert header.count("bf16") == 4
    assert line.split(" | ")[3:] == ["10.0", "5.0", "0.50", "12.0", "15.0", "1.25", "20.0", "30.0", "1.50",
                                      "20.0", "10.0", "0.50 |"]


def test_one_seed_gives_no_spread_and_is_refused(script):
    with pytest.raises(SystemExit):
        script.main(["--seeds", "0"])
