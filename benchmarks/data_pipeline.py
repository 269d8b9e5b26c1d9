"""Input-pipeline throughput: tf.data (keras_cv_course.data.pipeline) beside Keras'
legacy ImageDataGenerator.flow, and beside what LeNet-5 and a CIFAR ResNet consume
per second in training, all in one run at one batch size.

    python benchmarks/data_pipeline.py                 # full run (about 2-4 minutes on 2 CPU cores)
    python benchmarks/data_pipeline.py --quick         # fewer batches
    python benchmarks/data_pipeline.py --json out.json # also write the figures

Measured:
1. Same transforms, same batch: the course's ImageDataGenerator set (rotation 40°,
   shifts 0.2, shear 0.2, zoom 0.2, horizontal flip, fill nearest) on real
   Fashion-MNIST 28×28×1, rescaled to [0, 1] — ImageDataGenerator(...).flow(x, y)
   against pipeline(..., augment="image_data_generator") (RandomAffine + RandomFlip)
   and against the chain of separate Keras layers. Target >= 10×.
2. Model consumption: images/s of a training step (model.fit on a batch already
   in memory, so no input cost) for LeNet-5 (28×28×1) and cifar_resnet20
   (32×32×3), against the pipeline each trains with ("fashion" / "cifar"
   presets). Target >= 3×. CIFAR-10 is used when a local copy exists; else
   Fashion-MNIST resized to 32×32 and repeated to RGB stands in (same shapes).
Throughput is steady state: the pipeline's first full pass (decode, cache, shuffle\nbuffer) is warm-up. The load average is printed: on a shared machine figures vary.
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_cv_course import data  # noqa: E402


def pipeline_rate(ds, batches):
    """Steady-state images/s of ``ds``: one full pass first (it fills the cache and
    the shuffle buffer), then ``batches`` batches of the following passes."""
    for _ in ds:
        pass
    it = iter(ds.repeat())
    next(it)
    n, start = 0, time.perf_counter()
    for _ in range(batches):
        x, _ = next(it)
        n += int(x.shape[0])
    return n / (time.perf_counter() - start)


def idg_rate(x, y, batch_size, batches):
    from keras.src.legacy.preprocessing.image import ImageDataGenerator

    gen = ImageDataGenerator(
        rotation_range=40, width_shift_range=0.2, height_shift_range=0.2, shear_range=0.2,
        zoom_range=0.2, horizontal_flip=True, fill_mode="nearest", rescale=1.0 / 255,
    )
    it = gen.flow(x, y, batch_size=batch_size, shuffle=True, seed=0)
    next(it)
    n, start = 0, time.perf_counter()
    for _ in range(batches):
        xb, _ = next(it)
        n += len(xb)
    return n / (time.perf_counter() - start)


def model_rate(model, shape, classes, batch_size, steps):
    """Training images/s of ``model`` on a batch already in memory (input cost excluded).
    A first short fit compiles the train step; the second is timed."""
    rng = np.random.default_rng(0)
    xb = rng.random((batch_size,) + shape, dtype=np.float32)
    yb = rng.integers(0, classes, batch_size)
    ds = tf.data.Dataset.from_tensors((xb, yb)).repeat()
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="sparse_categorical_crossentropy")
    model.fit(ds, steps_per_epoch=2, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
    return steps * batch_size / (time.perf_counter() - start)


def cifar_resnet():
    from keras_cv_course import models

    if "cifar_resnet20" in models.list_models("cifar_resnet*"):
        return "cifar_resnet20", models.get_model("cifar_resnet20", input_shape=(32, 32, 3), classes=10)
    # Fallback only when the registry has no CIFAR ResNet: ResNet-20's layout inline.
    from keras import layers

    inputs = keras.Input((32, 32, 3))
    x = layers.Conv2D(16, 3, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = layers.ReLU(name="stem_relu")(layers.BatchNormalization(name="stem_bn")(x))
    for stage, filters in enumerate((16, 32, 64)):
        for block in range(3):
            stride = 2 if stage and not block else 1
            p = f"s{stage}b{block}"
            y = layers.Conv2D(filters, 3, stride, padding="same", use_bias=False, name=f"{p}_c1")(x)
            y = layers.ReLU(name=f"{p}_r1")(layers.BatchNormalization(name=f"{p}_bn1")(y))
            y = layers.BatchNormalization(name=f"{p}_bn2")(layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{p}_c2")(y))
            if stride != 1:
                x = layers.BatchNormalization(name=f"{p}_sbn")(layers.Conv2D(filters, 1, stride, use_bias=False, name=f"{p}_sc")(x))
            x = layers.ReLU(name=f"{p}_out")(layers.Add(name=f"{p}_add")([x, y]))
    x = layers.Dense(10, activation="softmax", name="predictions")(layers.GlobalAveragePooling2D(name="gap")(x))
    return "inline ResNet-20 (cifar_resnet20 not registered)", keras.Model(inputs, x)


def main(argv=None):
    parser = argparse.ArgumentParser(description="tf.data pipeline vs ImageDataGenerator vs model consumption")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--quick", action="store_true", help="fewer batches (a rough figure in well under a minute)")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    bs = args.batch_size
    pipe_batches, idg_batches, steps = (60, 10, 10) if args.quick else (300, 40, 40)

    try:
        x, y = data.load_arrays("fashion_mnist", "train", download=False)
        fashion_name = "fashion_mnist (60,000 real images)"
    except data.DatasetNotFoundError:
        x, y = data.load_arrays("fashion_mnist_sample", "train")
        fashion_name = "fashion_mnist_sample (2,000 real images; install dataset-fashion-mnist for the full set)"
    fashion = tf.data.Dataset.from_tensor_slices((x, y))
    try:
        cifar = data.load("cifar10", "train", download=False)
        cifar_name = "cifar10"
        cifar_kwargs = {}
    except data.DatasetNotFoundError:
        cifar = fashion
        cifar_name = "fashion_mnist resized to 32x32x3 (no local CIFAR-10)"
        cifar_kwargs = {"image_size": 32, "channels": 3}

    results = {"batch_size": bs, "cpu_count": os.cpu_count(), "tensorflow": tf.__version__, "keras": keras.__version__,
               "devices": [d.device_type for d in tf.config.list_physical_devices()], "fashion_data": fashion_name}
    print(f"batch {bs}; {os.cpu_count()} CPU cores; devices {results['devices']}; TF {tf.__version__}, Keras {keras.__version__}")
    print(f"data: {fashion_name}; load average {os.getloadavg()[0]:.1f}")

    # 1. The same transforms, tf.data against ImageDataGenerator.flow.
    idg = idg_rate(x.astype(np.float32), y, bs, idg_batches)
    ours = pipeline_rate(data.pipeline(fashion, batch_size=bs, training=True, augment="image_data_generator", preprocess="unit"), pipe_batches)
    chain = pipeline_rate(
        data.pipeline(fashion, batch_size=bs, training=True, preprocess="unit",
                      augment=data.augment.image_data_generator_layers(fused=False)), pipe_batches)
    results["image_data_generator"] = {"tf_data": ours, "tf_data_keras_layer_chain": chain,
                                       "ImageDataGenerator.flow": idg, "speedup": ours / idg, "speedup_chain": chain / idg}
    print("\n1. ImageDataGenerator set (rotation 40, shift 0.2, shear 0.2, zoom 0.2, flip, nearest), 28x28x1:")
    print(f"   tf.data pipeline            {ours:10,.0f} images/s")
    print(f"     (Keras layer chain        {chain:10,.0f} images/s: RandomRotation, RandomTranslation, RandomShear, RandomZoom, RandomFlip)")
    print(f"   ImageDataGenerator.flow     {idg:10,.0f} images/s")
    print(f"   speed-up                    {ours / idg:10.1f}x   (target >= 10x; the chain of four Keras layers: {chain / idg:.1f}x)")

    # 2. The pipeline each model trains with, against what the model consumes.
    from keras_cv_course import models

    resnet_name, resnet = cifar_resnet()
    cases = [
        ("lenet5", models.get_model("lenet5"), (28, 28, 1), fashion, "fashion", {}, fashion_name, steps),
        (resnet_name, resnet, (32, 32, 3), cifar, "cifar", cifar_kwargs, cifar_name, max(steps // 4, 5)),
    ]
    print("\n2. Pipeline throughput against training consumption:")
    for name, model, shape, ds, preset, kwargs, source, model_steps in cases:
        feed = pipeline_rate(data.pipeline(ds, batch_size=bs, training=True, augment=preset, **kwargs), pipe_batches)
        eat = model_rate(model, shape, 10, bs, model_steps)
        results[name] = {"pipeline": feed, "training": eat, "ratio": feed / eat, "augment": preset, "data": source}
        print(f"   {name:<28} augment={preset!r:<9} pipeline {feed:10,.0f} images/s, "
              f"training {eat:9,.0f} images/s  -> {feed / eat:5.1f}x  (target >= 3x)   [{source}]")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
