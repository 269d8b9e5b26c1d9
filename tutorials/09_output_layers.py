# %% [markdown]
# # 09 — Output layers and convolution shapes (DL4CV)
#
# The course's lecture on output layers works a few numbers by hand. This
# walkthrough computes each of them with Keras and prints it beside the
# lecture's value:
#
# 1. the sigmoid table, S(x) = 1 / (1 + e^-x) for x = -100 … 100;
# 2. the two softmax tables, (47, 50, 12) and (3, 50, 12), computed stably
#    (the largest score subtracted first, as `keras.ops.softmax` does), and what
#    the naive formula does with large scores;
# 3. integer against one-hot class encoding: the same loss either way;
# 4. the output sizes of normal, padded, strided, atrous (dilated) and
#    transposed convolutions (Dumoulin & Visin, "A guide to convolution
#    arithmetic for deep learning", 2016), from the formula and from Keras layers.
#
# `python tutorials/09_output_layers.py --out runs/09` writes the sigmoid and
# softmax figure; `--fast` is the same (everything here takes a second).

# %%
import argparse
import math
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_cv_course.visualize import plots  # noqa: E402

SIGMOID_INPUTS = (-100.0, -10.0, -1.0, -0.1, 0.0, 0.1, 1.0, 10.0, 100.0)
# The lecture's softmax tables: scores -> probabilities, as printed there.
SOFTMAX_TABLES = {
    (47.0, 50.0, 12.0): (0.047, 0.953, 3.139e-17),
    (3.0, 50.0, 12.0): (3.874e-21, 1.0, 3.139e-17),
}


def sigmoid_table():
    """``{x: S(x)}`` for the lecture's inputs, by ``keras.ops.sigmoid`` in float64."""
    x = keras.ops.convert_to_tensor(np.array(SIGMOID_INPUTS), dtype="float64")
    return dict(zip(SIGMOID_INPUTS, keras.ops.convert_to_numpy(keras.ops.sigmoid(x)).tolist()))


def softmax(scores):
    """Probabilities of ``scores`` by ``keras.ops.softmax`` in float64 (it
    subtracts the largest score before exponentiating, so nothing overflows)."""
    x = keras.ops.convert_to_tensor(np.array(scores, np.float64), dtype="float64")
    return keras.ops.convert_to_numpy(keras.ops.softmax(x)).tolist()


def naive_softmax(scores, dtype=np.float32):
    """exp(s) / sum(exp(s)) as written, in ``dtype``: overflows for large scores."""
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(np.array(scores, dtype))
        return (e / e.sum()).tolist()


def encoding_losses(labels, probabilities):
    """The cross-entropy of ``probabilities`` for integer ``labels`` and for
    their one-hot vectors: Keras's sparse and dense losses give the same value."""
    probabilities = np.asarray(probabilities, np.float32)
    one_hot = keras.ops.convert_to_numpy(keras.ops.one_hot(np.asarray(labels), probabilities.shape[-1]))
    sparse = float(keras.losses.SparseCategoricalCrossentropy()(np.asarray(labels), probabilities))
    dense = float(keras.losses.CategoricalCrossentropy()(one_hot, probabilities))
    return {"one_hot": one_hot.tolist(), "sparse": sparse, "dense": dense,
            "by_hand": float(-np.mean(np.log(probabilities[np.arange(len(labels)), labels])))}


def conv_output_size(size, kernel, *, stride=1, padding=0, dilation=1):
    """Output length of a convolution: floor((i + 2p - d(k - 1) - 1) / s) + 1."""
    return math.floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1


def transposed_output_size(size, kernel, *, stride=1):
    """Output length of a transposed convolution without padding: s(i - 1) + k."""
    return stride * (size - 1) + kernel


# (name, input size, layers that make it, the formula's size): the guide's figures.
def convolution_cases():
    """The five cases of the convolution arithmetic guide, each as Keras layers
    and as the formula's output size."""
    conv = keras.layers.Conv2D
    return [
        ("normal: 4x4, 3x3 kernel, no padding", 4, [conv(1, 3)], conv_output_size(4, 3)),
        ("padded: 5x5, 4x4 kernel, padding 2", 5, [keras.layers.ZeroPadding2D(2), conv(1, 4)],
         conv_output_size(5, 4, padding=2)),
        ("strided: 5x5, 3x3 kernel, stride 2, padding 1", 5, [keras.layers.ZeroPadding2D(1), conv(1, 3, strides=2)],
         conv_output_size(5, 3, stride=2, padding=1)),
        ("atrous: 7x7, 3x3 kernel, dilation 2", 7, [conv(1, 3, dilation_rate=2)],
         conv_output_size(7, 3, dilation=2)),
        ("transposed: 3x3, 3x3 kernel, stride 2", 3, [keras.layers.Conv2DTranspose(1, 3, strides=2)],
         transposed_output_size(3, 3, stride=2)),
    ]


def keras_output_size(size, layers):
    """The spatial size Keras gives a ``size`` x ``size`` input through ``layers``."""
    model = keras.Sequential([keras.Input((size, size, 1)), *layers])
    return int(model.output_shape[1])


def _figure(sigmoids, tables):
    fig, (left, right) = plots.new_figure(1, 2, figsize=(10, 3.6))
    x = np.linspace(-10, 10, 201)
    left.plot(x, 1 / (1 + np.exp(-x)))
    left.scatter([k for k in sigmoids if abs(k) <= 10], [v for k, v in sigmoids.items() if abs(k) <= 10], color="C3")
    left.set(title="sigmoid S(x)", xlabel="x", ylabel="S(x)")
    width = 0.38
    for offset, (scores, probabilities) in zip((-width / 2, width / 2), tables.items()):
        right.bar(np.arange(3) + offset, probabilities, width, label=f"scores {tuple(int(s) for s in scores)}")
    right.set(title="softmax", xticks=range(3), xticklabels=["class 0", "class 1", "class 2"], ylabel="probability",
              ylim=(0, 1.25))
    right.legend(loc="upper left")
    return fig


def main(fast=False, out="runs/09_output_layers"):
    """Print the lecture's tables computed here; return them (for the test)."""
    print("1. sigmoid")
    sigmoids = sigmoid_table()
    for x, s in sigmoids.items():
        print(f"   S({x:>6}) = {s:.6g}")

    print("2. softmax (stable)                       lecture")
    tables = {scores: softmax(scores) for scores in SOFTMAX_TABLES}
    for scores, probabilities in tables.items():
        shown = ", ".join(f"{p:.4g}" for p in probabilities)
        print(f"   {tuple(int(s) for s in scores)} -> ({shown})   {SOFTMAX_TABLES[scores]}")
    # The lecture's 3.139e-17 in the first table is e^-38 itself; divided by the
    # sum 1 + e^-3 it is 2.990e-17 (in the second table the sum is 1, so both agree).
    print(f"   e^-38 = {math.exp(-38):.4g}; / (1 + e^-3) = {math.exp(-38) / (1 + math.exp(-3)):.4g}")
    large = (1000.0, 1003.0, 990.0)
    overflow = {"naive_float32": naive_softmax(large), "stable": softmax(large)}
    print(f"   scores {large}: naive float32 {overflow['naive_float32']}, stable "
          f"({', '.join(f'{p:.4g}' for p in overflow['stable'])})")

    print("3. integer vs one-hot labels")
    encodings = encoding_losses([1, 0], [[0.047, 0.953, 0.0], [0.7, 0.2, 0.1]])
    print(f"   labels [1, 0] -> one-hot {encodings['one_hot']}")
    print(f"   sparse loss {encodings['sparse']:.6f}, one-hot loss {encodings['dense']:.6f}, "
          f"by hand -(ln 0.953 + ln 0.7)/2 = {encodings['by_hand']:.6f}")

    print("4. convolution output sizes            formula  keras")
    shapes = {}
    for name, size, layers, formula in convolution_cases():
        shapes[name] = (formula, keras_output_size(size, layers))
        print(f"   {name:<46} {formula:>3}x{formula:<3} {shapes[name][1]:>3}x{shapes[name][1]}")

    writer = plots.FigureWriter(out)
    writer.save(_figure(sigmoids, tables), "sigmoid_softmax.png")
    return {"sigmoid": sigmoids, "softmax": tables, "overflow": overflow, "encodings": encodings,
            "shapes": shapes, "files": writer.files}


# %%
if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Output layers and convolution shapes (DL4CV)")
    parser.add_argument("--fast", action="store_true", help="the same as the full run (it takes a second)")
    parser.add_argument("--out", default="runs/09_output_layers", help="folder for the figure")
    args, _ = parser.parse_known_args(sys.argv[1:])
    main(fast=args.fast, out=args.out)
