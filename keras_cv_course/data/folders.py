"""``image_folder``: a dataset from one sub-folder per class.

Like Keras' ``image_dataset_from_directory`` (and ``flow_from_directory``):
class names are the sorted sub-folder names (or ``class_names``), labels their
indices. Every file is opened once with Pillow while the folder is scanned, so
unreadable or corrupt images are found up front: skipped and counted in the
returned dataset's ``report`` (``on_error="skip"``, the default) or raised
(``on_error="raise"``).
"""

import dataclasses
import os

import numpy as np

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
COLOR_MODES = {"grayscale": 1, "rgb": 3, "rgba": 4}


class CorruptImageError(ValueError):
    """An image file in a folder could not be decoded."""


@dataclasses.dataclass
class FolderReport:
    """What scanning a folder found: images kept per class and files skipped (path, reason)."""

    path: str
    class_names: list
    counts: dict
    skipped: list = dataclasses.field(default_factory=list)

    @property
    def num_images(self):
        return sum(self.counts.values())

    @property
    def num_skipped(self):
        return len(self.skipped)

    def __str__(self):
        lines = [f"{self.path}: {self.num_images} images in {len(self.class_names)} classes, {self.num_skipped} skipped"]
        lines += [f"  skipped {p}: {why}" for p, why in self.skipped]
        return "\n".join(lines)


def scan_folder(path, *, class_names=None, on_error="skip", extensions=IMAGE_EXTENSIONS):
    """``(files, labels, report)`` of a class-per-folder tree, each image checked with Pillow."""
    from PIL import Image

    if on_error not in ("skip", "raise"):
        raise ValueError(f"on_error must be 'skip' or 'raise'; got {on_error!r}")
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise FileNotFoundError(f"Image folder {path} does not exist")
    present = sorted(d for d in os.listdir(path) if os.path.isdir(os.path.join(path, d)))
    if class_names is None:
        class_names = present
    class_names = list(class_names)
    if not class_names:
        raise ValueError(f"{path} has no class sub-folders (expected {path}/<class>/<image files>)")
    files, labels, skipped = [], [], []
    counts = {c: 0 for c in class_names}
    for label, name in enumerate(class_names):
        folder = os.path.join(path, name)
        if not os.path.isdir(folder):
            continue
        for root, _, names in sorted(os.walk(folder)):
            for fname in sorted(names):
                full = os.path.join(root, fname)
                if not fname.lower().endswith(extensions):
                    continue
                try:
                    with Image.open(full) as im:
                        im.load()
                except Exception as error:  # PIL raises many types for bad files
                    reason = f"{type(error).__name__}: {error}"
                    if on_error == "raise":
                        raise CorruptImageError(f"Cannot read image {full}: {reason}") from error
                    skipped.append((full, reason))
                    continue
                files.append(full)
                labels.append(label)
                counts[name] += 1
    return files, np.asarray(labels, np.int32), FolderReport(path, class_names, counts, skipped)


def image_folder(path, *, image_size=None, color_mode="rgb", class_names=None, on_error="skip", shuffle=False, seed=None):
    """A ``tf.data.Dataset`` of ``(uint8 image, int32 label)`` from ``path/<class>/<image>``.

    ``image_size`` (int or (H, W)) resizes every image (needed to batch folders
    of mixed sizes; the pipeline can also do it); ``color_mode`` is
    ``"grayscale"``, ``"rgb"`` or ``"rgba"`` (images are converted to it);
    ``class_names`` fixes the classes and their order (default: sorted folder
    names); ``on_error`` ``"skip"`` or ``"raise"`` for unreadable files;
    ``shuffle`` shuffles the file order once (with ``seed``).

    The dataset carries ``class_names`` and ``report`` (a ``FolderReport``) as
    attributes, as Keras' ``image_dataset_from_directory`` carries ``class_names``.
    """
    import tensorflow as tf

    if color_mode not in COLOR_MODES:
        raise ValueError(f"color_mode must be one of {sorted(COLOR_MODES)}; got {color_mode!r}")
    channels = COLOR_MODES[color_mode]
    files, labels, report = scan_folder(path, class_names=class_names, on_error=on_error)
    if not files:
        raise ValueError(f"No readable images in {path}.\n{report}")
    order = np.arange(len(files))
    if shuffle:
        order = np.random.default_rng(seed).permutation(len(files))
    files = [files[i] for i in order]
    labels = labels[order]
    if isinstance(image_size, int):
        image_size = (image_size, image_size)

    def read(fname, label):
        image = tf.io.decode_image(tf.io.read_file(fname), channels=channels, expand_animations=False)
        if image_size is not None:
            image = tf.image.resize(image, image_size, antialias=True)
            image = tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)
            image.set_shape(tuple(image_size) + (channels,))
        return image, label

    ds = tf.data.Dataset.from_tensor_slices((files, labels)).map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds.class_names = list(report.class_names)
    ds.report = report
    ds.file_paths = files
    return ds
