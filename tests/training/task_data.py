"""Small real-data problems of every task, built from the embedded Fashion-MNIST
sample, for the task tests and the SIGKILL resume test (run as a script there).

- ``one_hot``: the ten classes with one-hot labels (lenet5);
- ``binary``: Trouser (1) against Bag (0), labels 0/1, the course's transfer
  model (conv base + Flatten + Dense(256) + Dense(1, sigmoid));
- ``multilabel``: two items side by side (28×56), the multi-hot set of their classes;
- ``segmentation``: each item's pixels (> 40) labelled with its class + 1, background 0.

    python tests/training/task_data.py KIND RUN_DIR EPOCHS [--resume]
"""

import sys

import numpy as np

SAMPLE = "fashion_mnist_sample"
KINDS = ("one_hot", "binary", "multilabel", "segmentation")
BINARY_CLASSES = (8, 1)  # Bag -> 0, Trouser -> 1
SEGMENTATION_CLASSES = ["background"] + [f"item_{i}" for i in range(10)]


def arrays(split):
    from keras_cv_course import data

    images, labels = data.load_arrays(SAMPLE, split)
    return images.reshape(-1, 28, 28, 1), labels.astype(np.int64)


def binary_arrays(split):
    images, labels = arrays(split)
    keep = np.isin(labels, BINARY_CLASSES)
    return images[keep], (labels[keep] == BINARY_CLASSES[1]).astype(np.int64)


def pairs(split, seed=0):
    """Two items side by side and the multi-hot vector of their classes."""
    images, labels = arrays(split)
    partner = np.random.default_rng(seed).permutation(len(images))
    wide = np.concatenate([images, images[partner]], axis=2)
    hot = np.zeros((len(images), 10), np.float32)
    hot[np.arange(len(images)), labels] = 1.0
    hot[np.arange(len(images)), labels[partner]] = 1.0
    return wide, hot


def masks(split):
    images, labels = arrays(split)
    return images, np.where(images[..., 0] > 40, labels[:, None, None] + 1, 0).astype(np.uint8)


def dataset(kind, split):
    """An unbatched ``tf.data.Dataset`` of ``(uint8 image, target)`` for ``kind``."""
    import tensorflow as tf

    if kind == "one_hot":
        images, labels = arrays(split)
        targets = np.eye(10, dtype=np.float32)[labels]
    elif kind == "binary":
        images, targets = binary_arrays(split)
    elif kind == "multilabel":
        images, targets = pairs(split)
    elif kind == "segmentation":
        images, targets = masks(split)
    else:
        raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
    return tf.data.Dataset.from_tensor_slices((images, targets))


def model(kind):
    """A small model for ``kind`` (named layers throughout)."""
    import keras
    from keras import layers

    from keras_cv_course import models, surgery

    if kind == "one_hot":
        return models.get_model("lenet5")
    if kind == "binary":
        conv_base = models.get_model("lenet5", include_top=False, input_shape=(28, 28, 1))
        return surgery.transfer_classifier(conv_base, hidden=256, classes=1, name="course_binary")
    if kind == "multilabel":
        inputs = keras.Input((28, 56, 1), name="input_layer")
        x = layers.Conv2D(16, 3, activation="relu", name="conv1")(inputs)
        x = layers.MaxPooling2D(name="pool1")(x)
        x = layers.Conv2D(32, 3, activation="relu", name="conv2")(x)
        x = layers.MaxPooling2D(name="pool2")(x)
        x = layers.Flatten(name="flatten")(x)
        outputs = layers.Dense(10, activation="sigmoid", name="predictions")(x)
        return keras.Model(inputs, outputs, name="pair_tagger")
    # A two-scale FCN in miniature: coarse class scores from a 7×7 map with a
    # 28×28 receptive field, upsampled ×4 and added to fine per-pixel scores.
    inputs = keras.Input((28, 28, 1), name="input_layer")
    fine = layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = layers.MaxPooling2D(name="pool1")(fine)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(name="pool2")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="conv3")(x)
    x = layers.Conv2D(64, 7, padding="same", activation="relu", name="context")(x)
    coarse = layers.UpSampling2D(4, interpolation="bilinear", name="upscore")(layers.Conv2D(11, 1, name="score")(x))
    scores = layers.Add(name="fuse")([coarse, layers.Conv2D(11, 1, name="score_fine")(fine)])
    outputs = layers.Softmax(name="masks")(scores)
    return keras.Model(inputs, outputs, name="pixel_classifier")


def class_names(kind):
    from keras_cv_course import data

    names = list(data.info(SAMPLE).class_names)
    if kind == "binary":
        return [names[i] for i in BINARY_CLASSES]
    return SEGMENTATION_CLASSES if kind == "segmentation" else names


def train(kind, run_dir, epochs, *, resume=False, verbose=0, **kwargs):
    """``training.fit`` of ``kind``'s model on its train split, validated on its test split."""
    from keras_cv_course.training import fit

    options = {"batch_size": 64, "learning_rate": 3e-3, "schedule": "onecycle", "seed": 0, **kwargs}
    return fit(model(kind), dataset(kind, "train"), dataset(kind, "test"), epochs=epochs, run_dir=run_dir,
               resume=resume, verbose=verbose, class_names=class_names(kind), **options)


if __name__ == "__main__":
    kind, run_dir, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    train(kind, run_dir, epochs, resume="--resume" in sys.argv)
