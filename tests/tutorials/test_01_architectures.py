"""tutorials/01_architectures.py runs end to end in --fast mode and writes its
table and chart."""

import os
import pathlib
import subprocess
import sys

import pytest

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "tutorials" / "01_architectures.py"


def test_runs_fast_and_writes_table_and_chart(tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--fast", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    table = (tmp_path / "complexity_table.txt").read_text()
    from keras_cv_course import models

    for name in models.list_models():
        assert name in table
    mobilenet_row = next(line for line in table.splitlines() if line.startswith("mobilenet "))
    assert float(mobilenet_row.split()[-1]) == pytest.approx(1.137, rel=0.01)  # 569M MACs x 2
    png = (tmp_path / "params_vs_flops.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    assert "69,632 weights" in result.stdout and "1,179,648 weights" in result.stdout
    assert (tmp_path / "complexity_table.csv").read_text().startswith("model,family,input,params,gflops")
