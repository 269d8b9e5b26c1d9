"""Throughput of our ResNet50 beside keras.applications.ResNet50, in one run.

    python benchmarks/resnet50_throughput.py --batch 16 --size 224 --steps 10 --repeats 5

Both models are built with weights=None at the same batch and input size,
compiled the same way (SGD, sparse categorical cross-entropy), warmed up, then
timed in alternating repeats (ours, keras, keras, ours, ...) so that load on the
machine and going first or second hit both alike. Prints images/s (median of the repeats) of a train step
(``train_on_batch``) and of inference (``predict_on_batch``), and ours/keras.
Our default ResNet50 is Keras's exact layout, so the ratio should be ~1.0.
Use small settings on a busy CPU, e.g. ``--batch 8 --size 128 --steps 3``.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_cv_course import models  # noqa: E402


def build(which, size, jit_compile):
    if which == "ours":
        model = models.ResNet50(input_shape=(size, size, 3))
    else:
        model = keras.applications.ResNet50(weights=None, input_shape=(size, size, 3))
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="sparse_categorical_crossentropy", jit_compile=jit_compile)
    return model


def time_calls(call, steps):
    start = time.perf_counter()
    for _ in range(steps):
        result = call()
    np.asarray(result)  # wait for the device
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--steps", type=int, default=10, help="steps per timed repeat")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per model and mode")
    parser.add_argument("--jit", choices=("auto", "on", "off"), default="auto", help="compile(jit_compile=...)")
    args = parser.parse_args(argv)
    jit = {"auto": "auto", "on": True, "off": False}[args.jit]

    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (args.batch, args.size, args.size, 3)).astype("float32")
    y = rng.integers(0, 1000, args.batch)
    built = {}
    for which in ("ours", "keras"):
        keras.utils.set_random_seed(0)
        built[which] = build(which, args.size, jit)
    assert built["ours"].count_params() == built["keras"].count_params()

    modes = {
        "train": lambda m: (lambda: m.train_on_batch(x, y)),
        "inference": lambda m: (lambda: m.predict_on_batch(x)),
    }
    print(
        f"keras {keras.__version__} ({keras.backend.backend()}), batch {args.batch}, input {args.size}x{args.size}, "
        f"{args.steps} steps x {args.repeats} repeats, warm-up {args.warmup}, jit_compile={jit}"
    )
    for mode, make in modes.items():
        calls = {which: make(model) for which, model in built.items()}
        for call in calls.values():
            time_calls(call, args.warmup)
        rates = {which: [] for which in calls}
        for repeat in range(args.repeats):
            order = ("ours", "keras") if repeat % 2 == 0 else ("keras", "ours")  # neither side always goes first
            for which in order:
                rates[which].append(args.steps * args.batch / time_calls(calls[which], args.steps))
        ours, theirs = statistics.median(rates["ours"]), statistics.median(rates["keras"])
        print(
            f"{mode:9s}  ours {ours:8.1f} img/s   keras.applications {theirs:8.1f} img/s   ours/keras {ours / theirs:.3f}"
            f"   (repeats ours {[round(r, 1) for r in rates['ours']]}, keras {[round(r, 1) for r in rates['keras']]})"
        )


if __name__ == "__main__":
    main()
