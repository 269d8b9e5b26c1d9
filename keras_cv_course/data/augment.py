"""Augmentation the course teaches, built from Keras preprocessing layers.

Keras has most transforms (flip, rotation, translation, shear, zoom, center
crop); this module adds only what it lacks:

- ``RandomCrop``: a crop with its own random offset *per image* (Keras'
  ``RandomCrop`` draws one offset per batch), with optional zero padding first
  (the CIFAR "pad 4 + random crop"). At inference it takes the center crop.
- ``RandomAffine``: ImageDataGenerator's rotation, shift, shear and zoom
  composed into one resampling (Keras has each as a separate layer, and
  ``image_data_generator_layers(fused=False)`` chains those).
- ``PCALighting``: AlexNet's color augmentation (Krizhevsky, Sutskever & Hinton
  2012, §4.1): add ``eigvec @ (alpha * eigval)`` to every pixel, with
  ``alpha ~ N(0, alphastd)`` drawn per image; ``pca_basis`` computes the
  eigen-basis of the RGB pixel covariance from training images.
- ``ten_crop`` / ``ten_crop_predict``: AlexNet's test procedure, the four corner
  crops and the center crop plus their horizontal flips, predictions averaged.

``preset(name, ...)`` returns the layer lists of the named augmentations:
``"alexnet"``, ``"image_data_generator"``, ``"cifar"``, ``"fashion"``.
All layers take images in the 0..255 pixel range (float or uint8).

Boxes and masks: ``RandomCrop`` and ``RandomAffine`` also take the dict of
Keras' preprocessing layers, ``{"images", "bounding_boxes": {"boxes",
"labels"}, "segmentation_masks"}`` (``bounding_box_format=`` set on the layer),
and move boxes and masks with the pixels: boxes are mapped (the crop offset, or
the affine map of the four corners and their enclosing box), clipped to the
image, and a box whose clipped area is 0 gets label -1 and coordinates 0
(boxes that already have label -1 are padding and stay 0); masks are resampled
by nearest neighbour and filled with 0. ``PCALighting`` changes colours only
(``geometric = False``). Box coordinates are continuous: pixel ``i`` covers
``[i, i + 1)``, so a box ``(x1, y1, x2, y2)`` covers pixels ``x1 .. x2 - 1``.

Every backend: the layers compute with ``keras.ops``, and inside a tf.data map
under JAX or PyTorch (whose ops cannot take a traced graph's tf.Tensors) with
the TensorFlow backend's ops and a TensorFlow twin of their seed generator,
as Keras's own preprocessing layers do; the same seed then draws the same
values as on the TensorFlow backend.
"""

import dataclasses
import math

import keras
import numpy as np
from keras import layers, ops
from keras.utils import bounding_boxes as box_utils

from keras_cv_course import _keras_compat

# The ImageNet eigen-basis of fb.resnet.torch / Krizhevsky 2012, in 0..255 pixel units.
# Columns of IMAGENET_EIGVEC are the eigenvectors (R, G, B components).
IMAGENET_EIGVAL = np.array([0.2175, 0.0188, 0.0045], np.float32) * 255.0
IMAGENET_EIGVEC = np.array(
    [[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]], np.float32
)


@dataclasses.dataclass(frozen=True)
class _Backend:
    """The namespaces one call computes with: ``ops`` (``keras.ops``' API),
    ``random`` (``keras.random``'s) and ``seed``, the layer's seed generator."""

    ops: object
    random: object
    seed: object = None


def _backend_for(data, seed_generator=None):
    """The ``_Backend`` of a call on ``data``: ``keras.ops``, ``keras.random`` and
    ``seed_generator``, or, inside a tf.data graph under JAX or PyTorch, the
    TensorFlow backend's ops and random functions and the TensorFlow twin of
    ``seed_generator`` (``_keras_compat.needs_tensorflow_ops``)."""
    if _keras_compat.needs_tensorflow_ops(data):
        tf_ops = _keras_compat.tensorflow_ops()
        twin = None if seed_generator is None else _keras_compat.tensorflow_seed_generator(seed_generator)
        return _Backend(tf_ops, tf_ops.random, twin)
    return _Backend(ops, keras.random, seed_generator)


class _AnyBackendLayer(layers.Layer):
    """Base of this module's layers: called inside a tf.data map under JAX or
    PyTorch it hands its tf.Tensors to ``call`` unconverted, and ``call`` computes
    with ``self._backend(x)`` (the TensorFlow backend's ops there, keras.ops
    elsewhere). ``x`` is any value of the call (a tensor, the batch size): the
    choice depends on where the call runs, not on ``x``'s type, except that a
    symbolic KerasTensor (building a model) always takes keras.ops."""

    def __call__(self, *args, **kwargs):
        data = args[0] if args else next(iter(kwargs.values()), None)
        if not _keras_compat.needs_tensorflow_ops(data):
            return super().__call__(*args, **kwargs)
        with _keras_compat.tensorflow_layer_call(self):
            return super().__call__(*args, **kwargs)

    def _backend(self, data=None):
        """The ``_Backend`` of a call on ``data`` (see ``_backend_for``), with this
        layer's ``seed_generator``."""
        return _backend_for(data, getattr(self, "seed_generator", None))


@keras.saving.register_keras_serializable(package="keras_cv_course")
class RandomCrop(_AnyBackendLayer):
    """Crop ``height`` × ``width`` at a random offset drawn independently per image.

    ``padding`` zero-pads every side first (CIFAR: ``padding=4`` on 32×32, then a
    32×32 crop, i.e. a random shift of up to 4 pixels). With ``training=False``
    the layer returns the center crop (of the padded image), so with padding and
    an unchanged size inference is the identity.

    Called with a dict ``{"images", "bounding_boxes", "segmentation_masks"}``
    (Keras' convention; ``bounding_box_format`` must then be set), boxes are
    shifted by each image's offset and clipped (a box left with no area gets
    label -1 and coordinates 0) and masks take the same window (zero padded).
    """

    geometric = True

    def __init__(self, height, width, padding=0, seed=None, bounding_box_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height, self.width, self.padding, self.seed = int(height), int(width), int(padding), seed
        self.bounding_box_format = bounding_box_format
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = False

    def call(self, data, training=True):
        k = self._backend(data)
        ops = k.ops
        if not isinstance(data, dict):
            return self._crop(ops.convert_to_tensor(data), training, k)[0]
        images, extras = _split_targets(data, ops)
        images, (top, left), (in_h, in_w) = self._crop(images, training, k)
        out = {**data, "images": images}
        if extras["masks"] is not None:
            out["segmentation_masks"] = self._crop(extras["masks"], training, k, (top, left))[0]
        if extras["boxes"] is not None:
            boxes, labels = _boxes_to_xyxy(self, extras["boxes"], in_h - 2 * self.padding, in_w - 2 * self.padding,
                                           ops)
            shift = ops.stack([left, top, left, top], axis=-1)[:, None, :]
            boxes = boxes + float(self.padding) - ops.cast(shift, boxes.dtype)
            out["bounding_boxes"] = _boxes_from_xyxy(self, boxes, labels, self.height, self.width, ops)
        return out

    def _crop(self, images, training, k, offsets=None):
        """Crop (N, H, W, C) or (H, W, C) images with the ``_Backend`` ``k``; returns
        (crops, (top, left) per image, padded (H, W))."""
        ops = k.ops
        unbatched = len(images.shape) == 3
        if unbatched:
            images = ops.expand_dims(images, 0)
        if self.padding:
            p = self.padding
            images = ops.pad(images, [[0, 0], [p, p], [p, p], [0, 0]])
        in_h, in_w = images.shape[1], images.shape[2]
        if in_h is None or in_w is None:
            raise ValueError(f"RandomCrop needs static image height and width; got shape {images.shape}")
        if in_h < self.height or in_w < self.width:
            raise ValueError(f"RandomCrop of {self.height}x{self.width} from smaller images {in_h}x{in_w}")
        n = ops.shape(images)[0]
        if training:
            top, left = offsets if offsets is not None else self._offsets(n, in_h, in_w, k)
            rows = top[:, None] + ops.arange(self.height, dtype="int32")[None, :]
            cols = left[:, None] + ops.arange(self.width, dtype="int32")[None, :]
            # One gather of the h*w flat pixel indices of each image's window.
            flat = ops.reshape(rows[:, :, None] * in_w + cols[:, None, :], (-1, self.height * self.width))
            channels = images.shape[3]
            pixels = ops.reshape(images, (-1, in_h * in_w, channels))
            images = ops.reshape(_batched_gather(pixels, flat, ops), (-1, self.height, self.width, channels))
        else:
            t, l = (in_h - self.height) // 2, (in_w - self.width) // 2
            images = images[:, t: t + self.height, l: l + self.width, :]
            top, left = ops.full((n,), t, dtype="int32"), ops.full((n,), l, dtype="int32")
        return (images[0] if unbatched else images), (top, left), (in_h, in_w)

    def _offsets(self, n, in_h, in_w, k):
        ops = k.ops
        top = ops.cast(k.random.uniform((n,), 0.0, in_h - self.height + 1.0, seed=k.seed), "int32")
        left = ops.cast(k.random.uniform((n,), 0.0, in_w - self.width + 1.0, seed=k.seed), "int32")
        return ops.minimum(top, in_h - self.height), ops.minimum(left, in_w - self.width)

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, dict):
            return {**input_shape, **{key: self.compute_output_shape(input_shape[key])
                                      for key in ("images", "segmentation_masks") if key in input_shape}}
        return tuple(input_shape[:-3]) + (self.height, self.width, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width, "padding": self.padding,
                "seed": self.seed, "bounding_box_format": self.bounding_box_format}


def _split_targets(data, ops):
    """Images (batched, 4-D) and the optional boxes dict / masks of a Keras-style dict (``ops``: keras.ops' API)."""
    unknown = set(data) - {"images", "bounding_boxes", "segmentation_masks", "labels"}
    if unknown:
        raise ValueError(f"Unknown keys {sorted(unknown)}; expected images, bounding_boxes, segmentation_masks, labels")
    images = ops.convert_to_tensor(data["images"])
    if len(images.shape) != 4:
        raise ValueError(f"Boxes and masks need batched images (N, H, W, C); got shape {images.shape}")
    masks = data.get("segmentation_masks")
    if masks is not None:
        masks = ops.convert_to_tensor(masks)
        if len(masks.shape) != 4:
            raise ValueError(f"segmentation_masks must be (N, H, W, C) like the images; got shape {masks.shape}")
    return images, {"boxes": data.get("bounding_boxes"), "masks": masks}


def _boxes_to_xyxy(layer, bounding_boxes, height, width, ops):
    """(N, M, 4) float32 xyxy pixel boxes and the labels of ``bounding_boxes`` in ``layer``'s format."""
    if not layer.bounding_box_format:
        raise ValueError(
            f"{type(layer).__name__} got 'bounding_boxes' but has no bounding_box_format; "
            "pass e.g. bounding_box_format='xyxy' to the layer."
        )
    boxes = ops.cast(bounding_boxes["boxes"], "float32")
    if len(boxes.shape) != 3 or boxes.shape[-1] != 4:
        raise ValueError(f"bounding_boxes['boxes'] must be (N, M, 4) for batched images; got shape {boxes.shape}")
    if layer.bounding_box_format != "xyxy":
        boxes = box_utils.convert_format(boxes, source=layer.bounding_box_format, target="xyxy",
                                         height=height, width=width)
    return boxes, bounding_boxes["labels"]


def _boxes_from_xyxy(layer, boxes, labels, height, width, ops):
    """Clip xyxy pixel boxes to a ``height`` × ``width`` image, drop (label -1, box 0) the
    ones left with no area or that were padding, and convert to ``layer``'s format."""
    labels = ops.convert_to_tensor(labels)
    padding = labels < 0
    clipped = box_utils.clip_to_image_size({"boxes": boxes, "labels": labels}, height=height, width=width,
                                           bounding_box_format="xyxy")
    keep = ops.logical_and(clipped["labels"] >= 0, ops.logical_not(padding))
    labels = ops.where(keep, labels, ops.cast(-1, labels.dtype))
    boxes = ops.where(keep[..., None], clipped["boxes"], 0.0)
    if layer.bounding_box_format != "xyxy":
        boxes = box_utils.convert_format(boxes, source="xyxy", target=layer.bounding_box_format,
                                         height=height, width=width)
    return {"boxes": boxes, "labels": labels}


def _batched_gather(values, indices, ops):
    """``values[b, indices[b]]`` for (N, P, C) values and (N, K) indices."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.gather(values, indices, batch_dims=1)
    channels = values.shape[-1]
    index = ops.broadcast_to(indices[:, :, None], (ops.shape(indices)[0], ops.shape(indices)[1], channels))
    return ops.take_along_axis(values, index, axis=1)


@keras.saving.register_keras_serializable(package="keras_cv_course")
class RandomAffine(_AnyBackendLayer):
    """ImageDataGenerator's geometric augmentation as one affine resampling per image.

    Draws per image, as ``ImageDataGenerator.get_random_transform`` does: a
    rotation in ``[-rotation_range, rotation_range]`` degrees, shifts in
    ``[-f, f]`` of the height/width, a shear *angle* in ``[-shear_range,
    shear_range]`` degrees, and zooms ``zx, zy`` drawn independently in
    ``[1 - zoom_range, 1 + zoom_range]``; composes rotation · shift · shear ·
    zoom about the image center (``apply_affine_transform``) and resamples once
    (bilinear, ``fill_mode`` at the borders) with ``keras.ops.image.affine_transform``.

    Keras has each of these as a layer (RandomRotation, RandomTranslation,
    RandomShear, RandomZoom; ``image_data_generator_layers(fused=False)``); this
    layer composes them, so the image is interpolated once instead of four
    times (less blur, ImageDataGenerator's exact composition, and about 4× less
    work). Inference is the identity.

    Called with a dict ``{"images", "bounding_boxes", "segmentation_masks"}``
    (``bounding_box_format`` must then be set), each box's four corners go
    through the same map, the box becomes their enclosing box, clipped to the
    image (no area left: label -1, coordinates 0); a rotated or sheared box is
    therefore larger than the object it holds. Masks are resampled by nearest
    neighbour with the same ``fill_mode`` (``"constant"``: filled with 0).
    """

    geometric = True

    def __init__(self, rotation_range=0.0, width_shift_range=0.0, height_shift_range=0.0, shear_range=0.0,
                 zoom_range=0.0, fill_mode="nearest", fill_value=0.0, interpolation="bilinear", seed=None,
                 bounding_box_format=None, **kwargs):
        super().__init__(**kwargs)
        self.rotation_range, self.width_shift_range, self.height_shift_range = float(rotation_range), float(width_shift_range), float(height_shift_range)
        self.shear_range, self.zoom_range = float(shear_range), float(zoom_range)
        self.fill_mode, self.fill_value, self.interpolation, self.seed = fill_mode, float(fill_value), interpolation, seed
        self.bounding_box_format = bounding_box_format
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _uniform(self, n, bound):
        k = self._backend(n)
        return k.random.uniform((n,), -bound, bound, seed=k.seed)

    def matrices(self, n, height, width):
        """(N, 3, 3) matrices mapping output (x, y, 1) to input coordinates."""
        ops = self._backend(n).ops
        theta = self._uniform(n, self.rotation_range) * (math.pi / 180.0)
        tx = self._uniform(n, self.width_shift_range) * width
        ty = self._uniform(n, self.height_shift_range) * height
        shear = self._uniform(n, self.shear_range) * (math.pi / 180.0)
        zx = 1.0 + self._uniform(n, self.zoom_range)
        zy = 1.0 + self._uniform(n, self.zoom_range)
        zero, one = ops.zeros_like(theta), ops.ones_like(theta)

        def m(*rows):
            return ops.stack([ops.stack(r, axis=-1) for r in rows], axis=-2)

        cos, sin = ops.cos(theta), ops.sin(theta)
        rotation = m((cos, -sin, zero), (sin, cos, zero), (zero, zero, one))
        shift = m((one, zero, tx), (zero, one, ty), (zero, zero, one))
        shearing = m((one, -ops.sin(shear), zero), (zero, ops.cos(shear), zero), (zero, zero, one))
        zoom = m((zx, zero, zero), (zero, zy, zero), (zero, zero, one))
        cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
        to_center = m((one, zero, one * cx), (zero, one, one * cy), (zero, zero, one))
        from_center = m((one, zero, -one * cx), (zero, one, -one * cy), (zero, zero, one))
        out = to_center
        for factor in (rotation, shift, shearing, zoom, from_center):
            out = ops.matmul(out, factor)
        return out

    def call(self, data, training=True):
        k = self._backend(data)
        if isinstance(data, dict):
            return self._call_targets(data, training, k)
        ops = k.ops
        images = ops.cast(data, "float32")
        if not training:
            return images
        unbatched = len(images.shape) == 3
        batch = ops.expand_dims(images, 0) if unbatched else images
        mat = self.matrices(ops.shape(batch)[0], batch.shape[1], batch.shape[2])
        out = self._resample(batch, mat, self.interpolation, self.fill_value, ops)
        return out[0] if unbatched else out

    def _resample(self, batch, mat, interpolation, fill_value, ops):
        n = ops.shape(batch)[0]
        transform = ops.concatenate([ops.reshape(mat, (-1, 9))[:, :6], ops.zeros((n, 2))], axis=1)
        return ops.image.affine_transform(
            batch, transform, interpolation=interpolation, fill_mode=self.fill_mode, fill_value=fill_value
        )

    def _call_targets(self, data, training, k):
        ops = k.ops
        images, extras = _split_targets(data, ops)
        images = ops.cast(images, "float32")
        out = {**data, "images": images}
        if not training:
            return out
        height, width = images.shape[1], images.shape[2]
        mat = self.matrices(ops.shape(images)[0], height, width)
        out["images"] = self._resample(images, mat, self.interpolation, self.fill_value, ops)
        masks = extras["masks"]
        if masks is not None:
            moved = self._resample(ops.cast(masks, "float32"), mat, "nearest", 0.0, ops)
            out["segmentation_masks"] = ops.cast(ops.round(moved), masks.dtype)
        if extras["boxes"] is not None:
            boxes, labels = _boxes_to_xyxy(self, extras["boxes"], height, width, ops)
            out["bounding_boxes"] = _boxes_from_xyxy(self, _map_boxes(boxes, mat, ops), labels, height, width, ops)
        return out

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "rotation_range": self.rotation_range, "width_shift_range": self.width_shift_range,
            "height_shift_range": self.height_shift_range, "shear_range": self.shear_range,
            "zoom_range": self.zoom_range, "fill_mode": self.fill_mode, "fill_value": self.fill_value,
            "interpolation": self.interpolation, "seed": self.seed, "bounding_box_format": self.bounding_box_format,
        }


def _map_boxes(boxes, mat, ops):
    """Enclosing boxes of the corners of (N, M, 4) xyxy pixel ``boxes`` moved by the inverse
    of ``mat`` (N, 3, 3; output pixel index (x, y, 1) -> input pixel index, the map that
    ``affine_transform`` samples with). Pixel ``i`` has its center at ``i + 0.5``."""
    a, b, c = mat[:, 0, 0][:, None, None], mat[:, 0, 1][:, None, None], mat[:, 0, 2][:, None, None]
    d, e, f = mat[:, 1, 0][:, None, None], mat[:, 1, 1][:, None, None], mat[:, 1, 2][:, None, None]
    x1, y1, x2, y2 = (boxes[..., i] - 0.5 for i in range(4))
    xs = ops.stack([x1, x2, x1, x2], axis=-1) - c  # (N, M, 4 corners), relative to the translation
    ys = ops.stack([y1, y1, y2, y2], axis=-1) - f
    det = a * e - b * d
    u = (e * xs - b * ys) / det + 0.5
    v = (a * ys - d * xs) / det + 0.5
    return ops.stack([ops.min(u, axis=-1), ops.min(v, axis=-1), ops.max(u, axis=-1), ops.max(v, axis=-1)], axis=-1)


@keras.saving.register_keras_serializable(package="keras_cv_course")
class PCALighting(_AnyBackendLayer):
    """AlexNet's PCA color augmentation ("fancy PCA", Krizhevsky et al. 2012 §4.1).

    To each image adds the same vector at every pixel:
    ``shift = eigvec @ (alpha * eigval)``, ``alpha ~ N(0, alphastd)`` per image
    and per component. ``eigval`` (C,) and ``eigvec`` (C, C; columns are the
    eigenvectors) are the eigen-decomposition of the pixel covariance in the
    images' own units (0..255 for the pipeline). Without them the layer uses
    the ImageNet basis and is not adapted (``is_adapted`` False): ``adapt(images)``
    computes the basis of the images with ``pca_basis``, and ``data.pipeline``
    does so on the training images (``keras_cv_course.adaptation``). A given
    basis counts as adapted. Inference (``training=False``) and ``alphastd=0``
    are the identity. Values are not clipped, as in the paper. Colours only: the
    pipeline leaves boxes and masks alone (``geometric = False``).
    """

    geometric = False

    def __init__(self, eigval=None, eigvec=None, alphastd=0.1, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.is_adapted = eigval is not None or eigvec is not None
        self._set_basis(IMAGENET_EIGVAL if eigval is None else eigval, IMAGENET_EIGVEC if eigvec is None else eigvec)
        self.alphastd, self.seed = float(alphastd), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _set_basis(self, eigval, eigvec):
        eigval = np.asarray(eigval, np.float32).reshape(-1)
        eigvec = np.asarray(eigvec, np.float32)
        c = eigval.shape[0]
        if eigvec.shape != (c, c):
            raise ValueError(f"PCALighting: eigvec must be ({c}, {c}) for {c} eigenvalues; got {eigvec.shape}")
        self.eigval, self.eigvec = eigval, eigvec

    def adapt(self, images, max_pixels=1_000_000, seed=0):
        """Set the basis to ``pca_basis(images, max_pixels, seed)``: ``images``
        an array (N, H, W, C) or a dataset of images or (image, label) pairs,
        in 0..255 units. Returns the layer."""
        self._set_basis(*pca_basis(images, max_pixels=max_pixels, seed=seed))
        self.is_adapted = True
        return self

    def shift(self, alpha):
        """The per-image color shift ``eigvec @ (alpha * eigval)`` for ``alpha`` of shape (N, C)."""
        ops = self._backend(alpha).ops
        alpha = ops.convert_to_tensor(alpha, "float32")
        return ops.matmul(alpha * ops.convert_to_tensor(self.eigval), ops.transpose(ops.convert_to_tensor(self.eigvec)))

    def call(self, images, training=True):
        k = self._backend(images)
        ops = k.ops
        images = ops.cast(images, "float32")
        if not training or self.alphastd == 0.0:
            return images
        unbatched = len(images.shape) == 3
        batch = ops.expand_dims(images, 0) if unbatched else images
        channels = batch.shape[-1]
        if channels is not None and channels != self.eigval.shape[0]:
            raise ValueError(
                f"PCALighting has a {self.eigval.shape[0]}-channel basis but the images have {channels} channels; "
                "compute a basis for these images with pca_basis(images)."
            )
        alpha = k.random.normal((ops.shape(batch)[0], self.eigval.shape[0]), stddev=self.alphastd, seed=k.seed)
        out = batch + self.shift(alpha)[:, None, None, :]
        return out[0] if unbatched else out

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "eigval": self.eigval.tolist(),
            "eigvec": self.eigvec.tolist(),
            "alphastd": self.alphastd,
            "seed": self.seed,
        }


def pca_basis(images, max_pixels=1_000_000, seed=0, scale=255.0):
    """The eigen-basis ``(eigval, eigvec)`` of the per-pixel color covariance of
    ``images`` for ``PCALighting``: eigenvalues descending, eigenvectors as columns.

    ``images``: a numpy array (N, H, W, C), or a tf.data.Dataset of images or
    ``(image, label)`` pairs (its first images, up to ``max_pixels`` pixels).
    As in Krizhevsky et al. (and fb.resnet.torch's ImageNet figures 0.2175,
    0.0188, 0.0045), the covariance is taken of pixels scaled to [0, 1]
    (``pixels / scale``) and the eigenvalues are then multiplied by ``scale``,
    so ``eigvec @ (alpha * eigval)`` is the paper's color shift expressed in the
    images' 0..255 units.
    """
    pixels = _sample_pixels(images, max_pixels, seed) / scale
    cov = np.atleast_2d(np.cov(pixels, rowvar=False))
    eigval, eigvec = np.linalg.eigh(cov)
    order = np.argsort(eigval)[::-1]
    return (np.clip(eigval[order], 0.0, None) * scale).astype(np.float32), eigvec[:, order].astype(np.float32)


def _sample_pixels(images, max_pixels, seed):
    if hasattr(images, "as_numpy_iterator"):
        chunks, count = [], 0
        for element in images.as_numpy_iterator():
            image = element[0] if isinstance(element, tuple) else element
            image = np.asarray(image, np.float64)
            chunks.append(image.reshape(-1, image.shape[-1]))
            count += len(chunks[-1])
            if count >= max_pixels:
                break
        if not chunks:
            raise ValueError("pca_basis: the dataset is empty")
        pixels = np.concatenate(chunks)
    else:
        images = np.asarray(images)
        pixels = images.reshape(-1, images.shape[-1]).astype(np.float64)
    if len(pixels) > max_pixels:
        pixels = pixels[np.random.default_rng(seed).choice(len(pixels), max_pixels, replace=False)]
    return pixels


# ----------------------------------------------------------------------------- YOLOv1's augmentation
# (Redmon et al. 2016 §2.2: "random scaling and translations of up to 20% of the original image size", exposure
# and saturation "by up to a factor of 1.5 in the HSV color space")


@keras.saving.register_keras_serializable(package="keras_cv_course")
class RandomExposureSaturation(_AnyBackendLayer):
    """YOLOv1's colour augmentation: per image, the HSV value (exposure) and
    saturation multiplied by factors drawn as darknet's ``rand_scale``: ``u``
    uniform in [1, limit], then ``u`` or ``1/u`` with equal chance. Images in
    0..255 (float), clipped to it after; a gray image (1 channel) has no
    saturation and only its value is scaled. Colours only (``geometric =
    False``: the pipeline leaves boxes alone). Inference is the identity."""

    geometric = False

    def __init__(self, exposure=1.5, saturation=1.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        for label, value in (("exposure", exposure), ("saturation", saturation)):
            if not (math.isfinite(float(value)) and float(value) >= 1.0):
                raise ValueError(f"RandomExposureSaturation {label} must be a factor >= 1 (1: no change); got {value!r}")
        self.exposure, self.saturation, self.seed = float(exposure), float(saturation), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def factors(self, n, limit):
        """(n,) factors in [1/limit, limit] (darknet's ``rand_scale``)."""
        k = self._backend(n)
        scale = k.random.uniform((n,), 1.0, limit, seed=k.seed)
        invert = k.random.uniform((n,), seed=k.seed) < 0.5
        return k.ops.where(invert, 1.0 / scale, scale)

    def call(self, images, training=True):
        k = self._backend(images)
        ops = k.ops
        images = ops.cast(images, "float32")
        if not training:
            return images
        n = ops.shape(images)[0]
        exposure = self.factors(n, self.exposure)[:, None, None, None]
        saturation = self.factors(n, self.saturation)[:, None, None]
        if images.shape[-1] != 3:
            return ops.clip(images * exposure, 0.0, 255.0)
        hsv = ops.image.rgb_to_hsv(ops.clip(images, 0.0, 255.0) / 255.0)
        hsv = ops.stack([hsv[..., 0], ops.clip(hsv[..., 1] * saturation, 0.0, 1.0),
                         ops.clip(hsv[..., 2] * exposure[..., 0], 0.0, 1.0)], axis=-1)
        return ops.image.hsv_to_rgb(hsv) * 255.0

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "exposure": self.exposure, "saturation": self.saturation, "seed": self.seed}


def yolo_augmentation(*, scale=0.2, translate=0.2, exposure=1.5, saturation=1.5, seed=None):
    """YOLOv1's training augmentation as ``data.pipeline(augment=...)`` layers:
    ``augment.RandomAffine`` with independent x/y scaling in [1 - scale, 1 +
    scale] and shifts up to ``translate`` of the size (constant fill, so the
    box-aware pipeline moves and clips the boxes), then
    ``RandomExposureSaturation``."""
    seeds = [None, None] if seed is None else [int(seed) * 1009 + 11, int(seed) * 1009 + 12]
    return [RandomAffine(width_shift_range=translate, height_shift_range=translate, zoom_range=scale,
                                     fill_mode="constant", seed=seeds[0], name="yolo_affine"),
            RandomExposureSaturation(exposure, saturation, seed=seeds[1], name="yolo_exposure_saturation")]


# ----------------------------------------------------------------------------- presets

PRESETS = ("alexnet", "image_data_generator", "cifar", "fashion", "yolo")


@dataclasses.dataclass
class Augmentation:
    """What the pipeline needs to apply an augmentation.

    ``layers`` are called in order on float batches with ``training``;
    ``input_size`` is the (H, W) images are resized to before them (None: keep)
    and ``output_size`` the size they come out at.
    """

    layers: list
    input_size: tuple = None
    output_size: tuple = None


def image_data_generator_layers(
    rotation_range=40, width_shift_range=0.2, height_shift_range=0.2, shear_range=0.2, zoom_range=0.2,
    horizontal_flip=True, fill_mode="nearest", seed=None, fused=True,
):
    """Layers for the course's ``ImageDataGenerator(rotation_range=40,
    width_shift_range=0.2, height_shift_range=0.2, shear_range=0.2, zoom_range=0.2,
    horizontal_flip=True, fill_mode="nearest")``.

    The arguments mean what they mean to ImageDataGenerator: ``rotation_range``
    in degrees; shifts as fractions of the size; ``shear_range`` is a shear
    *angle in degrees* (so 0.2 is a very small shear, as in the course's
    generator); zoom independently in x and y in ``[1 - z, 1 + z]``.

    ``fused=True`` (the default, and the ``"image_data_generator"`` preset):
    ``RandomAffine`` (one resampling, ImageDataGenerator's composition) and
    Keras' ``RandomFlip``. ``fused=False``: the chain of Keras layers
    RandomRotation, RandomTranslation, RandomShear, RandomZoom, RandomFlip
    (four resamplings).
    """
    seeds = _seeds(seed, 5)
    out = []
    if fused:
        if any((rotation_range, width_shift_range, height_shift_range, shear_range, zoom_range)):
            out.append(RandomAffine(rotation_range, width_shift_range, height_shift_range, shear_range, zoom_range,
                                    fill_mode=fill_mode, seed=seeds[0], name="affine"))
    else:
        if rotation_range:
            out.append(layers.RandomRotation(rotation_range / 360.0, fill_mode=fill_mode, seed=seeds[0], name="rotation"))
        if width_shift_range or height_shift_range:
            out.append(layers.RandomTranslation(height_shift_range, width_shift_range, fill_mode=fill_mode, seed=seeds[1], name="shift"))
        if shear_range:
            factor = math.tan(math.radians(shear_range))
            out.append(layers.RandomShear(x_factor=factor, y_factor=0.0, fill_mode=fill_mode, seed=seeds[2], name="shear"))
        if zoom_range:
            z = (-zoom_range, zoom_range)
            out.append(layers.RandomZoom(z, z, fill_mode=fill_mode, seed=seeds[3], name="zoom"))
    if horizontal_flip:
        out.append(layers.RandomFlip("horizontal", seed=seeds[4], name="flip"))
    return out


def preset(name, *, image_size, seed=None, pca=None, fill_mode=None):
    """The ``Augmentation`` of a named preset for images of ``image_size`` (H, W)
    coming out of the pipeline.

    ``fill_mode``: how ``"image_data_generator"`` fills the border (None: its
    own ``"nearest"``); the pipeline passes ``"constant"`` when the images carry
    boxes or masks, since a smeared border holds objects no box or mask follows.

    - ``"alexnet"``: resize to 256/224 of the output size, random crop to it
      (per image), horizontal flip, ``PCALighting`` with ``pca`` = (eigval,
      eigvec) (None: not adapted, ImageNet's basis until ``adapt``; the
      pipeline adapts it to the training images); inference takes the center crop.
      Default output 224×224.
    - ``"image_data_generator"``: see ``image_data_generator_layers``.
    - ``"cifar"``: zero-pad 4, random crop back (per image), horizontal flip.
    - ``"fashion"``: zero-pad 2, random crop back, horizontal flip (clothes are
      mirror-symmetric; do not use flips for digits).
    - ``"yolo"``: YOLOv1's scaling, translation and exposure/saturation
      (``yolo_augmentation``; constant fill whatever ``fill_mode``, the border
      then holds no object), size unchanged.
    """
    seeds = _seeds(seed, 3)
    if name == "alexnet":
        out = tuple(image_size) if image_size else (224, 224)
        base = tuple(int(round(s * 256 / 224)) for s in out)
        eigval, eigvec = pca if pca is not None else (None, None)
        return Augmentation(
            [
                RandomCrop(*out, seed=seeds[0], name="random_crop"),
                layers.RandomFlip("horizontal", seed=seeds[1], name="flip"),
                PCALighting(eigval, eigvec, seed=seeds[2], name="pca_lighting"),
            ],
            input_size=base,
            output_size=out,
        )
    if name == "image_data_generator":
        fill = {} if fill_mode is None else {"fill_mode": fill_mode}
        return Augmentation(image_data_generator_layers(seed=seed, **fill), image_size, image_size)
    if name in ("cifar", "fashion"):
        if image_size is None:
            raise ValueError(f"augment={name!r} needs the image size (static image shape or image_size=)")
        pad = 4 if name == "cifar" else 2
        return Augmentation(
            [RandomCrop(*image_size, padding=pad, seed=seeds[0], name="random_crop"),
             layers.RandomFlip("horizontal", seed=seeds[1], name="flip")],
            image_size,
            image_size,
        )
    if name == "yolo":
        return Augmentation(yolo_augmentation(seed=seed), image_size, image_size)
    raise ValueError(f"Unknown augmentation {name!r}; expected one of {PRESETS}, a list of layers, or None.")


def _seeds(seed, n):
    return [None] * n if seed is None else [int(seed) * 1009 + i for i in range(n)]


# ----------------------------------------------------------------------------- test-time augmentation


def ten_crop(images, crop_size):
    """The ten crops of AlexNet's test procedure: top-left, top-right, bottom-left,
    bottom-right, center, then the same five of the horizontally flipped image.

    ``images`` (N, H, W, C) numpy or tensor; ``crop_size`` an int or (h, w).
    Returns a numpy array (10, N, h, w, C).
    """
    images = np.asarray(keras.ops.convert_to_numpy(images))
    if images.ndim == 3:
        images = images[None]
    h, w = (crop_size, crop_size) if np.isscalar(crop_size) else tuple(crop_size)
    H, W = images.shape[1:3]
    if h > H or w > W:
        raise ValueError(f"ten_crop: crop {h}x{w} is larger than the images ({H}x{W})")
    top, left = (H - h) // 2, (W - w) // 2
    offsets = [(0, 0), (0, W - w), (H - h, 0), (H - h, W - w), (top, left)]
    crops = [images[:, r: r + h, c: c + w] for r, c in offsets]
    crops += [crop[:, :, ::-1] for crop in crops]
    return np.stack(crops)


def ten_crop_predict(model, images, crop_size, batch_size=None):
    """Average ``model``'s predictions over the ten crops of each image.

    ``model`` is a Keras model (its ``predict`` is used) or any callable on a
    batch. Returns ``mean`` over the ten crops, shape (N, ...).
    """
    crops = ten_crop(images, crop_size)
    ten, n = crops.shape[:2]
    flat = crops.reshape((ten * n,) + crops.shape[2:])
    if hasattr(model, "predict"):
        preds = model.predict(flat, batch_size=batch_size or min(len(flat), 256), verbose=0)
    else:
        preds = keras.ops.convert_to_numpy(model(flat))
    preds = np.asarray(preds).reshape((ten, n) + np.asarray(preds).shape[1:])
    return preds.mean(axis=0)
