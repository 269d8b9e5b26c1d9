"""Callbacks of ``training.fit``: a crash-safe run checkpoint and a one-line-per-epoch
progress report.

``RunCheckpoint`` keeps a run directory resumable. At the end of each epoch it
1. saves the model (with its optimizer state and step count) to
   ``checkpoints/epoch_{NNNN}.keras``,
2. atomically replaces ``state.json`` — the commit point — which names that
   checkpoint, the last completed epoch and every history row so far,
3. rewrites ``history.csv`` from those rows, refreshes ``last.keras`` and, when the
   monitored value improved, ``best.keras``, and deletes the older checkpoint
   (``finish_commit``).
A process killed at any instant (SIGKILL included) leaves ``state.json`` naming a
complete checkpoint whose history has exactly the epochs it trained, so
``fit(..., resume=True)`` restarts after the last completed epoch: no epoch is
lost or repeated. Step 3 is derived from ``state.json`` and redone on resume
(``finish_commit``), so a kill between the commit and its copies leaves no stale
``last.keras``/``best.keras``; a Ctrl-C during steps 1-3 waits for them to end
(``ctrl_c_deferred``), so an interrupted run's files all match its last commit.

Only the chief worker writes the run directory (``write=False`` on the others,
which save to a scratch folder because saving is a collective operation).

``ScalarLogger`` writes TensorBoard scalars (``logs/train``, ``logs/validation``,
tags ``epoch_loss``, ``epoch_accuracy``, ... as Keras's ``TensorBoard`` callback
names them) through ``tf.summary.write`` from TensorFlow itself, so runs are
logged even where the ``tensorboard`` package (which Keras's callback needs) is
not installed; ``tensorboard --logdir RUN_DIR/logs`` reads them.
"""

import contextlib
import csv
import json
import math
import os
import shutil
import signal
import tempfile
import threading
import time

import keras

STATE_FILE = "state.json"


def atomic_write_text(path, text):
    """Write ``text`` to ``path`` through a temporary file and ``os.replace``."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_history_csv(path, rows):
    """Write history rows (dicts) as CSV, columns in first-seen order."""
    columns = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    lines = [",".join(columns)]
    for row in rows:
        lines.append(",".join(_csv_cell(row.get(key, "")) for key in columns))
    atomic_write_text(path, "\n".join(lines) + "\n")


def read_history_csv(path):
    """History rows of a ``history.csv`` as dicts of floats (``epoch`` as int)."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [{k: (int(v) if k == "epoch" else float(v)) for k, v in row.items() if v != ""} for row in rows]


def _csv_cell(value):
    if isinstance(value, float):
        return repr(value)
    return str(value)


def inside_run_dir(run_dir, relative):
    """``run_dir/relative`` when it resolves inside ``run_dir``; a path recorded
    in a run directory (absolute, or climbing out with ``..``) that points
    elsewhere is refused, so a doctored ``state.json`` can neither load nor
    delete a file outside the run."""
    root = os.path.realpath(run_dir)
    path = os.path.realpath(os.path.join(root, str(relative)))
    if os.path.isabs(str(relative)) or os.path.commonpath([root, path]) != root:
        raise ValueError(f"{os.path.join(run_dir, STATE_FILE)} names {relative!r}, which is outside the run directory; "
                         "refusing to use it")
    return path


def read_state(run_dir):
    """The resume state of ``run_dir`` (dict), or None when there is none; a
    truncated or corrupt state.json is a ``CorruptFileError`` naming it and
    saying what to do (``runs.read_record``)."""
    from keras_cv_course.runs import read_record

    path = os.path.join(run_dir, STATE_FILE)
    if not os.path.exists(path):
        return None
    return read_record(path)


def _learning_rate(model):
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return None
    try:
        return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    except Exception:  # a schedule Keras cannot evaluate eagerly here
        return None


def _improved(value, best, mode):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    if best is None:
        return True
    return value > best if mode == "max" else value < best


class EpochTimer(keras.callbacks.Callback):
    """Adds ``train_seconds`` (training only, validation excluded, cumulative over
    the run including earlier sessions) and ``epoch_seconds`` to the epoch logs."""

    def __init__(self, previous_seconds=0.0):
        super().__init__()
        self.total = float(previous_seconds)
        self._start = self._train_end = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start, self._train_end = time.perf_counter(), None

    def on_test_begin(self, logs=None):
        if self._start is not None and self._train_end is None:
            self._train_end = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        train = (self._train_end or now) - self._start
        self.total += train
        if logs is not None:
            logs["train_seconds"] = self.total
            logs["epoch_seconds"] = now - self._start
        self._start = None


class ScalarLogger(keras.callbacks.Callback):
    """Per-epoch TensorBoard scalars without the ``tensorboard`` package."""

    def __init__(self, log_dir):
        super().__init__()
        self.log_dir = log_dir
        self._writers = {}

    def _writer(self, kind):
        import tensorflow as tf

        if kind not in self._writers:
            self._writers[kind] = tf.summary.create_file_writer(os.path.join(self.log_dir, kind))
        return self._writers[kind]

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf
        from tensorflow.core.framework import summary_pb2

        metadata = summary_pb2.SummaryMetadata()
        metadata.plugin_data.plugin_name = "scalars"
        values = dict(logs or {})
        lr = _learning_rate(self.model)
        if lr is not None:
            values["learning_rate"] = lr
        for key, value in values.items():
            if not _is_number(value) or key in ("epoch_seconds", "train_seconds"):
                continue
            kind, tag = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            with self._writer(kind).as_default():
                tf.summary.write(f"epoch_{tag}", tf.constant(float(value), tf.float32), step=int(epoch), metadata=metadata)
        for writer in self._writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}


class RunCheckpoint(keras.callbacks.Callback):
    """Crash-safe checkpoint of a run directory; see the module docstring."""

    def __init__(self, run_dir, *, monitor="val_accuracy", mode="max", state=None, write=True, extra_state=None):
        super().__init__()
        self.run_dir = run_dir
        self.monitor = monitor
        self.mode = mode
        self.write = write
        state = state or {}
        self.rows = list(state.get("history", []))
        self.best = state.get("best")
        self.best_epoch = state.get("best_epoch")
        self.checkpoint = state.get("checkpoint")
        self.extra_state = dict(extra_state or {})
        if write:
            os.makedirs(os.path.join(run_dir, "checkpoints"), exist_ok=True)

    def on_epoch_end(self, epoch, logs=None):
        with ctrl_c_deferred():  # the checkpoint, its commit and the copies complete together
            self._save_and_commit(epoch, logs)

    def _save_and_commit(self, epoch, logs):
        logs = dict(logs or {})
        row = {"epoch": int(epoch)}
        lr = _learning_rate(self.model)
        if lr is not None:
            row["lr"] = lr
        row.update({k: float(v) for k, v in logs.items() if _is_number(v)})
        self.rows.append(row)
        value = row.get(self.monitor, row.get(self.monitor.replace("val_", "")))
        improved = _improved(value, self.best, self.mode)
        if improved:
            self.best, self.best_epoch = value, int(epoch)
        if not self.write:
            # Under MultiWorkerMirroredStrategy saving reads sync-on-read variables
            # through collective ops, so every worker must save; the others write
            # to a scratch folder (the TF multi-worker checkpoint convention).
            scratch = tempfile.mkdtemp(prefix="kcc-worker-")
            try:
                self.model.save(os.path.join(scratch, "model.keras"))
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
            return
        relative = os.path.join("checkpoints", f"epoch_{epoch:04d}.keras")
        self.model.save(os.path.join(self.run_dir, relative))
        self.checkpoint = relative
        state = {
            **self.extra_state,
            "epoch": int(epoch),
            "checkpoint": relative,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "monitor": self.monitor,
            "history": self.rows,
        }
        atomic_write_text(os.path.join(self.run_dir, STATE_FILE), json.dumps(state, indent=1))
        finish_commit(self.run_dir, state)


@contextlib.contextmanager
def ctrl_c_deferred():
    """Hold a Ctrl-C (SIGINT) that arrives inside the block and raise its
    ``KeyboardInterrupt`` when the block ends. Only in the main thread with
    Python's own SIGINT handler installed; elsewhere the block runs as is."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    caught = []
    signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if caught:
        raise KeyboardInterrupt


DERIVED_FILES = ("history.csv", "last.keras", "best.keras")


def finish_commit(run_dir, state):
    """Make the files derived from a committed ``state`` match it: ``history.csv``
    from its rows, ``last.keras`` (and ``best.keras`` when the committed epoch
    was the best) copied from its checkpoint, every other checkpoint and the
    temporary files of interrupted writes removed. Idempotent: run after each
    commit and again on resume, where it finishes a commit that a kill cut short
    (``last.keras`` one epoch old, ``best.keras`` missing its last improvement)."""
    checkpoint = inside_run_dir(run_dir, state["checkpoint"])
    write_history_csv(os.path.join(run_dir, "history.csv"), state.get("history", []))
    _atomic_copy(checkpoint, os.path.join(run_dir, "last.keras"))
    if state.get("best_epoch") is not None and state.get("best_epoch") == state.get("epoch"):
        _atomic_copy(checkpoint, os.path.join(run_dir, "best.keras"))
    _remove_leftovers(run_dir, keep=checkpoint)


def _remove_leftovers(run_dir, keep):
    """Checkpoints other than ``keep`` (an older epoch's, a half-written next one)
    and ``NAME.tmpPID`` files of the atomic writes."""
    folder = os.path.join(os.path.realpath(run_dir), "checkpoints")
    stale = [os.path.join(folder, name) for name in (os.listdir(folder) if os.path.isdir(folder) else ())
             if name.startswith("epoch_") and os.path.realpath(os.path.join(folder, name)) != keep]
    stale += [os.path.join(run_dir, name) for name in os.listdir(run_dir)
              if any(name.startswith(f"{derived}.tmp") for derived in (*DERIVED_FILES, STATE_FILE))]
    for path in stale:
        try:
            os.remove(path)
        except (FileNotFoundError, IsADirectoryError):
            pass


def _atomic_copy(source, target):
    tmp = f"{target}.tmp{os.getpid()}"
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def _is_number(value):
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False


class EpochProgress(keras.callbacks.Callback):
    """Prints one line per epoch: losses and metrics (training first, then
    validation), learning rate and timing."""

    def __init__(self, epochs, print_fn=None):
        super().__init__()
        self.epochs = epochs
        self.print_fn = print_fn or (lambda line: print(line, flush=True))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        width = len(str(self.epochs))
        parts = [f"epoch {epoch + 1:>{width}}/{self.epochs}"]
        shown = [key for key in logs if key not in ("epoch_seconds", "train_seconds", "learning_rate") and _is_number(logs[key])]
        for key in sorted(shown, key=lambda key: (key.startswith("val_"), not key.endswith("loss"))):
            parts.append(f"{key} {float(logs[key]):.4f}")
        lr = _learning_rate(self.model)
        if lr is not None:
            parts.append(f"lr {lr:.2e}")
        if "epoch_seconds" in logs:
            parts.append(f"{float(logs['epoch_seconds']):.1f}s (train total {float(logs['train_seconds']):.1f}s)")
        self.print_fn("  ".join(parts))


class StepProgress(keras.callbacks.Callback):
    """Progress inside long epochs: a line with the step, the running loss and
    metrics and the seconds so far, at most every ``every_seconds`` (or every
    ``every_steps`` steps when given), so a 10-minute epoch is not silent."""

    def __init__(self, epochs, steps, *, every_seconds=10.0, every_steps=None, print_fn=None):
        super().__init__()
        self.epochs, self.steps = epochs, steps
        self.every_seconds, self.every_steps = every_seconds, every_steps
        self.print_fn = print_fn or (lambda line: print(line, flush=True))
        self._epoch = 0
        self._start = self._last = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._start = self._last = time.perf_counter()

    def _due(self, step, now):
        if self.every_steps:
            return step % self.every_steps == 0
        return now - self._last >= self.every_seconds

    def on_train_batch_end(self, batch, logs=None):
        now, step = time.perf_counter(), batch + 1
        if self._start is None or step >= self.steps or not self._due(step, now):
            return
        self._last = now
        parts = [f"  epoch {self._epoch + 1}/{self.epochs} step {step}/{self.steps}"]
        parts += [f"{key} {float(value):.4f}" for key, value in (logs or {}).items() if _is_number(value)]
        parts.append(f"{now - self._start:.1f}s")
        self.print_fn("  ".join(parts))
