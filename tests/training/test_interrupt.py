"""Interrupted training: Ctrl-C (SIGINT) ends ``kcc train`` with one line saying
how to resume and exit status 130, the lock released and the committed epochs
kept; a kill right after the last epoch's commit is finished by ``--resume``
(last.keras/best.keras as the state names them, the report written, nothing
trained again)."""

import filecmp
import json
import os
import shlex
import signal
import subprocess
import sys
import time

import keras
import pytest

from keras_cv_course.cli import main as kcc
from keras_cv_course.training import callbacks as cb
from keras_cv_course.training import fit
from keras_cv_course.training.fit import TrainingInterrupted
from keras_cv_course.training.lock import LOCK_FILE

SAMPLE = "fashion_mnist_sample"
STEPS = 2000 // 128 + 1
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "-1"}

# `kcc ARGV` whose process dies (os._exit, nothing cleaned up) right after committing epoch 1's state.json.
DIE_AFTER_COMMIT = """
import json, os, sys
from keras_cv_course import cli
from keras_cv_course.training import callbacks

commit = callbacks.atomic_write_text

def commit_then_die(path, text):
    commit(path, text)
    if os.path.basename(path) == "state.json" and json.loads(text)["epoch"] == 1:
        os._exit(9)

callbacks.atomic_write_text = commit_then_die
sys.exit(cli.main(sys.argv[1:]))
"""


def sigint_default():
    """In the child before it runs: Ctrl-C's default action, as in a terminal. A test
    started in the background by a non-interactive shell inherits SIGINT ignored
    (POSIX), and Python then leaves it ignored: the signal would do nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _completed(run_dir):
    state = cb.read_state(run_dir)
    return int(state["epoch"]) + 1 if state else 0


def test_resume_after_a_kill_right_after_the_last_commit_finishes_the_run_without_training(tmp_path, capsys):
    run_dir = str(tmp_path / "run")
    train = ["train", "lenet5", "--dataset", SAMPLE, "--epochs", "2", "--seed", "0", "--run-dir", run_dir, "--quiet"]
    killed = subprocess.Popen([sys.executable, "-c", DIE_AFTER_COMMIT, *train], env=ENV, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    _, err = killed.communicate(timeout=300)
    assert killed.returncode == 9, err[-3000:]
    state = cb.read_state(run_dir)
    committed = os.path.join(run_dir, state["checkpoint"])
    assert state["epoch"] == 1 and state["best_epoch"] == 1  # the last epoch was the best
    assert not filecmp.cmp(committed, os.path.join(run_dir, "last.keras"), shallow=False)  # one epoch old
    assert not os.path.exists(os.path.join(run_dir, "report.json"))

    assert kcc(["train", "lenet5", "--dataset", SAMPLE, "--run-dir", run_dir, "--resume"]) == 0
    captured = capsys.readouterr()
    assert "all 2 epochs trained: finishing the run" in captured.out
    assert f"taking over the lock of '{run_dir}' from process {killed.pid} on host" in captured.err
    for name in ("last.keras", "best.keras"):
        assert filecmp.cmp(committed, os.path.join(run_dir, name), shallow=False), name
    assert os.listdir(os.path.join(run_dir, "checkpoints")) == [os.path.basename(committed)]
    assert cb.read_state(run_dir)["history"] == state["history"]  # nothing trained again
    assert int(keras.models.load_model(committed).optimizer.iterations.numpy()) == 2 * STEPS
    assert [row["epoch"] for row in cb.read_history_csv(os.path.join(run_dir, "history.csv"))] == [0, 1]
    report = json.load(open(os.path.join(run_dir, "report.json")))
    assert kcc(["evaluate", run_dir, "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert report["evaluation"]["top1_accuracy"] == pytest.approx(evaluated["top1_accuracy"], abs=1e-9)
    assert report["evaluation"]["top1_accuracy"] == pytest.approx(state["history"][-1]["val_accuracy"], abs=1e-6)
    assert not os.path.exists(os.path.join(run_dir, LOCK_FILE))


def test_ctrl_c_in_fit_raises_training_interrupted_keeping_the_committed_epochs(tmp_path, monkeypatch):
    run_dir = str(tmp_path / "run")
    on_epoch_end = cb.RunCheckpoint.on_epoch_end

    def commit_then_ctrl_c(self, epoch, logs=None):
        on_epoch_end(self, epoch, logs)
        if epoch == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(cb.RunCheckpoint, "on_epoch_end", commit_then_ctrl_c)
    with pytest.raises(TrainingInterrupted) as interrupted:
        fit("lenet5", SAMPLE, epochs=5, steps_per_epoch=1, run_dir=run_dir, verbose=0)
    assert str(interrupted.value) == (f"interrupted; resume with: fit(..., run_dir={run_dir!r}, resume=True) "
                                      f"(2 trained epoch(s) kept in {run_dir})")
    assert isinstance(interrupted.value, KeyboardInterrupt) and interrupted.value.epochs_done == 2
    assert not os.path.exists(os.path.join(run_dir, LOCK_FILE))


def test_kcc_train_interrupted_by_sigint_says_how_to_resume_and_exits_130(tmp_path):
    run_dir = str(tmp_path / "run")
    command = ["train", "lenet5", "--dataset", SAMPLE, "--epochs", "40", "--seed", "0", "--run-dir", run_dir,
               "--quiet"]
    trainer = subprocess.Popen([sys.executable, "-m", "keras_cv_course", *command], env=ENV, preexec_fn=sigint_default,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 240
        while _completed(run_dir) < 1 and trainer.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        assert trainer.poll() is None, "training ended before the test:\n" + trainer.stderr.read()[-2000:]
        trainer.send_signal(signal.SIGINT)
        out, err = trainer.communicate(timeout=120)
    finally:
        if trainer.poll() is None:
            trainer.kill()
    assert trainer.returncode == 130, err[-3000:]
    assert "Traceback" not in out + err
    kept = _completed(run_dir)
    assert kept >= 1
    expected = ("kcc train: interrupted; resume with: kcc train lenet5 --dataset fashion_mnist_sample --epochs 40 "
                "--batch-size 128 --lr 0.003 --optimizer adam --schedule onecycle --strategy auto --seed 0 "
                f"--run-dir {run_dir} --resume ({kept} trained epoch(s) kept in {run_dir})")
    assert err.strip().splitlines()[-1] == expected
    assert not os.path.exists(os.path.join(run_dir, LOCK_FILE))
    assert [row["epoch"] for row in cb.read_history_csv(os.path.join(run_dir, "history.csv"))] == list(range(kept))

    resume = shlex.split(expected.split("resume with: ")[1].split(" (")[0])
    assert resume[:2] == ["kcc", "train"]
    resumed = subprocess.run([sys.executable, "-m", "keras_cv_course", *resume[1:], "--epochs", str(kept + 1),
                              "--quiet"], env=ENV, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    history = cb.read_history_csv(os.path.join(run_dir, "history.csv"))
    assert [row["epoch"] for row in history] == list(range(kept + 1))


def test_ctrl_c_in_any_kcc_command_is_one_line_and_exit_130(monkeypatch, capsys):
    from keras_cv_course import cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "run_list", interrupted)
    assert kcc(["list"]) == 130
    assert capsys.readouterr().err == "kcc list: interrupted\n"


@pytest.fixture
def sigint_disposition():
    """``set(handler)`` installs a SIGINT handler for the test; the one the test
    process started with comes back after (a run started in the background by a
    non-interactive shell starts with SIGINT ignored)."""
    before = signal.getsignal(signal.SIGINT)
    yield lambda handler: signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGINT, before)


def test_a_ctrl_c_during_the_commit_waits_for_the_commit_to_end(sigint_disposition):
    sigint_disposition(signal.default_int_handler)  # Python's own, as in a terminal
    finished = []
    with pytest.raises(KeyboardInterrupt):
        with cb.ctrl_c_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)  # the signal is handled here, between bytecodes
            finished.append("copies")
    assert finished == ["copies"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Ctrl-C works as before afterwards


def test_a_commit_leaves_an_ignored_sigint_ignored(sigint_disposition):
    sigint_disposition(signal.SIG_IGN)
    with cb.ctrl_c_deferred():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
