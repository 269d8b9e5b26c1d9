"""Throughput of our torchvision-layout classifiers beside torchvision's, in one run.

    python benchmarks/torchvision_throughput.py                     # ResNet-50 and MobileNetV2, batch 8, 224x224
    python benchmarks/torchvision_throughput.py --models resnet50 --rounds 3 --json throughput.json
    python benchmarks/torchvision_throughput.py --models mobilenet_v2 --image-size 64 --batch-size 2 --rounds 1

Pairs (``--models``): ``resnet50`` is our ``resnet50_torchvision`` (torchvision's
layout: no conv biases, the stride on the bottleneck's 3×3) against
``torchvision.models.resnet50``; ``mobilenet_v2`` is our
``mobilenet_v2_torchvision`` (or, where that is not registered, ``mobilenet_v2``)
against ``torchvision.models.mobilenet_v2``. Each side has its own random
weights (``weights=None``): the speed does not depend on the values. The
trainable parameter counts of both are printed (they are equal for these pairs).

Two figures a side, images/s (median of the timed rounds):

- ``inference``: ``model.predict_on_batch(x)`` (Keras: the compiled predict
  function, BN in inference mode) and ``model.eval()(x)`` under
  ``torch.inference_mode()``.
- ``train``: one SGD step (learning rate 0.01, no momentum) of softmax
  cross-entropy on random labels, ``model.train_on_batch(x, y)`` (compiled with
  ``SGD`` and ``SparseCategoricalCrossentropy(from_logits=True)``, the model built
  with ``classifier_activation=None``) and ``zero_grad``, ``cross_entropy(model(x),
  y)``, ``backward``, ``step`` in train mode.

The Keras model runs on the TensorFlow backend and on the JAX backend, each in
its own subprocess (Keras reads ``KERAS_BACKEND`` once, at import); a backend
that is not installed gets a ``not installed`` row, one whose worker fails a
``failed: ...`` row. torchvision runs in a subprocess of its own too (and never
imports TensorFlow). Every worker builds its model, makes one untimed call of
each mode (tracing and compilation), then waits; the parent asks them for one
round at a time — ``--steps`` calls of each mode — so only one framework computes
at any moment, in an order reversed every round (TF, torch, JAX; JAX, torch, TF;
...) so that going first and slow phases of the machine hit all alike. The first
``--warmup`` rounds are discarded. The ratios are Keras/torch of the medians
(above 1: Keras is faster).

Fairness: the same batch (``--batch-size``), input size (``--image-size``), random
images (NHWC for Keras, the same values NCHW for torch) and labels on every
side; CPU only (``CUDA_VISIBLE_DEVICES=-1``, ``JAX_PLATFORMS=cpu``); torch's
``set_num_threads`` / ``set_num_interop_threads``, TF's intra-op / inter-op pools
and ``OMP_NUM_THREADS`` all at ``--threads`` (default: the machine's usable
cores). JAX's XLA CPU pool has no thread setting and takes all cores.
``OMP_WAIT_POLICY`` is ``PASSIVE`` unless ``--omp-wait-policy`` says otherwise:
torch's OpenMP workers otherwise spin at every barrier, and on a machine whose
cores other processes also want, a spinning worker holds a core the one with
work needs (MobileNetV2, 64×64, batch 2, 2 threads, on 2 cores at load average
5: 2.6 img/s spinning, 79 img/s passive, 18 img/s with one thread). TensorFlow's
pools are not OpenMP and do not read it. On a quiet machine ``--omp-wait-policy
unset`` times torch exactly as it comes. torch runs
its default NCHW (contiguous) memory format; Keras runs NHWC. Without torch and
torchvision the torch column reads ``not installed`` and the ratios ``-``.
The figures mean something only on a quiet machine.
"""

import argparse
import importlib.util
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = {  # pair: our registry names (the first registered is used) and torchvision's builder
    "resnet50": {"keras": ("resnet50_torchvision",), "torchvision": "resnet50"},
    "mobilenet_v2": {"keras": ("mobilenet_v2_torchvision", "mobilenet_v2"), "torchvision": "mobilenet_v2"},
}
KERAS_BACKENDS = ("tensorflow", "jax")
MODES = ("inference", "train")
LEARNING_RATE = 0.01
CLASSES = 1000
MARK = "@@"  # the prefix of a worker's reply lines on its stdout
NOT_INSTALLED = "not installed"


def usable_cpus():
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def parse(argv=None):
    """The command line (the ``--worker`` options are the parent's calls to itself)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--image-size", type=int, default=224, help="input height and width")
    p.add_argument("--rounds", type=int, default=5, help="timed rounds (after the warm-up rounds)")
    p.add_argument("--warmup", type=int, default=1, help="rounds run first and discarded")
    p.add_argument("--steps", type=int, default=5, help="calls of each mode a side makes per round")
    p.add_argument("--threads", type=int, default=usable_cpus(), help="intra-/inter-op threads of torch and TF "
                                                                      "(default: the machine's usable cores)")
    p.add_argument("--omp-wait-policy", choices=("passive", "active", "unset"), default="passive",
                   help="OMP_WAIT_POLICY of every worker (torch's OpenMP pool; 'unset': libgomp's default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, help="also write the report here ('-': to stdout)")
    p.add_argument("--worker", choices=("keras", "torch"), help=argparse.SUPPRESS)
    p.add_argument("--pair", choices=list(MODELS), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    for name in ("batch_size", "image_size", "rounds", "steps", "threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.warmup < 0:
        p.error("--warmup must be >= 0")
    return args


# ----------------------------------------------------------------------------- the workers (subprocesses)


def random_batch(args):
    """The same NHWC float32 images and int labels on every side."""
    import numpy as np

    rng = np.random.default_rng(args.seed)
    x = rng.normal(size=(args.batch_size, args.image_size, args.image_size, 3)).astype("float32")
    return x, rng.integers(0, CLASSES, args.batch_size).astype("int64")


def reply(payload):
    """One answer to the parent, on its own marked stdout line."""
    sys.stdout.write(f"{MARK}{json.dumps(payload)}\n")
    sys.stdout.flush()


def time_calls(call, steps):
    """Seconds for ``steps`` calls of ``call``, the last result made concrete."""
    import numpy as np

    start = time.perf_counter()
    for _ in range(steps):
        result = call()
    np.asarray(result.detach() if hasattr(result, "detach") else result)
    return time.perf_counter() - start


def serve(calls, info, steps):
    """A worker's life: one untimed call of each mode, ``info`` to the parent,
    then one timed round (``steps`` calls of each mode) per ``round`` command."""
    for mode in MODES:
        time_calls(calls[mode], 1)
    reply(info)
    for line in sys.stdin:
        if json.loads(line)["op"] != "round":
            break
        reply({mode: time_calls(calls[mode], steps) for mode in MODES})


def keras_worker(args):
    """Our model on ``KERAS_BACKEND`` (set by the parent)."""
    backend = os.environ["KERAS_BACKEND"]
    threads = "XLA's own pool (all cores)"
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
        threads = (f"intra-op {tf.config.threading.get_intra_op_parallelism_threads()}, "
                   f"inter-op {tf.config.threading.get_inter_op_parallelism_threads()}")
    import keras

    from keras_cv_course import models

    registered = set(models.list_models())
    name = next(candidate for candidate in MODELS[args.pair]["keras"] if candidate in registered)
    keras.utils.set_random_seed(args.seed)
    model = models.get_model(name, weights=None, input_shape=(args.image_size, args.image_size, 3),
                             classifier_activation=None)
    model.compile(optimizer=keras.optimizers.SGD(LEARNING_RATE),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = random_batch(args)
    calls = {"inference": lambda: model.predict_on_batch(x), "train": lambda: model.train_on_batch(x, y)}
    trainable = sum(int(keras.ops.size(w)) for w in model.trainable_weights)
    serve(calls, {"name": name, "trainable_params": trainable, "threads": threads,
                  "jit_compile": bool(model.jit_compile), "versions": _keras_versions(backend)}, args.steps)


def _keras_versions(backend):
    import keras

    module = importlib.import_module(backend)
    return {"keras": keras.__version__, backend: module.__version__}


def torch_worker(args):
    """torchvision's model, NCHW, in eval mode for inference and train mode for the step."""
    import torch
    import torchvision

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(args.threads)
    torch.manual_seed(args.seed)
    name = MODELS[args.pair]["torchvision"]
    model = getattr(torchvision.models, name)(weights=None)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    images, labels = random_batch(args)
    x, y = torch.from_numpy(images.transpose(0, 3, 1, 2).copy()), torch.from_numpy(labels)

    def infer():
        model.eval()
        with torch.inference_mode():
            return model(x)

    def train():
        model.train()
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    threads = f"set_num_threads {torch.get_num_threads()}, interop {torch.get_num_interop_threads()}"
    serve({"inference": infer, "train": train},
          {"name": f"torchvision.models.{name}", "trainable_params": sum(p.numel() for p in model.parameters()),
           "threads": threads, "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__}},
          args.steps)


# ----------------------------------------------------------------------------- the parent


class WorkerFailed(RuntimeError):
    """A worker exited or broke its protocol."""


class Worker:
    """One side in its own process, answering one round at a time."""

    def __init__(self, side, kind, args, env):
        self.side, self.stderr = side, tempfile.TemporaryFile(mode="w+")
        command = [sys.executable, os.path.abspath(__file__), "--worker", kind, "--pair", args.pair,
                   "--batch-size", str(args.batch_size), "--image-size", str(args.image_size),
                   "--steps", str(args.steps), "--threads", str(args.threads), "--seed", str(args.seed)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self.stderr, text=True, env=env, cwd=REPO)
        self.info = self.read()

    def read(self):
        """The next marked reply, or WorkerFailed with the end of its stderr."""
        for line in self.process.stdout:
            if line.startswith(MARK):
                return json.loads(line[len(MARK):])
        self.process.wait()
        self.stderr.seek(0)
        lines = [line.strip() for line in self.stderr.read().splitlines() if line.strip()]
        raise WorkerFailed(lines[-1] if lines else f"exit status {self.process.returncode}")

    def round(self):
        """{mode: seconds} of one round."""
        self.process.stdin.write(json.dumps({"op": "round"}) + "\n")
        self.process.stdin.flush()
        return self.read()

    def close(self):
        if self.process.poll() is None:
            try:
                self.process.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.process.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.stderr.close()


def worker_env(args, keras_backend=None):
    """The environment of a worker: CPU only, the thread counts, the backend."""
    env = dict(os.environ)
    env.update(CUDA_VISIBLE_DEVICES="-1", JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="2",
               OMP_NUM_THREADS=str(args.threads), TF_NUM_INTRAOP_THREADS=str(args.threads),
               TF_NUM_INTEROP_THREADS=str(args.threads),
               PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])))
    env.pop("OMP_WAIT_POLICY", None)
    if args.omp_wait_policy != "unset":
        env["OMP_WAIT_POLICY"] = args.omp_wait_policy.upper()
    if keras_backend:
        env["KERAS_BACKEND"] = keras_backend
    return env


def installed(*modules):
    return all(importlib.util.find_spec(module) is not None for module in modules)


def start_sides(args):
    """{side: Worker or the reason it has none}, Keras backends first, torch between them."""
    wanted = [(f"keras_{backend}", "keras", backend, (backend,)) for backend in KERAS_BACKENDS]
    wanted.insert(1, ("torch", "torch", None, ("torch", "torchvision")))
    sides = {}
    for side, kind, backend, modules in wanted:
        if not installed(*modules):
            sides[side] = NOT_INSTALLED
            continue
        try:
            sides[side] = Worker(side, kind, args, worker_env(args, backend))
        except WorkerFailed as error:
            sides[side] = f"failed: {error}"
    return sides


def run_rounds(sides, args):
    """{side: {mode: [images/s of each timed round]}}; a side failing midway keeps its reason."""
    rates = {side: {mode: [] for mode in MODES} for side, worker in sides.items() if isinstance(worker, Worker)}
    order = list(rates)
    for index in range(args.warmup + args.rounds):
        for side in (order if index % 2 == 0 else order[::-1]):
            if not isinstance(sides[side], Worker):
                continue
            try:
                seconds = sides[side].round()
            except (WorkerFailed, BrokenPipeError) as error:
                sides[side].close()
                sides[side] = f"failed: {error}"
                continue
            if index >= args.warmup:
                for mode in MODES:
                    rates[side][mode].append(args.steps * args.batch_size / seconds[mode])
    return rates


def pair_results(pair, args):
    """The report of one pair: each side's info and rates, one row per Keras backend."""
    args.pair = pair
    sides = start_sides(args)
    info = {side: worker.info for side, worker in sides.items() if isinstance(worker, Worker)}
    try:
        rates = run_rounds(sides, args)
    finally:
        for worker in sides.values():
            if isinstance(worker, Worker):
                worker.close()
    status = {side: "ok" if isinstance(worker, Worker) else worker for side, worker in sides.items()}
    medians = {side: {mode: statistics.median(r) for mode, r in by_mode.items() if r}
               for side, by_mode in rates.items()}
    rows = [_row(pair, backend, status, info, medians, rates) for backend in KERAS_BACKENDS]
    return {"pair": pair, "sides": info, "status": status, "rows": rows}


def _row(pair, backend, status, info, medians, rates):
    side = f"keras_{backend}"
    keras_name = info.get(side, {}).get("name", MODELS[pair]["keras"][0])
    row = {"model": pair, "backend": backend, "keras_model": keras_name,
           "torch_model": f"torchvision.models.{MODELS[pair]['torchvision']}", "status": status[side],
           "torch_status": status["torch"]}
    for mode in MODES:
        keras_rate = medians.get(side, {}).get(mode)
        torch_rate = medians.get("torch", {}).get(mode)
        row[mode] = {"keras": keras_rate, "torch": torch_rate,
                     "keras_over_torch": keras_rate / torch_rate if keras_rate and torch_rate else None,
                     "keras_rounds": rates.get(side, {}).get(mode, []),
                     "torch_rounds": rates.get("torch", {}).get(mode, [])}
    return row


# ----------------------------------------------------------------------------- the table


def _fmt(value, digits=2):
    return "-" if value is None else f"{value:.{digits}f}"


def table(report):
    """The printed lines: settings, parameter counts, then one row per pair and Keras backend."""
    lines = [f"command: {report['command']}", report["settings"], f"threads: {report['threads']}",
             "versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items())]
    for pair in report["pairs"]:
        counts = ", ".join(f"{side} {meta['name']} {meta['trainable_params']:,}"
                           for side, meta in pair["sides"].items())
        lines.append(f"trainable parameters ({pair['pair']}): {counts or '-'}")
    lines += ["", "| model | keras model | backend | inference img/s keras | torch | keras/torch "
                  "| train-step img/s keras | torch | keras/torch |", "|" + "---|" * 9]
    for pair in report["pairs"]:
        for row in pair["rows"]:
            lines.append(_table_row(row))
    return lines


def _table_row(row):
    start = f"| {row['model']} | {row['keras_model']} | {row['backend']} |"
    if row["status"] != "ok":
        return start + f" {row['status']} | | | | | |"
    cells = []
    for mode in MODES:
        torch_cell = _fmt(row[mode]["torch"]) if row["torch_status"] == "ok" else row["torch_status"]
        cells += [_fmt(row[mode]["keras"]), torch_cell, _fmt(row[mode]["keras_over_torch"], 3)]
    return start + "".join(f" {cell} |" for cell in cells)


def describe(args, pairs):
    """The settings line, the threads line and the versions the workers reported."""
    settings = (f"batch {args.batch_size}, input {args.image_size}x{args.image_size}, {args.steps} calls of each mode "
                f"a side per round, {args.warmup} warm-up round(s) discarded + {args.rounds} timed, frameworks "
                f"alternating (order reversed every round); CPU only; SGD lr {LEARNING_RATE}, softmax cross-entropy "
                f"on random labels; each side its own random weights")
    threads, versions = {}, {}
    for pair in pairs:
        for side, meta in pair["sides"].items():
            jit = f", jit_compile={meta['jit_compile']}" if "jit_compile" in meta else ""
            threads.setdefault(side, meta["threads"] + jit)
            versions.update(meta["versions"])
    for backend in KERAS_BACKENDS:
        if not installed(backend):
            versions[backend] = NOT_INSTALLED
    line = (f"{args.threads} (machine: {usable_cpus()} usable cores); OMP_NUM_THREADS {args.threads}, "
            f"OMP_WAIT_POLICY {args.omp_wait_policy}; "
            + "; ".join(f"{side}: {text}" for side, text in threads.items()))
    return settings, line, versions


def main(argv=None):
    args = parse(argv)
    if args.worker:
        return keras_worker(args) if args.worker == "keras" else torch_worker(args)
    command = "python " + " ".join([os.path.relpath(os.path.abspath(__file__), REPO),
                                    *map(shlex.quote, sys.argv[1:] if argv is None else argv)])
    pairs = [pair_results(pair, args) for pair in args.models]
    settings, threads, versions = describe(args, pairs)
    report = {"command": command, "settings": settings, "threads": threads, "versions": versions,
              "batch_size": args.batch_size, "image_size": args.image_size, "rounds": args.rounds,
              "warmup": args.warmup, "steps": args.steps, "thread_count": args.threads,
              "omp_wait_policy": args.omp_wait_policy, "pairs": pairs}
    print("\n".join(table(report)), flush=True)
    if args.json == "-":
        print(json.dumps(report))
    elif args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=1)
    return report


if __name__ == "__main__":
    main()
