"""tutorials/03_training.py runs end to end in --fast mode."""

import os
import pathlib
import subprocess
import sys

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "tutorials" / "03_training.py"


def test_runs_fast(tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run([sys.executable, str(SCRIPT), "--fast", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "dataset: fashion_mnist_sample" in out
    assert "epochs in history: [0, 1]" in out
    assert "trained while fine-tuning: ['fc1', 'fc2', 'predictions']" in out
    assert "VGG16 conv_base at 150x150x3: 14,714,688 parameters, output (4, 4, 512)" in out  # DLwP 5.3's summary
    assert "VGG16 transfer model: 16,812,353 parameters" in out
    # Trainable from block5_conv1 on, by hand: three 3x3 512->512 convs, Dense(256) on the flattened 4*4*512, Dense(1).
    block5 = 3 * (3 * 3 * 512 * 512 + 512)
    head = (4 * 4 * 512 * 256 + 256) + (256 + 1)
    assert f"from block5_conv1 on {block5 + head:,} trainable, {16_812_353 - block5 - head:,} frozen" in out
    assert "replica(s)" in out
    assert (tmp_path / "lenet5" / "report.md").exists()
    assert "adapted: ['stem_whiten']" in out
    moments = [float(v) for v in out.split("second moment of the 9 whitened channels: ")[1].split("\n")[0].split()]
    assert len(moments) == 9 and 0.5 < moments[0] < 1.5  # the strongest direction is whitened to about 1
    assert (tmp_path / "whitening_filters.png").stat().st_size > 1000
