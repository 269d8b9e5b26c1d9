"""Regenerate keras_cv_course/data/fashion_mnist_sample.npz from the real
Fashion-MNIST idx files (Debian's dataset-fashion-mnist package by default).

The sample is class-balanced and deterministic: the first 200 training images
of each class (2,000 in all) and the first 100 test images of each class
(1,000), kept in their original order.

    python tools/make_fashion_sample.py [--source /usr/share/datasets/fashion-mnist]
"""

import argparse
import os

import numpy as np

from keras_cv_course.data.datasets import DEBIAN_FASHION_MNIST_DIR, SAMPLE_FILE, _IDX_FILES, read_idx_pair

PER_CLASS = {"train": 200, "test": 100}


def balanced_indices(labels, per_class):
    picks = [np.flatnonzero(labels == c)[:per_class] for c in range(10)]
    if any(len(p) < per_class for p in picks):
        raise ValueError(f"some class has fewer than {per_class} images")
    return np.sort(np.concatenate(picks))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=DEBIAN_FASHION_MNIST_DIR, help="folder with the four idx .gz files")
    parser.add_argument("--output", default=SAMPLE_FILE)
    args = parser.parse_args(argv)
    arrays = {}
    for split, per_class in PER_CLASS.items():
        images, labels = read_idx_pair(*(os.path.join(args.source, f) for f in _IDX_FILES[split]))
        keep = balanced_indices(labels, per_class)
        arrays[f"x_{split}"] = images[keep].astype(np.uint8)
        arrays[f"y_{split}"] = labels[keep].astype(np.uint8)
        arrays[f"index_{split}"] = keep.astype(np.int32)  # position in the full split, for provenance
    np.savez_compressed(args.output, **arrays)
    print(f"wrote {args.output}: {os.path.getsize(args.output) / 1e6:.2f} MB, "
          + ", ".join(f"{k} {v.shape}" for k, v in arrays.items()))


if __name__ == "__main__":
    main()
