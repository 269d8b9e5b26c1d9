"""``image_folder``: a dataset from one sub-folder per class.

Like Keras' ``image_dataset_from_directory`` (and ``flow_from_directory``):
class names are the sorted sub-folder names (or ``class_names``), labels their
indices. Every file is decoded once, with the decoder the pipeline uses
(``tf.io.decode_image``), while the folder is scanned, so unreadable, truncated
or corrupt images are found up front: skipped and counted in the returned
dataset's ``report`` (``on_error="skip"``, the default; ``skipped_summary`` and
``skipped_record`` say which) or, with ``on_error="raise"``, a
``CorruptImageError`` naming every such file.
"""

import dataclasses
import os

import numpy as np

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
COLOR_MODES = {"grayscale": 1, "rgb": 3, "rgba": 4}


class CorruptImageError(ValueError):
    """Image files in a folder could not be decoded (``on_error="raise"``)."""


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


ON_ERROR = ("skip", "raise")
SHOWN_SKIPPED = 5  # unreadable files named in a message; the count covers all


def check_on_error(on_error):
    """Refuse an ``on_error`` other than "skip" or "raise", naming it."""
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be 'skip' or 'raise'; got {on_error!r}")


def class_folders(path):
    """The sorted class sub-folder names of ``path`` (an error naming ``path`` when it is no folder)."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise FileNotFoundError(f"Image folder {path} does not exist")
    return sorted(d for d in os.listdir(path) if os.path.isdir(os.path.join(path, d)))


def image_problem(path):
    """Why ``tf.io.decode_image`` (the pipeline's decoder) cannot read the image
    file ``path`` (truncated, corrupt, not an image), or None when it can."""
    import tensorflow as tf

    try:
        with open(path, "rb") as handle:
            contents = handle.read()
        tf.io.decode_image(contents, expand_animations=False)
    except OSError as error:
        return f"{type(error).__name__}: {error.strerror or error}"
    except (tf.errors.OpError, ValueError) as error:
        return "truncated or corrupt: " + _pillow_reason(path, getattr(error, "message", str(error)))
    return None


def _pillow_reason(path, decoder_message):
    """Pillow's account of a file TensorFlow cannot decode (clearer), else the decoder's own."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.load()
    except Exception as error:  # Pillow raises many types for bad files
        return f"{type(error).__name__}: {error}"
    return decoder_message.split("}}")[-1].split(" [Op:")[0].strip()


def _image_files(folder, extensions):
    for root, _, names in sorted(os.walk(folder)):
        for fname in sorted(names):
            if fname.lower().endswith(extensions):
                yield os.path.join(root, fname)


def scan_folder(path, *, class_names=None, on_error="skip", extensions=IMAGE_EXTENSIONS):
    """``(files, labels, report)`` of a class-per-folder tree, each image decoded
    once (``image_problem``). Unreadable files are skipped and listed in the
    report, or with ``on_error="raise"`` a ``CorruptImageError`` names them all."""
    check_on_error(on_error)
    path = os.fspath(path)
    class_names = list(class_folders(path) if class_names is None else class_names)
    if not class_names:
        raise ValueError(f"{path} has no class sub-folders (expected {path}/<class>/<image files>)")
    files, labels, skipped = [], [], []
    counts = {c: 0 for c in class_names}
    for label, name in enumerate(class_names):
        folder = os.path.join(path, name)
        if not os.path.isdir(folder):
            continue
        for full in _image_files(folder, extensions):
            problem = image_problem(full)
            if problem:
                skipped.append((full, problem))
                continue
            files.append(full)
            labels.append(label)
            counts[name] += 1
    report = FolderReport(path, class_names, counts, skipped)
    if skipped and on_error == "raise":
        raise CorruptImageError(skipped_summary([report], strict=True))
    return files, np.asarray(labels, np.int32), report


def _unique_skipped(reports):
    seen = {}
    for report in reports:
        for file, reason in getattr(report, "skipped", None) or ():
            seen.setdefault(file, reason)
    return list(seen.items())


def skipped_summary(reports, *, strict=False):
    """One line naming how many images the folder ``reports`` skipped and the
    first few (file: reason), or None when none was skipped. ``strict``: phrased
    as the error of ``on_error="raise"`` rather than as a warning."""
    skipped = _unique_skipped(reports)
    if not skipped:
        return None
    shown = "; ".join(f"{file} ({reason})" for file, reason in skipped[:SHOWN_SKIPPED])
    more = f"; and {len(skipped) - SHOWN_SKIPPED} more" if len(skipped) > SHOWN_SKIPPED else ""
    if strict:
        return (f"{len(skipped)} unreadable image file(s): {shown}{more}. Remove or replace them, "
                "or let them be skipped (on_error='skip'; kcc without --strict)")
    return (f"skipped {len(skipped)} unreadable image file(s): {shown}{more} "
            "(--strict / on_error='raise' stops instead)")


def skipped_record(reports, limit=20):
    """What a run records about unreadable images its folders skipped: ``{"count",
    "files": [{"file", "reason"}, ...]}`` (the first ``limit``), or None."""
    skipped = _unique_skipped(reports)
    if not skipped:
        return None
    return {"count": len(skipped), "files": [{"file": f, "reason": r} for f, r in skipped[:limit]]}


def image_folder(path, *, image_size=None, color_mode="rgb", class_names=None, on_error="skip", shuffle=True, seed=None):
    """A ``tf.data.Dataset`` of ``(uint8 image, int32 label)`` from ``path/<class>/<image>``.

    ``image_size`` (int or (H, W)) resizes every image (needed to batch folders
    of mixed sizes; the pipeline can also do it); ``color_mode`` is
    ``"grayscale"``, ``"rgb"`` or ``"rgba"`` (images are converted to it);
    ``class_names`` fixes the classes and their order (default: sorted folder
    names); ``on_error`` ``"skip"`` (listed in ``report``) or ``"raise"``
    (``CorruptImageError`` naming them) for unreadable, truncated or corrupt files.

    ``shuffle`` (default True, as in Keras' ``image_dataset_from_directory``)
    puts the files in a random order, drawn once from ``seed``: the same
    ``seed`` gives the same order, and ``seed=None`` draws a seed (kept as the
    dataset's ``shuffle_seed``, so ``seed=ds.shuffle_seed`` repeats the order).
    Unshuffled, the images come class by class, so evaluating a few batches
    sees one class only. ``shuffle=False`` keeps the files in class order,
    sorted by path within a class. The order is fixed when the dataset is
    made (every iteration reads the files in it; ``data.pipeline(training=True)``
    shuffles per epoch), so ``take``/``skip`` splits of it stay disjoint.

    The dataset carries ``class_names``, ``report`` (a ``FolderReport``),
    ``file_paths`` (in the dataset's order) and ``shuffle_seed`` (None unshuffled)
    as attributes, as Keras' ``image_dataset_from_directory`` carries
    ``class_names`` and ``file_paths``.
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
        if seed is None:
            seed = int(np.random.default_rng().integers(2**31))
        order = np.random.default_rng(seed).permutation(len(files))
    else:
        seed = None
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
    ds.shuffle_seed = seed
    return ds


VALIDATION_FOLDERS = ("validation", "val")
SPLITS = ("train", "validation", "test")


@dataclasses.dataclass
class FolderSplit:
    """One split of an image-folder dataset: the dataset, its class names,
    where it came from (``source``, for the run's record) and the ``FolderReport``
    of the folder it was read from (what was skipped)."""

    dataset: object
    class_names: list
    source: str
    report: FolderReport = None


def image_folder_problem(path):
    """Why ``path``, an existing directory, is not an image-folder dataset (no
    class sub-folder of its train folder holds an image file), or None."""
    train = folder_roots(path)["train"]
    for name in class_folders(train):
        if next(_image_files(os.path.join(train, name), IMAGE_EXTENSIONS), None):
            return None
    return f"{train} has no class sub-folders holding image files ({', '.join(IMAGE_EXTENSIONS)})"


def is_image_folder(path):
    """Whether ``path`` is a folder of class sub-folders (or of train/ and friends)."""
    return isinstance(path, (str, os.PathLike)) and os.path.isdir(path)


def folder_roots(path):
    """``{split: folder}`` of an image-folder dataset given as ``path``.

    ``path`` is either a folder with ``train/`` (and optionally ``validation/``
    or ``val/``, and ``test/``) inside, or a class-per-folder tree itself, whose
    sibling ``validation/`` (or ``val/``) and ``test/`` folders are used when
    present (``photos/train`` → ``photos/validation``)."""
    path = os.path.abspath(os.fspath(path))
    inside = os.path.join(path, "train")
    base, parent = (inside, path) if os.path.isdir(inside) else (path, os.path.dirname(path))
    roots = {"train": base}
    for name in VALIDATION_FOLDERS:
        candidate = os.path.join(parent, name)
        if os.path.isdir(candidate) and candidate != base:
            roots["validation"] = candidate
            break
    test = os.path.join(parent, "test")
    if os.path.isdir(test) and test != base:
        roots["test"] = test
    return roots


def folder_split(path, split, *, validation_split=0.2, seed=0, color_mode="rgb", on_error="skip"):
    """The ``split`` ("train", "validation" or "test") of an image-folder dataset
    as a ``FolderSplit``.

    Folders found by ``folder_roots`` serve their split. Without a validation
    folder, "validation" is the last ``validation_split`` of the train folder's
    files in a shuffled order fixed by ``seed``, and "train" the rest, as Keras'
    ``image_dataset_from_directory(validation_split=, subset=, seed=)`` splits.
    Without a test folder, "test" is the validation split. Class names always
    come from the train folder, so labels mean the same in every split. Every
    split is in a shuffled order fixed by ``seed`` (``image_folder``), so the
    first batches hold every class and the same call gives the same order
    (``seed=None`` means 0: the parts of a hold-out, read by separate calls,
    must come from one order to stay disjoint).
    ``on_error``: unreadable images are skipped ("skip", listed in the split's
    ``report``) or raise a ``CorruptImageError`` naming them ("raise")."""
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r} of image folder {path}; expected one of {SPLITS}")
    check_on_error(on_error)
    seed = 0 if seed is None else seed
    roots = folder_roots(path)
    class_names = class_folders(roots["train"])
    if not class_names:
        raise ValueError(f"{roots['train']} has no class sub-folders (expected {roots['train']}/<class>/<image files>)")
    if split in roots:
        if split == "train" and "validation" not in roots and validation_split:
            return _split_part(roots["train"], "train", validation_split, seed, color_mode, class_names, on_error)
        ds = image_folder(roots[split], color_mode=color_mode, class_names=class_names, on_error=on_error,
                          shuffle=True, seed=seed)
        return FolderSplit(ds, class_names, roots[split], ds.report)
    if "validation" in roots:
        return folder_split(path, "validation", seed=seed, color_mode=color_mode, on_error=on_error)
    if not validation_split:
        raise ValueError(f"{roots['train']} has no validation folder beside it and validation_split is 0: "
                         "nothing to validate on")
    return _split_part(roots["train"], "validation", validation_split, seed, color_mode, class_names, on_error)


def _split_part(root, part, validation_split, seed, color_mode, class_names, on_error):
    if not 0.0 < validation_split < 1.0:
        raise ValueError(f"validation_split must lie strictly between 0 and 1; got {validation_split!r}")
    ds = image_folder(root, color_mode=color_mode, class_names=class_names, on_error=on_error, shuffle=True, seed=seed)
    total = len(ds.file_paths)
    held_out = int(round(total * validation_split))
    if held_out < 1 or held_out >= total:
        raise ValueError(f"validation_split {validation_split} of the {total} images of {root} leaves no "
                         f"{'validation' if held_out < 1 else 'training'} image")
    subset = ds.skip(total - held_out) if part == "validation" else ds.take(total - held_out)
    subset.class_names, subset.report, subset.shuffle_seed = ds.class_names, ds.report, seed
    subset.file_paths = ds.file_paths[total - held_out:] if part == "validation" else ds.file_paths[:total - held_out]
    share = f"{held_out} of {total}" if part == "validation" else f"{total - held_out} of {total}"
    return FolderSplit(subset, class_names, f"{root} ({part}: {share} images, seed {seed})", ds.report)
