"""A run killed with SIGKILL mid-training and restarted with --resume ends with the
requested epochs, each exactly once, and the optimizer's step count of an
uninterrupted run — for ``kcc train`` and for every task through ``fit``
(binary, multi-label, segmentation: tests/training/task_data.py)."""

import os
import signal
import subprocess
import sys
import time

import keras
import pytest

from keras_cv_course.training.callbacks import read_history_csv

EPOCHS = 6
STEPS = 2000 // 128 + 1  # the embedded sample, batch 128, last partial batch kept


TASK_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "task_data.py")
TASK_STEPS = {"binary": -(-400 // 64), "multilabel": -(-2000 // 64), "segmentation": -(-2000 // 64)}


def _kcc_command(run_dir):
    return [sys.executable, "-m", "keras_cv_course.cli", "train", "lenet5", "--dataset", "fashion_mnist_sample",
            "--epochs", str(EPOCHS), "--batch-size", "128", "--seed", "0", "--run-dir", run_dir, "--quiet"]


def _train(run_dir, resume, command=None):
    command = command or _kcc_command(run_dir)
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
    _kill_resume_and_check(str(tmp_path / "run"), None, STEPS)


@pytest.mark.parametrize("kind", sorted(TASK_STEPS))
def test_every_task_survives_sigkill_and_resumes_without_losing_or_repeating_an_epoch(tmp_path, kind):
    run_dir = str(tmp_path / kind)
    _kill_resume_and_check(run_dir, [sys.executable, TASK_SCRIPT, kind, run_dir, str(EPOCHS)], TASK_STEPS[kind])


def _kill_resume_and_check(run_dir, command, steps):
    proc = _train(run_dir, resume=False, command=command)
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

    resumed = _train(run_dir, resume=True, command=command)
    output = resumed.communicate(timeout=300)[0]
    assert resumed.returncode == 0, output[-3000:]
    history = read_history_csv(os.path.join(run_dir, "history.csv"))
    assert [row["epoch"] for row in history] == list(range(EPOCHS))
    assert all(b["train_seconds"] > a["train_seconds"] for a, b in zip(history, history[1:]))
    model = keras.models.load_model(os.path.join(run_dir, "last.keras"))
    assert int(model.optimizer.iterations.numpy()) == EPOCHS * steps
    assert os.path.exists(os.path.join(run_dir, "report.md"))
