"""Fully convolutional networks for semantic segmentation: FCN-32s, FCN-16s and
FCN-8s (Long, Shelhamer & Darrell, CVPR 2015; Shelhamer, Long & Darrell, "Fully
Convolutional Networks for Semantic Segmentation", TPAMI 2016; EE-559 7.4).

A classification network (VGG-16) loses its last fully connected layer and the
others become convolutions (``fc6`` a 7×7 convolution on pool5, ``fc7`` a 1×1;
``load_classifier_weights`` copies them from the classifier through
``surgery.convolutionize``); a 1×1 convolution ``score_fr`` gives one channel
per class (21 for VOC) on the 1/32 map; a transposed convolution of kernel 64
and stride 32 (``upscore``) brings it back to the input size. FCN-16s first
upsamples ``score_fr`` 2× (``upscore2``) and adds a 1×1 class score of pool4
(``score_pool4``), then upsamples 16×; FCN-8s adds a score of pool3 the same way
and upsamples 8×. Every transposed convolution is initialised to bilinear
interpolation (``BilinearUpsampling``: the kernel of ``bilinear_kernel`` on the
class diagonal, no bias) and frozen, as the paper found fixing it does as well
as learning it (``learnable_upsampling=True`` learns it); the score layers are
zero-initialised. The output layer ``masks`` gives (batch, H, W, classes), the
input's own size, softmax scores by default (``classifier_activation=None``:
logits).

Two geometries (the ``geometry`` option):

- ``"caffe"``, the reference nets (fcn.berkeleyvision.org): ``conv1_1`` pads
  100 pixels, poolings are ceil-mode, ``fc6`` is a "valid" 7×7 convolution and
  the transposed convolutions pad nothing, so every map is larger than the
  image and misaligned with it; ``CropToReference`` layers cut each map to its
  reference at the published offsets (FCN-32s ``score`` 19; FCN-16s
  ``score_pool4c`` 5, ``score`` 27; FCN-8s ``score_pool4c`` 5, ``score_pool3c`` 9,
  ``score`` 31), which this module derives from the layers' coordinate maps
  (``crop_offsets``). Any input size works, odd or even, and pixels near the
  border see a full 7×7 fc6 window thanks to the padding.
- ``"same"``: every convolution (fc6 too) pads "same", poolings are ceil-mode
  and the transposed convolutions are ``Conv2DTranspose(2s, s, "same")``, whose
  implicit crop of s/2 is the aligned one, so at an input size that is a
  multiple of 32 every map is exactly input / stride and nothing is cropped (the
  ``CropToReference`` layers, all at offset 0, cut nothing); at other sizes the
  ceil-mode maps are cut at the bottom and right, still aligned. The net is
  smaller and faster (no 100-pixel margin), but the border cells' fc6 window
  sees zeros where the padded reference net sees the image's border region.

``fcn_head`` puts the same head on any stride-ordered features, and
``fcn_on_backbone`` on a registered backbone's feature taps (ResNet P5/P4/P3,
VGG's ``P5``/``pool4``/``pool3``: see ``models.feature_extractor``).

Registered: ``fcn32s_vgg16``, ``fcn16s_vgg16``, ``fcn8s_vgg16`` (21 classes,
512×512×3, Caffe geometry, ``backbone_weights="imagenet"`` starts from the
ImageNet VGG-16 classifier) and ``fcn32s_fashion``, ``fcn16s_fashion``,
``fcn8s_fashion``: the same heads on a small VGG-like net with BatchNorm (five
stages of widths w, 2w, 4w, 8w, 8w with a 2×2 pool after each: pool3/pool4/pool5
at strides 8/16/32, a 3×3 fc6 and 1×1 fc7 of 16w channels) for ``fashion_scenes``
(128×128×1, 11 classes) on a CPU, "same" geometry.

Parameter counts (``count_params``) include the frozen transposed convolutions
(k²·C² each, 1,806,336 for FCN-32s' 64×64 ``upscore`` at 21 classes): FCN-32s
VGG-16 has 136,152,917, the paper's "134M" without them.
"""

import keras
import numpy as np
from keras import layers, ops

from keras_cv_course.blocks import conv_bn_act
from keras_cv_course.models import _common, trained_weights, vgg
from keras_cv_course.models.features import feature_extractor, find_backbone
from keras_cv_course.models.registry import model_info
from keras_cv_course.precision import functional_model

__all__ = ["bilinear_kernel", "BilinearInitializer", "BilinearUpsampling", "CropToReference", "crop_offsets",
           "fcn_head", "fcn_on_backbone", "load_classifier_weights", "VARIANTS", "GEOMETRIES",
           "FCN32sVGG16", "FCN16sVGG16", "FCN8sVGG16", "FCN32sFashion", "FCN16sFashion", "FCN8sFashion"]

VARIANTS = {"32s": 1, "16s": 2, "8s": 3}  # score maps fused: fc7, + pool4, + pool3
GEOMETRIES = ("caffe", "same")
CAFFE_PAD = 100  # conv1_1's padding in the reference nets
PAPER = ("Shelhamer, Long & Darrell 2016, Fully Convolutional Networks for Semantic Segmentation "
         "(Long, Shelhamer & Darrell, CVPR 2015)")
AT_ONCE_SCALES = {"pool4": 0.01, "pool3": 0.0001}  # the "at-once" nets' fixed skip scaling
# Keras's 0.99 takes hundreds of steps to settle the inference statistics; a CPU run has few.
BN_MOMENTUM = 0.9


# ----------------------------------------------------------------------------- bilinear upsampling


def bilinear_kernel(size):
    """The (size, size) float32 bilinear interpolation kernel of FCN's
    ``surgery.upsample_filt``: factor = (size + 1) // 2, centre = factor - 1
    (odd size) or factor - 0.5 (even), w(y, x) = (1 - |y - c| / f)(1 - |x - c| / f).
    ``bilinear_kernel(4)`` is the outer product of [.25, .75, .75, .25] with itself."""
    size = int(size)
    if size < 1:
        raise ValueError(f"A bilinear kernel needs a positive size; got {size}")
    factor = (size + 1) // 2
    center = factor - 1 if size % 2 == 1 else factor - 0.5
    axis = 1 - np.abs(np.arange(size) - center) / factor
    return np.outer(axis, axis).astype("float32")


@keras.saving.register_keras_serializable(package="keras_cv_course")
class BilinearInitializer(keras.initializers.Initializer):
    """A (k, k, C, C) transposed-convolution kernel that upsamples each channel
    bilinearly: ``bilinear_kernel(k)`` on the channel diagonal, zeros elsewhere
    (FCN's ``surgery.interp``). Usable as ``Conv2DTranspose(kernel_initializer=...)``."""

    def __call__(self, shape, dtype=None):
        if len(shape) != 4 or shape[0] != shape[1] or shape[2] != shape[3]:
            raise ValueError(f"A bilinear kernel has shape (k, k, C, C); got {tuple(shape)}")
        kernel = np.zeros(shape, "float32")
        channels = np.arange(shape[2])
        kernel[:, :, channels, channels] = bilinear_kernel(shape[0])[..., None]
        return ops.convert_to_tensor(kernel, dtype=dtype or "float32")

    def get_config(self):
        return {}


@keras.saving.register_keras_serializable(package="keras_cv_course")
class BilinearUpsampling(layers.Layer):
    """A transposed convolution initialised to bilinear interpolation, without bias.

    factor: the stride. kernel_size: default 2·factor (FCN's 64/32, 4/2, 32/16,
    16/8). padding: ``"valid"`` ((n − 1)·factor + kernel_size outputs, the
    reference nets' deconvolution) or ``"same"`` (n·factor outputs; for
    kernel 2·factor the implicit crop of factor/2 aligns the output with the
    input's cell centres, as ``keras.ops.image.resize(..., "bilinear")`` does
    away from the border). learnable: the kernel is trained (the full C×C
    kernel, as the reference Caffe deconvolution); by default it is a
    non-trainable weight, frozen even when the layer is unfrozen
    (``surgery.freeze``/``unfreeze_from`` set ``layer.trainable``), as Caffe's
    ``lr_mult: 0``.
    """

    def __init__(self, factor, kernel_size=None, padding="same", learnable=False, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)
        self.kernel_size = int(kernel_size) if kernel_size is not None else 2 * self.factor
        if self.factor < 1 or self.kernel_size < self.factor:
            raise ValueError(f"BilinearUpsampling needs factor >= 1 and kernel_size >= factor; got factor "
                             f"{factor}, kernel_size {kernel_size}")
        if padding not in ("same", "valid"):
            raise ValueError(f"padding must be 'same' or 'valid'; got {padding!r}")
        self.padding, self.learnable = padding, bool(learnable)

    def build(self, input_shape):
        channels = input_shape[-1]
        self.kernel = self.add_weight(name="kernel", shape=(self.kernel_size, self.kernel_size, channels, channels),
                                      initializer=BilinearInitializer(), trainable=self.learnable)

    def call(self, inputs):
        kernel = ops.cast(self.kernel, self.compute_dtype)
        return ops.conv_transpose(inputs, kernel, strides=self.factor, padding=self.padding)

    def output_size(self, size):
        """The output side for an input side ``size`` (None stays None)."""
        if size is None:
            return None
        return size * self.factor if self.padding == "same" else (size - 1) * self.factor + self.kernel_size

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return (batch, self.output_size(height), self.output_size(width), channels)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "kernel_size": self.kernel_size,
                "padding": self.padding, "learnable": self.learnable}


@keras.saving.register_keras_serializable(package="keras_cv_course")
class CropToReference(layers.Layer):
    """``[x, reference]`` → x cropped to reference's height and width, starting
    ``offset`` rows and columns in (Caffe's ``Crop`` layer with axis 2, which
    Keras's ``Cropping2D`` cannot do: it crops fixed margins, not to another
    tensor's size). A crop that would run past x is a ``ValueError`` naming both
    sizes when they are known at build time."""

    def __init__(self, offset=0, **kwargs):
        super().__init__(**kwargs)
        self.offset = int(offset)
        if self.offset < 0:
            raise ValueError(f"CropToReference offset must be >= 0; got {offset}")

    def call(self, inputs):
        x, reference = inputs
        height, width = ops.shape(reference)[1], ops.shape(reference)[2]
        return x[:, self.offset:self.offset + height, self.offset:self.offset + width, :]

    def compute_output_shape(self, input_shapes):
        x, reference = input_shapes
        for axis in (1, 2):
            if x[axis] is not None and reference[axis] is not None and x[axis] < reference[axis] + self.offset:
                raise ValueError(f"{self.name!r} cannot crop a map of size {x[axis]} to {reference[axis]} at offset "
                                 f"{self.offset}: it needs at least {reference[axis] + self.offset}")
        return (x[0], reference[1], reference[2], x[3])

    def get_config(self):
        return {**super().get_config(), "offset": self.offset}


# ----------------------------------------------------------------------------- coordinate maps
#
# Caffe's coord_map: the centre of cell i of a map lies at image coordinate a·i + b.
# A convolution or pooling (kernel k, stride s, padding p before) maps (a, b) to
# (a·s, b + a·((k − 1)/2 − p)); a transposed convolution to (a/s, b + a·(p − (k − 1)/2)/s).
# Cropping A to R aligns them at offset (b_R − b_A) / a.


def _after_conv(coord, kernel, stride=1, pad=0):
    scale, shift = coord
    return scale * stride, shift + scale * ((kernel - 1) / 2 - pad)


def _after_deconv(coord, kernel, stride, pad=0):
    scale, shift = coord
    return scale / stride, shift + scale * (pad - (kernel - 1) / 2) / stride


def _same_pad(kernel, stride):
    """The padding before the map of a Keras "same" convolution or pooling
    (TensorFlow pads (k − s) in all and the smaller half first; for a pooling of
    stride k that is 0: ceil mode)."""
    return max(kernel - stride, 0) // 2


def _offset(cropped, reference, name):
    scale = cropped[0]
    if not np.isclose(scale, reference[0]):
        raise ValueError(f"{name}: the maps have strides {cropped[0]} and {reference[0]}; cannot align them")
    offset = (reference[1] - cropped[1]) / scale
    if offset < -1e-9 or not np.isclose(offset, round(offset)):
        raise ValueError(f"{name}: the maps are misaligned by {offset} cells; the geometry needs a whole, "
                         "non-negative crop")
    return int(round(offset))


def crop_offsets(variant, geometry="caffe", *, stages=vgg.CONFIGS["D"], fc6_kernel=7):
    """``{crop layer name: offset}`` of an FCN ``variant`` ("32s", "16s", "8s") on
    a VGG-like trunk (``stages``, a ``vgg.Stage`` table; VGG-16 by default), from
    the layers' coordinate maps. For VGG-16 with the ``"caffe"`` geometry these
    are the published offsets (32s: score 19; 16s: score_pool4c 5, score 27; 8s:
    score_pool4c 5, score_pool3c 9, score 31); the ``"same"`` geometry gives 0
    everywhere."""
    _check_choice("variant", variant, VARIANTS)
    _check_choice("geometry", geometry, GEOMETRIES)
    coords = _trunk_coords(stages, fc6_kernel, geometry)
    return _head_plan(variant, geometry, coords)[1]


def _trunk_coords(stages, fc6_kernel, geometry):
    """Image coordinates (a, b) of the cells of each pool and of fc7."""
    coord, pools = (1.0, 0.0), {}
    for stage, row in enumerate(stages, start=1):
        for index, (_, kernel) in enumerate(row.convs(), start=1):
            first = (stage, index) == (1, 1)
            pad = CAFFE_PAD if geometry == "caffe" and first else (kernel - 1) // 2
            coord = _after_conv(coord, kernel, 1, pad)
        if row.pool:
            coord = _after_conv(coord, 2, 2, 0)  # ceil mode pads after, never before
            pools[f"pool{stage}"] = coord
    pad = 0 if geometry == "caffe" else _same_pad(fc6_kernel, 1)
    pools["fc7"] = _after_conv(coord, fc6_kernel, 1, pad)
    return pools


def _head_plan(variant, geometry, coords, skips=("pool4", "pool3")):
    """``(coordinate of the final upsampled map, {crop name: offset})`` of the head."""
    keys = ["fc7", *skips][: VARIANTS[variant]]
    current, offsets = coords["fc7"], {}
    for index, key in enumerate(keys[1:], start=1):
        up = _after_deconv(current, 4, 2, _deconv_pad(2, geometry))
        skip = coords[key]
        if geometry == "caffe":
            offsets[f"score_{key}c"] = _offset(skip, up, f"score_{key}c")
        else:
            offsets[f"{_up_name(index, keys)}c"] = _offset(up, skip, f"{_up_name(index, keys)}c")
            up = skip
        current = up
    factor = int(round(current[0]))
    final = _after_deconv(current, 2 * factor, factor, _deconv_pad(factor, geometry))
    offsets["score"] = _offset(final, (1.0, 0.0), "score")
    return final, offsets


def _deconv_pad(factor, geometry):
    return 0 if geometry == "caffe" else _same_pad(2 * factor, factor)


def _up_name(index, keys):
    """Caffe's names: ``upscore2`` for score_fr's 2× upsampling, then ``upscore_pool4``."""
    return "upscore2" if index == 1 else f"upscore_{keys[index - 1]}"


# ----------------------------------------------------------------------------- the head


def fcn_head(image, features, strides, *, classes, geometry="same", offsets=None, learnable_upsampling=False,
             skip_scales=None, activation="softmax", score_name="score_fr"):
    """FCN's head on stride-ordered features: the ``masks`` tensor (B, H, W, classes).

    image: the model's input tensor (the final crop's reference). features:
    ``[(key, tensor), ...]`` from the deepest map (scored by ``score_name``) to
    the shallowest skip (scored by ``score_{key}``), ``strides`` their strides in
    pixels, each a power-of-two multiple of the next. Each skip adds its score
    to the 2× (or stride ratio) bilinear upsampling of the fused scores so far
    (``fuse_{key}``); the last fused map is upsampled by its stride (``upscore``,
    ``upscore16``, ``upscore8``) and cropped to the image (``score``). With
    ``geometry="caffe"`` the transposed convolutions pad nothing and
    ``offsets`` (``crop_offsets``) says where each crop starts; with ``"same"``
    the upsampled maps are cut to their reference at offset 0. ``skip_scales``
    ``{key: factor}`` multiplies a skip before its score layer (the "at-once"
    nets' pool4 × 0.01, pool3 × 0.0001). ``activation``: of the ``masks`` layer
    (None: logits)."""
    _check_choice("geometry", geometry, GEOMETRIES)
    _check_strides(strides, features)
    offsets, skip_scales = dict(offsets or {}), dict(skip_scales or {})
    padding = "valid" if geometry == "caffe" else "same"
    keys = [key for key, _ in features]
    fused = _score(features[0][1], classes, score_name)
    for index, ((key, tensor), stride) in enumerate(zip(features[1:], strides[1:]), start=1):
        up_name = _up_name(index, keys)
        up = BilinearUpsampling(strides[index - 1] // stride, padding=padding, learnable=learnable_upsampling,
                                name=up_name)(fused)
        if key in skip_scales:
            tensor = layers.Rescaling(skip_scales[key], name=f"scale_{key}")(tensor)
        score = _score(tensor, classes, f"score_{key}")
        if geometry == "caffe":
            score = CropToReference(offsets.get(f"score_{key}c", 0), name=f"score_{key}c")([score, up])
        else:
            up = CropToReference(offsets.get(f"{up_name}c", 0), name=f"{up_name}c")([up, score])
        fused = layers.Add(name=f"fuse_{key}")([up, score])
    last = strides[-1]
    up = BilinearUpsampling(last, padding=padding, learnable=learnable_upsampling,
                            name="upscore" if len(features) == 1 else f"upscore{last}")(fused)
    scores = CropToReference(offsets.get("score", 0), name="score")([up, image])
    return layers.Activation(activation or "linear", name="masks")(scores)


def _score(tensor, classes, name):
    """FCN's class score layer: a zero-initialised 1×1 convolution."""
    return layers.Conv2D(classes, 1, kernel_initializer="zeros", bias_initializer="zeros", name=name)(tensor)


def _check_strides(strides, features):
    strides = [int(s) for s in strides]
    if len(strides) != len(features) or not features:
        raise ValueError(f"fcn_head needs one stride per feature map; got {len(strides)} strides for "
                         f"{len(features)} maps")
    steps = [a // b for a, b in zip(strides, strides[1:])]
    if any(s < 1 or s & (s - 1) for s in strides) or any(a != b * step or step < 2
                                                         for a, b, step in zip(strides, strides[1:], steps)):
        raise ValueError(f"fcn_head needs features from the deepest to the shallowest, strides powers of two that "
                         f"halve at least once per skip (e.g. 32, 16, 8); got strides {strides}")


def _check_choice(option, value, choices):
    if value not in choices:
        raise ValueError(f"{option} must be one of {', '.join(map(repr, choices))}; got {value!r}")


# ----------------------------------------------------------------------------- FCN on a VGG-like trunk


def _trunk(image, stages, batch_norm, geometry):
    """The VGG layers (keras.applications' names) with FCN's geometry; returns
    the pool outputs ``{"pool1": ..., ...}`` and the last one. BatchNorm (the
    small nets) keeps moving statistics with momentum ``BN_MOMENTUM``."""
    names, pools, x = vgg.LAYER_NAMES["keras"], {}, image
    for stage, row in enumerate(stages, start=1):
        for index, (width, kernel) in enumerate(row.convs(), start=1):
            unit = dict(stage=stage, conv=index)
            conv = names.conv.format(**unit)
            padding = CAFFE_PAD if geometry == "caffe" and (stage, index) == (1, 1) else "same"
            x = conv_bn_act(x, width, kernel, name=conv, conv_name=conv, bn_name=names.bn.format(**unit),
                            act_name=names.act.format(**unit), batch_norm=batch_norm, padding=padding,
                            bn_momentum=BN_MOMENTUM)
        if row.pool:
            x = pools[f"pool{stage}"] = layers.MaxPooling2D(2, strides=2, padding="same", name=f"block{stage}_pool")(x)
    return pools, x


def _fc_layers(x, fc_units, fc6_kernel, geometry, dropout, batch_norm):
    """fc6 (a ``fc6_kernel`` convolution, "valid" in the Caffe geometry) and fc7
    (1×1), each with ReLU and ``dropout`` (``drop6``, ``drop7``)."""
    for index, (units, kernel) in enumerate(zip(fc_units, (fc6_kernel, 1)), start=6):
        name = f"fc{index}"
        padding = "valid" if geometry == "caffe" and index == 6 else "same"
        x = conv_bn_act(x, units, kernel, name=name, conv_name=name, bn_name=f"{name}_bn", act_name=f"{name}_relu",
                        batch_norm=batch_norm, padding=padding, bn_momentum=BN_MOMENTUM)
        if dropout:
            x = layers.Dropout(dropout, name=f"drop{index}")(x)
    return x


def fcn_family(request, *, stages, variant, geometry, batch_norm=False, fc_units=(4096, 4096), fc6_kernel=7,
               dropout=0.5, learnable_upsampling=False, at_once=False, backbone_weights=None):
    """The generic FCN builder (``models._common`` contract) on a VGG-like
    ``stages`` table: the trunk, fc6/fc7 as convolutions, the ``variant``'s head
    (see the module docstring). ``at_once``: scale pool4 by 0.01 and pool3 by
    0.0001 before their score layers (the nets trained at once rather than in
    stages). ``backbone_weights``: weights of the VGG-16 classifier to start
    from (``"imagenet"`` or a file; ``load_classifier_weights``).
    ``include_top=False`` gives fc7's map (``pooling`` as in keras.applications)."""
    _check_choice("variant", variant, VARIANTS)
    _check_choice("geometry", geometry, GEOMETRIES)
    pools, x = _trunk(request.image, stages, batch_norm, geometry)
    fc7 = _fc_layers(x, fc_units, fc6_kernel, geometry, dropout, batch_norm)
    keys = ["fc7", "pool4", "pool3"][: VARIANTS[variant]]
    features = [(key, fc7 if key == "fc7" else pools[key]) for key in keys]
    offsets = crop_offsets(variant, geometry, stages=stages, fc6_kernel=fc6_kernel)
    scales = AT_ONCE_SCALES if at_once else None

    def head(_):
        return fcn_head(request.image, features, [32, 16, 8][: len(keys)], classes=request.classes,
                        geometry=geometry, offsets=offsets, learnable_upsampling=learnable_upsampling,
                        skip_scales=scales, activation=request.classifier_activation)

    model = request.finish(request.tail(fc7, head))
    if backbone_weights is not None:
        from keras_cv_course.models.registry import get_model

        load_classifier_weights(model, get_model("vgg16", weights=backbone_weights))
    return model


CLASSIFIER_NAMES = {"fc6": "fc1", "fc7": "fc2"}  # FCN's fc layers ← keras.applications' VGG Dense layers


def load_classifier_weights(fcn, classifier):
    """Copy a VGG-like classifier's weights into ``fcn``: its convolutions by name
    and its first two Dense layers (``fc1``, ``fc2``), made convolutions by
    ``surgery.convolutionize``, into ``fc6`` and ``fc7`` (the last Dense, the
    classifier's class scores, is dropped: FCN scores its own classes).
    Every layer of ``fcn`` with weights and a counterpart is filled; a
    counterpart of another shape is a ``ValueError`` naming it. Returns the
    names of the layers filled."""
    from keras_cv_course import surgery

    source = surgery.convolutionize(classifier)
    available = {layer.name: layer for layer in surgery.flat_layers(source) if layer.weights}
    filled = []
    for layer in surgery.flat_layers(fcn):
        match = available.get(CLASSIFIER_NAMES.get(layer.name, layer.name))
        if match is None or not layer.weights:
            continue
        shapes = [tuple(w.shape) for w in layer.weights], [tuple(w.shape) for w in match.weights]
        if shapes[0] != shapes[1]:
            raise ValueError(f"{classifier.name!r} layer {match.name!r} has weights of shapes {shapes[1]}; "
                             f"{fcn.name!r} layer {layer.name!r} needs {shapes[0]}")
        layer.set_weights(match.get_weights())
        filled.append(layer.name)
    if not {"fc6", "fc7"} <= set(filled):
        raise ValueError(f"{classifier.name!r} has no fc1/fc2 Dense layers of the shapes {fcn.name!r}'s fc6/fc7 need "
                         "(a VGG classifier built with its top, at the size whose last map is fc6's kernel)")
    return filled


# ----------------------------------------------------------------------------- FCN on feature taps


def fcn_on_backbone(backbone, levels=("P5", "P4", "P3"), *, classes, learnable_upsampling=False,
                    activation="softmax", name=None, **build_kwargs):
    """An FCN head on a registered backbone's feature taps: ``backbone`` a
    registered name (built with ``include_top=False`` and ``build_kwargs``, e.g.
    ``input_shape``) or a built registered model; ``levels`` its tap keys from
    the deepest to the shallowest (ResNet ``("P5", "P4", "P3")``, VGG
    ``("P5", "pool4", "pool3")``: VGG's pool3 and pool4 are named taps, its P3/P4
    the last convolution at that stride). One level gives FCN-32s' head, two
    FCN-16s', three FCN-8s' (named ``fcn{stride}s_{backbone}``). The "same"
    geometry: the maps are cut to their reference at offset 0 (exact for
    backbones that pool 2×2; a stride-2 "same" convolution, as ResNet's, pads
    after and shifts its map by half an input pixel)."""
    extractor = feature_extractor(backbone, levels, **build_kwargs)
    info = model_info(backbone) if isinstance(backbone, str) else find_backbone(backbone)[1]
    taps = [info.tap(level) for level in levels]
    features = [(tap.key.lower(), extractor.output[tap.key]) for tap in taps]
    image = extractor.inputs[0]
    masks = fcn_head(image, features, [tap.stride for tap in taps], classes=classes, geometry="same",
                     learnable_upsampling=learnable_upsampling, activation=activation, score_name="score_fr")
    return functional_model(image, masks, name=name or f"fcn{taps[-1].stride}s_{info.name}")


# ----------------------------------------------------------------------------- registered models

FASHION_CONVS = (1, 1, 2, 2, 2)


def fashion_stages(width=16, convs=FASHION_CONVS):
    """The small trunk of the fashion FCNs: five 3×3 stages of widths w, 2w, 4w,
    8w, 8w, each ending in a 2×2 pool (pool3, pool4, pool5 at strides 8, 16, 32)."""
    if len(convs) != 5:
        raise ValueError(f"convs needs one count per stage of the five; got {convs!r}")
    return tuple(vgg.Stage((w,) * n) for w, n in zip((width, 2 * width, 4 * width, 8 * width, 8 * width), convs))


def fashion_family(request, *, variant, width, convs, fc_units, **options):
    """``fcn_family`` on ``fashion_stages(width, convs)`` with BatchNorm, a 3×3
    fc6 and fc6/fc7 of ``fc_units`` channels (None: 16·width), in the "same"
    geometry (the Caffe one's 100-pixel margin is sized for VGG-16's layers and
    7×7 fc6; on this trunk it would not cover every crop)."""
    units = fc_units or 16 * width
    return fcn_family(request, stages=fashion_stages(width, convs), variant=variant, geometry="same",
                      batch_norm=True, fc_units=(units, units), fc6_kernel=3, **options)


VGG_OPTIONS = {"geometry": "caffe", "learnable_upsampling": False, "dropout": 0.5, "at_once": False,
               "backbone_weights": None}
FASHION_OPTIONS = {"width": 16, "convs": FASHION_CONVS, "fc_units": None, "learnable_upsampling": False,
                   "dropout": 0.0, "at_once": False}


def _vgg_row(variant, params):
    name, public = f"fcn{variant}_vgg16", f"FCN{variant}VGG16"
    return _common.Row(
        name, public, "fcn", PAPER, params, "caffe", (512, 512, 3), 1,
        doc=f"{public}: FCN-{variant} on VGG-16 ({PAPER}); see keras_cv_course.segmentation.fcn. Options: "
            "``geometry`` ('caffe': pad 100 and the published crops; 'same': no margin, no crop at multiples "
            "of 32), ``learnable_upsampling``, ``dropout`` (drop6/drop7), ``at_once`` (pool4 × 0.01, "
            "pool3 × 0.0001), ``backbone_weights`` ('imagenet' or a VGG-16 classifier weight file to start from).",
        options={"stages": vgg.CONFIGS["D"], "variant": variant}, user_options=dict(VGG_OPTIONS), classes=21,
        task="segmentation")


def _fashion_row(variant, params):
    name, public = f"fcn{variant}_fashion", f"FCN{variant}Fashion"
    return _common.Row(
        name, public, "fcn", PAPER, params, "unit", (128, 128, 1), 1,
        doc=f"{public}: FCN-{variant} on a small VGG-like BatchNorm net for ``fashion_scenes_masks`` on a CPU "
            "(``fashion_stages``: widths w, 2w, 4w, 8w, 8w, pools at strides 2..32, 3×3 fc6 and 1×1 fc7 of "
            "``fc_units`` = 16w channels), in the 'same' geometry. Options: ``width``, ``convs``, ``fc_units``, "
            "``learnable_upsampling``, ``dropout``, ``at_once``.",
        options={"variant": variant}, user_options=dict(FASHION_OPTIONS), classes=11, task="segmentation",
        weights=trained_weights.default_build_weights(name, FASHION_OPTIONS))


_VGG_BUILDERS = _common.define((_vgg_row("32s", 136_152_917), _vgg_row("16s", 134_815_994),
                                _vgg_row("8s", 134_489_759)), fcn_family)
FCN32sVGG16, FCN16sVGG16, FCN8sVGG16 = (_VGG_BUILDERS[f"FCN{v}VGG16"] for v in VARIANTS)
_FASHION_BUILDERS = _common.define((_fashion_row("32s", 1_439_835), _fashion_row("16s", 1_071_478),
                                    _fashion_row("8s", 981_201)), fashion_family)
FCN32sFashion, FCN16sFashion, FCN8sFashion = (_FASHION_BUILDERS[f"FCN{v}Fashion"] for v in VARIANTS)
