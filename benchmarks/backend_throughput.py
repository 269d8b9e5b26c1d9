"""Keras on TensorFlow, JAX and PyTorch: the same jobs, in one run, with the ratios to TensorFlow.

    python benchmarks/backend_throughput.py                      # the three jobs below, 5 timed rounds
    python benchmarks/backend_throughput.py --rounds 3 --json backends.json
    python benchmarks/backend_throughput.py --jobs lenet5_train --rounds 1 --steps 1 --warmup 0

Jobs (``--jobs``), images/s (median of the timed rounds):

- ``lenet5_train``: ``train_on_batch`` of LeNet-5 (32×32×1, batch 128),
- ``fashion_cnn_train``: ``train_on_batch`` of fashion_cnn (28×28×1, batch 256),
- ``resnet50_inference``: ``predict_on_batch`` of ResNet-50 (``--resnet-size``,
  default 224, batch 8, BN in inference mode).

Training is SGD (learning rate 0.01) on softmax cross-entropy of random labels,
Keras's default compile (``jit_compile="auto"``: XLA on JAX, TensorFlow's
graph without XLA, eager on PyTorch). Each backend runs in its own subprocess
(Keras reads ``KERAS_BACKEND`` once, at import) that builds every job, makes one
untimed call of each (tracing and compilation), then waits; the parent asks for
one round at a time (``--steps`` calls of each job), the backends in an order
reversed every round, so only one computes at any moment and slow phases of the
machine hit all alike; the first ``--warmup`` rounds are discarded. A backend
that is not installed gets a ``not installed`` row. Threads: TensorFlow's and
PyTorch's pools and ``OMP_NUM_THREADS`` at ``--threads`` (default: the usable
cores); JAX's XLA pool takes all cores. Same random inputs and labels on every
backend. The figures mean something only on a quiet machine.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torchvision_throughput as common  # noqa: E402 - the worker protocol and environment of the sibling benchmark

BACKENDS = ("tensorflow", "jax", "torch")
JOBS = {  # job: (registered model, input shape, batch, mode)
    "lenet5_train": ("lenet5", (32, 32, 1), 128, "train"),
    "fashion_cnn_train": ("fashion_cnn", (28, 28, 1), 256, "train"),
    "resnet50_inference": ("resnet50", None, 8, "inference"),
}
CLASSES = 10


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", nargs="+", choices=list(JOBS), default=list(JOBS))
    p.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    p.add_argument("--resnet-size", type=int, default=224, help="ResNet-50's input height and width")
    p.add_argument("--rounds", type=int, default=5, help="timed rounds (after the warm-up rounds)")
    p.add_argument("--warmup", type=int, default=1, help="rounds run first and discarded")
    p.add_argument("--steps", type=int, default=3, help="calls of each job a backend makes per round")
    p.add_argument("--threads", type=int, default=common.usable_cpus())
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, help="also write the report here")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    for name in ("resnet_size", "rounds", "steps", "threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.warmup < 0:
        p.error("--warmup must be >= 0")
    args.omp_wait_policy = "passive"
    return args


def job_shape(job, args):
    name, shape, batch, mode = JOBS[job]
    return name, shape or (args.resnet_size, args.resnet_size, 3), batch, mode


# ----------------------------------------------------------------------------- the worker (a subprocess)


def set_threads(backend, threads):
    """TensorFlow's or PyTorch's pools at ``threads``; a description of them."""
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        return f"intra-op {threads}, inter-op {threads}"
    if backend == "torch":
        import torch

        torch.set_num_threads(threads)
        return f"torch {torch.get_num_threads()} threads"
    return "XLA's own pool (all cores)"


def job_call(job, args):
    """The call a round times for ``job``: a compiled model's train or predict step."""
    import keras
    import numpy as np

    from keras_cv_course import models

    name, shape, batch, mode = job_shape(job, args)
    keras.utils.set_random_seed(args.seed)
    model = models.get_model(name, input_shape=shape, classes=CLASSES, classifier_activation=None)
    model.compile(optimizer=keras.optimizers.SGD(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(args.seed)
    x = rng.uniform(0, 1, (batch, *shape)).astype("float32")
    y = rng.integers(0, CLASSES, batch).astype("int32")
    if mode == "train":
        return lambda: model.train_on_batch(x, y)
    return lambda: model.predict_on_batch(x)


def worker(args):
    import keras

    backend = keras.backend.backend()
    threads = set_threads(backend, args.threads)
    calls = {job: job_call(job, args) for job in args.jobs}
    for call in calls.values():
        common.time_calls(call, 1)
    module = __import__(backend)
    common.reply({"threads": threads, "versions": {"keras": keras.__version__, backend: module.__version__}})
    for line in sys.stdin:
        if json.loads(line)["op"] != "round":
            break
        common.reply({job: common.time_calls(call, args.steps) for job, call in calls.items()})


# ----------------------------------------------------------------------------- the parent


class BackendWorker(common.Worker):
    """One backend's worker process (the sibling benchmark's protocol)."""

    def __init__(self, backend, args):
        self.side, self.stderr = backend, tempfile.TemporaryFile(mode="w+")
        command = [sys.executable, os.path.abspath(__file__), "--worker", "--jobs", *args.jobs,
                   "--resnet-size", str(args.resnet_size), "--steps", str(args.steps),
                   "--threads", str(args.threads), "--seed", str(args.seed)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
                                        text=True, env=common.worker_env(args, backend), cwd=common.REPO)
        self.info = self.read()


def start(args):
    workers = {}
    for backend in args.backends:
        if not common.installed(backend):
            workers[backend] = common.NOT_INSTALLED
            continue
        print(f"starting {backend} (building and compiling {len(args.jobs)} job(s))...", flush=True)
        try:
            workers[backend] = BackendWorker(backend, args)
        except common.WorkerFailed as error:
            workers[backend] = f"failed: {error}"
    return workers


def rounds(workers, args):
    """{backend: {job: [images/s per timed round]}}."""
    live = [backend for backend, w in workers.items() if isinstance(w, BackendWorker)]
    rates = {backend: {job: [] for job in args.jobs} for backend in live}
    for index in range(args.warmup + args.rounds):
        for backend in (live if index % 2 == 0 else live[::-1]):
            worker_ = workers[backend]
            if not isinstance(worker_, BackendWorker):
                continue
            try:
                seconds = worker_.round()
            except (common.WorkerFailed, BrokenPipeError) as error:
                worker_.close()
                workers[backend] = f"failed: {error}"
                continue
            if index >= args.warmup:
                for job in args.jobs:
                    rates[backend][job].append(args.steps * job_shape(job, args)[2] / seconds[job])
        print(f"round {index + 1}/{args.warmup + args.rounds}{' (warm-up)' if index < args.warmup else ''}",
              flush=True)
    return rates


def report(workers, rates, args):
    rows = []
    for job in args.jobs:
        name, shape, batch, mode = job_shape(job, args)
        medians = {b: statistics.median(rates[b][job]) for b in rates if rates[b][job]}
        tf_rate = medians.get("tensorflow")
        for backend in args.backends:
            status = workers[backend] if isinstance(workers[backend], str) else "ok"
            rate = medians.get(backend)
            rows.append({"job": job, "model": name, "input": list(shape), "batch": batch, "mode": mode,
                         "backend": backend, "status": status, "images_per_s": rate,
                         "ratio_to_tensorflow": rate / tf_rate if rate and tf_rate else None})
    fastest = {}
    for job in args.jobs:
        measured = [row for row in rows if row["job"] == job and row["images_per_s"]]
        if measured:
            fastest[job] = max(measured, key=lambda row: row["images_per_s"])["backend"]
    info = {b: w.info for b, w in workers.items() if isinstance(w, BackendWorker)}
    command = "python benchmarks/backend_throughput.py " + " ".join(sys.argv[1:])
    return {"command": command.strip(), "rounds": args.rounds, "warmup": args.warmup, "steps": args.steps,
            "threads": args.threads, "workers": info, "rows": rows, "fastest": fastest}


def table(result):
    lines = [f"{'job':<20} {'backend':<11} {'images/s':>10} {'vs TF':>7}  status"]
    for row in result["rows"]:
        rate = f"{row['images_per_s']:.1f}" if row["images_per_s"] else "-"
        ratio = f"{row['ratio_to_tensorflow']:.2f}x" if row["ratio_to_tensorflow"] else "-"
        lines.append(f"{row['job']:<20} {row['backend']:<11} {rate:>10} {ratio:>7}  {row['status']}")
    lines += [f"fastest for {job}: {backend}" for job, backend in result["fastest"].items()]
    return "\n".join(lines)


def main(argv=None):
    args = parse(argv)
    if args.worker:
        return worker(args)
    workers = start(args)
    try:
        rates = rounds(workers, args)
    finally:
        for w in workers.values():
            if isinstance(w, BackendWorker):
                w.close()
    result = report(workers, rates, args)
    print(table(result))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
