"""Detection input pipeline against SSD-style training consumption, on this machine's CPU.

    python benchmarks/detection_pipeline.py                      # 300x300 (SSD300), batch 32
    python benchmarks/detection_pipeline.py --image-size 128     # smaller images
    python benchmarks/detection_pipeline.py --quick --json out.json

Pipeline: fashion_scenes (128x128 gray, 1-6 objects) encoded as PNG strings in
memory, as if read from disk → ``data.pipeline``: decode → gray to RGB → resize
to the model's size → batch → augment with the boxes (``"image_data_generator"``:
one RandomAffine (rotation 40°, shifts 0.2, shear, zoom 0.2) + horizontal flip,
constant fill) → pad boxes to ``max_boxes`` (class -1) → prefetch. Measured with
``cache=False`` (every image decoded and resized every epoch: the pessimistic
case, as for a dataset too large for memory) and with ``cache=True`` (decode and
resize once, augmentation every epoch), after a warm-up pass.

Consumption: images/s of ``model.fit`` on one batch already in memory (no input
cost) for a small SSD-like network at the same size and batch: a VGG-style stack
(two 3x3 convs per stage, widths 32-64-128-256, 2x2 max-pooling) with 3x3 conv
heads on the stride-8, 16 and 32 maps (4 default boxes per location: 4 box
offsets and 11 class scores each), trained with a dummy mean-squared-error loss
against zeros. Target: the pipeline delivers at least 3x what training consumes.
The load average is printed: on a shared machine the figures vary.
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_cv_course import data  # noqa: E402
from keras_cv_course.data import scenes  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data_pipeline import pipeline_rate  # noqa: E402  (the same steady-state images/s measure)

ANCHORS, CLASSES = 4, 11  # default boxes per location; 10 classes + background


def encoded_scenes(count):
    """``(dataset of (PNG string, {"boxes", "classes"}), scenes)`` for ``count`` train scenes."""
    made = scenes.generate("train", count)
    pngs = [tf.io.encode_png(image).numpy() for image in made.images]
    boxes = tf.RaggedTensor.from_row_splits(made.boxes, made.row_splits)
    classes = tf.RaggedTensor.from_row_splits(made.classes, made.row_splits)
    ds = tf.data.Dataset.from_tensor_slices((pngs, boxes, classes))
    return ds.map(lambda x, b, c: (x, {"boxes": b, "classes": c})), made


def ssd_like(size):
    """A small SSD-style detector: VGG-ish stages and 3x3 conv heads on three maps."""
    from keras import layers

    inputs = keras.Input((size, size, 3), name="image")
    x, maps = inputs, []
    for stage, width in enumerate((32, 64, 128, 256), start=1):
        for j in (1, 2):
            x = layers.Conv2D(width, 3, padding="same", activation="relu", name=f"block{stage}_conv{j}")(x)
        if stage >= 3:
            maps.append(x)
        x = layers.MaxPooling2D(2, padding="same", name=f"block{stage}_pool")(x)
    maps.append(layers.Conv2D(256, 3, padding="same", activation="relu", name="extra_conv")(x))
    boxes, scores = [], []
    for level, feature in enumerate(maps):
        b = layers.Conv2D(ANCHORS * 4, 3, padding="same", name=f"head{level}_boxes")(feature)
        c = layers.Conv2D(ANCHORS * CLASSES, 3, padding="same", name=f"head{level}_classes")(feature)
        boxes.append(layers.Reshape((-1, 4), name=f"head{level}_boxes_flat")(b))
        scores.append(layers.Reshape((-1, CLASSES), name=f"head{level}_classes_flat")(c))
    outputs = {"boxes": layers.Concatenate(axis=1, name="boxes")(boxes),
               "classes": layers.Concatenate(axis=1, name="classes")(scores)}
    return keras.Model(inputs, outputs, name="ssd_like")


def training_rate(size, batch_size, steps):
    """Training images/s of ``ssd_like(size)`` on a batch in memory; a short first fit compiles the step."""
    model = ssd_like(size)
    rng = np.random.default_rng(0)
    x = rng.random((batch_size, size, size, 3), dtype=np.float32)
    y = {name: np.zeros((batch_size,) + tuple(out.shape[1:]), np.float32) for name, out in model.output.items()}
    ds = tf.data.Dataset.from_tensors((x, y)).repeat()
    model.compile(optimizer=keras.optimizers.SGD(1e-3, momentum=0.9), loss={"boxes": "mse", "classes": "mse"})
    model.fit(ds, steps_per_epoch=2, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
    return steps * batch_size / (time.perf_counter() - start), model.count_params(), int(model.output["boxes"].shape[1])


def parse_args(argv=None):
    """The command line: image size, batch size, scene count, augmentation, quick, json."""
    parser = argparse.ArgumentParser(description="detection pipeline vs SSD-like training consumption")
    parser.add_argument("--image-size", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--scenes", type=int, default=640)
    parser.add_argument("--augment", default="image_data_generator", help="a preset of data.augment (with boxes)")
    parser.add_argument("--quick", action="store_true", help="fewer batches and steps")
    parser.add_argument("--json", help="write the figures to this file")
    return parser.parse_args(argv)


def report(r):
    """Print the figures of ``main``."""
    print(f"\n{r['image_size']}x{r['image_size']}x3, batch {r['batch_size']}, augment={r['augment']!r}, "
          f"boxes padded to {r['max_boxes']}:")
    print(f"  pipeline, decode + resize every epoch   {r['pipeline_no_cache']:8.1f} images/s")
    print(f"  pipeline, decoded images cached         {r['pipeline_cache']:8.1f} images/s")
    print(f"  SSD-like training step ({r['model_params']:,} parameters, {r['priors']:,} priors) {r['training']:8.1f} images/s")
    print(f"  ratio pipeline / training: {r['ratio_no_cache']:.1f}x without cache, {r['ratio_cache']:.1f}x with cache "
          "(target >= 3x)")


def main(argv=None):
    """Measure the pipeline (without and with cache) and the training step; print and return the figures."""
    args = parse_args(argv)
    size, bs = args.image_size, args.batch_size
    batches, steps = (6, 2) if args.quick else (20, 4)
    start = time.perf_counter()
    ds, made = encoded_scenes(args.scenes)
    made_in = time.perf_counter() - start
    max_boxes = int(made.counts.max())
    print(f"{os.cpu_count()} CPU cores; TF {tf.__version__}, Keras {keras.__version__}; load average {os.getloadavg()[0]:.1f}")
    print(f"data: {args.scenes} fashion_scenes ({made.origin}), made and PNG-encoded in {made_in:.1f} s; "
          f"{made.counts.mean():.2f} objects per image")
    kwargs = dict(batch_size=bs, training=True, image_size=size, channels=3, augment=args.augment, max_boxes=max_boxes)
    rates = {cache: pipeline_rate(data.pipeline(ds, cache=cache, **kwargs), batches) for cache in (False, True)}
    eat, params, priors = training_rate(size, bs, steps)
    results = {"image_size": size, "batch_size": bs, "augment": args.augment, "max_boxes": max_boxes,
               "pipeline_no_cache": rates[False], "pipeline_cache": rates[True], "training": eat,
               "ratio_no_cache": rates[False] / eat, "ratio_cache": rates[True] / eat, "model_params": params,
               "priors": priors, "cpu_count": os.cpu_count(), "load_average": os.getloadavg()[0]}
    report(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
