"""``pipeline``: the tf.data input pipeline every model trains and evaluates on.

decode → channels → resize / pad → (cache) → shuffle → batch → augment →
preprocess → prefetch(AUTOTUNE). Element-wise steps (decode, channels, resize)
run as a parallel map, only when the data need them; augmentation and
preprocessing run in one map on whole batches (the Keras layers are
vectorized, so one call transforms a batch), each image with its own random
draw.

Channel conversion is explicit: ``channels=3`` repeats a grayscale channel,
``channels=1`` takes the ITU-R 601 luma of RGB. When ``model=`` says how many
channels the model takes and the data differ, the pipeline raises a clear
error unless ``channels`` is given.
"""

import numpy as np
import tensorflow as tf

from keras_cv_course.data import augment as augment_lib
from keras_cv_course.models.preprocessing import MODES, preprocess_input

AUTOTUNE = tf.data.AUTOTUNE
RESIZE_MODES = ("stretch", "pad")


def pipeline(
    ds,
    *,
    batch_size,
    training,
    image_size=None,
    augment=None,
    preprocess=None,
    model=None,
    channels=None,
    num_classes=None,
    resize="stretch",
    shuffle_buffer=10_000,
    cache=True,
    seed=None,
    drop_remainder=False,
    pca=None,
):
    """Turn a dataset of ``(image, label)`` into batches ready for ``model.fit``.

    ds: ``tf.data.Dataset`` of ``(image, label)``: uint8 (H, W) or (H, W, C)
        images, or encoded image strings (decoded here).
    batch_size: images per batch. training: shuffle and apply random augmentation.
    image_size: int or (H, W) the model takes; None keeps the data's size
        (or the model's input size when ``model`` is given).
    augment: None, a preset name (``"alexnet"``, ``"image_data_generator"``,
        ``"cifar"``, ``"fashion"``; see ``augment.preset``), or a list of Keras
        layers called as ``layer(batch, training=training)`` on 0..255 floats.
        Random layers are the identity at inference; the AlexNet preset then
        takes the center crop.
    preprocess: a mode of ``keras_cv_course.models.preprocessing`` (``"caffe"``,
        ``"tf"``, ``"torch"``, ``"unit"`` = [0, 1], ``"none"``) or a callable;
        None takes the mode of ``model``'s registry entry, else ``"unit"``.
    model: a registry name or ``ModelInfo`` (gives the defaults of image_size,
        preprocess and num_classes, and the channel check), or a built
        ``keras.Model`` (image_size and the channel check only).
    channels: convert images to this many channels (1 ↔ 3).
    num_classes: labels outside [0, num_classes) raise ``InvalidArgumentError``
        naming the label when the batch is produced.
    resize: ``"stretch"`` (plain resize) or ``"pad"`` (keep aspect ratio, pad).
    shuffle_buffer: shuffle buffer size (training only).
    cache: True caches decoded, resized uint8 images in memory; a string caches
        to that file; False does not cache.
    seed: makes shuffling and augmentation repeat exactly from one pipeline to
        the next (augmentation then runs as one sequential map).
    pca: ``(eigval, eigvec)`` for the AlexNet preset; None computes it from the
        first million pixels of ``ds`` when training (``augment.pca_basis``).
    """
    if not isinstance(ds, tf.data.Dataset):
        raise TypeError(f"pipeline expects a tf.data.Dataset of (image, label); got {type(ds).__name__}")
    if resize not in RESIZE_MODES:
        raise ValueError(f"resize must be one of {RESIZE_MODES}; got {resize!r}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
    model_facts = _model_facts(model)
    image_size = _size(image_size if image_size is not None else model_facts.get("image_size"))
    if preprocess is None:
        preprocess = model_facts.get("preprocess", "unit")
    if isinstance(preprocess, str) and preprocess not in MODES:
        raise ValueError(f"Unknown preprocessing mode {preprocess!r}; expected one of {MODES} or a callable")
    if num_classes is None:
        num_classes = model_facts.get("num_classes")

    image_spec, label_spec = _element_spec(ds)
    data_channels = None if image_spec.dtype == tf.string else (image_spec.shape[-1] if image_spec.shape.rank == 3 else 1)
    model_channels = model_facts.get("channels")
    if channels is None and model_channels is not None and data_channels is not None and data_channels != model_channels:
        raise ValueError(
            f"The model takes {model_channels}-channel images but the data has {data_channels} channel(s). "
            f"Pass channels={model_channels} to convert ("
            + ("grayscale is repeated into R, G and B" if model_channels == 3 else "RGB becomes its luma")
            + "), or build the model with the data's channels."
        )
    if channels is not None and channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3; got {channels!r}")
    if isinstance(preprocess, str) and preprocess in ("caffe", "torch"):
        out_channels = channels or data_channels
        if out_channels is not None and out_channels != 3:
            raise ValueError(
                f"Preprocessing mode {preprocess!r} needs RGB images but the pipeline would give {out_channels} "
                "channel(s); pass channels=3 to repeat the gray channel, or use preprocess='unit'."
            )

    static_size = None
    if image_spec.dtype != tf.string and image_spec.shape.rank in (2, 3):
        hw = tuple(image_spec.shape[:2])
        static_size = hw if None not in hw else None
    aug = _augmentation(augment, image_size or static_size, seed)
    resize_to = aug.input_size if aug is not None and aug.input_size is not None else image_size
    if resize_to is None and static_size is None:
        raise ValueError("The images have no static size; pass image_size= so they can be batched.")

    element_work = (
        image_spec.dtype != tf.uint8
        or image_spec.shape.rank != 3
        or (channels is not None and data_channels != channels)
        or (resize_to is not None and static_size != tuple(resize_to))
    )

    def prepare(image, label):
        if image.dtype == tf.string:
            image = tf.io.decode_image(image, channels=channels or 0, expand_animations=False)
        if image.shape.rank == 2:
            image = image[..., None]
        if image.dtype != tf.uint8:
            image = tf.cast(tf.clip_by_value(tf.round(tf.cast(image, tf.float32)), 0, 255), tf.uint8)
        image = _convert_channels(image, channels)
        if resize_to is not None and tuple(image.shape[:2]) != tuple(resize_to):
            if resize == "pad":
                image = tf.image.resize_with_pad(image, resize_to[0], resize_to[1], antialias=True)
            else:
                image = tf.image.resize(image, resize_to, antialias=True)
            image = tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)
        return image, label

    # Per-image work (decode, channels, resize) runs as a parallel map only when
    # needed; in-memory uint8 data of the right size goes straight to the cache.
    out = ds.map(prepare, num_parallel_calls=AUTOTUNE, deterministic=True) if element_work else ds
    if aug is not None and augment == "alexnet" and training:
        # Krizhevsky et al. computed the color basis on the training set: do the same
        # on the prepared images (after channel conversion and resizing).
        eigval, eigvec = pca if pca is not None else augment_lib.pca_basis(out.map(lambda x, y: x), max_pixels=1_000_000)
        aug.layers = [
            augment_lib.PCALighting(eigval, eigvec, alphastd=layer.alphastd, seed=layer.seed, name=layer.name)
            if isinstance(layer, augment_lib.PCALighting) else layer
            for layer in aug.layers
        ]
    if cache:
        out = out.cache(cache if isinstance(cache, str) else "")
    if training and shuffle_buffer and shuffle_buffer > 1:
        out = out.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    out = out.batch(batch_size, drop_remainder=drop_remainder, num_parallel_calls=AUTOTUNE, deterministic=True)

    aug_layers = list(aug.layers) if aug is not None else []
    if callable(preprocess):
        preprocess_fn = preprocess
    else:
        mode = preprocess

        def preprocess_fn(images):
            return preprocess_input(images, mode)

    def finish(images, labels):
        """Per batch: label check, augmentation, preprocessing (one vectorized call)."""
        labels = tf.cast(labels, tf.int32)
        if num_classes is not None:
            message = f"label out of range: labels must lie in [0, {num_classes})"
            checks = [
                tf.debugging.assert_non_negative(labels, message=message),
                tf.debugging.assert_less(labels, tf.constant(num_classes, tf.int32), message=message),
            ]
            with tf.control_dependencies(checks):
                labels = tf.identity(labels)
        x = tf.cast(images, tf.float32)
        for layer in aug_layers:
            x = layer(x, training=training)
        return tf.convert_to_tensor(preprocess_fn(x), tf.float32), labels

    if seed is not None and aug_layers:
        # One sequential map: the layers' seed generators then advance in batch order,
        # so two pipelines built with the same seed give the same batches.
        out = out.map(finish)
    else:
        out = out.map(finish, num_parallel_calls=AUTOTUNE, deterministic=seed is not None or not training)
    return out.prefetch(AUTOTUNE)


def _convert_channels(image, channels):
    if channels is None:
        return image
    have = image.shape[-1]
    if have == channels or have is None and channels is None:
        return image
    if have == 1 and channels == 3:
        return tf.repeat(image, 3, axis=-1)
    if have == 3 and channels == 1:
        return tf.image.rgb_to_grayscale(image)
    if have == 4 and channels == 3:
        return image[..., :3]
    if have == 4 and channels == 1:
        return tf.image.rgb_to_grayscale(image[..., :3])
    raise ValueError(f"Cannot convert {have}-channel images to {channels} channels")


def _element_spec(ds):
    spec = ds.element_spec
    if not (isinstance(spec, tuple) and len(spec) == 2):
        raise ValueError(f"pipeline expects a dataset of (image, label) pairs; its elements are {spec}")
    return spec


def _size(size):
    if size is None:
        return None
    if isinstance(size, (int, np.integer)):
        return (int(size), int(size))
    size = tuple(int(s) for s in size)
    if len(size) != 2:
        raise ValueError(f"image_size must be an int or (height, width); got {size!r}")
    return size


def _model_facts(model):
    if model is None:
        return {}
    from keras_cv_course.models.registry import ModelInfo, model_info

    if isinstance(model, str):
        model = model_info(model)
    if isinstance(model, ModelInfo):
        return {
            "image_size": tuple(model.input_shape[:2]),
            "channels": model.input_shape[2],
            "preprocess": model.preprocessing,
            "num_classes": model.classes,
        }
    shape = getattr(model, "input_shape", None)
    if shape is None:
        raise TypeError(f"model must be a registry name, a ModelInfo or a keras.Model; got {type(model).__name__}")
    if isinstance(shape, list):
        shape = shape[0]
    facts = {"channels": shape[-1]}
    if shape[1] is not None and shape[2] is not None:
        facts["image_size"] = (shape[1], shape[2])
    return facts


def _augmentation(augment, image_size, seed):
    if augment is None:
        return None
    if isinstance(augment, str):
        return augment_lib.preset(augment, image_size=image_size, seed=seed)
    if isinstance(augment, augment_lib.Augmentation):
        return augment
    if isinstance(augment, (list, tuple)):
        return augment_lib.Augmentation(list(augment), None, image_size)
    raise TypeError(f"augment must be None, a preset name, a list of layers or an Augmentation; got {type(augment).__name__}")
