# %% [markdown]
# # 15 — Training a convnet from scratch on a small dataset
#
# The lecture's small-data recipe (Chollet, *Deep Learning with Python*, §5.2):
# two classes, 1,000 training, 500 validation and 500 test images per class in
# a folder tree, a four-block convnet trained from scratch, then the two cures
# for overfitting the lecture shows — data augmentation with
# `ImageDataGenerator(rotation_range=40, width_shift_range=0.2,
# height_shift_range=0.2, shear_range=0.2, zoom_range=0.2, horizontal_flip=True,
# fill_mode="nearest")` and `Dropout(0.5)` before the classifier. This walkthrough
#
# 1. writes the lecture's folder layout (`train/`, `validation/`, `test/`, a
#    sub-folder per class) from real Fashion-MNIST pictures: shirts against
#    T-shirts/tops, the pair the shipped classifier confuses most;
# 2. reads it back with `data.folder_split`, counting what it found per split;
# 3. builds the lecture's convnet and checks its summary at the lecture's
#    150×150×3 input (3,453,121 parameters), then trains it on the folder's
#    grey 28×28 pictures enlarged to 64×64;
# 4. trains it twice with the lecture's RMSprop(1e-4) and binary cross-entropy:
#    plain, and with the ImageDataGenerator settings as a tf.data pipeline
#    (`data.pipeline(augment="image_data_generator")`) plus dropout;
# 5. draws one training picture augmented eight times, and both runs' learning
#    curves, and prints the test accuracy and the train-validation gap of each.
#
# `python tutorials/15_small_data.py --out runs/15` uses the lecture's 1,000/500/500
# images per class from the full Fashion-MNIST (Debian's `dataset-fashion-mnist` or
# the Keras cache); `--fast` takes 120/80/100 per class from the 2,000-image sample
# shipped with the package and trains fewer epochs.

# %%
import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_cv_course import data  # noqa: E402
from keras_cv_course.visualize import plots  # noqa: E402

CLASSES = {"shirt": 6, "t_shirt_top": 0}  # folder name: Fashion-MNIST label
LECTURE_COUNTS = {"train": 1000, "validation": 500, "test": 500}  # images per class
FAST_COUNTS = {"train": 120, "validation": 80, "test": 100}
LECTURE_INPUT = (150, 150, 3)
LECTURE_PARAMETERS = 3_453_121
IMAGE_SIZE = (64, 64)
# Epochs of the plain and the augmented run; the lecture trains 30 and 100.
EPOCHS = {"full": (30, 100), "fast": (20, 12)}


def write_folder(root, fast):
    """Write ``root/{train,validation,test}/{shirt,t_shirt_top}/*.png`` from real
    Fashion-MNIST pictures, the lecture's counts per class (``FAST_COUNTS`` from
    the shipped sample with ``fast``). Train and validation come from the
    training split, test from the test split, so no picture is in two splits.
    Returns ``{split: images written per class}``."""
    counts = FAST_COUNTS if fast else LECTURE_COUNTS
    dataset = "fashion_mnist_sample" if fast else "fashion_mnist"
    pools = {"train": data.load_arrays(dataset, "train"), "test": data.load_arrays(dataset, "test")}
    for name, label in CLASSES.items():
        train_pool = np.flatnonzero(pools["train"][1] == label)
        test_pool = np.flatnonzero(pools["test"][1] == label)
        picks = {
            "train": (pools["train"][0], train_pool[:counts["train"]]),
            "validation": (pools["train"][0], train_pool[counts["train"]:counts["train"] + counts["validation"]]),
            "test": (pools["test"][0], test_pool[:counts["test"]]),
        }
        for split, (images, chosen) in picks.items():
            if len(chosen) < counts[split]:
                raise ValueError(f"{dataset} has {len(chosen)} {name} images left for {split}; "
                                 f"the layout needs {counts[split]}")
            folder = os.path.join(root, split, name)
            os.makedirs(folder, exist_ok=True)
            for i in chosen:
                keras.utils.save_img(os.path.join(folder, f"{name}.{i}.png"), images[i].reshape(28, 28, 1), scale=False)
    return dict(counts)


def read_folder(root):
    """``{split: data.FolderSplit}`` of the folder tree, in grey."""
    return {split: data.folder_split(root, split, color_mode="grayscale") for split in LECTURE_COUNTS}


def found_per_class(split):
    """Images per class name that a ``FolderSplit`` holds."""
    labels = np.array([int(label) for _, label in split.dataset.as_numpy_iterator()])
    return {name: int((labels == i).sum()) for i, name in enumerate(split.class_names)}


def small_data_convnet(input_shape=LECTURE_INPUT, dropout=0.0):
    """The lecture's convnet: Conv 32-64-128-128 (3×3, ReLU), each followed by a
    2×2 max-pooling, then Flatten, optional Dropout, Dense(512, ReLU) and one
    sigmoid unit (Chollet 2017, listing 5.5; dropout: listing 5.13)."""
    layers = [keras.Input(input_shape)]
    for filters in (32, 64, 128, 128):
        layers += [keras.layers.Conv2D(filters, 3, activation="relu"), keras.layers.MaxPooling2D(2)]
    layers.append(keras.layers.Flatten())
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    layers += [keras.layers.Dense(512, activation="relu"), keras.layers.Dense(1, activation="sigmoid")]
    return keras.Sequential(layers, name="small_data_convnet" + ("_dropout" if dropout else ""))


def batches(split, training, augment=None, batch_size=32):
    """A split as batches in [0, 1] at ``IMAGE_SIZE``; ``augment`` a pipeline preset."""
    return data.pipeline(split.dataset, batch_size=batch_size, training=training, image_size=IMAGE_SIZE,
                         augment=augment, preprocess="unit", seed=0)


def train_run(splits, *, augment, dropout, epochs):
    """Train one run from scratch; returns ``(history dict, test accuracy)``."""
    keras.utils.set_random_seed(0)
    model = small_data_convnet(IMAGE_SIZE + (1,), dropout=dropout)
    model.compile(optimizer=keras.optimizers.RMSprop(1e-4), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(batches(splits["train"], True, augment), validation_data=batches(splits["validation"], False),
                        epochs=epochs, shuffle=False, verbose=2)  # the pipeline shuffles
    _, accuracy = model.evaluate(batches(splits["test"], False), verbose=0)
    return history.history, float(accuracy)


def final_gap(history, last=3):
    """Training minus validation accuracy, averaged over the ``last`` epochs."""
    return float(np.mean(history["accuracy"][-last:]) - np.mean(history["val_accuracy"][-last:]))


def augmented_examples(split, count=8):
    """One training picture and ``count`` draws of the ImageDataGenerator layers."""
    image = next(split.dataset.as_numpy_iterator())[0]
    picture = keras.ops.convert_to_numpy(keras.layers.Resizing(*IMAGE_SIZE)(image[None].astype("float32")))
    layers = data.augment.image_data_generator_layers(seed=0)
    figure, axes = plots.new_figure(1, count + 1, figsize=(1.4 * (count + 1), 1.8))
    axes[0].imshow(picture[0, ..., 0], cmap="gray", vmin=0, vmax=255)
    axes[0].set_title("original", fontsize=8)
    for ax in axes[1:]:
        drawn = picture
        for layer in layers:
            drawn = layer(drawn, training=True)
        ax.imshow(keras.ops.convert_to_numpy(drawn)[0, ..., 0], cmap="gray", vmin=0, vmax=255)
    for ax in axes:
        ax.axis("off")
    return figure


def learning_curves(runs):
    """Training and validation accuracy and loss of each run, side by side."""
    figure, axes = plots.new_figure(2, len(runs), figsize=(4.6 * len(runs), 6.2), squeeze=False)
    for column, (title, history) in enumerate(runs.items()):
        for row, metric in enumerate(("accuracy", "loss")):
            plots.plot_history(axes[row, column], history, metric, title=f"{title}: {metric}")
            axes[row, column].legend(fontsize=8)
    return figure


def main(fast=False, out="runs/15_small_data"):
    """Write and read the folder, build, train both runs, plot; return the figures."""
    root = os.path.join(out, "shirts_vs_tshirts")
    written = write_folder(root, fast)
    splits = read_folder(root)
    found = {split: found_per_class(splits[split]) for split in splits}
    print(f"1. wrote {root}: per class {written}")
    for split, per_class in found.items():
        print(f"   {split:<10} found {sum(per_class.values()):,} images belonging to {len(per_class)} classes {per_class}")
    lecture_model = small_data_convnet()
    print(f"2. the lecture's convnet at {LECTURE_INPUT}: {lecture_model.count_params():,} parameters "
          f"(lecture {LECTURE_PARAMETERS:,})")
    plain_epochs, augmented_epochs = EPOCHS["fast" if fast else "full"]
    print(f"3. plain: {plain_epochs} epochs at {IMAGE_SIZE}, no augmentation, no dropout")
    plain, plain_accuracy = train_run(splits, augment=None, dropout=0.0, epochs=plain_epochs)
    print(f"4. augmented: {augmented_epochs} epochs, ImageDataGenerator settings as tf.data, Dropout(0.5)")
    augmented, augmented_accuracy = train_run(splits, augment="image_data_generator", dropout=0.5,
                                              epochs=augmented_epochs)
    gaps = {"plain": final_gap(plain), "augmented": final_gap(augmented)}
    accuracies = {"plain": plain_accuracy, "augmented": augmented_accuracy}
    for name in ("plain", "augmented"):
        print(f"   {name:<9} test accuracy {accuracies[name]:.4f}; "
              f"training - validation accuracy over the last 3 epochs {gaps[name]:+.4f}")
    writer = plots.FigureWriter(out)
    writer.save(augmented_examples(splits["train"]), "augmented_examples.png")
    writer.save(learning_curves({"plain": plain, "augmented + dropout": augmented}), "learning_curves.png")
    return {"written": written, "found": found, "class_names": splits["train"].class_names,
            "lecture_parameters": lecture_model.count_params(), "histories": {"plain": plain, "augmented": augmented},
            "accuracy": accuracies, "gap": gaps, "files": writer.files}


# %%
if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Training a convnet from scratch on a small dataset")
    parser.add_argument("--fast", action="store_true", help="the shipped 2,000-image sample, fewer epochs")
    parser.add_argument("--out", default="runs/15_small_data", help="folder for the image tree and the figures")
    args, _ = parser.parse_known_args(sys.argv[1:])
    main(fast=args.fast, out=args.out)
