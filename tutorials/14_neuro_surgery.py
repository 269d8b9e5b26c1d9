# %% [markdown]
# # 14 — Neuro-surgery (EE-559 7.5): the "Monster"
#
# The lecture builds a network out of parts: the first layer of a trained
# network, several residual blocks, channel-wise averaging and a linear layer.
# The borrowed layer is frozen for the first half of the epochs, so the new
# layers adapt to it before it moves. This walkthrough does the same with the
# package's surgery helpers:
#
# 1. `surgery.borrow_layer` takes `conv1` of the shipped LeNet-5 (trained on
#    Fashion-MNIST: six 5x5 filters) into a new model, with its own copy of the
#    weights;
# 2. three `blocks.basic_block` residual blocks (32, 32 and 64 channels),
#    `GlobalAveragePooling2D` (the channel-wise average) and `Dense(10)` follow;
# 3. `surgery.FreezeSchedule` keeps the borrowed layer frozen for the first half
#    of the epochs of `model.fit`;
# 4. the test error is printed after each epoch, as the lecture prints it, and
#    the borrowed filters are compared with LeNet-5's at the end.
#
# `python tutorials/14_neuro_surgery.py --out runs/14` trains 6 epochs on the
# 60,000 training images; `--fast` 4 epochs on the 2,000-image sample shipped
# with the package.

# %%
import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_cv_course import blocks, data, models, surgery  # noqa: E402
from keras_cv_course.visualize import plots  # noqa: E402

BORROWED = "conv1"


def monster(borrowed, classes=10):
    """The borrowed layer, three residual blocks, channel-wise averaging, a linear layer."""
    inputs = keras.Input((28, 28, 1))
    x = borrowed(inputs)
    x = blocks.basic_block(x, 32, stride=2, name="block1")
    x = blocks.basic_block(x, 32, name="block2")
    x = blocks.basic_block(x, 64, stride=2, name="block3")
    x = keras.layers.GlobalAveragePooling2D(name="channel_average")(x)
    outputs = keras.layers.Dense(classes, activation="softmax", name="linear")(x)
    return keras.Model(inputs, outputs, name="monster")


class TestErrorPerEpoch(keras.callbacks.Callback):
    """Print and keep the test error after each epoch, and whether the borrowed layer trained."""

    def __init__(self, x_test, y_test):
        super().__init__()
        self.x_test, self.y_test, self.errors, self.frozen, self.kernels = x_test, y_test, [], [], []

    def on_epoch_end(self, epoch, logs=None):
        predicted = self.model.predict(self.x_test, batch_size=500, verbose=0).argmax(axis=1)
        error = float(np.mean(predicted != self.y_test))
        layer = self.model.get_layer(BORROWED)
        self.errors.append(error)
        self.frozen.append(not layer.trainable)
        self.kernels.append(layer.get_weights()[0].copy())
        state = "frozen" if not layer.trainable else "training"
        print(f"   epoch {epoch + 1}  loss {logs['loss']:.4f}  test error {100 * error:.2f}%  ({BORROWED} {state})")


def _unit(images):
    """LeNet-5's "unit" preprocessing: pixels in [0, 1], one channel."""
    return images.reshape(-1, 28, 28, 1).astype("float32") / 255.0


def _arrays(fast):
    dataset = "fashion_mnist_sample" if fast else "fashion_mnist"
    (x_train, y_train), (x_test, y_test) = (data.load_arrays(dataset, split) for split in ("train", "test"))
    return _unit(x_train), y_train, _unit(x_test), y_test


def _filters_figure(before, after):
    fig, axes = plots.new_figure(2, before.shape[-1], figsize=(1.3 * before.shape[-1], 3))
    for row, (kernels, title) in enumerate(((before, "LeNet-5"), (after, "Monster"))):
        for index, ax in enumerate(axes[row]):
            ax.imshow(kernels[:, :, 0, index], cmap="gray")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row][0].set_ylabel(title)
    fig.suptitle(f"{BORROWED} filters: as borrowed, and after the unfrozen epochs")
    return fig


def main(fast=False, out="runs/14_neuro_surgery"):
    """Build and train the Monster; return the errors and the borrowed filters."""
    keras.utils.set_random_seed(0)
    lenet = models.get_model("lenet5", weights="fashion_mnist")
    model = monster(surgery.borrow_layer(lenet, BORROWED))
    print(f"The Monster: {model.count_params():,} parameters, {BORROWED} borrowed from the trained LeNet-5")
    x_train, y_train, x_test, y_test = _arrays(fast)
    epochs = 4 if fast else 6
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy")
    watch = TestErrorPerEpoch(x_test, y_test)
    model.fit(x_train, y_train, epochs=epochs, batch_size=64, verbose=0,
              callbacks=[surgery.FreezeSchedule([BORROWED], epochs // 2), watch])
    before = lenet.get_layer(BORROWED).get_weights()[0]
    after = model.get_layer(BORROWED).get_weights()[0]
    print(f"test error {100 * watch.errors[-1]:.2f}%; {BORROWED} moved by at most {np.abs(after - before).max():.4f}")
    writer = plots.FigureWriter(out)
    writer.save(_filters_figure(before, after), "borrowed_filters.png")
    return {"errors": watch.errors, "frozen": watch.frozen, "kernels": watch.kernels, "lenet_kernel": before,
            "params": model.count_params(), "files": writer.files}


# %%
if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Neuro-surgery (EE-559 7.5): the Monster")
    parser.add_argument("--fast", action="store_true", help="4 epochs on the shipped 2,000-image sample")
    parser.add_argument("--out", default="runs/14_neuro_surgery", help="folder for the filter figure")
    args, _ = parser.parse_known_args(sys.argv[1:])
    main(fast=args.fast, out=args.out)
