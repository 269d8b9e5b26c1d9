"""``pipeline``: the tf.data input pipeline every model trains and evaluates on.

decode → channels → resize / pad → (cache) → shuffle → batch → augment →
preprocess → prefetch(AUTOTUNE). Element-wise steps (decode, channels, resize,
target checks) run as a parallel map, only when the data need them;
augmentation and preprocessing run in one map on whole batches (the Keras
layers are vectorized, so one call transforms a batch), each image with its
own random draw.

Channel conversion is explicit: ``channels=3`` repeats a grayscale channel,
``channels=1`` takes the ITU-R 601 luma of RGB. When ``model=`` says how many
channels the model takes and the data differ, the pipeline raises a clear
error unless ``channels`` is given.

Targets (the second item of each element) may be:

- a scalar class id → int32 (B,), checked against ``num_classes``;
- a vector (C,) (one-hot, multi-hot) → float32 (B, C), passed through;
- a segmentation mask (H, W) or (H, W, 1) of integer class ids → int32
  (B, H_out, W_out); resized nearest, moved with the image by every geometric
  step, pixels from outside the image (padding, constant affine fill) get
  ``mask_fill``;
- ``{"boxes": (N, 4), "classes": (N,)}`` in ``bounding_box_format`` pixels →
  ``{"boxes": (B, max_boxes, 4) float32 xyxy pixels of the output image,
  "classes": (B, max_boxes) int32}``, padded with class -1 and box 0; every
  geometric step moves the boxes, clips them to the image and drops (class -1,
  box 0) those left with no area. Coordinates are continuous: pixel ``i``
  covers ``[i, i + 1)``, so a box ``(x1, y1, x2, y2)`` holds pixels
  ``x1 .. x2 - 1``.

Geometric layers get Keras' dict ``{"images", "bounding_boxes",
"segmentation_masks"}`` (boxes as xyxy pixels: the pipeline sets the layer's
``bounding_box_format`` to ``"xyxy"`` for the call); colour layers get the
images only. Layers that cannot carry boxes or masks correctly in Keras 3.15.1
are refused when targets are present.

The pipeline is TensorFlow's tf.data on every Keras backend; its batches are
tf.Tensors, which ``model.fit`` takes on JAX and PyTorch too. The augmentation
layers and ``preprocess_input`` compute with TensorFlow's ops inside it
whatever the backend. TensorFlow is imported at the first use of the pipeline,
not with this module.
"""

import contextlib
import importlib
import sys

import keras
import numpy as np
from keras.utils import bounding_boxes as box_utils

from keras_cv_course.adaptation import needs_adapting
from keras_cv_course.data import augment as augment_lib
from keras_cv_course.preprocessing import MODES, preprocess_input


class _LazyTensorFlow:
    """``tensorflow``, imported when one of its attributes is first read (so that
    ``keras_cv_course.data`` and its backend-agnostic ``augment`` layers import
    without TensorFlow installed)."""

    def __getattr__(self, name):
        return getattr(importlib.import_module("tensorflow"), name)


tf = _LazyTensorFlow()


def __getattr__(name):
    """``AUTOTUNE`` (``tf.data.AUTOTUNE``), read from TensorFlow when asked for."""
    if name == "AUTOTUNE":
        return tf.data.AUTOTUNE
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


RESIZE_MODES = ("stretch", "pad")
BOX_FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx", "rel_xywh", "rel_center_xywh")
BOX_TOLERANCE = 1e-3  # pixels a box may reach past the image border (rounding) before it counts as malformed

# Keras layers by what they do to boxes and masks (Keras 3.15.1, checked by painting boxes into images).
KERAS_GEOMETRIC = ("RandomFlip", "RandomTranslation", "RandomZoom", "RandomRotation", "Resizing")
KERAS_COLOUR = (
    "RandomBrightness", "RandomContrast", "RandomSaturation", "RandomHue", "RandomColorJitter",
    "RandomColorDegeneration", "RandomGrayscale", "RandomInvert", "RandomPosterization", "RandomSharpness",
    "Solarization", "AutoContrast", "Equalization", "RandomGaussianBlur", "Rescaling", "Normalization",
)
KERAS_REFUSED = {
    "RandomCrop": "in Keras 3.15.1 it shifts boxes by the other axis' offset and does not clip them, and at "
                  "inference crops masks but not images; use keras_cv_course.data.augment.RandomCrop",
    "CenterCrop": "it interpolates mask ids when it upscales (Keras 3.15.1); use augment.RandomCrop (the center "
                  "crop at inference)",
    "MixUp": "it blends two images into one, and in Keras 3.15.1 returns boxes (B, 2N, 4) with labels (2B, N)",
    "CutMix": "it pastes part of another image, and Keras 3.15.1 raises NotImplementedError for boxes",
    "RandomShear": "in Keras 3.15.1 its boxes miss the sheared objects: it shears relative coordinates (wrong on "
                   "non-square images) and applies the x and y shears one after the other while the image takes "
                   "one matrix; use augment.RandomAffine(shear_range=...)",
    "RandomPerspective": "its boxes were off by more than a pixel when checked by painting (Keras 3.15.1)",
    "RandomElasticTransform": "it bends objects out of their boxes, and Keras 3.15.1 raises NotImplementedError "
                              "for boxes",
    "RandAugment": "it draws geometric operations (including shear) that this pipeline cannot check; use colour "
                   "layers and the supported geometric layers",
    "AugMix": "it mixes differently transformed copies of the image",
    "RandomErasing": "it erases objects but keeps their boxes and mask ids",
}


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
    mask_fill=0,
    bounding_box_format="xyxy",
    max_boxes=100,
):
    """Turn a dataset of ``(image, target)`` into batches ready for ``model.fit``.

    ds: ``tf.data.Dataset`` of ``(image, target)``: uint8 (H, W) or (H, W, C)
        images, or encoded image strings (decoded here). Images of another
        dtype must hold pixel values in 0..255 (rounded to uint8): NaN/inf,
        values outside 0..255 and floats scaled to [0, 1] raise ``PixelValueError``
        (``check_pixel_values``; preprocessing is the pipeline's job). The target is one of
        (see the module docstring): a scalar class id (int32 out); a vector
        (C,) such as one-hot or multi-hot labels (float32 out, as given); an
        integer mask (H, W) or (H, W, 1) of the image's size (int32
        (B, H_out, W_out) out); or ``{"boxes": (N, 4), "classes": (N,)}`` with
        N free per image (out: ``{"boxes": (B, max_boxes, 4) float32 xyxy
        pixels of the output image, "classes": (B, max_boxes) int32}``,
        padding and dropped boxes have class -1 and box 0; validity is
        ``classes >= 0``, class 0 is a real class).
    batch_size: images per batch. training: shuffle and apply random augmentation.
    image_size: int or (H, W) the model takes; None keeps the data's size,
        or, when ``model`` is given, resizes to the model's input size (a
        registry entry's default, such as 224×224 for ``"vgg16"``, or a built
        model's static input size) and says so in one line on stderr, naming
        the model and the size (pass ``image_size`` to choose it and keep quiet).
    augment: None, a preset name (``"alexnet"``, ``"image_data_generator"``,
        ``"cifar"``, ``"fashion"``; see ``augment.preset``), or a list of Keras
        layers called as ``layer(batch, training=training)`` on 0..255 floats.
        Random layers are the identity at inference; the AlexNet preset then
        takes the center crop. With masks or boxes, the geometric layers
        ``augment.RandomCrop``, ``augment.RandomAffine`` and Keras'
        ``RandomFlip``, ``RandomTranslation``, ``RandomZoom``, ``RandomRotation``
        and ``Resizing`` get the Keras dict and move them with the pixels; with
        boxes, ``fill_mode`` must be ``"constant"`` (the ImageDataGenerator
        preset then fills with "constant") and ``Resizing`` may not pad or crop
        to the aspect ratio (Keras 3.15.1 misplaces the boxes; use
        ``resize="pad"``). Colour layers (``PCALighting``, Keras' colour layers,
        any layer with ``geometric = False``) get the images only. Any other
        layer raises ``ValueError`` naming it and why.
    preprocess: a mode of ``keras_cv_course.preprocessing`` (``"caffe"``,
        ``"tf"``, ``"torch"``, ``"unit"`` = [0, 1], ``"none"``) or a callable;
        None takes the mode of ``model``'s registry entry, else ``"unit"``.
    model: a registry name or ``ModelInfo`` (gives the defaults of image_size,
        preprocess and num_classes, and the channel check), or a built
        ``keras.Model`` (image_size and the channel check only).
    channels: convert images to this many channels (1 ↔ 3).
    num_classes: class ids (scalar labels, box classes) outside
        [0, num_classes) raise ``InvalidArgumentError`` naming the label when
        the batch is produced; vector labels must have this length.
    resize: ``"stretch"`` (plain resize) or ``"pad"`` (keep aspect ratio, pad).
    shuffle_buffer: shuffle buffer size (training only).
    cache: True caches decoded, resized uint8 images in memory; a string caches
        to that file; False does not cache.
    seed: makes shuffling and augmentation repeat exactly from one pipeline to
        the next (augmentation then runs as one sequential map).
    pca: ``(eigval, eigvec)`` for the AlexNet preset's ``PCALighting``; None
        adapts it when training. Any augmentation layer that needs data
        (``adapt`` and ``is_adapted`` False, ``keras_cv_course.adaptation``),
        from a preset or a list, is adapted when training to the prepared
        (decoded, converted, resized) training images: ``PCALighting`` without
        a basis computes it from their first million pixels
        (``augment.pca_basis``), as Krizhevsky et al. did on the training set.
    mask_fill: the class id of mask pixels that come from outside the image
        (resize padding, crop padding, constant affine fill); 0 by default,
        255 marks them void. With ``fill_mode`` "nearest"/"reflect"/"wrap" the
        mask follows the image.
    bounding_box_format: the format of the input boxes, in pixels of their
        image or relative (``"rel_*"``): one of ``BOX_FORMATS``. Malformed boxes
        (not finite, x2 < x1 or y2 < y1, outside the image) and classes < 0 raise
        ``InvalidArgumentError`` naming them when read. Boxes of zero area
        (input or after a step) are dropped.
    max_boxes: boxes per image in the output. An image with more is an error
        naming its count (``ValueError`` at once when the dataset's box count
        is static, else ``InvalidArgumentError`` when read): no box is dropped
        silently.

    The returned dataset carries the input dataset's ``class_names`` attribute
    (``data.image_folder``'s, Keras' ``image_dataset_from_directory``'s) when
    it has one.
    """
    if not isinstance(ds, tf.data.Dataset):
        raise TypeError(f"pipeline expects a tf.data.Dataset of (image, label); got {type(ds).__name__}")
    if resize not in RESIZE_MODES:
        raise ValueError(f"resize must be one of {RESIZE_MODES}; got {resize!r}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
    model_facts = _model_facts(model)
    size_from_model = image_size is None and model_facts.get("image_size") is not None
    image_size = _size(image_size if image_size is not None else model_facts.get("image_size"))
    if preprocess is None:
        preprocess = model_facts.get("preprocess", "unit")
    if isinstance(preprocess, str) and preprocess not in MODES:
        raise ValueError(f"Unknown preprocessing mode {preprocess!r}; expected one of {MODES} or a callable")
    if num_classes is None:
        num_classes = model_facts.get("num_classes")

    image_spec, label_spec = _element_spec(ds)
    if image_spec.dtype != tf.uint8 and (image_spec.dtype.is_floating or image_spec.dtype.is_integer):
        check_pixel_values(ds)
    kind = _target_kind(image_spec, label_spec, num_classes, max_boxes)
    spatial = kind in ("mask", "boxes")
    _check_target_args(kind, bounding_box_format, max_boxes, mask_fill)
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
    aug = _augmentation(augment, image_size or static_size, seed, fill_mode="constant" if spatial else None, pca=pca)
    resize_to = aug.input_size if aug is not None and aug.input_size is not None else image_size
    if resize_to is None and static_size is None:
        raise ValueError("The images have no static size; pass image_size= so they can be batched.")
    if size_from_model and resize_to is not None and static_size != tuple(resize_to):
        _resize_notice(model, image_size, resize_to, static_size)

    element_work = (
        spatial
        or image_spec.dtype != tf.uint8
        or image_spec.shape.rank != 3
        or (channels is not None and data_channels != channels)
        or (resize_to is not None and static_size != tuple(resize_to))
    )
    box_args = dict(fmt=bounding_box_format, max_boxes=max_boxes, num_classes=num_classes)

    def prepare(image, label):
        if image.dtype == tf.string:
            image = tf.io.decode_image(image, channels=channels or 0, expand_animations=False)
        if image.shape.rank == 2:
            image = image[..., None]
        if image.dtype != tf.uint8:
            image = _pixels_to_uint8(image)
        image = _convert_channels(image, channels)
        label = _ingest_target(kind, label, image, box_args)
        if resize_to is not None and tuple(image.shape[:2]) != tuple(resize_to):
            image, label = _resize(image, label, kind, resize_to, resize, mask_fill)
        if kind == "boxes":
            label = _pad_boxes(label, max_boxes)
        return image, label

    # Per-image work (decode, channels, resize) runs as a parallel map only when
    # needed; in-memory uint8 data of the right size goes straight to the cache.
    out = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True) if element_work else ds
    if aug is not None and training:
        _adapt_augmentation(aug.layers, out.map(lambda x, y: x))
    if cache:
        out = out.cache(cache if isinstance(cache, str) else "")
    if training and shuffle_buffer and shuffle_buffer > 1:
        out = out.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    out = out.batch(batch_size, drop_remainder=drop_remainder, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    steps = _steps(list(aug.layers) if aug is not None else [], kind)
    if callable(preprocess):
        preprocess_fn = preprocess
    else:
        mode = preprocess

        def preprocess_fn(images):
            return preprocess_input(images, mode)

    def finish(images, labels):
        """Per batch: label check, augmentation, preprocessing (one vectorized call)."""
        labels = _check_labels(kind, labels, num_classes)
        x = tf.cast(images, tf.float32)
        if spatial:
            x, labels = _augment_with_targets(steps, x, labels, kind, training, mask_fill)
        else:
            for layer, _ in steps:
                x = _call_layer(layer, x, training)
        return tf.convert_to_tensor(preprocess_fn(x), tf.float32), labels

    if seed is not None and steps:
        # One sequential map: the layers' seed generators then advance in batch order,
        # so two pipelines built with the same seed give the same batches.
        out = out.map(finish)
    else:
        out = out.map(finish, num_parallel_calls=tf.data.AUTOTUNE, deterministic=seed is not None or not training)
    out = out.prefetch(tf.data.AUTOTUNE)
    class_names = getattr(ds, "class_names", None)
    if class_names is not None:
        out.class_names = class_names
    return out


def _resize_notice(model, image_size, resize_to, static_size):
    """The one line ``pipeline`` prints (stderr, as ``training.fit`` prints its
    notices) when it resizes images to a size it took from ``model``."""
    name = model if isinstance(model, str) else getattr(model, "name", type(model).__name__)
    given = f"the {static_size[0]}x{static_size[1]} images" if static_size else "every image"
    target = f"{resize_to[0]}x{resize_to[1]}"
    if tuple(resize_to) != tuple(image_size):
        target += f" (the augmentation's input; it gives {image_size[0]}x{image_size[1]}, the input size of {name!r})"
    else:
        target += f", the input size of {name!r}"
    print(f"pipeline: resizing {given} to {target}; pass image_size= to choose the size",
          file=sys.stderr, flush=True)


PIXEL_SCAN_IMAGES = 10_000  # images of a non-uint8 dataset whose pixel values are checked up front


def check_pixel_values(ds, limit=None):
    """Refuse a dataset of non-uint8 images that are not 0..255 pixel values:
    NaN/inf (naming how many images hold them), values outside 0..255, floats
    scaled to [0, 1] (``datasets.pixel_problem``), judged on its first ``limit``
    (default ``PIXEL_SCAN_IMAGES``) images; every later image is checked as it
    is read (``_pixels_to_uint8``)."""
    from keras_cv_course.data.datasets import PixelValueError, pixel_problem

    limit = limit or PIXEL_SCAN_IMAGES
    dtype = ds.element_spec[0].dtype

    def stats(image, label):
        finite = tf.reduce_all(tf.math.is_finite(image)) if dtype.is_floating else tf.constant(True)
        return finite, tf.cast(tf.reduce_min(image), tf.float64), tf.cast(tf.reduce_max(image), tf.float64)

    parts = list(ds.take(limit).map(stats, num_parallel_calls=tf.data.AUTOTUNE).batch(4096).as_numpy_iterator())
    if not parts:
        return
    finite, low, high = (np.concatenate(column) for column in zip(*parts))
    nonfinite = np.flatnonzero(~finite)
    bounds = (None, None) if len(nonfinite) else (float(low.min()), float(high.max()))
    problem = pixel_problem(dtype.as_numpy_dtype, len(finite), nonfinite, *bounds)
    if problem:
        scope = f"the first {len(finite):,} images" if len(finite) == limit else "the images"
        raise PixelValueError(f"pipeline: {scope} of the dataset ({dtype.name}): {problem}")


def _pixels_to_uint8(image):
    """Non-uint8 pixel values to uint8 (rounded); an image with NaN/inf or
    values outside 0..255 fails when read, naming its smallest and largest value."""
    values = tf.cast(image, tf.float32)
    low, high = tf.reduce_min(values), tf.reduce_max(values)
    valid = tf.reduce_all(tf.math.is_finite(values)) & (low >= 0) & (high <= 255)
    check = tf.debugging.Assert(valid, ["Images must hold finite pixel values in 0..255; an image has "
                                        "smallest, largest value:", low, high], summarize=4)
    with tf.control_dependencies([check]):
        return tf.cast(tf.round(values), tf.uint8)


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


def _augmentation(augment, image_size, seed, fill_mode=None, pca=None):
    if augment is None:
        return None
    if isinstance(augment, str):
        return augment_lib.preset(augment, image_size=image_size, seed=seed, fill_mode=fill_mode, pca=pca)
    if isinstance(augment, augment_lib.Augmentation):
        return augment
    if isinstance(augment, (list, tuple)):
        return augment_lib.Augmentation(list(augment), None, image_size)
    raise TypeError(f"augment must be None, a preset name, a list of layers or an Augmentation; got {type(augment).__name__}")


def _adapt_augmentation(layers, images):
    """Adapt the layers that need data to ``images``, a dataset of prepared
    uint8 training images (each layer reads what it needs of it)."""
    for layer in layers:
        if needs_adapting(layer):
            layer.adapt(images)


# ----------------------------------------------------------------------------- targets


def _target_kind(image_spec, label_spec, num_classes, max_boxes):
    """'class', 'vector', 'mask' or 'boxes' from the element spec; clear errors for anything else."""
    if isinstance(label_spec, dict):
        return _boxes_kind(label_spec, max_boxes)
    if not isinstance(label_spec, tf.TensorSpec):
        raise ValueError(f"pipeline: the target must be a tensor or a dict of boxes and classes; got {label_spec}")
    rank = label_spec.shape.rank
    if rank == 0:
        return "class"
    if rank == 1:
        length = label_spec.shape[0]
        if num_classes is not None and length is not None and length != num_classes:
            raise ValueError(f"Vector labels have length {length} but num_classes={num_classes}; "
                             "one-hot or multi-hot labels need one entry per class.")
        return "vector"
    if rank == 2 or (rank == 3 and label_spec.shape[-1] == 1):
        return _mask_kind(image_spec, label_spec)
    raise ValueError(
        f"pipeline: a target of shape {label_spec.shape} is neither a class id (), a label vector (C,), "
        "a mask (H, W) / (H, W, 1) nor a dict of boxes and classes."
    )


def _mask_kind(image_spec, mask_spec):
    if not (mask_spec.dtype.is_integer and mask_spec.dtype != tf.bool):
        raise ValueError(
            f"Segmentation masks must hold integer class ids; got {mask_spec.dtype.name} masks of shape "
            f"{mask_spec.shape}. Cast them to an integer type (resize masks with NEAREST, never bilinear)."
        )
    if image_spec.dtype != tf.string and image_spec.shape.rank in (2, 3):
        image_hw, mask_hw = tuple(image_spec.shape[:2]), tuple(mask_spec.shape[:2])
        if None not in image_hw and None not in mask_hw and image_hw != mask_hw:
            raise ValueError(f"Masks must have the height and width of their image: images are {image_hw}, "
                             f"masks {mask_hw} (shape {mask_spec.shape}).")
    return "mask"


def _boxes_kind(spec, max_boxes):
    if set(spec) != {"boxes", "classes"}:
        raise ValueError(f"Box targets must be a dict with keys 'boxes' (N, 4) and 'classes' (N,); got keys {sorted(spec)}")
    boxes, classes = spec["boxes"], spec["classes"]  # TensorSpec or RaggedTensorSpec (sliced ragged boxes)
    if boxes.shape.rank != 2 or boxes.shape[-1] not in (4, None):
        raise ValueError(f"target['boxes'] must be (N, 4) per image; got shape {boxes.shape}")
    if classes.shape.rank != 1:
        raise ValueError(f"target['classes'] must be (N,) per image; got shape {classes.shape}")
    if not classes.dtype.is_integer:
        raise ValueError(f"target['classes'] must be integer class ids; got {classes.dtype.name}")
    if isinstance(max_boxes, (int, np.integer)) and boxes.shape[0] is not None and boxes.shape[0] > max_boxes:
        raise ValueError(f"Every image has {boxes.shape[0]} boxes, more than max_boxes={max_boxes}; "
                         "pass a larger max_boxes.")
    return "boxes"


def _check_target_args(kind, bounding_box_format, max_boxes, mask_fill):
    if kind == "boxes":
        if bounding_box_format not in BOX_FORMATS:
            raise ValueError(f"bounding_box_format must be one of {BOX_FORMATS}; got {bounding_box_format!r}")
        if not isinstance(max_boxes, (int, np.integer)) or max_boxes < 1:
            raise ValueError(f"max_boxes must be a positive integer; got {max_boxes!r}")
    if kind == "mask" and not isinstance(mask_fill, (int, np.integer)):
        raise ValueError(f"mask_fill must be an integer class id (0, or 255 for void); got {mask_fill!r}")


def _assert_in_order(checks):
    """One op that runs ``tf.debugging.Assert(ok, data)`` for each ``(ok, data)`` in turn (the first failure reports)."""
    op = tf.no_op()
    for ok, data in checks:
        with tf.control_dependencies([op]):
            op = tf.debugging.Assert(ok, data, summarize=40)
    return op


def _ingest_target(kind, label, image, box_args):
    """Per element, before resizing: masks to int32 (H, W) of the image's size, boxes to checked xyxy pixels."""
    if kind == "mask":
        mask = tf.cast(label if label.shape.rank == 2 else label[..., 0], tf.int32)
        same = tf.reduce_all(tf.equal(tf.shape(mask), tf.shape(image)[:2]))
        check = _assert_in_order([(same, ["Masks must have the height and width of their image; image (H, W, C):",
                                          tf.shape(image), "mask (H, W):", tf.shape(mask)])])
        with tf.control_dependencies([check]):
            return tf.identity(mask)
    if kind == "boxes":
        return _ingest_boxes(label, image, **box_args)
    return label


def _ingest_boxes(label, image, fmt, max_boxes, num_classes):
    dense = [x.to_tensor() if isinstance(x, tf.RaggedTensor) else x for x in (label["boxes"], label["classes"])]
    given = tf.reshape(tf.cast(dense[0], tf.float32), (-1, 4))
    classes = tf.cast(dense[1], tf.int32)
    height, width = tf.cast(tf.shape(image)[0], tf.float32), tf.cast(tf.shape(image)[1], tf.float32)
    boxes = given
    if fmt != "xyxy":
        boxes = box_utils.convert_format(given, source=fmt, target="xyxy", height=height, width=width)
    check = _assert_in_order(_box_checks(given, boxes, classes, height, width, fmt, max_boxes, num_classes))
    with tf.control_dependencies([check]):
        return {"boxes": tf.identity(boxes), "classes": tf.identity(classes)}


def _box_checks(given, boxes, classes, height, width, fmt, max_boxes, num_classes):
    """``(ok, message and bad values)`` pairs for one image's boxes: counts, finite, ordered, inside, classes."""
    n, n_classes = tf.shape(given)[0], tf.shape(classes)[0]
    x1, y1, x2, y2 = tf.unstack(boxes, 4, axis=-1)
    finite = tf.reduce_all(tf.math.is_finite(given), axis=-1)
    ordered = (x1 <= x2) & (y1 <= y2)
    tol = BOX_TOLERANCE
    inside = (x1 >= -tol) & (y1 >= -tol) & (x2 <= width + tol) & (y2 <= height + tol)
    bad_class = classes < 0 if num_classes is None else (classes < 0) | (classes >= num_classes)
    classes_range = "[0, inf)" if num_classes is None else f"[0, {num_classes})"
    return [
        (tf.equal(n, n_classes), ["An image has a different number of boxes and classes:", n, n_classes]),
        (n <= max_boxes, [f"An image has more boxes than max_boxes={max_boxes}; pass a larger max_boxes. "
                          "Its box count:", n]),
        (tf.reduce_all(finite), [f"Boxes must be finite numbers; bad boxes (as given, {fmt!r}):",
                                 tf.boolean_mask(given, ~finite)]),
        (tf.reduce_all(ordered), [f"Boxes must have x1 <= x2 and y1 <= y2 (xyxy pixels, from {fmt!r}); "
                                  "bad boxes (xyxy pixels):", tf.boolean_mask(boxes, ~ordered)]),
        (tf.reduce_all(inside), ["Boxes must lie inside their image, 0 <= x1, x2 <= width, 0 <= y1, y2 <= height; "
                                 "image height, width:", height, width, f"bad boxes (xyxy pixels, from {fmt!r}):",
                                 tf.boolean_mask(boxes, ~inside)]),
        (~tf.reduce_any(bad_class), [f"Box classes must lie in {classes_range}; bad classes:",
                                     tf.boolean_mask(classes, bad_class)]),
    ]


def _pad_geometry(height, width, size):
    """``tf.image.resize_with_pad``'s resized (h, w) and top/left padding, computed the same way."""
    f_height, f_width = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    f_th, f_tw = float(size[0]), float(size[1])
    ratio = tf.maximum(f_width / f_tw, f_height / f_th)
    rh_f, rw_f = f_height / ratio, f_width / ratio
    rh, rw = tf.cast(tf.floor(rh_f), tf.int32), tf.cast(tf.floor(rw_f), tf.int32)
    top = tf.maximum(0, tf.cast(tf.floor((f_th - rh_f) / 2), tf.int32))
    left = tf.maximum(0, tf.cast(tf.floor((f_tw - rw_f) / 2), tf.int32))
    return rh, rw, top, left


def _resize(image, label, kind, size, mode, mask_fill):
    """Resize ("stretch") or resize and pad ("pad") an image and move its mask or boxes alike."""
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    if mode == "pad":
        rh, rw, top, left = _pad_geometry(height, width, size)
    else:
        rh, rw, top, left = size[0], size[1], 0, 0
    image = tf.image.resize(image, (rh, rw), antialias=True)
    image = tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)
    if mode == "pad":
        image = tf.image.pad_to_bounding_box(image, top, left, size[0], size[1])
    if kind == "mask":
        mask = tf.image.resize(label[..., None], (rh, rw), method="nearest")[..., 0]
        if mode == "pad":
            mask = tf.pad(mask, [[top, size[0] - rh - top], [left, size[1] - rw - left]], constant_values=mask_fill)
        label = tf.ensure_shape(mask, tuple(size))
    elif kind == "boxes":
        sx = tf.cast(rw, tf.float32) / tf.cast(width, tf.float32)
        sy = tf.cast(rh, tf.float32) / tf.cast(height, tf.float32)
        offset = tf.cast(tf.stack([left, top, left, top]), tf.float32)
        label = {**label, "boxes": label["boxes"] * tf.stack([sx, sy, sx, sy]) + offset}
    return image, label


def _pad_boxes(label, max_boxes):
    """Pad one image's boxes to ``max_boxes``: box 0, class -1 (more boxes failed ``_box_checks``)."""
    pad = tf.maximum(max_boxes - tf.shape(label["boxes"])[0], 0)
    boxes = tf.pad(label["boxes"], [[0, pad], [0, 0]])[:max_boxes]
    classes = tf.pad(label["classes"], [[0, pad]], constant_values=-1)[:max_boxes]
    return {"boxes": tf.ensure_shape(boxes, (max_boxes, 4)), "classes": tf.ensure_shape(classes, (max_boxes,))}


def _check_labels(kind, labels, num_classes):
    """Per batch: class ids to int32 and range-checked, vectors to float32 (length checked)."""
    if kind == "vector":
        labels = tf.cast(labels, tf.float32)
        if num_classes is not None:
            check = tf.debugging.assert_equal(
                tf.shape(labels)[-1], num_classes,
                message=f"Vector labels must have one entry per class (num_classes={num_classes})")
            with tf.control_dependencies([check]):
                labels = tf.identity(labels)
        return labels
    if kind != "class":
        return labels
    labels = tf.cast(labels, tf.int32)
    if num_classes is not None:
        message = f"label out of range: labels must lie in [0, {num_classes})"
        checks = [
            tf.debugging.assert_non_negative(labels, message=message),
            tf.debugging.assert_less(labels, tf.constant(num_classes, tf.int32), message=message),
        ]
        with tf.control_dependencies(checks):
            labels = tf.identity(labels)
    return labels


# ----------------------------------------------------------------------------- augmentation with targets


def _keras_class(layer, names):
    """The name in ``names`` of the Keras layer class ``layer`` is an instance of, or None."""
    for name in names:
        cls = getattr(keras.layers, name, None)
        if cls is not None and isinstance(layer, cls):
            return name
    return None


def _steps(layers, kind):
    """``[(layer, geometric)]`` for the augmentation layers; with masks or boxes, refuse the
    layers that cannot carry them (ValueError naming the layer and why)."""
    if kind not in ("mask", "boxes"):
        return [(layer, False) for layer in layers]
    return [(layer, _is_geometric(layer, kind)) for layer in layers]


def _is_geometric(layer, kind):
    """True for a layer that moves masks/boxes with the pixels, False for a colour layer; else ValueError."""
    label = f"{type(layer).__name__} (layer {layer.name!r})" if hasattr(layer, "name") else type(layer).__name__
    what = "boxes" if kind == "boxes" else "masks"
    if isinstance(layer, (augment_lib.RandomCrop, augment_lib.RandomAffine)) or _keras_class(layer, KERAS_GEOMETRIC):
        problem = _box_problem(layer) if kind == "boxes" else None
        if problem:
            raise ValueError(f"The pipeline cannot move boxes through {label}: {problem}.")
        return True
    refused = _keras_class(layer, KERAS_REFUSED)
    if refused:
        raise ValueError(f"The pipeline cannot move {what} through {label}: {KERAS_REFUSED[refused]}.")
    if _keras_class(layer, KERAS_COLOUR) or getattr(layer, "geometric", None) is False:
        return False
    raise ValueError(
        f"The pipeline cannot move {what} through {label}: it does not know whether the layer moves pixels. "
        "If it changes colours only, set `layer.geometric = False`; geometric layers supported with targets are "
        "augment.RandomCrop, augment.RandomAffine and Keras' " + ", ".join(KERAS_GEOMETRIC) + "."
    )


def _box_problem(layer):
    """Why a supported geometric layer, as configured, would misplace boxes (None: it does not)."""
    fill_mode = getattr(layer, "fill_mode", "constant")
    if fill_mode != "constant":
        return (f"its fill_mode={fill_mode!r} fills the border with copies of the image, objects that get "
                "no box; pass fill_mode='constant'")
    if _keras_class(layer, ("Resizing",)) and (layer.pad_to_aspect_ratio or layer.crop_to_aspect_ratio):
        return ("with pad_to_aspect_ratio or crop_to_aspect_ratio, Keras 3.15.1 pads or crops the image by "
                "whole input pixels but offsets the boxes by the exact (or output-pixel) amount, so boxes are "
                "off by up to half an input pixel times the scale; use the pipeline's resize='pad' instead")
    return None


@contextlib.contextmanager
def _xyxy_boxes(layer, active):
    """Make ``layer`` read and write xyxy pixel boxes for the duration of a call."""
    if not active:
        yield
        return
    before = layer.bounding_box_format
    layer.bounding_box_format = "xyxy"
    try:
        yield
    finally:
        layer.bounding_box_format = before


def _call_layer(layer, data, training):
    """``layer(data, training=training)`` in the pipeline's tf.data graph. Under JAX or
    PyTorch a layer computing with that backend's ops (not a Keras preprocessing
    layer, nor one of ``augment``'s) cannot take the graph's tf.Tensors: a
    ``ValueError`` then names it (raised when the pipeline is built)."""
    try:
        return layer(data, training=training)
    except NotImplementedError as error:
        backend = keras.backend.backend()
        if backend == "tensorflow" or "symbolic tf.Tensor" not in str(error):
            raise
        label = f"{type(layer).__name__} (layer {getattr(layer, 'name', '?')!r})"
        raise ValueError(
            f"The pipeline cannot run {label} under the {backend} backend: the augmentation runs inside tf.data, "
            f"and {backend} ops cannot take its graph's tf.Tensors. Use Keras preprocessing layers or "
            "keras_cv_course.data.augment layers (they switch to TensorFlow's ops there), apply this layer in "
            "the model instead, or run with KERAS_BACKEND=tensorflow."
        ) from error


def _augment_with_targets(steps, images, labels, kind, training, mask_fill):
    """Run the layers on a batch carrying masks (B, H, W) or padded boxes; colour layers see images only."""
    state = {"images": images, **({"masks": labels} if kind == "mask" else labels)}
    for layer, geometric in steps:
        if geometric:
            state = _geometric_step(layer, state, training, mask_fill)
        else:
            state["images"] = _call_layer(layer, state["images"], training)
    images = tf.convert_to_tensor(state["images"])
    if kind == "mask":
        return images, tf.ensure_shape(state["masks"], images.shape[:3])
    return images, _clip_boxes(state["boxes"], state["classes"], tf.shape(images)[1], tf.shape(images)[2])


def _geometric_step(layer, state, training, mask_fill):
    """One geometric layer called with Keras' dict; masks travel with a validity code, boxes
    as xyxy pixels, and padding boxes stay padding."""
    data = {"images": state["images"]}
    if "masks" in state:
        data["segmentation_masks"] = _encode_masks(state["masks"])
    if "boxes" in state:
        data["bounding_boxes"] = {"boxes": state["boxes"], "labels": tf.cast(state["classes"], tf.float32)}
    with _xyxy_boxes(layer, "boxes" in state):
        out = _call_layer(layer, data, training)
    new = {"images": out["images"]}
    if "masks" in state:
        new["masks"] = _decode_masks(out["segmentation_masks"], mask_fill)
    if "boxes" in state:
        keep = (state["classes"] >= 0) & (tf.cast(out["bounding_boxes"]["labels"], tf.float32) >= 0)
        new["classes"] = tf.where(keep, state["classes"], -1)
        new["boxes"] = tf.where(keep[..., None], tf.cast(out["bounding_boxes"]["boxes"], tf.float32), 0.0)
    return new


def _encode_masks(masks):
    """(B, H, W) int ids → (B, H, W, 3) floats (id, 1, 0): after any constant fill the last two
    channels are equal, so filled pixels are known whatever the layer's fill value."""
    ids = tf.cast(masks, tf.float32)
    return tf.stack([ids, tf.ones_like(ids), tf.zeros_like(ids)], axis=-1)


def _decode_masks(encoded, mask_fill):
    encoded = tf.convert_to_tensor(encoded)
    ids = tf.cast(tf.round(encoded[..., 0]), tf.int32)
    return tf.where(tf.not_equal(encoded[..., 1], encoded[..., 2]), ids, tf.constant(mask_fill, tf.int32))


def _clip_boxes(boxes, classes, height, width):
    """The output boxes: clipped to the image; padding and boxes without area get class -1, box 0."""
    clipped = box_utils.clip_to_image_size({"boxes": boxes, "labels": classes}, height=height, width=width,
                                           bounding_box_format="xyxy")
    keep = (classes >= 0) & (clipped["labels"] >= 0)
    return {"boxes": tf.where(keep[..., None], clipped["boxes"], 0.0), "classes": tf.where(keep, classes, -1)}
