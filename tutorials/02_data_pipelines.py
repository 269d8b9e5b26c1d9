"""Tutorial 2 — data pipelines and augmentation.

The course feeds its convnets through Keras' ``ImageDataGenerator``; this
tutorial builds the same thing as a ``tf.data`` pipeline, which is what keeps a
GPU busy:

1. data: ``keras_cv_course.data.load`` finds Fashion-MNIST (TFDS directory,
   Keras cache, Debian's ``dataset-fashion-mnist`` files, your folder, or a
   download) and ``data.info`` describes it;
2. the pipeline: decode → resize → augment → preprocess → batch → prefetch, with
   the model's preprocessing mode taken from the registry;
3. augmentation, shown on real images (``augmentations.png``): the Fashion
   preset (pad + random crop + flip), the course's ImageDataGenerator set, the
   same set as a chain of separate Keras layers, and AlexNet's random crop +
   flip + PCA color lighting with a basis computed from the training data;
4. AlexNet's test procedure: train LeNet-5 on random 24×24 crops, then average
   its predictions over ten crops (four corners, center, and their mirrors).

Run:  python tutorials/02_data_pipelines.py [--fast] [--out DIR]
(``--fast`` uses the 2,000-image sample shipped with the package and one short
epoch; without it the 60,000 training images and three epochs.)
"""

import argparse
import os
import sys
import time

import numpy as np


def main(fast=False, out="tutorial_02_out"):
    import keras
    import tensorflow as tf

    from keras_cv_course import data
    from keras_cv_course.data import augment
    from keras_cv_course.models import get_model, model_info
    from keras_cv_course.visualize import plots

    os.makedirs(out, exist_ok=True)
    results = {"files": []}

    # ------------------------------------------------------------------ 1. data
    print("1. Data")
    name = "fashion_mnist_sample" if fast else "fashion_mnist"
    try:
        source = data.locate(name, "train", download=False)
    except data.DatasetNotFoundError as error:  # no local copy: say where we looked, use the sample
        print(error)
        name, source = "fashion_mnist_sample", data.locate("fashion_mnist_sample", "train")
    facts = data.info(name)
    print(f"  {name}: {facts.num_classes} classes {facts.class_names[:3]}..., images {facts.image_shape}, splits {facts.splits}")
    print(f"  read from {source.kind}: {source.path}")
    train, test = data.load(name, "train"), data.load(name, "test")
    results["source"] = source.kind

    # ------------------------------------------------------------------ 2. the pipeline
    print("2. Pipeline")
    entry = model_info("lenet5")
    print(f"  lenet5 takes {entry.input_shape}, preprocessing {entry.preprocessing!r}")
    batches = data.pipeline(train, batch_size=128, training=True, model="lenet5", augment="fashion", seed=0)
    x, y = next(iter(batches))
    print(f"  one batch: images {tuple(x.shape)} {x.dtype.name} in [{float(tf.reduce_min(x)):.2f}, {float(tf.reduce_max(x)):.2f}], labels {y.numpy()[:8]}")
    again = next(iter(data.pipeline(train, batch_size=128, training=True, model="lenet5", augment="fashion", seed=0)))[0]
    results["seeded_repeat"] = bool(np.array_equal(x.numpy(), again.numpy()))
    print(f"  the same seed gives the same batch: {results['seeded_repeat']}")

    # ------------------------------------------------------------------ 3. augmentation on real images
    print("3. Augmentation")
    images, labels = next(iter(test.batch(8)))
    images = tf.cast(images, tf.float32)
    rgb_big = tf.image.resize(tf.repeat(images, 3, axis=-1), (64, 64))  # AlexNet-style: RGB, 256→224 scaled down to 64→56
    pca = augment.pca_basis(train.take(2000).map(lambda im, lab: tf.repeat(im, 3, axis=-1)))
    print(f"  PCA lighting basis from the training images: eigenvalues {np.round(pca[0], 1)}")
    rows = {
        "original": images,
        "fashion (pad 2 + crop + flip)": augment.preset("fashion", image_size=(28, 28), seed=1).layers,
        "ImageDataGenerator set (RandomAffine + flip)": augment.image_data_generator_layers(seed=2),
        "same as Keras layer chain": augment.image_data_generator_layers(seed=3, fused=False),
    }
    grid = []
    for title, spec in rows.items():
        batch = images
        if not isinstance(spec, tf.Tensor):
            for layer in spec:
                batch = layer(batch, training=True)
        grid.append(tf.image.resize(tf.repeat(tf.cast(batch, tf.float32), 3, axis=-1), (56, 56)))
    alexnet = [augment.RandomCrop(56, 56, seed=4), keras.layers.RandomFlip("horizontal", seed=5),
               augment.PCALighting(*pca, alphastd=0.3, seed=6)]  # alpha std 0.3 instead of 0.1 so the shift shows
    batch = rgb_big
    for layer in alexnet:
        batch = layer(batch, training=True)
    grid.append(batch)
    titles = list(rows) + ["AlexNet: crop 56 of 64 + flip + PCA lighting"]
    figure, axes = plots.new_figure(len(grid), 1, figsize=(10, 1.45 * len(grid)))
    for ax, title, batch in zip(axes, titles, grid):
        mosaic = plots.tile_images(np.clip(keras.ops.convert_to_numpy(batch), 0, 255) / 255.0, cols=8, margin=2)
        ax.imshow(mosaic)
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    path = plots.save_figure(figure, os.path.join(out, "augmentations.png"))
    results["files"].append(path)
    results["grid_rows"] = len(grid)
    print(f"  wrote {path}")

    # ------------------------------------------------------------------ 4. train on crops, test on ten crops
    print("4. Random-crop training and ten-crop testing (AlexNet's procedure, on LeNet-5)")
    keras.utils.set_random_seed(0)
    model = get_model("lenet5", input_shape=(24, 24, 1))
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    crops = [augment.RandomCrop(24, 24, seed=7), keras.layers.RandomFlip("horizontal", seed=8)]
    fit_data = data.pipeline(train, batch_size=64, training=True, augment=crops, seed=0, num_classes=10)
    start = time.perf_counter()
    model.fit(fit_data, epochs=1 if fast else 3, verbose=0)
    print(f"  trained in {time.perf_counter() - start:.1f} s")
    x_test, y_test = data.load_arrays(name, "test")
    x_test = x_test.astype("float32") / 255.0
    center = augment.RandomCrop(24, 24)(x_test, training=False)
    results["center_accuracy"] = float(np.mean(np.argmax(model.predict(center, verbose=0), axis=1) == y_test))
    averaged = augment.ten_crop_predict(model, x_test, 24)
    results["ten_crop_accuracy"] = float(np.mean(np.argmax(averaged, axis=1) == y_test))
    print(f"  test accuracy: center crop {results['center_accuracy']:.3f}, ten crops averaged {results['ten_crop_accuracy']:.3f}")
    print("For throughput against ImageDataGenerator and the models, run benchmarks/data_pipeline.py.")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="the embedded sample, one epoch")
    parser.add_argument("--out", default="tutorial_02_out")
    args = parser.parse_args()
    main(fast=args.fast, out=args.out)
    sys.exit(0)
