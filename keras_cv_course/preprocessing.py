"""Input preprocessing modes recorded with every model and weight file.

Modes (the keras.applications names where they exist):
- ``"caffe"``: RGB → BGR, subtract the ImageNet BGR mean, no scaling (VGG, ResNet v1).
- ``"tf"``: scale to [-1, 1] (InceptionV3, MobileNet, ResNet v2).
- ``"torch"``: scale to [0, 1], subtract the ImageNet mean, divide by its std (DenseNet, torchvision weights).
- ``"unit"``: scale to [0, 1] (models trained here from scratch).
- ``"none"``: pass-through; the model rescales inside (EfficientNet).

The ImageNet statistics are stated here once, for every module that needs them
(``blocks.ImageNormalization``'s defaults, the tools' value ranges). A leaf
module: it imports nothing from keras_cv_course, so data, models and the tools
all use it; ``keras_cv_course.models.preprocessing`` re-exports it.

``preprocess_input`` runs on every Keras backend, also inside a tf.data map
under JAX or PyTorch: there it computes with TensorFlow's own ops (the other
backends' ops cannot take a traced graph's tf.Tensors), as Keras's
preprocessing layers do.
"""

import sys
import types

import keras
from keras import ops

# The ImageNet RGB mean and std of [0, 1] pixels (torchvision, keras.applications "torch").
IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STD_RGB = (0.229, 0.224, 0.225)
# keras.applications' "caffe" mean: Caffe's own published figure (0..255, BGR), not quite 255 × the RGB mean.
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
MODES = ("caffe", "tf", "torch", "unit", "none")


def preprocess_input(images, mode):
    """Map uint8-range images (..., H, W, C) to what a model of ``mode`` expects.

    Works on numpy arrays and tensors (keras.ops; TensorFlow's ops for the
    tf.Tensors of a tf.data map under another backend); returns float32.
    """
    check_mode(mode)
    ops = _ops_for(images)
    x = ops.cast(images, "float32")
    if mode == "none":
        return x
    if mode == "unit":
        return x / 255.0
    if mode == "tf":
        return x / 127.5 - 1.0
    _require_rgb(x, mode)
    if mode == "caffe":
        return ops.flip(x, axis=-1) - ops.convert_to_tensor(CAFFE_MEAN_BGR, "float32")
    mean = ops.convert_to_tensor(IMAGENET_MEAN_RGB, "float32")
    std = ops.convert_to_tensor(IMAGENET_STD_RGB, "float32")
    return (x / 255.0 - mean) / std


def value_range(mode):
    """``(low, high)``: the smallest and largest value ``mode`` maps 0..255
    pixels to, over the channels (where a pattern made in the model's input
    space must stay)."""
    check_mode(mode)
    if mode == "caffe":
        return 0.0 - max(CAFFE_MEAN_BGR), 255.0 - min(CAFFE_MEAN_BGR)
    if mode == "torch":
        lows = [(0.0 - m) / s for m, s in zip(IMAGENET_MEAN_RGB, IMAGENET_STD_RGB)]
        highs = [(1.0 - m) / s for m, s in zip(IMAGENET_MEAN_RGB, IMAGENET_STD_RGB)]
        return min(lows), max(highs)
    return {"none": (0.0, 255.0), "unit": (0.0, 1.0), "tf": (-1.0, 1.0)}[mode]


def _ops_for(images):
    """``keras.ops``, or the three TensorFlow ops ``preprocess_input`` uses when
    TensorFlow is tracing a graph (a tf.data map) while Keras runs another
    backend. Public APIs only: this leaf module cannot import
    ``_keras_compat.needs_tensorflow_ops``, which makes the same test."""
    if keras.backend.backend() == "tensorflow" or "tensorflow" not in sys.modules:
        return ops
    if isinstance(images, keras.KerasTensor):
        return ops
    import tensorflow as tf

    if tf.executing_eagerly():
        return ops
    return types.SimpleNamespace(cast=tf.cast, convert_to_tensor=tf.convert_to_tensor,
                                 flip=lambda x, axis: tf.reverse(x, [axis]))


def check_mode(mode):
    """Raise ``ValueError`` unless ``mode`` is one of ``MODES``."""
    if mode not in MODES:
        raise ValueError(f"Unknown preprocessing mode {mode!r}; expected one of {MODES}")


def _require_rgb(x, mode):
    channels = x.shape[-1]
    if channels is not None and channels != 3:
        raise ValueError(
            f"Preprocessing mode {mode!r} uses ImageNet RGB statistics and needs 3 channels; "
            f"got images with {channels}. Convert grayscale to RGB first or use mode 'unit'."
        )
