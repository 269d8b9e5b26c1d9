# %% [markdown]
# # 11 — The Keras convnet of the course, layer by layer
#
# The lecture's first Keras convnet: three 3x3 convolutions of 32, 64 and 64
# filters with two 2x2 max-poolings between them, then Dense(64) and Dense(10),
# on 28x28 grey images. This walkthrough
#
# 1. builds it as the lecture writes it (`keras.Sequential`) and checks its
#    summary against the lecture's printed one: 93,322 parameters, layer by layer;
# 2. counts its multiply-accumulates with `keras_cv_course.models.complexity`;
# 3. trains it on Fashion-MNIST and prints the test accuracy and learning curves;
# 4. redoes the lecture's depthwise-separable arithmetic: a 5x5 convolution from
#    3 to 256 channels costs 5·5·3·256 = 19,200 multiplications per output
#    position, its depthwise-separable version (5·5·1)·3 + 1·1·3·256 = 843.
#
# The VGG16 feature-extraction and fine-tuning model (16,812,353 parameters) is
# built in tutorial 03.
#
# `python tutorials/11_keras_convnet.py --out runs/11` trains 5 epochs (batch 64, RMSprop) on the
# 60,000 training images; `--fast` the same 5 epochs on the 2,000-image sample shipped
# with the package.

# %%
import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from keras_cv_course import data  # noqa: E402
from keras_cv_course.models.complexity import count_flops  # noqa: E402
from keras_cv_course.visualize import plots  # noqa: E402

# The lecture's summary: (layer, output shape, parameters).
LECTURE_SUMMARY = [
    ("conv2d", (26, 26, 32), 320),
    ("max_pooling2d", (13, 13, 32), 0),
    ("conv2d_1", (11, 11, 64), 18_496),
    ("max_pooling2d_1", (5, 5, 64), 0),
    ("conv2d_2", (3, 3, 64), 36_928),
    ("flatten", (576,), 0),
    ("dense", (64,), 36_928),
    ("dense_1", (10,), 650),
]
LECTURE_TOTAL = 93_322


def lecture_convnet():
    """The lecture's convnet, written as it is there (a ``keras.Sequential``)."""
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(32, (3, 3), activation="relu", name="conv2d"),
        keras.layers.MaxPooling2D((2, 2), name="max_pooling2d"),
        keras.layers.Conv2D(64, (3, 3), activation="relu", name="conv2d_1"),
        keras.layers.MaxPooling2D((2, 2), name="max_pooling2d_1"),
        keras.layers.Conv2D(64, (3, 3), activation="relu", name="conv2d_2"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(64, activation="relu", name="dense"),
        keras.layers.Dense(10, activation="softmax", name="dense_1"),
    ], name="lecture_convnet")


def summary_rows(model):
    """``[(layer name, output shape without the batch, parameters)]``."""
    return [(layer.name, tuple(layer.output.shape[1:]), layer.count_params()) for layer in model.layers]


def train(model, fast):
    """Train on Fashion-MNIST (the sample with ``fast``): RMSprop as in the lecture,
    batch 64. Returns ``(history dict, test accuracy)``."""
    dataset = "fashion_mnist_sample" if fast else "fashion_mnist"
    (x_train, y_train), (x_test, y_test) = (data.load_arrays(dataset, split) for split in ("train", "test"))
    x_train = x_train.reshape(-1, 28, 28, 1).astype("float32") / 255.0
    x_test = x_test.reshape(-1, 28, 28, 1).astype("float32") / 255.0
    keras.utils.set_random_seed(0)
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=5, batch_size=64, validation_data=(x_test, y_test),
                        verbose=2)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    return history.history, float(accuracy)


def separable_costs(kernel=5, channels_in=3, channels_out=256):
    """Multiplications per output position of a ``kernel`` x ``kernel``
    convolution from ``channels_in`` to ``channels_out`` channels, plain and
    depthwise-separable, counted by ``count_flops`` on one-position models."""
    inputs = keras.Input((kernel, kernel, channels_in))
    plain = keras.Model(inputs, keras.layers.Conv2D(channels_out, kernel, use_bias=False)(inputs))
    separable = keras.Model(inputs, keras.layers.SeparableConv2D(channels_out, kernel, use_bias=False)(inputs))
    return {"plain": count_flops(plain).macs, "separable": count_flops(separable).macs}


def _curves(history):
    figure, axes = plots.new_figure(1, 2, figsize=(9, 3.4))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        plots.plot_history(ax, history, metric, title=metric)
        ax.legend(["training", "test"])  # the lecture validates on the test images
    return figure


def main(fast=False, out="runs/11_keras_convnet"):
    """Print the lecture's summary beside the built one, train, count; return the figures."""
    model = lecture_convnet()
    rows = summary_rows(model)
    print("1. layer             output shape      parameters   (lecture)")
    for (name, shape, params), (_, lecture_shape, lecture_params) in zip(rows, LECTURE_SUMMARY):
        print(f"   {name:<17} {str(shape):<17} {params:>10,}   ({lecture_params:,} at {lecture_shape})")
    print(f"   total {model.count_params():,} (lecture {LECTURE_TOTAL:,})")
    macs = count_flops(model).macs
    print(f"2. {macs:,} multiply-accumulates per image")
    print("3. training")
    history, accuracy = train(model, fast)
    print(f"   test accuracy {accuracy:.4f}")
    costs = separable_costs()
    print(f"4. 5x5 convolution, 3 -> 256 channels: {costs['plain']:,} multiplications per position; "
          f"depthwise-separable {costs['separable']:,} ({costs['plain'] / costs['separable']:.1f}x fewer)")
    writer = plots.FigureWriter(out)
    writer.save(_curves(history), "learning_curves.png")
    return {"rows": rows, "total": model.count_params(), "macs": macs, "history": history, "accuracy": accuracy,
            "separable": costs, "files": writer.files}


# %%
if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="The Keras convnet of the course, layer by layer")
    parser.add_argument("--fast", action="store_true", help="the shipped 2,000-image sample instead")
    parser.add_argument("--out", default="runs/11_keras_convnet", help="folder for the learning curves")
    args, _ = parser.parse_known_args(sys.argv[1:])
    main(fast=args.fast, out=args.out)
