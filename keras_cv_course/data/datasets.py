"""Dataset sources: ``load(name, split)`` and ``info(name)``.

``load`` returns a ``tf.data.Dataset`` of ``(uint8 image (H, W, C), int32 label)``
from the first source that has the data, in this order (DESIGN.md §6):

1. an explicit ``data_dir``, which always wins: a prepared TFDS data directory
   in it, else a user folder: the idx ``.gz`` files, a ``{name}.npz`` with
   ``x_train, y_train, x_test, y_test``, the CIFAR python batches, or one
   sub-folder per class under ``data_dir/{split}/``;
2. a prepared TFDS data directory (``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``);
3. the Keras dataset cache (``$KERAS_HOME/datasets`` or ``~/.keras/datasets``),
   in the layout ``keras.datasets.*.load_data`` leaves there;
4. the files of Debian's ``dataset-fashion-mnist`` package
   (``/usr/share/datasets/fashion-mnist``, or ``debian_dir`` / ``$KCC_DEBIAN_FASHION_MNIST``);
5. a download through TFDS, only when ``download=True`` (the default): the
   download host is probed first (``network_problem``, 2 s), so offline it fails
   at once instead of retrying for minutes, and a failed download's partial
   files are removed.

When nothing has the data, ``DatasetNotFoundError`` names every place looked in,
where to put the files and how to get the data. ``locate(name, split)`` says
which source ``load`` would use without reading it.

Arrays read from files (``.npz``, idx, CIFAR batches) go through
``check_pixels``: NaN/inf pixels (counting the images that hold them), values
outside 0..255 and float images scaled to [0, 1] are refused naming the file,
never cast to uint8 without a word.

``"fashion_mnist_sample"`` is a small real Fashion-MNIST subset shipped inside
the package (2,000 train and 1,000 test images, class-balanced), so demos and
tests run anywhere without a download.

Detection and segmentation datasets give their own elements (DESIGN.md §6):

- ``"fashion_scenes"`` / ``"fashion_scenes_masks"``: Fashion-MNIST items
  pasted on 128×128 canvases, generated from a seed (data/scenes.py):
  ``(image, {"boxes", "classes"})`` / ``(image, semantic mask)``; options
  ``num_scenes``, ``seed``, ``source``, ``config``, ``cache_dir``.
- ``"voc2007"``, ``"voc2012"`` (detection) and ``"voc2007_segmentation"``,
  ``"voc2012_segmentation"`` (data/voc.py): a prepared TFDS ``voc/{year}``
  (detection only), else a VOCdevkit under ``data_dir`` or the Keras cache,
  else a TFDS download (detection only); options ``difficult``, ``on_error``,
  ``channels``, ``check_images``.
"""

import contextlib
import dataclasses
import glob
import gzip
import os
import pickle
import shutil
import socket
import threading
import zipfile
import zlib

import numpy as np

from keras_cv_course._files import CorruptFileError
from keras_cv_course.data.voc import VOC_CLASSES, VOC_SPLITS

DEBIAN_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
SAMPLE_FILE = os.path.join(os.path.dirname(__file__), "fashion_mnist_sample.npz")

_IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR100_CLASSES = (
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
    "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
    "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
    "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
    "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse",
    "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree", "plain",
    "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket", "rose",
    "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider", "squirrel",
    "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor", "train",
    "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
)


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What ``info(name)`` reports: classes, their names, image shape, split sizes."""

    name: str
    num_classes: int
    class_names: tuple
    image_shape: tuple
    splits: dict
    tfds_name: str = None
    description: str = ""

    @property
    def channels(self):
        return self.image_shape[-1]


_DATASETS = {
    "mnist": DatasetInfo(
        "mnist", 10, tuple(str(i) for i in range(10)), (28, 28, 1), {"train": 60_000, "test": 10_000},
        tfds_name="mnist", description="LeCun et al. handwritten digits",
    ),
    "fashion_mnist": DatasetInfo(
        "fashion_mnist", 10, FASHION_CLASSES, (28, 28, 1), {"train": 60_000, "test": 10_000},
        tfds_name="fashion_mnist", description="Zalando Fashion-MNIST (Xiao, Rasul & Vollgraf 2017)",
    ),
    "fashion_mnist_sample": DatasetInfo(
        "fashion_mnist_sample", 10, FASHION_CLASSES, (28, 28, 1), {"train": 2_000, "test": 1_000},
        description="class-balanced real Fashion-MNIST subset shipped with the package",
    ),
    "cifar10": DatasetInfo(
        "cifar10", 10, CIFAR10_CLASSES, (32, 32, 3), {"train": 50_000, "test": 10_000},
        tfds_name="cifar10", description="Krizhevsky 2009, CIFAR-10",
    ),
    "cifar100": DatasetInfo(
        "cifar100", 100, CIFAR100_CLASSES, (32, 32, 3), {"train": 50_000, "test": 10_000},
        tfds_name="cifar100", description="Krizhevsky 2009, CIFAR-100 (fine labels)",
    ),
}
_ALIASES = {"fashion-mnist": "fashion_mnist", "fmnist": "fashion_mnist", "cifar-10": "cifar10", "cifar-100": "cifar100"}

# Detection and segmentation datasets: ``locate`` hands them to data/scenes.py and data/voc.py.
_SCENE_SPLITS = {"train": 6_000, "test": 1_000}
_DATASETS.update({
    "fashion_scenes": DatasetInfo(
        "fashion_scenes", 10, FASHION_CLASSES, (128, 128, 1), dict(_SCENE_SPLITS),
        description="Fashion-MNIST items pasted on a canvas: (image, {'boxes', 'classes'}) (data/scenes.py)",
    ),
    "fashion_scenes_masks": DatasetInfo(
        "fashion_scenes_masks", 11, ("background",) + FASHION_CLASSES, (128, 128, 1), dict(_SCENE_SPLITS),
        description="the fashion_scenes as (image, semantic mask): 0 background, class + 1, 255 void",
    ),
    **{f"voc{year}": DatasetInfo(
        f"voc{year}", 20, VOC_CLASSES, (None, None, 3), dict(VOC_SPLITS[(year, "detection")]), tfds_name=f"voc/{year}",
        description=f"PASCAL VOC {year} detection: (image, {{'boxes', 'classes'}}) (data/voc.py)",
    ) for year in ("2007", "2012")},
    **{f"voc{year}_segmentation": DatasetInfo(
        f"voc{year}_segmentation", 21, ("background",) + VOC_CLASSES, (None, None, 3),
        dict(VOC_SPLITS[(year, "segmentation")]),
        description=f"PASCAL VOC {year} segmentation: (image, mask), 0 background, 255 void (data/voc.py)",
    ) for year in ("2007", "2012")},
})
_ALIASES.update({"voc/2007": "voc2007", "voc/2012": "voc2012", "voc_2007": "voc2007", "voc_2012": "voc2012"})
_ANNOTATED = ("fashion_scenes", "fashion_scenes_masks", "voc2007", "voc2012", "voc2007_segmentation", "voc2012_segmentation")


class DatasetNotFoundError(FileNotFoundError):
    """No source had the dataset and it could not (or may not) be downloaded."""

    def __init__(self, message, places=()):
        super().__init__(message)
        self.places = tuple(places)


class DatasetNameError(ValueError):
    """A dataset argument is neither a known dataset name nor an existing image
    folder."""


def list_datasets():
    """Names ``load`` and ``info`` accept."""
    return sorted(_DATASETS)


def info(name):
    """The ``DatasetInfo`` of ``name`` (classes, class names, image shape, split sizes)."""
    return _DATASETS[_canonical(name)]


def _canonical(name):
    key = str(name).lower().strip()
    key = _ALIASES.get(key, key)
    if key not in _DATASETS:
        import difflib

        if _looks_like_path(key):
            raise DatasetNameError(_neither(name, "no such directory"))
        close = difflib.get_close_matches(key, list(_DATASETS), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise DatasetNameError(f"Unknown dataset {name!r}.{hint} Known datasets: {', '.join(list_datasets())}.")
    return key


def _looks_like_path(text):
    return "/" in text or os.sep in text or ".." in text or text.startswith("~")


def _neither(name, why):
    return (f"Dataset {name!r} is neither an existing image folder ({why}) nor a dataset name; expected a folder "
            f"of class sub-folders of images or one of: {', '.join(list_datasets())}.")


def check_dataset(spec):
    """Refuse a dataset argument that is neither an image folder (an existing
    directory whose class sub-folders hold images) nor a dataset name
    (``DatasetNameError`` naming it), before anything is written; other objects
    (a tf.data.Dataset, None) pass. Returns ``spec``."""
    if not isinstance(spec, (str, os.PathLike)):
        return spec
    if os.path.isdir(spec):
        problem = _folders().image_folder_problem(spec)
        if problem:
            raise DatasetNameError(_neither(os.fspath(spec), f"it is a directory, but {problem}"))
    elif isinstance(spec, os.PathLike):
        raise DatasetNameError(_neither(os.fspath(spec), "no such directory"))
    else:
        info(spec)
    return spec


def _check_split(dataset, split):
    if split not in dataset.splits:
        raise ValueError(f"Dataset {dataset.name!r} has splits {sorted(dataset.splits)}; got split={split!r}.")


# ----------------------------------------------------------------------------- sources


@dataclasses.dataclass(frozen=True)
class Source:
    """Where ``load`` found (or would find) a dataset split.

    ``kind`` is one of ``"tfds"``, ``"keras_cache"``, ``"debian"``, ``"folder"``,
    ``"embedded"``, ``"download"``, ``"generated"`` (fashion_scenes); ``path`` the
    file or directory used (for generated data, where its items come from).
    """

    kind: str
    path: str
    reader: object = dataclasses.field(default=None, repr=False, compare=False)

    def read(self):
        return self.reader()


def keras_datasets_dir():
    """``$KERAS_HOME/datasets`` (read at call time), else ``~/.keras/datasets``."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "datasets")


def tfds_data_dirs(data_dir=None):
    dirs = []
    if data_dir:
        dirs.append(os.fspath(data_dir))
    if os.environ.get("TFDS_DATA_DIR"):
        dirs.append(os.environ["TFDS_DATA_DIR"])
    dirs.append(os.path.join(os.path.expanduser("~"), "tensorflow_datasets"))
    return list(dict.fromkeys(dirs))


def debian_fashion_mnist_dir(override=None):
    """The Debian Fashion-MNIST directory: ``override``, ``$KCC_DEBIAN_FASHION_MNIST``, else the package path."""
    return os.fspath(override or os.environ.get("KCC_DEBIAN_FASHION_MNIST") or DEBIAN_FASHION_MNIST_DIR)


def _find_tfds(dataset, split, roots, places):
    """Prepared TFDS directories under ``roots``: ``{root}/{tfds_name}/{version}/dataset_info.json``
    (each root looked in is appended to ``places``)."""
    if not dataset.tfds_name:
        return None
    for root in roots:
        pattern = os.path.join(root, dataset.tfds_name, "*", "dataset_info.json")
        places.append(f"prepared TFDS data: {os.path.join(root, dataset.tfds_name)}")
        found = sorted(glob.glob(pattern) + glob.glob(os.path.join(root, dataset.tfds_name, "*", "*", "dataset_info.json")))
        if found:
            builder_dir = os.path.dirname(found[-1])
            return Source("tfds", builder_dir, lambda d=builder_dir: _read_tfds_dir(d, split))
    return None


def _read_tfds_dir(builder_dir, split):
    import tensorflow as tf
    import tensorflow_datasets as tfds

    builder = tfds.builder_from_directory(builder_dir)
    ds = builder.as_dataset(split=split, as_supervised=True, shuffle_files=False)
    return ds.map(lambda x, y: (x, tf.cast(y, tf.int32)), num_parallel_calls=tf.data.AUTOTUNE)


def _idx_reader(directory, split, dataset):
    images_file, labels_file = (os.path.join(directory, f) for f in _IDX_FILES[split])
    return lambda: _arrays_dataset(*read_idx_pair(images_file, labels_file), dataset, f"{images_file}")


def _has_idx(directory, split):
    return all(os.path.isfile(os.path.join(directory, f)) for f in _IDX_FILES[split])


def read_idx(path):
    """Read an idx file (``.gz`` or raw) into a numpy array (LeCun's MNIST format).
    A truncated or corrupt file is a ``CorruptFileError`` naming it."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise CorruptFileError(f"{path} is truncated or corrupt: its gzip stream cannot be read to the end "
                               f"({type(error).__name__}: {error}); download or copy it again") from error
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte idx file (magic {data[:4]!r})")
    ndim = data[3]
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims))
    if len(data) - offset != expected:
        raise CorruptFileError(f"{path} is truncated or corrupt: header says {dims} ({expected} bytes), "
                               f"file has {len(data) - offset}")
    return np.frombuffer(data, np.uint8, offset=offset).reshape(dims)


def read_idx_pair(images_file, labels_file):
    images, labels = read_idx(images_file), read_idx(labels_file)
    if len(images) != len(labels):
        raise ValueError(f"{images_file} has {len(images)} images but {labels_file} has {len(labels)} labels")
    return images, labels


def _npz_reader(path, split, dataset):
    def read():
        images, labels = read_npz_split(path, split)
        return _arrays_dataset(images, labels, dataset, path)

    return read


def read_npz_split(path, split):
    """``(x_{split}, y_{split})`` of an ``.npz`` file; a truncated or corrupt file
    is a ``CorruptFileError`` naming it."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if f"x_{split}" not in f:
                raise ValueError(f"{path} has no x_{split}/y_{split} arrays (it has {sorted(f.files)})")
            return f[f"x_{split}"], f[f"y_{split}"]
    except ValueError as error:
        if "allow_pickle" not in str(error):
            raise
        raise UnsafePickleError(f"{path} holds object arrays (pickles, which could run code when loaded): refused. "
                                f"Save x_{split}/y_{split} as plain numeric arrays.") from error
    except (zipfile.BadZipFile, EOFError, zlib.error) as error:
        raise CorruptFileError(f"{path} is truncated or corrupt: not a readable .npz archive "
                               f"({type(error).__name__}: {error})") from error


# What a CIFAR python batch may contain: dicts, lists, bytes, strings and ints are
# pickle opcodes; these are the only classes it may name (a numpy array and its dtype).
CIFAR_PICKLE_CLASSES = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
}


class UnsafePickleError(ValueError):
    """A pickle names a class that the file format does not need (it could run code)."""


class _CifarUnpickler(pickle.Unpickler):
    """An unpickler that builds only what CIFAR's batch files hold and refuses
    every other class, so a crafted file cannot run code while it is read."""

    def __init__(self, handle, path):
        super().__init__(handle, encoding="bytes")
        self.path = path

    def find_class(self, module, name):
        if (module, name) in CIFAR_PICKLE_CLASSES:
            return super().find_class(module, name)
        raise UnsafePickleError(
            f"{self.path} is not a CIFAR batch file: its pickle names {module}.{name}, which the format never "
            f"needs (only a dict of bytes, lists and a numpy array); refusing to load it"
        )


def read_cifar_batch(handle, path):
    """The dict of one CIFAR python batch file, read without executing code
    (``_CifarUnpickler``); keys may be bytes (the files were written by Python 2)."""
    try:
        batch = _CifarUnpickler(handle, path).load()
    except UnsafePickleError:
        raise
    except Exception as error:  # truncated or not a pickle at all
        raise ValueError(f"{path} is not a readable CIFAR batch file: {type(error).__name__}: {error}") from error
    if not isinstance(batch, dict):
        raise ValueError(f"{path} is not a CIFAR batch file: it holds a {type(batch).__name__}, not a dict")
    return batch


def _cifar_reader(directory, split, dataset):
    def read():
        if dataset.name == "cifar10":
            files = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
            key = "labels"
        else:
            files, key = [split], "fine_labels"
        xs, ys = [], []
        for fname in files:
            with open(os.path.join(directory, fname), "rb") as f:
                batch = read_cifar_batch(f, os.path.join(directory, fname))
            batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
            xs.append(np.asarray(batch["data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
            ys.append(np.asarray(batch[key]))
        return _arrays_dataset(np.concatenate(xs), np.concatenate(ys), dataset, directory)

    return read


def _cifar_files_present(directory, split, dataset):
    if dataset.name == "cifar10":
        files = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    else:
        files = [split]
    return all(os.path.isfile(os.path.join(directory, f)) for f in files)


def _find_local(dataset, split, root, kind, on_error="skip"):
    """Look under ``root`` for the Keras-cache / user-folder layouts of ``dataset``
    (``on_error``: unreadable images of a class-folder layout, see ``image_folder``)."""
    name = dataset.name
    if name in ("mnist", "fashion_mnist"):
        dash = name.replace("_", "-")
        for directory in (os.path.join(root, dash), os.path.join(root, name), root):
            if _has_idx(directory, split):
                return Source(kind, directory, _idx_reader(directory, split, dataset))
        for npz in (os.path.join(root, f"{name}.npz"), os.path.join(root, f"{dash}.npz")):
            if os.path.isfile(npz):
                return Source(kind, npz, _npz_reader(npz, split, dataset))
    if name in ("cifar10", "cifar100"):
        base = "cifar-10-batches-py" if name == "cifar10" else "cifar-100-python"
        candidates = [os.path.join(root, base), root] + sorted(glob.glob(os.path.join(root, "*", base)))
        for directory in candidates:
            if _cifar_files_present(directory, split, dataset):
                return Source(kind, directory, _cifar_reader(directory, split, dataset))
        npz = os.path.join(root, f"{name}.npz")
        if os.path.isfile(npz):
            return Source(kind, npz, _npz_reader(npz, split, dataset))
    if kind == "folder":
        folder = os.path.join(root, split)
        if os.path.isdir(folder) and any(os.path.isdir(os.path.join(folder, c)) for c in os.listdir(folder)):
            return Source(kind, folder, lambda: _folder_dataset(folder, dataset, on_error))
    return None


def _folder_dataset(folder, dataset, on_error="skip"):
    from keras_cv_course.data.folders import image_folder

    color_mode = "grayscale" if dataset.channels == 1 else "rgb"
    names = [c for c in dataset.class_names]
    present = sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)))
    # Class sub-folders are either the class names (with "/" written as "_") or the label numbers.
    if all(p.isdigit() for p in present):
        class_names = [str(i) for i in range(dataset.num_classes)]
    else:
        class_names = [n.replace("/", "_") for n in names]
    unknown = sorted(set(present) - set(class_names))
    if unknown:
        raise ValueError(
            f"{folder} has class folders {unknown} that are not classes of {dataset.name!r} "
            f"(expected folder names {class_names})."
        )
    # In file order, as every other source of data.load (TFDS with shuffle_files=False, the cache files).
    return image_folder(folder, class_names=class_names, color_mode=color_mode, image_size=dataset.image_shape[:2],
                        on_error=on_error, shuffle=False)


def _arrays_dataset(images, labels, dataset, origin):
    """Validate numpy arrays against ``dataset`` and wrap them in a tf.data.Dataset."""
    import tensorflow as tf

    images, labels = _validate_arrays(images, labels, dataset, origin)
    return tf.data.Dataset.from_tensor_slices((images, labels))


def _validate_arrays(images, labels, dataset, origin):
    images = np.asarray(images)
    labels = np.asarray(labels).reshape(-1)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise ValueError(f"{origin}: expected images of shape (N, H, W[, C]); got {images.shape}")
    images = check_pixels(images, origin)
    if len(images) != len(labels):
        raise ValueError(f"{origin}: {len(images)} images but {len(labels)} labels")
    if labels.size and (labels.min() < 0 or labels.max() >= dataset.num_classes):
        bad = labels[(labels < 0) | (labels >= dataset.num_classes)]
        raise ValueError(
            f"{origin}: labels must lie in [0, {dataset.num_classes}) for {dataset.name!r}; "
            f"found {len(bad)} out of range (e.g. {bad[:5].tolist()})"
        )
    if images.shape[1:] != dataset.image_shape:
        raise ValueError(f"{origin}: {dataset.name!r} images are {dataset.image_shape}; got {images.shape[1:]}")
    return images, labels.astype(np.int32)


class PixelValueError(ValueError):
    """Images whose values are not 0..255 pixel values (NaN/inf, out of range,
    scaled to [0, 1])."""


def pixel_problem(dtype, num_images, nonfinite, low, high):
    """Why images of ``dtype`` cannot be read as 0..255 pixel values, or None.

    ``nonfinite``: indices of the images holding NaN or infinite values;
    ``low``/``high``: the smallest and largest value of the other images.
    Floats whose values all lie in [0, 1] (and are not all 0) are refused, not
    rescaled: they are almost surely images divided by 255, and reading them as
    pixel values would train on black images without a word."""
    dtype = np.dtype(dtype)
    if len(nonfinite):
        shown = ", ".join(str(int(i)) for i in nonfinite[:5])
        return (f"{len(nonfinite)} of {num_images} images hold NaN or infinite pixel values (images {shown}"
                f"{', ...' if len(nonfinite) > 5 else ''}); expected finite pixel values in 0..255")
    if low is None:
        return None
    if low < 0 or high > 255:
        return (f"pixel values must lie in 0..255 (uint8, or integers / floats in that range); "
                f"got {dtype.name} values in [{low:g}, {high:g}]")
    if dtype.kind == "f" and 0 < high <= 1:
        return (f"the images are {dtype.name} with every value in [0, 1] (largest {high:g}), as if scaled to "
                f"[0, 1]; expected pixel values in 0..255 (uint8): images are preprocessed by the pipeline, so "
                f"pass the unscaled pixels, e.g. np.round(images * 255).astype(np.uint8)")
    return None


def check_pixels(images, origin):
    """``images`` as uint8, refusing (``PixelValueError`` naming ``origin``) NaN/inf,
    values outside 0..255 and floats scaled to [0, 1] (``pixel_problem``);
    floats in 0..255 are rounded to the nearest integer."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    if images.dtype.kind not in "iuf":
        raise PixelValueError(f"{origin}: images must be uint8 pixel values (or integers / floats in 0..255); "
                              f"got dtype {images.dtype}")
    if not images.size:
        return images.astype(np.uint8)
    flat = images.reshape(len(images), -1)
    finite = np.isfinite(flat).all(axis=1) if images.dtype.kind == "f" else np.ones(len(images), bool)
    nonfinite = np.flatnonzero(~finite)
    low = high = None
    if not len(nonfinite):
        low, high = float(flat.min()), float(flat.max())
    problem = pixel_problem(images.dtype, len(images), nonfinite, low, high)
    if problem:
        raise PixelValueError(f"{origin}: {problem}")
    return np.round(images).astype(np.uint8) if images.dtype.kind == "f" else images.astype(np.uint8)


def _embedded(dataset, split):
    if not os.path.isfile(SAMPLE_FILE):
        raise DatasetNotFoundError(
            f"The embedded Fashion-MNIST sample {SAMPLE_FILE} is missing from the installed package; "
            f"reinstall keras_cv_course or regenerate it with `python tools/make_fashion_sample.py`.",
            [SAMPLE_FILE],
        )
    return Source("embedded", SAMPLE_FILE, _npz_reader(SAMPLE_FILE, split, dataset))


def locate(name, split="train", *, data_dir=None, debian_dir=None, download=True, **options):
    """The ``Source`` ``load`` would read ``name``/``split`` from, without reading it.

    An explicit ``data_dir`` is looked in first (a prepared TFDS directory, then
    the user-folder layouts), before the other TFDS directories, the Keras
    cache and Debian's Fashion-MNIST. Raises ``DatasetNotFoundError`` naming
    every place looked in when no local source has it and ``download`` is
    False. ``options`` go to the detection and segmentation datasets (module
    docstring); the others take only ``on_error`` ("skip" or "raise": unreadable
    images in a ``{split}/<class>/`` user folder, see ``image_folder``).
    """
    dataset = info(name)
    _check_split(dataset, split)
    if dataset.name in _ANNOTATED:
        return _locate_annotated(dataset, split, data_dir, debian_dir, download, options)
    on_error = options.pop("on_error", "skip")
    _folders().check_on_error(on_error)
    if options:
        raise TypeError(f"Dataset {dataset.name!r} takes no options but on_error; got {sorted(options)}")
    if dataset.name == "fashion_mnist_sample":
        return _embedded(dataset, split)
    places = []
    found = _search_local(dataset, split, data_dir, debian_dir, on_error, places)
    if found:
        return found
    if download and dataset.tfds_name:
        target = tfds_data_dirs(data_dir)[0]
        return Source("download", target, lambda: _download(dataset, split, target, places, data_dir))
    raise DatasetNotFoundError(_not_found_message(dataset, split, places, download, data_dir), places)


def _folders():
    from keras_cv_course.data import folders

    return folders


def _search_local(dataset, split, data_dir, debian_dir, on_error, places):
    """The first local ``Source`` of ``dataset``/``split``, appending each place looked in to ``places``."""
    roots = tfds_data_dirs(data_dir)
    if data_dir:
        found = _find_tfds(dataset, split, roots[:1], places)
        if found:
            return found
        places.append(f"user folder: {os.fspath(data_dir)}")
        found = _find_local(dataset, split, os.fspath(data_dir), "folder", on_error)
        if found:
            return found
        roots = roots[1:]
    found = _find_tfds(dataset, split, roots, places)
    if found:
        return found
    cache = keras_datasets_dir()
    places.append(f"Keras dataset cache: {cache}")
    found = _find_local(dataset, split, cache, "keras_cache")
    if found:
        return found
    if dataset.name == "fashion_mnist":
        deb = debian_fashion_mnist_dir(debian_dir)
        places.append(f"Debian dataset-fashion-mnist files: {deb}")
        if _has_idx(deb, split):
            return Source("debian", deb, _idx_reader(deb, split, dataset))
    return None


def _locate_annotated(dataset, split, data_dir, debian_dir, download, options):
    """Sources of fashion_scenes (generated, data/scenes.py) and VOC (data/voc.py)."""
    if dataset.name.startswith("fashion_scenes"):
        from keras_cv_course.data import scenes

        _folders().check_on_error(options.pop("on_error", "skip"))  # generated scenes have no files to skip
        where = scenes.describe_source(split, data_dir=data_dir, debian_dir=debian_dir, **options)
        return Source("generated", where, lambda: scenes.dataset(dataset.name, split, data_dir=data_dir,
                                                                 debian_dir=debian_dir, **options))
    from keras_cv_course.data import voc

    return voc.locate_voc(dataset, split, data_dir=data_dir, download=download, **options)


# Where TFDS 4.9 downloads each dataset from, probed before a download starts.
DOWNLOAD_HOSTS = {
    "mnist": ("storage.googleapis.com", 443),
    "fashion_mnist": ("fashion-mnist.s3-website.eu-central-1.amazonaws.com", 80),
    "cifar10": ("www.cs.toronto.edu", 443),
    "cifar100": ("www.cs.toronto.edu", 443),
}
NETWORK_TIMEOUT = 2.0  # seconds the probe waits; offline, TFDS itself retries for minutes


def network_problem(host, port, timeout=None):
    """Why ``host:port`` cannot be reached (name lookup and TCP connect within
    ``timeout`` seconds in all, default ``NETWORK_TIMEOUT``), or None when it can."""
    timeout = timeout or NETWORK_TIMEOUT
    outcome = []

    def probe():
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            outcome.append(None)
        except OSError as error:
            outcome.append(f"{type(error).__name__}: {error}")

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        return f"cannot reach {host}:{port}: no answer within {timeout:g} s"
    return outcome[0] and f"cannot reach {host}:{port} ({outcome[0]})"


def _paths_under(roots):
    return {os.path.join(folder, name) for root in roots for folder, dirs, files in os.walk(root)
            for name in dirs + files}


@contextlib.contextmanager
def removing_partial_files(target, names):
    """On an exception inside the block, remove what it left under ``target``
    (the whole of ``target`` when the block created it, else new files under
    ``target/downloads`` and ``target/<name>`` for each of ``names``), then
    re-raise."""
    roots = [os.path.join(target, "downloads")] + [os.path.join(target, name) for name in names]
    existed = os.path.isdir(target)
    before = _paths_under(roots) | {root for root in roots if os.path.exists(root)}
    try:
        yield
    except BaseException:
        if not existed:
            shutil.rmtree(target, ignore_errors=True)
        else:
            new = (_paths_under(roots) | {root for root in roots if os.path.exists(root)}) - before
            for path in sorted(new, key=len, reverse=True):  # files and sub-folders before their folders
                _remove(path)
        raise


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.remove(path)


def _download(dataset, split, target, places, data_dir=None):
    import tensorflow as tf
    import tensorflow_datasets as tfds

    host = DOWNLOAD_HOSTS.get(dataset.name)
    problem = network_problem(*host) if host else None
    if problem:
        places = list(places) + [f"TFDS download into {target}: not started, no network ({problem})"]
        raise DatasetNotFoundError(_not_found_message(dataset, split, places, True, data_dir), places)
    try:
        with removing_partial_files(target, [dataset.tfds_name.split("/")[0]]):
            builder = tfds.builder(dataset.tfds_name, data_dir=target)
            builder.download_and_prepare()
            ds = builder.as_dataset(split=split, as_supervised=True, shuffle_files=False)
    except Exception as error:  # network, permissions, TFDS errors: all end the same way
        places = list(places) + [f"TFDS download into {target} (failed: {type(error).__name__}: {error}; "
                                 "its partial files were removed)"]
        raise DatasetNotFoundError(_not_found_message(dataset, split, places, True, data_dir), places) from error
    return ds.map(lambda x, y: (x, tf.cast(y, tf.int32)), num_parallel_calls=tf.data.AUTOTUNE)


def _where_files_go(dataset, data_dir):
    """Which files of ``dataset`` ``load`` reads, and the folder to put them in."""
    if dataset.name in ("mnist", "fashion_mnist"):
        folder = os.fspath(data_dir) if data_dir else os.path.join(keras_datasets_dir(), dataset.name.replace("_", "-"))
        files = ", ".join(f for pair in _IDX_FILES.values() for f in pair)
        return f"{files} into {folder}"
    base = "cifar-10-batches-py" if dataset.name == "cifar10" else "cifar-100-python"
    return f"the extracted {base}/ folder of the python version into {os.fspath(data_dir or keras_datasets_dir())}"


def _not_found_message(dataset, split, places, download, data_dir=None):
    lines = [f"Could not find the {split!r} split of {dataset.name!r}. Looked in:"]
    lines += [f"  - {p}" for p in places]
    if not download:
        lines.append("  - (download=False / --no-download: no TFDS download was tried)")
    lines.append("To get the data, any one of:")
    if dataset.tfds_name:
        lines.append(f"  * put {_where_files_go(dataset, data_dir)}")
        lines.append(f"  * with network access: keras_cv_course.data.load({dataset.name!r}, {split!r}, download=True) "
                     f"or `python -m tensorflow_datasets.scripts.download_and_prepare --datasets={dataset.tfds_name}`")
        lines.append(f"  * keras.datasets.{dataset.name}.load_data() fills the Keras cache")
    if dataset.name == "fashion_mnist":
        lines.append("  * on Debian/Ubuntu: `apt-get install dataset-fashion-mnist`")
    lines.append("  * copy the files into a folder and pass data_dir=<folder> (idx .gz files, "
                 f"{dataset.name}.npz with x_train/y_train/x_test/y_test, CIFAR python batches, or {split}/<class>/<images>)")
    lines.append("  * for a quick offline demo use the embedded sample: load('fashion_mnist_sample', split)")
    return "\n".join(lines)


def load(name, split="train", *, data_dir=None, download=True, debian_dir=None, **options):
    """A ``tf.data.Dataset`` of ``(uint8 image (H, W, C), int32 label)`` for ``name``/``split``.

    ``name``: one of ``list_datasets()`` (mnist, fashion_mnist, fashion_mnist_sample,
    cifar10, cifar100). ``split``: ``"train"`` or ``"test"``. ``data_dir``: a
    prepared TFDS data directory or a folder with the data in one of the layouts
    of the module docstring. ``download``: whether a TFDS download may be tried
    when no local source has the data. ``debian_dir`` overrides the Debian
    Fashion-MNIST directory. The sources are tried in the order of the module
    docstring (an explicit ``data_dir`` first); ``locate`` tells which one is
    used. ``on_error`` (an option of every dataset): unreadable images of a
    class-folder user folder are skipped ("skip", the default) or raise ("raise").

    The detection and segmentation datasets (``fashion_scenes``,
    ``fashion_scenes_masks``, ``voc2007``, ``voc2012``, ``voc*_segmentation``)
    yield ``(image, {"boxes", "classes"})`` or ``(image, mask)`` instead and take
    ``options`` (see the module docstring, data/scenes.py, data/voc.py).
    """
    return locate(name, split, data_dir=data_dir, debian_dir=debian_dir, download=download, **options).read()


def load_arrays(name, split="train", **kwargs):
    """``(images, labels)`` numpy arrays of ``load(name, split, **kwargs)``."""
    import tensorflow as tf

    ds = load(name, split, **kwargs)
    images, labels = [], []
    for x, y in ds.batch(8192).as_numpy_iterator():
        images.append(x)
        labels.append(y)
    if not images:
        return np.zeros((0,) + info(name).image_shape, np.uint8), np.zeros((0,), np.int32)
    del tf
    return np.concatenate(images), np.concatenate(labels)
