"""One writer per run directory (training.lock): a second ``kcc train`` or a
``--resume`` while the run trains is refused naming the run directory and the
pid holding it; a lock left by a dead process is taken over, saying so; the
lock is held for the whole of training and released on exceptions."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from keras_cv_course.cli import main as kcc
from keras_cv_course.training import callbacks as cb
from keras_cv_course.training import fit
from keras_cv_course.training.lock import LOCK_FILE, RunDirectoryInUse

SAMPLE = "fashion_mnist_sample"
LOCK_MODULE = os.path.join(os.path.dirname(cb.__file__), "lock.py")
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "-1"}

# Holds the lock of argv[1] until stdin closes; loads lock.py alone (no TensorFlow to import).
HOLDER = f"""
import importlib.util, sys
spec = importlib.util.spec_from_file_location("lock", {LOCK_MODULE!r})
lock = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lock)
held = lock.acquire(sys.argv[1])
print("locked", flush=True)
sys.stdin.read()
held.release()
"""


@pytest.fixture
def holder(tmp_path):
    """A second process holding the lock of a fresh run directory."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(run_dir)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    yield run_dir, proc
    if proc.poll() is None:
        proc.stdin.close()
        proc.wait(timeout=30)


def test_fit_in_a_run_directory_another_process_holds_is_refused_naming_it_and_the_pid(holder):
    run_dir, proc = holder
    with pytest.raises(RunDirectoryInUse, match=rf"{run_dir}.*is in use: process {proc.pid} on host"):
        fit("lenet5", SAMPLE, epochs=1, steps_per_epoch=1, run_dir=str(run_dir), verbose=0)
    assert os.listdir(run_dir) == [LOCK_FILE]  # nothing written beside the holder's lock
    assert json.load(open(run_dir / LOCK_FILE))["pid"] == proc.pid  # and the holder's lock left alone
    proc.stdin.close()
    proc.wait(timeout=30)
    assert os.listdir(run_dir) == []  # released: the file goes with it


def test_kcc_train_in_a_locked_run_directory_exits_2_naming_the_run_dir_and_the_pid(holder, capsys):
    run_dir, proc = holder
    assert kcc(["train", "lenet5", "--dataset", SAMPLE, "--epochs", "1", "--run-dir", str(run_dir), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"run directory '{run_dir}' is in use: process {proc.pid} on host" in err
    assert os.listdir(run_dir) == [LOCK_FILE]


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=60)
    return proc.pid


def test_a_lock_left_by_a_dead_process_is_taken_over_saying_so(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    pid = _dead_pid()
    (run_dir / LOCK_FILE).write_text(json.dumps({"pid": pid, "host": socket.gethostname(), "started": "yesterday"}))
    result = fit("lenet5", SAMPLE, epochs=1, steps_per_epoch=1, run_dir=str(run_dir), verbose=0, evaluate=False)
    assert [row["epoch"] for row in result.history] == [0]
    err = capsys.readouterr().err
    assert f"taking over the lock of '{run_dir}' from process {pid} on host" in err
    assert "is no longer running" in err
    assert not (run_dir / LOCK_FILE).exists()


def test_the_lock_is_held_while_training_and_released_when_training_raises(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    seen = []

    def fail_after_recording_the_lock(self, epoch, logs=None):
        seen.append(json.load(open(run_dir / LOCK_FILE)))
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(cb.EpochTimer, "on_epoch_end", fail_after_recording_the_lock)
    with pytest.raises(RuntimeError, match="disk on fire"):
        fit("lenet5", SAMPLE, epochs=1, steps_per_epoch=1, run_dir=str(run_dir), verbose=0)
    assert seen and seen[0]["pid"] == os.getpid()
    assert not (run_dir / LOCK_FILE).exists()


def _completed(run_dir):
    state = cb.read_state(run_dir)
    return int(state["epoch"]) + 1 if state else 0


def test_a_resume_while_the_run_trains_is_refused_and_after_a_sigkill_it_takes_the_run_over(tmp_path, capsys):
    run_dir = str(tmp_path / "run")
    command = ["train", "lenet5", "--dataset", SAMPLE, "--epochs", "40", "--seed", "0", "--run-dir", run_dir, "--quiet"]
    trainer = subprocess.Popen([sys.executable, "-m", "keras_cv_course", *command], env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 240
        while _completed(run_dir) < 1 and trainer.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        assert trainer.poll() is None, "training ended before the test:\n" + trainer.stdout.read()[-2000:]
        assert kcc([*command, "--resume"]) == 2
        err = capsys.readouterr().err
        assert f"run directory '{run_dir}' is in use: process {trainer.pid} on host" in err
        assert kcc(command) == 2  # a second new run there too
        assert f"process {trainer.pid}" in capsys.readouterr().err
        os.kill(trainer.pid, signal.SIGKILL)
        trainer.wait(timeout=30)
    finally:
        if trainer.poll() is None:
            trainer.kill()
    trained = _completed(run_dir)
    assert json.load(open(os.path.join(run_dir, LOCK_FILE)))["pid"] == trainer.pid  # the dead trainer's lock stays
    assert kcc(["train", "lenet5", "--dataset", SAMPLE, "--epochs", str(trained + 1), "--run-dir", run_dir,
                "--resume", "--quiet"]) == 0
    assert f"from process {trainer.pid} on host" in capsys.readouterr().err
    history = cb.read_history_csv(os.path.join(run_dir, "history.csv"))
    assert [row["epoch"] for row in history] == list(range(trained + 1))
    assert not os.path.exists(os.path.join(run_dir, LOCK_FILE))
