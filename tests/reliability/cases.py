"""Issue 19's reliability sweep: the table of bad (and a few good) inputs to ``kcc``,
and the harness that runs one case from the outside.

Shared by tests/reliability/test_bad_cli_inputs.py (one test per case) and
tools/reliability_table.py (one line per case in the re-measured table); both load
this file by path.

A case runs ``kcc ARGV`` in-process through ``keras_cv_course.cli.main`` (or one
Python API call) inside a fresh temporary folder ``tmp``::

    tmp/work      the current directory while the case runs
    tmp/run       a copy of a trained tiny run (lenet5, 1 epoch), when the case uses one
    tmp/out       the run directory of a case that trains
    tmp/data      what the case's setup built (crafted files, image folders, .npz, ...)
    tmp/weights   a weights folder with a manifest (``KCC_WEIGHTS_DIR``), when needed
    tmp/env       the Keras home, TFDS data dir and Debian Fashion-MNIST dir the case
                  sees (empty unless the setup fills them), so the machine's own
                  copies cannot answer for the case

A subprocess is used only where a case needs one: a signal (Ctrl-C), a concurrent
``kcc train`` on the same run directory, or a wall-clock limit (a download).

Every case checks, besides its exit status and message:
- no ``Traceback (most recent call last)`` in the output (an exception escaping
  ``cli.main`` in-process counts as one: it is what the console script would print);
- nothing changed in ``tmp`` outside the paths the case may write (its run
  directory), and the listings of the repository, its weights/ folder, the home
  directory, ``~/.keras`` and the folders a case names (``watch``) are unchanged;
- the case's own checks (``verify``): a crafted file ran no code, a resumed run
  lost no work, a valid input gave the right result.

Paths in ``argv``, ``env``, ``writes`` and ``watch`` (not the message regexes) may
use ``{tmp}``, ``{work}``, ``{run}``, ``{out}``, ``{data}``, ``{weights}``,
``{keras_home}``, ``{tfds}``, ``{debian}`` and what the setup returns.
"""

import contextlib
import dataclasses
import gzip
import hashlib
import io
import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import time
import traceback

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLE = "fashion_mnist_sample"

# The exit status of a refused input (the project's rule: CLI errors exit with 2).
REFUSED = 2
INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a Ctrl-C'd command

# The categories, worst first, then the two good outcomes.
CATEGORIES = ("unsafe", "lost", "hang", "crash", "silent", "unclear", "clear", "fine")
# A failure that is neither the CLI's nor a category: the case could not be set up.
HARNESS = "harness"
# Findings that fail the test but leave the category as it is (wrong exit status,
# a file written outside the run directory).
REMARK = "remark"

TRACEBACK = "Traceback (most recent call last)"
UNRECOGNIZED = r"unrecognized arguments"
TRAIN = ("train", "lenet5", "--dataset", SAMPLE, "--quiet")
TRAIN_LOUD = TRAIN[:-1]  # the per-epoch and resume lines printed


# ----------------------------------------------------------------------------- the case record


@dataclasses.dataclass(frozen=True)
class Case:
    """One input to ``kcc`` and what must happen.

    ``filed``: the category issue 19 filed the case under (``added=True``: not in
    the issue's list, added by this sweep as a neighbour or a control).
    ``expect``: ``"error"`` (refused: exit ``exit``, every ``message`` regex found
    in the output, no ``forbid`` regex) or ``"ok"`` (a valid input handled
    correctly: exit 0, ``message`` found, ``verify`` passes).
    ``setup(ctx)`` builds what the case needs and may return more placeholders.
    ``call(ctx)``: a Python API case instead of ``argv``.
    ``process``: ``"inprocess"``, ``"subprocess"`` (with ``timeout``) or
    ``"interrupt"`` (SIGINT once ``wait_for`` exists). ``background``: argv of a
    ``kcc`` run started first in a subprocess; the case runs once ``wait_for`` exists.
    ``patch(ctx)``: a context manager around an in-process run.
    """

    name: str
    filed: str
    argv: tuple = ()
    expect: str = "error"
    exit: object = REFUSED
    message: tuple = ()
    forbid: tuple = (UNRECOGNIZED,)
    setup: object = None
    uses_run: bool = False
    writes: tuple = ()
    watch: tuple = ()
    env: dict = dataclasses.field(default_factory=dict)
    verify: object = None
    process: str = "inprocess"
    background: tuple = ()
    wait_for: str = None
    timeout: float = 60.0  # generous: a subprocess pays TensorFlow's start (10-60 s on a busy 2-core machine); the hangs caught took minutes
    call: object = None
    patch: object = None
    added: bool = False

    @property
    def accepted(self):
        """The category of an error case that exited 0: it took the bad input."""
        return self.filed if self.filed in ("unsafe", "lost") else "silent"


@dataclasses.dataclass(frozen=True)
class Problem:
    """One way a case's outcome differs from its expectation; ``kind`` is a
    category of ``CATEGORIES``, ``REMARK`` or ``HARNESS``."""

    kind: str
    text: str


@dataclasses.dataclass
class Outcome:
    """What running a case gave: exit status (None: still running when stopped),
    the output (stdout then stderr), seconds, the API call's value, the problems."""

    code: object
    output: str
    seconds: float
    timed_out: bool = False
    value: object = None
    problems: list = dataclasses.field(default_factory=list)


class Context:
    """The folders of one case (see the module docstring) and its placeholders."""

    def __init__(self, tmp, tiny_run):
        self.tmp = os.fspath(tmp)
        self.tiny_run = os.fspath(tiny_run) if tiny_run else None
        self.values = {name: os.path.join(self.tmp, name) for name in ("work", "run", "out", "data", "weights")}
        self.values["tmp"] = self.tmp
        for name in ("keras_home", "tfds", "debian"):
            self.values[name] = os.path.join(self.tmp, "env", name)

    def __getattr__(self, name):
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def fill(self, text):
        """``text`` with its ``{placeholders}`` replaced."""
        return str(text).format_map(self.values)

    def environment(self, case):
        """The environment variables the case runs with."""
        env = {"KERAS_HOME": self.keras_home, "TFDS_DATA_DIR": self.tfds, "KCC_DEBIAN_FASHION_MNIST": self.debian}
        env.update({key: self.fill(value) for key, value in case.env.items()})
        return env


# ----------------------------------------------------------------------------- the trained tiny run


def train_tiny_run(run_dir):
    """Train lenet5 on the embedded sample for one epoch into ``run_dir`` with
    ``kcc train`` (the CLI's defaults recorded, so a resume with them is valid)."""
    from keras_cv_course import cli

    code = cli.main([*TRAIN, "--epochs", "1", "--run-dir", os.fspath(run_dir)])
    if code != 0 or not os.path.exists(os.path.join(run_dir, "best.keras")):
        raise RuntimeError(f"training the tiny run into {run_dir} failed (exit {code})")
    return os.fspath(run_dir)


# ----------------------------------------------------------------------------- running a case


def run_case(case, tmp, tiny_run):
    """Set the case up in the empty folder ``tmp``, run it, and return its ``Outcome``
    with ``problems`` filled (empty when it met every expectation)."""
    ctx = Context(tmp, tiny_run)
    try:
        _prepare(case, ctx)
    except Exception:  # noqa: BLE001 - a broken setup is reported, not raised
        return Outcome(None, traceback.format_exc(), 0.0, problems=[Problem(HARNESS, "setup failed")])
    before = snapshot(case, ctx)
    with _isolated(ctx, case):
        outcome = _RUNNERS[_runner_name(case)](case, ctx)
    after = snapshot(case, ctx)
    outcome.problems = expectation_problems(case, outcome) + change_problems(case, ctx, before, after)
    if case.verify is not None and not any(p.kind == HARNESS for p in outcome.problems):
        outcome.problems += list(case.verify(ctx, outcome) or [])
    return outcome


def _prepare(case, ctx):
    for name in ("work", "data", "keras_home", "tfds", "debian"):
        os.makedirs(getattr(ctx, name), exist_ok=True)
    if case.uses_run:
        shutil.copytree(ctx.tiny_run, ctx.run)
    if case.setup is not None:
        ctx.values.update(case.setup(ctx) or {})


@contextlib.contextmanager
def _isolated(ctx, case):
    """Run in ``tmp/work`` with the case's environment; restore both afterwards."""
    saved_env = {key: os.environ.get(key) for key in ctx.environment(case)}
    saved_cwd = os.getcwd()
    os.environ.update(ctx.environment(case))
    os.chdir(ctx.work)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _runner_name(case):
    if case.call is not None:
        return "api"
    if case.background:
        return "background"
    return case.process


def _run_in_process(case, ctx):
    argv = [ctx.fill(part) for part in case.argv]
    patch = case.patch(ctx) if case.patch is not None else contextlib.nullcontext()
    with patch:
        return kcc_in_process(argv)


def kcc_in_process(argv):
    """``cli.main(argv)`` with its output captured: an ``Outcome`` whose code is the
    exit status the console script would give (argparse's SystemExit included; an
    escaping exception is printed as a traceback and exits 1, as Python would)."""
    from keras_cv_course import cli

    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(list(argv))
        except SystemExit as exited:
            code = _exit_status(exited.code)
        except KeyboardInterrupt:
            raise  # the person running the sweep pressed Ctrl-C
        except BaseException:  # noqa: BLE001 - exactly what the sweep looks for
            traceback.print_exc(file=err)
            code = 1
    return Outcome(code, out.getvalue() + err.getvalue(), time.perf_counter() - started)


def _exit_status(code):
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def _run_api(case, ctx):
    started = time.perf_counter()
    try:
        value = case.call(ctx)
        return Outcome(0, "", time.perf_counter() - started, value=value)
    except KeyboardInterrupt:
        raise
    except BaseException:  # noqa: BLE001
        return Outcome(1, traceback.format_exc(), time.perf_counter() - started)


def _sigint_default():
    """Ctrl-C's default action in the child, as in a terminal: a sweep started in the
    background by a non-interactive shell hands its children SIGINT ignored (POSIX)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _kcc_process(argv):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "-1"}
    return subprocess.Popen([sys.executable, "-m", "keras_cv_course", *argv], env=env, preexec_fn=_sigint_default,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(proc, timeout):
    """``(exit status or None, output, timed out)`` of ``proc`` within ``timeout`` s
    (killed when over)."""
    try:
        output = proc.communicate(timeout=max(timeout, 1))[0]
        return proc.returncode, output, False
    except subprocess.TimeoutExpired:
        proc.kill()
        return None, proc.communicate()[0], True


def _run_subprocess(case, ctx):
    started = time.perf_counter()
    code, output, timed_out = _finish(_kcc_process([ctx.fill(p) for p in case.argv]), case.timeout)
    return Outcome(code, output, time.perf_counter() - started, timed_out=timed_out)


def _wait_for(proc, path, deadline):
    """Whether ``path`` appeared while ``proc`` was running (before ``deadline``)."""
    while not os.path.exists(path):
        if proc.poll() is not None or time.time() > deadline:
            return False
        time.sleep(0.05)
    return True


def _run_interrupted(case, ctx):
    started = time.perf_counter()
    proc = _kcc_process([ctx.fill(p) for p in case.argv])
    if not _wait_for(proc, ctx.fill(case.wait_for), time.time() + case.timeout):
        code, output, _ = _finish(proc, 5)
        return Outcome(code, output, time.perf_counter() - started,
                       problems=[Problem(HARNESS, f"{case.wait_for} never appeared while the run was going")])
    proc.send_signal(signal.SIGINT)
    code, output, timed_out = _finish(proc, case.timeout)
    return Outcome(code, output, time.perf_counter() - started, timed_out=timed_out)


def _run_beside_background(case, ctx):
    """Start ``case.background`` in a subprocess, run the case in-process once
    ``wait_for`` exists, then stop the background run."""
    proc = _kcc_process([ctx.fill(p) for p in case.background])
    try:
        if not _wait_for(proc, ctx.fill(case.wait_for), time.time() + case.timeout):
            code, output, _ = _finish(proc, 5)
            return Outcome(None, f"background run (exit {code}):\n{output}", 0.0,
                           problems=[Problem(HARNESS, f"{case.wait_for} never appeared while the background run was going")])
        return _run_in_process(case, ctx)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


_RUNNERS = {"inprocess": _run_in_process, "subprocess": _run_subprocess, "interrupt": _run_interrupted,
            "background": _run_beside_background, "api": _run_api}


# ----------------------------------------------------------------------------- expectations


def expectation_problems(case, outcome):
    """How the exit status, the output and the time differ from the case's expectation."""
    if outcome.timed_out:
        return list(outcome.problems) + [Problem("hang", f"still running after {case.timeout:g} s")]
    problems = list(outcome.problems) + _status_problems(case, outcome)
    if case.expect == "error" and outcome.code == 0:
        return problems
    return problems + _message_problems(case, outcome)


def _status_problems(case, outcome):
    """Time over the limit, a traceback, and an exit status other than the expected one."""
    tail = last_line(outcome.output)
    problems = []
    if outcome.seconds > case.timeout:
        problems.append(Problem("hang", f"took {outcome.seconds:.0f} s (limit {case.timeout:g} s)"))
    if TRACEBACK in outcome.output:
        problems.append(Problem("crash", f"traceback: {tail}"))
    if case.expect == "ok" and outcome.code != 0:
        problems.append(Problem("unclear", f"a valid input failed with exit {outcome.code}: {tail}"))
    elif case.expect == "error" and outcome.code == 0:
        problems.append(Problem(case.accepted, "exit 0: the bad input was accepted"))
    elif case.expect == "error" and outcome.code not in _allowed_codes(case.exit) and case.call is None:
        problems.append(Problem(REMARK, f"exit {outcome.code}, expected {case.exit}"))
    return problems


def _message_problems(case, outcome):
    """``message`` regexes the output lacks and ``forbid`` regexes it has. A valid
    input whose output lacks what it must say (a skipped file) kept it silent."""
    tail = last_line(outcome.output)
    unsaid = "silent" if case.expect == "ok" and outcome.code == 0 else "unclear"
    problems = [Problem(unsaid, f"output does not match {pattern!r}: {tail}")
                for pattern in case.message if not re.search(pattern, outcome.output)]
    return problems + [Problem("unclear", f"output matches {pattern!r}: {tail}")
                       for pattern in case.forbid if re.search(pattern, outcome.output)]


def _allowed_codes(expected):
    return expected if isinstance(expected, tuple) else (expected,)


def last_line(output):
    """The last non-empty line of ``output`` that is not TensorFlow's own logging."""
    lines = [line for line in output.strip().splitlines() if line.strip() and not re.match(r"^[IWE]\d{4} ", line)]
    return lines[-1][:300] if lines else "(no output)"


# ----------------------------------------------------------------------------- nothing written outside


def tree_state(root):
    """``{relative path: (size, mtime_ns)}`` of every file under ``root``, and
    ``{relative path: None}`` for every folder."""
    state = {}
    for folder, dirs, files in os.walk(root):
        relative = os.path.relpath(folder, root)
        for name in dirs:
            state[os.path.normpath(os.path.join(relative, name))] = None
        for name in files:
            path = os.path.join(folder, name)
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                continue
            state[os.path.normpath(os.path.join(relative, name))] = (info.st_size, info.st_mtime_ns)
    return state


def watched_folders(case, ctx):
    """The folders outside ``tmp`` whose listing must not change."""
    home = os.path.expanduser("~")
    folders = [REPO, os.path.join(REPO, "weights"), os.path.join(REPO, "keras_cv_course", "data"), home,
               os.path.join(home, ".keras")]
    return folders + [ctx.fill(folder) for folder in case.watch]


def _listing(folder):
    try:
        return sorted(os.listdir(folder))
    except OSError:
        return None


def snapshot(case, ctx):
    """What ``change_problems`` compares: the ``tmp`` tree and the watched listings."""
    return {"tmp": tree_state(ctx.tmp), "watched": {f: _listing(f) for f in watched_folders(case, ctx)}}


# Written by any kcc subprocess (Keras creates its config in $KERAS_HOME).
ALWAYS_ALLOWED = (os.path.join("env", "keras_home", "keras.json"),)


def change_problems(case, ctx, before, after):
    """Files changed outside the paths the case may write: a pre-existing file
    modified or deleted is ``unsafe``; a new file or folder is a ``REMARK``."""
    allowed = [os.path.relpath(ctx.fill(path), ctx.tmp) for path in case.writes] + list(ALWAYS_ALLOWED)

    def outside(path):
        return not any(path == prefix or path.startswith(prefix + os.sep) for prefix in allowed)

    old, new = before["tmp"], after["tmp"]
    problems = []
    touched = sorted(p for p in old if outside(p) and (p not in new or (old[p] is not None and new[p] != old[p])))
    created = sorted(p for p in new if p not in old and outside(p) and not _in_new_folder(p, old, outside))
    if touched:
        problems.append(Problem("unsafe", f"modified or deleted outside the run directory: {', '.join(touched[:5])}"))
    if created:
        problems.append(Problem(REMARK, f"wrote outside the run directory: {', '.join(created[:5])}"))
    for folder, listing in before["watched"].items():
        later = after["watched"][folder]
        if listing != later:
            gone = sorted(set(listing or ()) - set(later or ()))
            kind = "unsafe" if gone else REMARK
            problems.append(Problem(kind, f"the listing of {folder} changed: "
                                          f"+{sorted(set(later or ()) - set(listing or ()))} -{gone}"))
    return problems


def _in_new_folder(path, old, outside):
    """Whether ``path`` lies in a new folder already reported (report the top one only)."""
    parent = os.path.dirname(path)
    while parent:
        if parent not in old and outside(parent):
            return True
        parent = os.path.dirname(parent)
    return False


# ----------------------------------------------------------------------------- builders of bad files


def write_idx_gz(path, array):
    """``array`` (uint8) as a gzipped idx file (LeCun's MNIST format)."""
    array = np.asarray(array, np.uint8)
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.tobytes())


def write_mnist_idx(folder, train=64, test=32, seed=0):
    """The four Fashion-MNIST/MNIST idx ``.gz`` files with ``train``/``test`` random images."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    for images_file, labels_file, count in (("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", train),
                                            ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", test)):
        write_idx_gz(os.path.join(folder, images_file), rng.integers(0, 256, (count, 28, 28)))
        write_idx_gz(os.path.join(folder, labels_file), rng.integers(0, 10, count))


def write_npz(path, x_train, x_test, seed=0):
    """A ``{name}.npz`` with ``x_train, y_train, x_test, y_test`` (labels random in 0..9)."""
    rng = np.random.default_rng(seed)
    np.savez(path, x_train=x_train, y_train=rng.integers(0, 10, len(x_train)), x_test=x_test,
             y_test=rng.integers(0, 10, len(x_test)))


def truncate(path, keep=0.5):
    """Cut the file at ``path`` to ``keep`` of its bytes (a download or copy that stopped)."""
    with open(path, "rb") as handle:
        data = handle.read()
    with open(path, "wb") as handle:
        handle.write(data[: int(len(data) * keep)])


def edit_json(path, **changes):
    """Set top-level keys of the JSON file at ``path``."""
    with open(path) as handle:
        content = json.load(handle)
    content.update(changes)
    with open(path, "w") as handle:
        json.dump(content, handle, indent=1)


def write_image(path, seed=0, size=28, channels=1):
    """A small random image file (format from the extension)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size, size) if channels == 1 else (size, size, channels)).astype(np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def write_truncated_jpeg(path, seed=0):
    """A JPEG cut in the middle of its scan data."""
    write_image(path, seed=seed, size=64, channels=3)
    truncate(path, 0.5)
    return path


def sha256_of(path):
    """The sha256 hex digest of the file at ``path``."""
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


class _MakeFolder:
    """Pickles as a call of ``os.mkdir(path)``: a crafted file that runs code when unpickled."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return os.mkdir, (self.path,)


# ----------------------------------------------------------------------------- setups


def shirt_image(ctx):
    """``data/shirt.png``: a 28×28 grayscale image to predict."""
    write_image(os.path.join(ctx.data, "shirt.png"))


def crafted_cifar_batches(ctx):
    """Every CIFAR-10 batch file a pickle that makes a folder ``tmp/pwned_<file>``."""
    folder = os.path.join(ctx.data, "cifar-10-batches-py")
    os.makedirs(folder)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        payload = {b"data": _MakeFolder(os.path.join(ctx.tmp, f"pwned_{name}")), b"labels": [0]}
        with open(os.path.join(folder, name), "wb") as handle:
            pickle.dump(payload, handle, protocol=4)  # bytes natively: the first class named is os.mkdir


def escaping_checkpoint(absolute):
    """state.json names a valid model file outside the run (``../precious.keras``)."""
    def setup(ctx):
        precious = os.path.join(ctx.tmp, "precious.keras")
        shutil.copyfile(os.path.join(ctx.run, "best.keras"), precious)
        edit_json(os.path.join(ctx.run, "state.json"), checkpoint=precious if absolute else "../precious.keras")
    return setup


def truncated_in_run(relative):
    """A setup that cuts ``run/relative`` in half (and writes the test image)."""
    def setup(ctx):
        truncate(os.path.join(ctx.run, relative))
        shirt_image(ctx)
    return setup


def truncated_jpeg(ctx):
    """``data/cut.jpg``: a JPEG cut in the middle."""
    write_truncated_jpeg(os.path.join(ctx.data, "cut.jpg"))


def lambda_model(ctx):
    """A .keras file with a Lambda layer (Python bytecode in the file)."""
    import keras

    inputs = keras.Input((28, 28, 1))
    outputs = keras.layers.Lambda(lambda x: x * 2.0)(inputs)
    keras.Model(inputs, outputs).save(os.path.join(ctx.data, "lambda.keras"))
    shirt_image(ctx)


def five_class_model(ctx):
    """``data/five.keras``: lenet5 with a 5-class top."""
    from keras_cv_course.models import get_model

    get_model("lenet5", classes=5).save(os.path.join(ctx.data, "five.keras"))


def manifest(entries_text):
    """A ``tmp/weights/manifest.json`` with ``entries_text`` (and the test image)."""
    def setup(ctx):
        os.makedirs(ctx.weights)
        with open(os.path.join(ctx.weights, "manifest.json"), "w") as handle:
            handle.write(entries_text(ctx))
        shirt_image(ctx)
    return setup


def _entry_without_file(ctx):
    entry = {"name": "fashion_mnist", "model": "lenet5", "sha256": "0" * 64, "classes": 10,
             "input_shape": [28, 28, 1], "preprocessing": "unit", "dataset": "fashion_mnist"}
    return json.dumps({"weights": [entry]}, indent=1)


def _truncated_manifest(ctx):
    with open(os.path.join(REPO, "weights", "manifest.json")) as handle:
        text = handle.read()
    return text[: len(text) // 2]


def truncated_mnist_idx(ctx):
    """MNIST idx files in ``data/mnist`` whose train images stop half-way through the gzip stream."""
    folder = os.path.join(ctx.data, "mnist")
    write_mnist_idx(folder)
    truncate(os.path.join(folder, "train-images-idx3-ubyte.gz"))


def float_npz(values):
    """A setup writing ``data/mnist.npz`` with float32 images ``values(uniform [0, 1) images)``."""
    def setup(ctx):
        rng = np.random.default_rng(0)
        x_train, x_test = (values(rng.random((count, 28, 28)).astype(np.float32)) for count in (64, 32))
        write_npz(os.path.join(ctx.data, "mnist.npz"), x_train, x_test)
    return setup


def _with_nan(images):
    images = images * 255.0
    images[0, 0, 0] = np.nan
    return images


def object_npz(ctx):
    """``data/mnist.npz`` whose images are an object array (stored as a pickle)."""
    images = np.empty(64, dtype=object)
    images[:] = [np.zeros((28, 28), np.uint8)] * 64
    write_npz(os.path.join(ctx.data, "mnist.npz"), images, images[:32])


def corrupt_image_folder(ctx):
    """``data/photos/train/{a,b}`` with 12 PNGs each and one truncated JPEG in ``a``."""
    for label in ("a", "b"):
        folder = os.path.join(ctx.data, "photos", "train", label)
        os.makedirs(folder)
        for index in range(12):
            write_image(os.path.join(folder, f"{label}{index}.png"), seed=index + (100 if label == "b" else 0),
                        channels=3)
    write_truncated_jpeg(os.path.join(ctx.data, "photos", "train", "a", "cut.jpg"))


def competing_fashion_copies(ctx):
    """Fashion-MNIST in --data-dir (64 train images), in the Keras cache (80) and in
    the Debian folder (96): the run must train on the folder it was given."""
    rng = np.random.default_rng(0)
    write_npz(os.path.join(ctx.data, "fashion_mnist.npz"), rng.integers(0, 256, (64, 28, 28)).astype(np.uint8),
              rng.integers(0, 256, (32, 28, 28)).astype(np.uint8))
    write_mnist_idx(os.path.join(ctx.keras_home, "datasets", "fashion-mnist"), train=80, test=40)
    write_mnist_idx(ctx.debian, train=96, test=48)


def killed_after_commit(ctx):
    """A 2-epoch run killed right after it committed epoch 1 (state.json replaced)
    and before it refreshed last.keras, best.keras and history.csv."""
    import keras

    state_path = os.path.join(ctx.run, "state.json")
    with open(state_path) as handle:
        state = json.load(handle)
    model = keras.models.load_model(os.path.join(ctx.run, state["checkpoint"]))
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([w + 0.01 for w in layer.get_weights()])
    model.save(os.path.join(ctx.run, "checkpoints", "epoch_0001.keras"))
    config = {**state["config"], "epochs": 2}
    history = state["history"] + [{**state["history"][-1], "epoch": 1}]
    edit_json(state_path, epoch=1, checkpoint=os.path.join("checkpoints", "epoch_0001.keras"), history=history,
              config=config)


def imagenet_folder(ctx):
    """A folder ``imagenet`` in the current directory, and a 64×64 RGB photo to predict."""
    os.makedirs(os.path.join(ctx.work, "imagenet"))
    write_image(os.path.join(ctx.data, "photo.png"), size=64, channels=3)


def fashion_mnist_folder(ctx):
    """A folder ``fashion_mnist`` (lenet5's weights name) in the current directory."""
    os.makedirs(os.path.join(ctx.work, "fashion_mnist"))
    shirt_image(ctx)


def run_sha256(ctx):
    """The test image, and ``{sha}``: the digest of the run's best.keras."""
    shirt_image(ctx)
    return {"sha": sha256_of(os.path.join(ctx.run, "best.keras"))}


@contextlib.contextmanager
def no_weight_downloads(ctx):
    """Named keras.applications weights raise a marked error instead of downloading
    (the sweep runs offline): the error says which weights were asked for."""
    from keras_cv_course.models import _common

    original = _common.RemoteFile.fetch

    def refuse(self, model_name):
        raise _common.WeightsUnavailableError(f"[sweep] named weights {self.fname} of {model_name!r} requested "
                                              "(downloads are off in this sweep)")

    _common.RemoteFile.fetch = refuse
    try:
        yield
    finally:
        _common.RemoteFile.fetch = original


# ----------------------------------------------------------------------------- verifications


def no_folder_made(ctx, outcome):
    """The crafted pickles made none of their ``pwned_*`` folders."""
    made = sorted(name for name in os.listdir(ctx.tmp) if name.startswith("pwned_"))
    return [Problem("unsafe", f"the crafted pickle ran code: it made {made}")] if made else []


def _history_epochs(run_dir):
    from keras_cv_course.training.callbacks import read_history_csv

    return [row["epoch"] for row in read_history_csv(os.path.join(run_dir, "history.csv"))]


def history_has_epochs(count, folder="run"):
    """After a successful run, history.csv of ``folder`` lists epochs 0..count-1, each once."""
    def verify(ctx, outcome):
        if outcome.code != 0:
            return []
        epochs = _history_epochs(getattr(ctx, folder))
        return [] if epochs == list(range(count)) else [Problem("lost", f"history.csv has epochs {epochs}")]
    return verify


def finished_the_commit(ctx, outcome):
    """last.keras is the committed checkpoint and history.csv has both epochs."""
    problems = history_has_epochs(2)(ctx, outcome)
    with open(os.path.join(ctx.run, "state.json")) as handle:
        committed = os.path.join(ctx.run, json.load(handle)["checkpoint"])
    if outcome.code == 0 and sha256_of(os.path.join(ctx.run, "last.keras")) != sha256_of(committed):
        problems.append(Problem("lost", "last.keras is still the model before the committed epoch"))
    return problems


def resumable(ctx, outcome):
    """After Ctrl-C, state.json names a checkpoint that exists (a resume can continue)."""
    try:
        with open(os.path.join(ctx.out, "state.json")) as handle:
            checkpoint = json.load(handle)["checkpoint"]
    except (OSError, ValueError, KeyError) as error:
        return [Problem("lost", f"state.json is unreadable after Ctrl-C: {error}")]
    if not os.path.exists(os.path.join(ctx.out, checkpoint)):
        return [Problem("lost", f"state.json names {checkpoint}, which is missing after Ctrl-C")]
    return []


def recorded_change(pattern):
    """A resume with a changed option lists the change in report.json (``changed_on_resume``)
    and loses no epoch."""
    def verify(ctx, outcome):
        if outcome.code != 0:
            return []
        with open(os.path.join(ctx.run, "report.json")) as handle:
            changes = json.load(handle)["config"].get("changed_on_resume") or []
        problems = history_has_epochs(2)(ctx, outcome)
        if not any(re.search(pattern, str(change)) for change in changes):
            problems.append(Problem("silent", f"report.json's changed_on_resume {changes} does not list {pattern!r}"))
        return problems
    return verify


def trained_on_data_dir(ctx, outcome):
    """The run trained on the 64 images of --data-dir, not on another local copy."""
    if outcome.code != 0:
        return []
    with open(os.path.join(ctx.out, "report.json")) as handle:
        config = json.load(handle)["config"]
    if config.get("train_samples") != 64:
        return [Problem("silent", f"trained on {config.get('train_samples')} images from "
                                  f"{config.get('data_source')}, not the 64 of --data-dir {ctx.data}")]
    return []


def model_named(name):
    """The API call returned a model named ``name``."""
    def verify(ctx, outcome):
        actual = getattr(outcome.value, "name", None)
        if outcome.code == 0 and actual != name:
            return [Problem("silent", f"the model is named {actual!r}, not {name!r}")]
        return []
    return verify


def _get_named_model(ctx):
    from keras_cv_course.models import get_model

    return get_model("lenet5", name="my_lenet")


# ----------------------------------------------------------------------------- the table


def _numeric(argv, bad):
    """A bad numeric option: refused by argparse naming the value and what was expected."""
    argv = tuple(argv) + (bad,)
    return Case("numeric: " + " ".join(argv), "silent", argv, message=(re.escape(repr(bad)), r"expected"))


NUMERIC = [
    _numeric(["train", "--epochs"], "0"), _numeric(["train", "--epochs"], "-1"),
    _numeric(["train", "--lr"], "0"), _numeric(["train", "--lr"], "-1"), _numeric(["train", "--lr"], "nan"),
    _numeric(["train", "--lr"], "inf"), _numeric(["train", "--weight-decay"], "-1"),
    _numeric(["train", "--batch-size"], "0"), _numeric(["train", "--validation-split"], "1.5"),
    _numeric(["visualize", "lenet5", "--steps"], "-1"), _numeric(["summary", "lenet5", "--classes"], "0"),
    _numeric(["predict", "lenet5", "x.png", "--top"], "-1"),
]

UNKNOWN_NAMES = [
    Case("unknown model: info resnet5O", "unclear", ("info", "resnet5O"),
         message=(r"resnet5O", r"Did you mean.*\bresnet50\b")),
    Case("unknown model: summary vgg61", "unclear", ("summary", "vgg61"), message=(r"vgg61", r"Did you mean.*\bvgg16\b")),
    Case("unknown model: train lenet55", "unclear", ("train", "lenet55", "--dataset", SAMPLE, "--run-dir", "{out}"),
         message=(r"lenet55", r"Did you mean.*\blenet5\b"), writes=("{out}",)),
    Case("unknown dataset: train --dataset fashion_mnst", "unclear",
         ("train", "lenet5", "--dataset", "fashion_mnst", "--run-dir", "{out}"),
         message=(r"fashion_mnst", r"Did you mean.*\bfashion_mnist\b"), writes=("{out}",)),
    Case("unknown dataset: evaluate --dataset cifar11", "unclear", ("evaluate", "{run}", "--dataset", "cifar11"),
         uses_run=True, message=(r"cifar11", r"Did you mean.*\bcifar10\b")),
]

RESUME = ("--epochs", "2", "--run-dir", "{run}", "--resume")
# A run still training when its first epoch is committed (killed or interrupted by the case).
LONG_RUN = ("--epochs", "10", "--batch-size", "32")

LOST_WORK = [
    Case("run-dir lock: second kcc train --resume while the first runs", "lost",
         TRAIN + LONG_RUN + ("--run-dir", "{work}/shared", "--resume"),
         background=TRAIN + LONG_RUN + ("--run-dir", "{work}/shared"), wait_for="{work}/shared/state.json",
         timeout=240, message=(r"shared", r"(?i)lock|in use|another|already running|busy"), writes=("{work}/shared",)),
    Case("kill after commit: resume finishes the committed epoch", "lost", TRAIN + RESUME, expect="ok",
         uses_run=True, setup=killed_after_commit, verify=finished_the_commit, writes=("{run}",)),
    Case("resume with another --batch-size", "lost", TRAIN_LOUD + RESUME + ("--batch-size", "64"), expect="ok",
         uses_run=True, message=(r"(?i)batch.size\D*128\D*64",),
         verify=recorded_change(r"(?i)batch.size\D*128\D*64"), writes=("{run}",)),
    Case("resume with another --lr", "lost", TRAIN_LOUD + RESUME + ("--lr", "0.01"), expect="ok", uses_run=True,
         message=(r"(?i)(\blr|learning.rate)\D*0\.003\D*0\.01",),
         verify=recorded_change(r"(?i)(\blr|learning.rate)\D*0\.003\D*0\.01"), writes=("{run}",)),
    Case("resume with another --augment", "lost", TRAIN_LOUD + RESUME + ("--augment", "fashion"), expect="ok",
         uses_run=True, message=(r"(?i)augment.*fashion",), verify=recorded_change(r"(?i)augment.*fashion"),
         writes=("{run}",)),
    Case("resume with another --optimizer", "lost", TRAIN + RESUME + ("--optimizer", "sgd"), uses_run=True,
         message=(r"(?i)optimizer", r"sgd", r"adam"), writes=("{run}",)),
    Case("resume with another --weight-decay", "lost", TRAIN + RESUME + ("--weight-decay", "0.01"), uses_run=True,
         message=(r"(?i)weight.decay", r"0\.01"), writes=("{run}",)),
    Case("resume with another model", "lost",
         ("train", "fashion_cnn", "--dataset", SAMPLE, "--quiet") + RESUME, uses_run=True,
         message=(r"fashion_cnn", r"lenet5"), writes=("{run}",), added=True),
    Case("resume with the same flags and more epochs", "lost", TRAIN + RESUME, expect="ok", uses_run=True,
         verify=history_has_epochs(2), writes=("{run}",), added=True),
    Case("Ctrl-C during kcc train", "lost",
         TRAIN + LONG_RUN + ("--run-dir", "{out}"), process="interrupt",
         wait_for="{out}/state.json", timeout=240, exit=INTERRUPTED, message=(r"(?i)interrupt", r"--resume"),
         verify=resumable, writes=("{out}",)),
]

UNSAFE = [
    Case("crafted pickle named like a CIFAR batch", "unsafe",
         ("train", "lenet5", "--dataset", "cifar10", "--data-dir", "{data}", "--run-dir", "{out}", "--quiet"),
         setup=crafted_cifar_batches, verify=no_folder_made, writes=("{out}",),
         message=(r"(data_batch_\d|test_batch)", r"(posix|os)\.mkdir")),
    Case("state.json checkpoint ../precious.keras", "unsafe", TRAIN + RESUME, uses_run=True,
         setup=escaping_checkpoint(absolute=False), message=(r"precious\.keras", r"outside the run directory"),
         writes=("{run}",)),
    Case("state.json checkpoint /abs/precious.keras", "unsafe", TRAIN + RESUME, uses_run=True,
         setup=escaping_checkpoint(absolute=True), message=(r"precious\.keras", r"outside the run directory"),
         writes=("{run}",)),
    Case(".keras with a Lambda layer", "unsafe", ("predict", "{data}/lambda.keras", "{data}/shirt.png"),
         setup=lambda_model, message=(r"lambda\.keras", r"(?i)lambda"), added=True),
    Case("--sha256 mismatch: predict", "unsafe",
         ("predict", "{run}/best.keras", "{data}/shirt.png", "--sha256", "0" * 64), uses_run=True,
         setup=shirt_image, message=(r"best\.keras", r"(?i)sha256", r"0{64}")),
    Case("--sha256 mismatch: train --finetune-from", "unsafe",
         TRAIN + ("--epochs", "1", "--finetune-from", "{run}/best.keras", "--sha256", "0" * 64, "--run-dir", "{out}"),
         uses_run=True, message=(r"best\.keras", r"(?i)sha256", r"0{64}"), writes=("{out}",)),
    Case("--sha256 match: predict", "unsafe", ("predict", "{run}/best.keras", "{data}/shirt.png", "--sha256", "{sha}"),
         expect="ok", uses_run=True, setup=run_sha256, message=(r"shirt\.png: \S",), added=True),
]

DATA = [
    Case("float images in [0, 1] in an .npz", "silent",
         ("train", "lenet5", "--dataset", "mnist", "--data-dir", "{data}", "--run-dir", "{out}", "--quiet"),
         setup=float_npz(lambda images: images), message=(r"mnist\.npz", r"float"), writes=("{out}",)),
    Case("NaN in float images in an .npz", "silent",
         ("train", "lenet5", "--dataset", "mnist", "--data-dir", "{data}", "--run-dir", "{out}", "--quiet"),
         setup=float_npz(_with_nan), message=(r"mnist\.npz", r"(?i)\bnan\b|not finite"), writes=("{out}",)),
    Case("object arrays (pickles) in an .npz", "unclear",
         ("train", "lenet5", "--dataset", "mnist", "--data-dir", "{data}", "--run-dir", "{out}", "--quiet"),
         setup=object_npz, message=(r"mnist\.npz",), writes=("{out}",), added=True),
    Case("corrupt image in a folder is reported", "silent",
         ("train", "lenet5", "--dataset", "{data}/photos/train", "--epochs", "1", "--run-dir", "{out}"),
         expect="ok", setup=corrupt_image_folder, message=(r"cut\.jpg",), writes=("{out}",)),
    Case("corrupt image in a folder with --strict", "silent",
         ("train", "lenet5", "--dataset", "{data}/photos/train", "--epochs", "1", "--run-dir", "{out}", "--strict"),
         setup=corrupt_image_folder, message=(r"cut\.jpg",), writes=("{out}",)),
    Case("truncated idx.gz", "crash",
         ("train", "lenet5", "--dataset", "mnist", "--data-dir", "{data}", "--run-dir", "{out}", "--quiet"),
         setup=truncated_mnist_idx, message=(r"train-images-idx3-ubyte\.gz", r"(?i)truncat|corrupt|incomplete|ended"),
         writes=("{out}",)),
    Case("truncated JPEG to predict", "unclear", ("predict", "{run}", "{data}/cut.jpg"), uses_run=True,
         setup=truncated_jpeg, message=(r"cut\.jpg",)),
    Case("missing image to predict", "unclear", ("predict", "{run}", "{data}/missing.png"), uses_run=True,
         message=(r"missing\.png",), added=True),
    Case("--data-dir wins over the Keras cache and Debian copies", "silent",
         ("train", "lenet5", "--dataset", "fashion_mnist", "--data-dir", "{data}", "--epochs", "1",
          "--run-dir", "{out}", "--quiet"),
         expect="ok", setup=competing_fashion_copies, verify=trained_on_data_dir, writes=("{out}",)),
    Case('--dataset "/../../x"', "unclear", ("train", "lenet5", "--dataset", "/../../x", "--epochs", "1", "--quiet"),
         message=(r"/\.\./\.\./x", r"(?i)no such|not exist|not found|no folder|neither|not a folder"),
         writes=("{work}/runs",), watch=("/",)),
    Case("--no-download of a dataset that is not here", "hang",
         ("train", "lenet5", "--dataset", "cifar10", "--no-download", "--run-dir", "{out}", "--quiet"),
         timeout=30, message=(r"cifar10", r"(?i)download"), writes=("{out}",)),
    Case("offline download of a dataset that is not here", "hang",
         ("train", "lenet5", "--dataset", "cifar10", "--run-dir", "{out}", "--quiet"), process="subprocess",
         timeout=60, message=(r"cifar10", r"(?i)download"), writes=("{out}", "{tfds}")),
]

MODELS_AND_RUNS = [
    Case("truncated best.keras to evaluate", "crash", ("evaluate", "{run}/best.keras"), uses_run=True,
         setup=truncated_in_run("best.keras"), message=(r"best\.keras", r"(?i)truncat|corrupt|not a valid|zip")),
    Case("truncated checkpoint to resume", "crash", TRAIN + RESUME, uses_run=True,
         setup=truncated_in_run(os.path.join("checkpoints", "epoch_0000.keras")),
         message=(r"epoch_0000\.keras", r"(?i)truncat|corrupt|not a valid|zip"), writes=("{run}",)),
    Case("truncated state.json to resume", "unclear", TRAIN + RESUME, uses_run=True,
         setup=truncated_in_run("state.json"), message=(r"state\.json",), writes=("{run}",)),
    Case("truncated report.json to evaluate", "unclear", ("evaluate", "{run}"), uses_run=True,
         setup=truncated_in_run("report.json"), message=(r"report\.json",)),
    Case("truncated weights manifest.json", "unclear", ("predict", "lenet5", "{data}/shirt.png"),
         setup=manifest(_truncated_manifest), env={"KCC_WEIGHTS_DIR": "{weights}"}, message=(r"manifest\.json",)),
    Case("manifest entry without file", "crash", ("predict", "lenet5", "{data}/shirt.png"),
         setup=manifest(_entry_without_file), env={"KCC_WEIGHTS_DIR": "{weights}"},
         message=(r"manifest\.json", r"\bfile\b")),
    Case("imagenet folder in the cwd: weights='imagenet' still names the weights", "unclear",
         ("predict", "mobilenet_v2", "{data}/photo.png"), setup=imagenet_folder, patch=no_weight_downloads,
         exit=(1, 2), message=(r"\[sweep\] named weights|imagenet\W.*(?i:folder|director)",),
         forbid=(UNRECOGNIZED, r"Unsupported weight file")),
    Case("fashion_mnist folder in the cwd: kcc predict lenet5", "unclear", ("predict", "lenet5", "{data}/shirt.png"),
         expect="ok", setup=fashion_mnist_folder, message=(r"shirt\.png: \S",), added=True),
    Case("kcc evaluate runs/nope", "unclear", ("evaluate", "runs/nope"),
         message=(r"runs/nope", r"(?i)no such|not exist|not found|no run|neither")),
    Case("get_model('lenet5', name='my_lenet')", "crash", call=_get_named_model, expect="ok",
         verify=model_named("my_lenet")),
    Case("--finetune-from another architecture", "silent",
         ("train", "fashion_cnn", "--dataset", SAMPLE, "--epochs", "1", "--finetune-from", "{run}",
          "--run-dir", "{out}", "--quiet"),
         uses_run=True, message=(r"lenet5", r"fashion_cnn"), writes=("{out}",)),
    Case("--finetune-from the same architecture", "silent",
         TRAIN + ("--epochs", "1", "--finetune-from", "{run}", "--run-dir", "{out}"), expect="ok", uses_run=True,
         verify=history_has_epochs(1, "out"), writes=("{out}",), added=True),
    Case("fine-tuning a 5-class model on 10-class data", "silent",
         TRAIN + ("--epochs", "1", "--finetune-from", "{data}/five.keras", "--run-dir", "{out}"),
         setup=five_class_model, message=(r"\b5\b", r"\b10\b"), writes=("{out}",)),
    Case("predict with class names of another class count", "silent",
         ("predict", "{run}", "{data}/shirt.png", "--dataset", "cifar100"), uses_run=True, setup=shirt_image,
         message=(r"cifar100", r"\b100\b", r"\b10\b"), added=True),
]

CASES = NUMERIC + UNKNOWN_NAMES + LOST_WORK + UNSAFE + DATA + MODELS_AND_RUNS


def _check_names_unique():
    names = [case.name for case in CASES]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"case names must be unique; repeated: {duplicates}")


_check_names_unique()
