"""Training speed of fashion_cnn's frozen whitening stem against the learned
stem it replaced, beside a plain Keras LeNet-5, interleaved in one process.

    python benchmarks/stem_speed.py              # 5 rounds (about 3 minutes on 2 CPU cores)
    python benchmarks/stem_speed.py --rounds 3

Models (28×28×1, 10 classes, Adam, batch 128, random data already in memory so
no input cost; the same TensorFlow settings as ``kcc train``; filter values do
not change the step time, so the whitening stem is left unadapted):
- ``whitening stem``: ``fashion_cnn`` — frozen 3×3 ``PatchWhitening`` (18
  filters) → ReLU → pool, then 32- and 64-filter conv-BN stages, Dense(128).
- ``learned stem``: the fashion_cnn it replaced — a trained 3×3 convolution to 16
  filters at 28×28 (bias, ReLU, no BatchNorm) → pool, then 32 and 64.
- ``plain lenet5``: the keras.Sequential LeNet-5 of time_to_accuracy.py's plain
  script, the peer of that benchmark.
Each round trains each model on the same images once, in turn, so a slow phase
of the machine hits all three; the table gives the median and minimum over the
rounds scaled to s/epoch of 60,000 images. The ratios are of the minimums: on
this VM a pass is either run at full speed or stretched to a fixed ceiling
(about 24.3 s/epoch here, whatever the model), so the fastest pass of each
model is its own cost and the median may be the ceiling.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")  # as kcc train

import sys  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_cv_course.models import get_model  # noqa: E402
from keras_cv_course.models.small import FashionVGG  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from time_to_accuracy import plain_lenet5_model  # noqa: E402

EPOCH_IMAGES = 60_000


def models():
    return {
        "whitening stem": get_model("fashion_cnn"),
        "learned stem": FashionVGG(widths=(16, 32, 64), convs=(1, 1, 1), stem_batch_norm=False, top_units=128, dropout=0.0),
        "plain lenet5": plain_lenet5_model(),
    }


def seconds_per_epoch(nets, images, labels, rounds, batch_size):
    """Each round: one pass over ``images`` per model, in turn."""
    for net in nets.values():
        net.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
        net.fit(images[:10 * batch_size], labels[:10 * batch_size], batch_size=batch_size, verbose=0)  # trace
    times = {name: [] for name in nets}
    for round_ in range(1, rounds + 1):
        for name, net in nets.items():
            started = time.perf_counter()
            net.fit(images, labels, batch_size=batch_size, verbose=0)
            times[name].append((time.perf_counter() - started) * EPOCH_IMAGES / len(images))
        print(f"round {round_}/{rounds}: " + ", ".join(f"{name} {t[-1]:.1f} s/epoch" for name, t in times.items()), flush=True)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--images", type=int, default=12_800, help="images per pass (scaled to 60,000)")
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.images, 28, 28, 1)).astype("float32")
    labels = rng.integers(0, 10, args.images)
    nets = models()
    times = seconds_per_epoch(nets, images, labels, args.rounds, args.batch_size)
    medians = {name: statistics.median(t) for name, t in times.items()}
    print(f"\n{'model':16s} {'params':>9s} {'median s/epoch':>15s} {'min s/epoch':>12s}")
    for name, net in nets.items():
        print(f"{name:16s} {net.count_params():>9,} {medians[name]:>15.1f} {min(times[name]):>12.1f}")
    fastest = {name: min(t) for name, t in times.items()}
    print(f"\nlearned stem / whitening stem: {fastest['learned stem'] / fastest['whitening stem']:.2f}x the time per epoch "
          f"(fastest passes)")
    print(f"whitening stem / plain lenet5: {fastest['whitening stem'] / fastest['plain lenet5']:.2f}x")
    print(f"load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
