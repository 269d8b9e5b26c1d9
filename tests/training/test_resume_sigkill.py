"""A run killed with SIGKILL mid-training and restarted with --resume ends with the
requested epochs, each exactly once, and the optimizer's step count of an
uninterrupted run."""

import os
import signal
import subprocess
import sys
import time

import keras

from keras_cv_course.training.callbacks import read_history_csv

EPOCHS = 6
STEPS = 2000 // 128 + 1  # the embedded sample, batch 128, last partial batch kept


def _train(run_dir, resume):
    command = [sys.executable, "-m", "keras_cv_course.cli", "train", "lenet5", "--dataset", "fashion_mnist_sample",
               "--epochs", str(EPOCHS), "--batch-size", "128", "--seed", "0", "--run-dir", run_dir, "--quiet"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "-1"}
    return subprocess.Popen(command + (["--resume"] if resume else []), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _completed(run_dir):
    path = os.path.join(run_dir, "history.csv")
    try:
        return len(read_history_csv(path))
    except (FileNotFoundError, ValueError):
        return 0


def test_sigkill_then_resume_loses_and_repeats_no_epoch(tmp_path):
    run_dir = str(tmp_path / "run")
    proc = _train(run_dir, resume=False)
    deadline = time.time() + 240
    try:
        while _completed(run_dir) < 2 and proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        killed_after = _completed(run_dir)
        assert proc.poll() is None, "training ended before it could be killed:\n" + proc.stdout.read()[-2000:]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert 2 <= killed_after < EPOCHS

    resumed = _train(run_dir, resume=True)
    output = resumed.communicate(timeout=300)[0]
    assert resumed.returncode == 0, output[-3000:]
    history = read_history_csv(os.path.join(run_dir, "history.csv"))
    assert [row["epoch"] for row in history] == list(range(EPOCHS))
    assert all(b["train_seconds"] > a["train_seconds"] for a, b in zip(history, history[1:]))
    model = keras.models.load_model(os.path.join(run_dir, "last.keras"))
    assert int(model.optimizer.iterations.numpy()) == EPOCHS * STEPS
    assert os.path.exists(os.path.join(run_dir, "report.md"))
