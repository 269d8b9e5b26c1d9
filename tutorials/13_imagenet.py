# %% [markdown]
# # 13 — ImageNet: the challenge's history and the first layer ZFNet changed
#
# The lecture on ImageNet (Giró-i-Nieto) tells the ILSVRC classification story
# through its winners' top-5 error, and shows how ZFNet (Zeiler & Fergus 2014)
# improved on AlexNet by looking at its first layer. This walkthrough
#
# 1. plots the winners' top-5 error by year (facts from the challenge's results
#    and Russakovsky et al., "ImageNet Large Scale Visual Recognition Challenge",
#    IJCV 2015, which also gives the human 5.1%);
# 2. compares the first layers of the registered `alexnet` and `zfnet`: kernel,
#    stride, output map and parameters. ZFNet's 7x7 stride-2 filters replace
#    AlexNet's 11x11 stride-4 ones. Its map is 110x110 instead of 55x55, so a
#    filter is placed every 2 pixels instead of every 4;
# 3. trains both here on the same data, the paper AlexNet (96 filters 11x11
#    stride 4) and ZFNet (96 filters 7x7 stride 2) convolutional parts with a
#    global average and a linear layer, on grey Fashion-MNIST enlarged to
#    99x99, with Adam at 3e-4 (the papers' SGD at 0.01 left the loss at ln 10
#    = 2.3026 here, from Keras's default initialisation); then draws the 96
#    learned first-layer filters of each and counts the "dead" ones Zeiler and
#    Fergus saw in AlexNet's first layer: filters whose ReLU output is zero at
#    every position of every one of 256 test images.
#
# `python tutorials/13_imagenet.py --out runs/13` writes the plots and trains on
# 18,000 training images for 3 epochs (about 55 minutes on 2 cores); `--fast`
# trains on 320 of the shipped sample for one.

# %%
import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_cv_course import data, models, visualize  # noqa: E402
from keras_cv_course.visualize import plots  # noqa: E402

# ILSVRC classification winners, top-5 error in % (the entry without outside training data where both were given).
ILSVRC_WINNERS = [
    (2010, "NEC-UIUC", 28.2),
    (2011, "XRCE", 25.8),
    (2012, "AlexNet (SuperVision)", 16.4),
    (2013, "ZFNet (Clarifai)", 11.7),
    (2014, "GoogLeNet", 6.7),
    (2015, "ResNet (MSRA)", 3.57),
    (2016, "Trimps-Soushen", 2.99),
    (2017, "SENet", 2.25),
]
HUMAN_TOP5 = 5.1  # Russakovsky et al. 2015, §6.4 (one trained annotator)
# The two trained here: registry name, builder options; both have 96 first-layer filters.
TRAINED = {"alexnet": {"variant": "paper"}, "zfnet": {}}
TRAIN_SIZE = (99, 99)
TRAINING = {"full": {"images": 18_000, "epochs": 3}, "fast": {"images": 320, "epochs": 1}}
PROBE_IMAGES = 256


def first_layer(name):
    """The first convolution of the registered model ``name`` at 224x224:
    kernel, stride, filters, output size and parameters."""
    model = models.get_model(name, input_shape=(224, 224, 3))
    conv = model.get_layer("conv1")
    return {"kernel": conv.kernel_size[0], "stride": conv.strides[0], "filters": conv.filters,
            "output": int(conv.output.shape[1]), "params": conv.count_params()}


def first_layer_net(name):
    """The convolutional part of the registered ``name`` (``TRAINED`` options) on
    grey ``TRAIN_SIZE`` images, then a global average and a 10-way softmax."""
    trunk = models.get_model(name, include_top=False, weights=None, input_shape=TRAIN_SIZE + (1,), **TRAINED[name])
    pooled = keras.layers.GlobalAveragePooling2D(name="avg_pool")(trunk.output)
    return keras.Model(trunk.input, keras.layers.Dense(10, activation="softmax", name="predictions")(pooled), name=name)


def _batches(images, labels, training):
    import tensorflow as tf

    return data.pipeline(tf.data.Dataset.from_tensor_slices((images, labels)), batch_size=64, training=training,
                         image_size=TRAIN_SIZE, preprocess="unit", seed=0)


def train_first_layers(fast):
    """Train each of ``TRAINED`` on the same Fashion-MNIST images; returns
    ``{name: (model, test accuracy, conv1 kernel before training)}`` and the probe images."""
    dataset = "fashion_mnist_sample" if fast else "fashion_mnist"
    plan = TRAINING["fast" if fast else "full"]
    x_train, y_train = (a[:plan["images"]] for a in data.load_arrays(dataset, "train"))
    x_test, y_test = data.load_arrays(dataset, "test")
    trained = {}
    for name in TRAINED:
        keras.utils.set_random_seed(0)
        model = first_layer_net(name)
        start = keras.ops.convert_to_numpy(model.get_layer("conv1").kernel)
        model.compile(optimizer=keras.optimizers.Adam(3e-4), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(_batches(x_train, y_train, True), epochs=plan["epochs"], shuffle=False, verbose=2)
        _, accuracy = model.evaluate(_batches(x_test[:2000], y_test[:2000], False), verbose=0)
        trained[name] = (model, float(accuracy), start)
    return trained, x_test[:PROBE_IMAGES]


def dead_filters(conv_outputs):
    """Indices of the channels of ReLU outputs (N, H, W, C) that are zero at every
    position of every image: filters that never fire on these images."""
    return np.flatnonzero(np.asarray(conv_outputs).reshape(-1, np.shape(conv_outputs)[-1]).max(axis=0) <= 0)


def first_layer_report(model, probe_images, start):
    """The trained ``conv1``: its dead filters on ``probe_images``, its kernel, and
    how far training moved it from ``start`` (its kernel before training):
    ||W - W0|| / ||W0||, small while the filters are still mostly their random start."""
    probe = np.concatenate([x for x, _ in _batches(probe_images, np.zeros(len(probe_images)), False).as_numpy_iterator()])
    outputs = visualize.activations(model, probe, "conv1")["conv1"]
    kernel = keras.ops.convert_to_numpy(model.get_layer("conv1").kernel)
    moved = float(np.linalg.norm(kernel - start) / np.linalg.norm(start))
    return {"dead": dead_filters(outputs), "kernel": kernel, "moved": moved}


def _filters_figure(trained, reports):
    figure, axes = plots.new_figure(1, len(trained), figsize=(5.2 * len(trained), 4.4), squeeze=False)
    for ax, (name, (model, _, _)) in zip(axes[0], trained.items()):
        tiles = visualize.filters(model, "conv1")  # each filter scaled to [0, 1] on its own
        dead = len(reports[name]["dead"])
        plots.plot_filters(ax, tiles, cols=12,
                           title=f"{name} conv1 {tiles.shape[1]}x{tiles.shape[2]}: {dead} of {len(tiles)} dead")
    return figure


def largest_drop(winners=ILSVRC_WINNERS):
    """The year whose winner cut the previous year's error by the most points."""
    drops = [(before - error, year) for (_, _, before), (year, _, error) in zip(winners, winners[1:])]
    return max(drops)[1]


def _history_figure():
    figure, ax = plots.new_figure(figsize=(7.5, 3.8))
    years = [year for year, _, _ in ILSVRC_WINNERS]
    errors = [error for _, _, error in ILSVRC_WINNERS]
    ax.bar(years, errors, color=["C7" if year < 2012 else "C0" for year in years])
    for year, team, error in ILSVRC_WINNERS:
        ax.annotate(f"{error:g}%\n{team.split(' (')[0]}", (year, error), ha="center", va="bottom", fontsize=7)
    ax.axhline(HUMAN_TOP5, color="C3", linestyle="--", label=f"human ({HUMAN_TOP5}%)")
    ax.set(xlabel="ILSVRC year", ylabel="top-5 error (%)", title="ImageNet classification winners", ylim=(0, 33))
    ax.legend()
    return figure


def main(fast=False, out="runs/13_imagenet"):
    """Print the history and the two first layers; train both; write the plots; return the figures."""
    print("1. ILSVRC classification winners, top-5 error")
    for year, team, error in ILSVRC_WINNERS:
        print(f"   {year}  {error:>5.2f}%  {team}{'   (below human)' if error < HUMAN_TOP5 else ''}")
    below_human = next(year for year, _, error in ILSVRC_WINNERS if error < HUMAN_TOP5)
    print(f"   largest cut in points: {largest_drop()} (AlexNet, 25.8% -> 16.4%); first winner below the human {HUMAN_TOP5}%: {below_human}")
    layers = {name: first_layer(name) for name in ("alexnet", "zfnet")}
    print("2. first layer   kernel  stride  filters  map at 224   parameters")
    for name, row in layers.items():
        print(f"   {name:<14} {row['kernel']:>2}x{row['kernel']:<3} {row['stride']:>5}  {row['filters']:>7}   "
              f"{row['output']:>3}x{row['output']:<6} {row['params']:>10,}")
    plan = TRAINING["fast" if fast else "full"]
    print(f"3. trained here: {plan['images']:,} Fashion-MNIST images at {TRAIN_SIZE}, {plan['epochs']} epoch(s)")
    trained, probe = train_first_layers(fast)
    reports = {name: first_layer_report(model, probe, start) for name, (model, _, start) in trained.items()}
    for name, (_, accuracy, _) in trained.items():
        report = reports[name]
        print(f"   {name:<8} test accuracy {accuracy:.4f}; conv1 dead filters {len(report['dead'])} of "
              f"{report['kernel'].shape[-1]} on {len(probe)} test images; moved {report['moved']:.3f} of its "
              "starting norm")
    writer = plots.FigureWriter(out)
    writer.save(_history_figure(), "ilsvrc_top5_error.png")
    writer.save(_filters_figure(trained, reports), "first_layer_filters.png")
    return {"largest_drop": largest_drop(), "below_human": below_human, "first_layers": layers,
            "trained": {name: {"accuracy": accuracy, **reports[name]} for name, (_, accuracy, _) in trained.items()},
            "files": writer.files}


# %%
if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="ImageNet: the challenge's history and ZFNet's first layer")
    parser.add_argument("--fast", action="store_true", help="train on 320 images of the shipped sample")
    parser.add_argument("--out", default="runs/13_imagenet", help="folder for the plots")
    args, _ = parser.parse_known_args(sys.argv[1:])
    main(fast=args.fast, out=args.out)
