"""keras.applications.imagenet_utils for this package: ``preprocess_input`` in
every mode and ``decode_predictions`` with ImageNet's class index.

The one implementation behind every family module of
``keras_cv_course.applications``. The arithmetic of the modes is that of
``keras_cv_course.preprocessing`` (where the ImageNet statistics are written
once); this module adds keras.applications' calling convention around it:
``data_format`` (channels first or last), numpy in → numpy float32 out,
tensors in → float32 tensors out, and it never writes over the caller's array
(keras.applications does, for float numpy input).

The class index is the file Keras downloads (``imagenet_class_index.json``),
shipped in ``keras_cv_course/data/`` and md5-checked against Keras's own hash on
first load, so decoding works offline. It imports nothing of the model
families, so the ``kcc`` tools use it without building any.
"""

import functools
import hashlib
import json
import os

import keras
import numpy as np
from keras import ops

from keras_cv_course import preprocessing
from keras_cv_course._files import CorruptFileError

MODES = preprocessing.MODES
DATA_FORMATS = ("channels_first", "channels_last")
CLASS_INDEX_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data",
                                "imagenet_class_index.json")
# keras.applications.imagenet_utils.decode_predictions checks its download against this md5 (file_hash=).
CLASS_INDEX_MD5 = "c2c37ea517e94d9795004a39431a14cb"
NUM_CLASSES = 1000


def preprocess_input(x, data_format=None, mode="caffe"):
    """Preprocess a 3-D image or a 4-D batch of 0..255 RGB images the way
    keras.applications' ``imagenet_utils.preprocess_input`` does.

    ``mode``: one of ``MODES``: keras.applications' ``"caffe"`` (RGB → BGR,
    subtract the ImageNet BGR mean), ``"tf"`` (scale to [-1, 1]), ``"torch"``
    (scale to [0, 1], subtract the ImageNet mean, divide by its std), and this
    package's ``"unit"`` ([0, 1]) and ``"none"`` (values unchanged).
    ``data_format``: ``"channels_last"`` or ``"channels_first"``; None means
    ``keras.config.image_data_format()``. A numpy array gives a new numpy
    array (the input is left as it was, unlike Keras) of Keras's dtype: the
    input's own floating dtype, float32 for integer pixels; a tensor gives a
    float32 tensor. Raises ``ValueError`` for an unknown mode or data format, fewer
    than 3 dimensions, or a channel count other than 3 in "caffe"/"torch".
    """
    preprocessing.check_mode(mode)
    axis = channel_axis(x, check_data_format(data_format))
    y = x if axis == -1 else ops.moveaxis(x, axis, -1)
    y = preprocessing.preprocess_input(y, mode)
    y = y if axis == -1 else ops.moveaxis(y, -1, axis)
    if not isinstance(x, np.ndarray):
        return y
    return np.array(ops.convert_to_numpy(y), dtype=x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32)


def check_data_format(data_format):
    """``data_format``, or ``keras.config.image_data_format()`` for None;
    ``ValueError`` naming the value and the choices for anything else."""
    if data_format is None:
        return keras.config.image_data_format()
    if data_format not in DATA_FORMATS:
        raise ValueError(f"Unknown data_format {data_format!r}; expected one of {DATA_FORMATS} or None "
                         "(keras.config.image_data_format())")
    return data_format


def channel_axis(x, data_format):
    """The channel axis of images ``x`` (3-D image or N-D batch) in
    ``data_format``: -1 for channels last; 0 for a channels-first image, 1 for
    a channels-first batch (as keras.applications reads them)."""
    ndim = len(x.shape)
    if ndim < 3:
        raise ValueError(f"preprocess_input expects a 3-D image or a 4-D batch of images; got shape {tuple(x.shape)}")
    if data_format == "channels_last":
        return -1
    return 0 if ndim == 3 else 1


def decode_predictions(preds, top=5):
    """The ``top`` ImageNet classes of each row of ``preds`` (N, 1000), as
    keras.applications' ``decode_predictions`` gives them: one list per row of
    ``(wnid, class name, score)`` tuples, best first. ``preds`` is a numpy
    array or a tensor; any other shape is refused with a ``ValueError``
    naming it."""
    preds = ops.convert_to_numpy(preds)
    if preds.ndim != 2 or preds.shape[1] != NUM_CLASSES:
        raise ValueError(f"decode_predictions expects a batch of ImageNet predictions, an array of shape "
                         f"(samples, {NUM_CLASSES}); got an array of shape {preds.shape}")
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise ValueError(f"top must be a positive integer; got {top!r}")
    classes = imagenet_classes()
    return [_decode_row(row, top, classes) for row in preds]


def _decode_row(row, top, classes):
    # keras.applications' order: argsort's last ``top``, reversed, then a stable sort by score.
    best = row.argsort()[-top:][::-1]
    return sorted((classes[i] + (row[i],) for i in best), key=lambda entry: entry[2], reverse=True)


def imagenet_classes(path=None):
    """The 1000 ImageNet classes as ``(wnid, name)`` tuples in class-id order
    (``imagenet_classes()[386] == ("n02504458", "African_elephant")``), read
    from the class index shipped with the package (or ``path``), whose md5 must
    be Keras's (``CLASS_INDEX_MD5``); read once per path, then cached."""
    return _load_class_index(os.path.abspath(os.fspath(path or CLASS_INDEX_PATH)))


@functools.lru_cache(maxsize=None)
def _load_class_index(path):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"The ImageNet class index {path!r} is missing; reinstall keras_cv_course, "
                                "which ships it")
    with open(path, "rb") as file:
        content = file.read()
    digest = hashlib.md5(content).hexdigest()
    if digest != CLASS_INDEX_MD5:
        raise CorruptFileError(f"The ImageNet class index {path!r} is corrupt or modified: its md5 is {digest}, "
                               f"Keras's file has {CLASS_INDEX_MD5}. Reinstall keras_cv_course or restore the file.")
    index = json.loads(content)
    return tuple(tuple(index[str(i)]) for i in range(NUM_CLASSES))
