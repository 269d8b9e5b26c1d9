"""SSD (Liu et al. 2016, "SSD: Single Shot MultiBox Detector", arXiv:1512.02325)
and SSDLite (Sandler et al. 2018, "MobileNetV2: Inverted Residuals and Linear
Bottlenecks", arXiv:1801.04381, §6.2): the networks. Default boxes, matching,
MultiBoxLoss, the head protocol and decoding are ``keras_cv_course.detection.ssd``.

Outputs. Every model here ends in ``ssd_head_layers``: per feature map a box
predictor with k·4 filters and a class predictor with k·(C+1) filters (k default
boxes per location, C object classes, column 0 the background), each reshaped to
(B, H·W·k, 4) and (B, H·W·k, C+1) row-major — position (y, x), then box index
a: prior ``(y·W + x)·k + a``, channel ``a·4 + j`` of the conv (the order of
torchvision's ``view(N, A, K, H, W).permute(0, 3, 4, 1, 2)``) — and concatenated
over the maps in order into two outputs named ``"boxes"`` (B, P, 4; the encoded
offsets of eq. 2) and ``"classes"`` (B, P, C+1; logits). The model's output is the
dict ``{"boxes": ..., "classes": ...}``, so ``compile(loss={"boxes": ..., "classes":
...})`` reads as the loss keys.

``num_classes`` is the number of OBJECT classes everywhere in this module (the
package's convention: OverFeat, YOLOv1): VOC is ``num_classes=20`` (21 columns),
COCO as torchvision/TF count it ``num_classes=90`` (91 columns: 90 ids + background;
80 categories are used). torchvision's ``num_classes`` counts the background: its
``ssd300_vgg16(num_classes=91)`` is our ``num_classes=90``.

SSD300 (``ssd300_vgg16``; the paper's VOC model, Fig. 2, and the geometry of
../shared/DENSE.md): VGG-16's 13 convolutions named as keras.applications
(``block{i}_conv{j}``, so ``load_vgg16_weights`` copies a Keras VGG16 by name),
2×2 max-pools ``block1_pool`` … ``block4_pool`` with ``block3_pool`` in Caffe's
ceil mode (75 → 38 at 300: TensorFlow's "same" 2×2/2 pooling pads one row/column
bottom/right, ignored by the max, which is exactly ceil mode), then
``conv4_3_norm`` (``L2Normalization``, scale initialised to 20) on block4_conv3,
``pool5`` 3×3/1 pad 1, ``fc6`` 3×3 dilation 6 → 1024 (pad 6: "same" is
symmetric for a stride-1 odd kernel), ``fc7`` 1×1 → 1024, and the extra layers
named as in the paper's Fig. 2: ``conv8_1`` 1×1 256 → ``conv8_2`` 3×3/2 512,
``conv9_1`` 1×1 128 → ``conv9_2`` 3×3/2 256, ``conv10_1`` 1×1 128 → ``conv10_2``
3×3 valid 256, ``conv11_1`` 1×1 128 → ``conv11_2`` 3×3 valid 256 (Caffe's
reference calls them conv6_1 … conv9_2; torchvision comments conv8_2 …
conv11_2). The stride-2 ones pad one pixel on every side (``conv8_2_pad``) and
convolve "valid", as Caffe/PyTorch (TensorFlow's "same" would pad bottom/right
only). ReLU after every convolution, no BatchNorm. Maps 38, 19, 10, 5, 3, 1
(``conv4_3_norm``, ``fc7``, ``conv8_2``, ``conv9_2``, ``conv10_2``,
``conv11_2``), 4, 6, 6, 6, 4, 4 boxes a location: 8,732 priors. Plain 3×3 head
convolutions with bias (``ssd_boxes_{i}_conv``, ``ssd_classes_{i}_conv``). This
is torchvision's ``ssd300_vgg16`` layout exactly: at ``num_classes=90`` the
model has its 35,641,826 parameters (VGG-16 convolutions 14,714,688, L2 scale
512, fc6 4,719,616, fc7 1,049,600, extras 2,459,520, heads 12,697,890); the VOC
model (``num_classes=20``) has 26,285,486. Initialisation: Keras's Glorot
uniform and zero biases, which is torchvision's (xavier_uniform, bias 0).

fc6/fc7 from the VGG-16 classifier (§3 "we convert fc6 and fc7 to convolutional
layers, subsample parameters from fc6 and fc7"): ``vgg16_fc_to_ssd`` first
convolutionizes the classifier (``surgery.convolutionize``: Keras's ``fc1`` →
7×7×512×4096, ``fc2`` → 1×1×4096×4096; Keras's fc1/fc2 are Caffe's fc6/fc7), then
decimates as the SSD reference models do (the "fc-reduced" VGG of DeepLab-LargeFOV
and SSD; the exact indices are those of the widely used PyTorch port,
sgrvinod/a-PyTorch-Tutorial-to-Object-Detection ``decimate``, m=[4, None, 3, 3]
and [4, 4, None, None]): fc6 kernel ``k[0::3, 0::3, :, 0::4]`` (spatial taps 0, 3, 6
of 7 in both directions, every input channel, output units 0, 4, …, 4092) and
bias ``b[0::4]``; fc7 kernel ``k[:, :, 0::4, 0::4]`` (inputs and outputs 0::4) and
bias ``b[0::4]``. The three kept taps are 3 pool5 cells apart at stride 32; with
pool5 now 3×3/1 the map is at stride 16, so they are 6 cells apart: dilation 6.

SSDLite (``ssdlite_mobilenetv2``; §6.2 and TF Object Detection API's
ssdlite_mobilenet_v2, the implementation the paper reports): Keras's MobileNetV2
(``models.mobilenet``), the first map the 1×1 expansion of block 13
(``block_13_expand_relu``: the paper's "expansion of layer 15", TF's
``layer_15/expansion_output`` — TF counts the stem Conv1 as layer 1 and Keras's
``expanded_conv`` block 0 as layer 2 — 576 channels, stride 16) and the second the
last 1280-channel layer (``out_relu``, stride 32), then four extra blocks
``extra1`` … ``extra4`` of 512, 256, 256, 128 channels, each 1×1 to half the
channels → depthwise 3×3/2 (symmetric pad 1, as torchvision; TF pads "same",
which gives the same sizes) → 1×1, every one with BatchNorm and ReLU6
(``extra{i}_reduce``, ``extra{i}_depthwise``, ``extra{i}_project`` + ``_BN``,
``_relu``; BN epsilon 1e-3, momentum 0.97 = torchvision's SSDLite 0.03), and
separable heads (``ssd_head_layers(separable=True)``: depthwise 3×3 + BN + ReLU6 +
1×1 conv with bias, one per predictor as TF's and torchvision's). Choices:
320×320 input and 6 boxes at every location (ratios [2, 3] on all six maps),
torchvision's ``ssdlite320_mobilenet_v3_large`` geometry — torchvision has no
SSDLite on MobileNetV2, only on MobileNetV3-Large —, giving maps 20, 10, 5, 3, 2,
1 and 3,234 priors. The paper's TF config uses 300×300 (maps 19, 10, 5, 3, 2, 1)
and 3 boxes on the first map (``reduce_boxes_in_lowest_layer``): pass
``input_shape=(300, 300, 3), boxes_per_location=(3, 6, 6, 6, 6, 6)``. Parameters
at ``num_classes=90``: 4,715,740 as Keras counts them (4,664,988 trainable: Keras
counts BN moving statistics); the paper's "4.3M" is met by 80 classes and TF's
(3, 6, 6, 6, 6, 6) boxes, 4,337,013 trainable (4,387,765 with the BN statistics),
and not by 90 classes (4,500,543 trainable with TF's boxes) — the test file counts
each by hand.

``ssd_on_backbone`` puts SSD heads on any registered backbone's feature taps
(``models.feature_extractor``), optional L2 normalization of some taps and extra
stride-2 levels: a CPU-sized SSD, e.g. ``ssd_on_backbone("fast_yolo",
("P3", "P4"), num_classes=10, boxes_per_location=(4, 6), extra_levels=1,
input_shape=(128, 128, 1), width=4)``, maps 16, 8, 4.

``ssd_layout(model)`` reads a built model's ``SSDLayout`` (image size, feature
sizes (H, W), boxes per location, classes, priors); ``ssd300_vgg16_layout`` and
``ssdlite_mobilenetv2_layout`` compute it without building — what
``detection.ssd.default_boxes(feature_sizes, image_size, ...)`` takes.

Registration: ``ROWS`` (task "detection", built by ``ssd_family``) register
``ssd300_vgg16`` and ``ssdlite_mobilenetv2`` (builders ``SSD300VGG16``,
``SSDLiteMobileNetV2``; ``include_top=False`` gives the feature maps as a dict);
``detection.ssd`` names their heads (``SSDHead``: the VOC default boxes for
SSD300, eq. 4 scales for SSDLite).
"""

import math
import re
from typing import NamedTuple

import keras
import numpy as np
from keras import layers, ops

from keras_cv_course import _keras_compat, surgery
from keras_cv_course.models import _common, vgg
from keras_cv_course.models.features import feature_extractor, find_backbone
from keras_cv_course.models.registry import FeatureTap, get_model, model_info
from keras_cv_course.precision import functional_model

__all__ = ["L2Normalization", "SSDLayout", "ssd_head_layers", "ssd300_vgg16", "ssdlite_mobilenetv2", "ssd_on_backbone",
           "ssd_layout", "ssd300_vgg16_layout", "ssdlite_mobilenetv2_layout", "vgg16_fc_to_ssd", "load_vgg16_weights",
           "ssd_family", "ROWS", "BOXES", "CLASSES", "SSD300VGG16", "SSDLiteMobileNetV2"]

PAPER = "Liu et al. 2016, SSD: Single Shot MultiBox Detector"
SSDLITE_PAPER = "Sandler et al. 2018, MobileNetV2: Inverted Residuals and Linear Bottlenecks (§6.2, SSDLite)"
BOXES, CLASSES = "boxes", "classes"  # the output names, which are the loss keys
HEAD_NAME = "ssd"  # prefix of the head layers: ssd_boxes_{i}_conv, ssd_classes_{i}_reshape, ...

SSD300_SIZE = 300
SSD300_BOXES = (4, 6, 6, 6, 4, 4)
# (name, 1×1 reduction, 3×3 output, stride): stride 2 pads 1 on every side, stride 1 is "valid"
SSD300_EXTRAS = (("conv8", 256, 512, 2), ("conv9", 128, 256, 2), ("conv10", 128, 256, 1), ("conv11", 128, 256, 1))
SSD300_MAPS = ("conv4_3_norm", "fc7", "conv8_2", "conv9_2", "conv10_2", "conv11_2")
VGG16_STAGES = vgg.CONFIGS["D"]

SSDLITE_SIZE = 320
SSDLITE_BOXES = (6, 6, 6, 6, 6, 6)
SSDLITE_TAPS = ("P4", "P5")  # block_13_expand_relu (stride 16), out_relu (stride 32)
SSDLITE_EXTRAS = (512, 256, 256, 128)
LITE_BN = dict(epsilon=1e-3, momentum=0.97)  # torchvision's SSDLite BatchNorm (eps 0.001, PyTorch momentum 0.03)

L2_SCALE = 20.0


# ----------------------------------------------------------------------------- layers

@keras.saving.register_keras_serializable(package="keras_cv_course")
class L2Normalization(layers.Layer):
    """SSD's conv4_3 normalization (Liu et al. 2016, §3.1; ParseNet, Liu et al.
    2015): each position's channel vector divided by its L2 norm, times a learned
    per-channel ``scale`` initialised to ``initial_scale`` (20):
    ``y = scale · x / sqrt(Σ_c x_c² + epsilon)``.

    ``epsilon`` is inside the root as in Caffe's Normalize layer (1e-10), so the
    output and its gradient are finite at an all-zero position (torchvision
    divides by max(‖x‖, 1e-12) instead). Computed in float32 whatever the
    layer's compute dtype (epsilon would vanish in float16)."""

    def __init__(self, initial_scale=L2_SCALE, epsilon=1e-10, **kwargs):
        super().__init__(**kwargs)
        self.initial_scale = float(initial_scale)
        self.epsilon = float(epsilon)
        if not math.isfinite(self.epsilon) or self.epsilon <= 0:
            raise ValueError(f"L2Normalization epsilon must be a finite number > 0; got {epsilon!r}")

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"L2Normalization {self.name!r} needs a known channel count; got {input_shape}")
        self.scale = self.add_weight(name="scale", shape=(channels,),
                                     initializer=keras.initializers.Constant(self.initial_scale), trainable=True)

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        inverse = ops.rsqrt(ops.sum(ops.square(x), axis=-1, keepdims=True) + self.epsilon)
        return ops.cast(x * inverse * ops.cast(self.scale, "float32"), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "initial_scale": self.initial_scale, "epsilon": self.epsilon}


# ----------------------------------------------------------------------------- heads

def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def _per_map(boxes_per_location, count):
    """``boxes_per_location`` (an int for every map, or one per map) as a tuple of ``count``."""
    if isinstance(boxes_per_location, (int, np.integer)) and not isinstance(boxes_per_location, bool):
        boxes_per_location = (boxes_per_location,) * count
    boxes = tuple(boxes_per_location)
    if len(boxes) != count:
        raise ValueError(f"boxes_per_location needs one entry per feature map ({count}); got {boxes_per_location!r}")
    return tuple(_positive_int("boxes_per_location", k) for k in boxes)


def _predictor(x, filters, depth, *, separable, name):
    """3×3 conv (``{name}_conv``; separable: ``{name}_depthwise`` + BN + ReLU6 +
    1×1 ``{name}_conv``) → reshape to (B, H·W·k, depth) ``{name}_reshape``."""
    if separable:
        x = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name=f"{name}_depthwise")(x)
        x = layers.BatchNormalization(**LITE_BN, name=f"{name}_depthwise_BN")(x)
        x = layers.ReLU(6.0, name=f"{name}_depthwise_relu")(x)
        x = layers.Conv2D(filters, 1, name=f"{name}_conv")(x)
    else:
        x = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv")(x)
    return layers.Reshape((-1, depth), name=f"{name}_reshape")(x)


def ssd_head_layers(features, boxes_per_location, num_classes, *, separable=False, name=HEAD_NAME):
    """SSD's predictors on ``features`` (a list of maps, or a dict of them in its
    order): ``{"boxes": (B, P, 4), "classes": (B, P, num_classes + 1)}``, P = Σ H·W·k.

    ``boxes_per_location``: k for every map (int) or one per map; ``num_classes``:
    object classes (column 0 of "classes" is the background; outputs are linear:
    offsets and logits). ``separable``: SSDLite's depthwise 3×3 + BN + ReLU6 + 1×1
    instead of a 3×3 convolution. Layers ``{name}_boxes_{i}_conv``,
    ``{name}_boxes_{i}_reshape`` (likewise ``classes``; ``_depthwise``,
    ``_depthwise_BN``, ``_depthwise_relu`` when separable), then the two
    Concatenate layers ``boxes`` and ``classes``."""
    maps = list(features.values()) if isinstance(features, dict) else list(features)
    if not maps:
        raise ValueError("ssd_head_layers needs at least one feature map")
    boxes = _per_map(boxes_per_location, len(maps))
    depth = _positive_int("num_classes", num_classes) + 1
    box_outputs, class_outputs = [], []
    for index, (x, k) in enumerate(zip(maps, boxes)):
        box_outputs.append(_predictor(x, 4 * k, 4, separable=separable, name=f"{name}_boxes_{index}"))
        class_outputs.append(_predictor(x, k * depth, depth, separable=separable, name=f"{name}_classes_{index}"))
    return {BOXES: layers.Concatenate(axis=1, name=BOXES)(box_outputs),
            CLASSES: layers.Concatenate(axis=1, name=CLASSES)(class_outputs)}


# ----------------------------------------------------------------------------- SSD300 on VGG-16

def _ssd300_maps(image):
    """The six SSD300 feature maps on ``image`` (see the module docstring)."""
    x = image
    for stage, row in enumerate(VGG16_STAGES, start=1):
        for index, (width, kernel) in enumerate(row.convs(), start=1):
            x = layers.Conv2D(width, kernel, padding="same", activation="relu", name=f"block{stage}_conv{index}")(x)
        if stage == 4:
            conv4_3 = x
        if stage < 5:  # block3_pool in ceil mode: "same" pads bottom/right by one on odd sides, ignored by the max
            x = layers.MaxPooling2D(2, strides=2, padding="same" if stage == 3 else "valid",
                                    name=f"block{stage}_pool")(x)
    maps = [L2Normalization(L2_SCALE, name="conv4_3_norm")(conv4_3)]
    x = layers.MaxPooling2D(3, strides=1, padding="same", name="pool5")(x)
    x = layers.Conv2D(1024, 3, dilation_rate=6, padding="same", activation="relu", name="fc6")(x)
    x = layers.Conv2D(1024, 1, activation="relu", name="fc7")(x)
    maps.append(x)
    for name, reduction, width, stride in SSD300_EXTRAS:
        x = layers.Conv2D(reduction, 1, activation="relu", name=f"{name}_1")(x)
        if stride == 2:
            x = layers.ZeroPadding2D(1, name=f"{name}_2_pad")(x)
        x = layers.Conv2D(width, 3, strides=stride, padding="valid", activation="relu", name=f"{name}_2")(x)
        maps.append(x)
    return maps


def ssd300_vgg16_layout(input_shape=(SSD300_SIZE, SSD300_SIZE, 3), boxes_per_location=SSD300_BOXES, num_classes=20):
    """The ``SSDLayout`` of ``ssd300_vgg16`` at ``input_shape``, computed without
    building it: 38, 19, 10, 5, 3, 1 at 300 (8,732 priors). Refuses a side that
    leaves a map empty (the smallest is 268)."""
    sides = [_ssd300_sides(side) for side in input_shape[:2]]
    sizes = tuple(zip(*sides))
    if min(min(pair) for pair in sizes) < 1:
        raise ValueError(f"SSD300 needs an input of at least 268×268 (its last map, conv11_2, is 3×3 valid on a "
                         f"3×3 map); got {input_shape[:2]}")
    return SSDLayout(tuple(input_shape[:2]), sizes, _per_map(boxes_per_location, len(sizes)), num_classes)


def _ssd300_sides(n):
    n = n // 2 // 2       # block1_pool, block2_pool (floor)
    conv4_3 = -(-n // 2)  # block3_pool (ceil)
    fc7 = conv4_3 // 2    # block4_pool; pool5, fc6, fc7 keep the size
    conv8 = (fc7 - 1) // 2 + 1
    conv9 = (conv8 - 1) // 2 + 1
    return conv4_3, fc7, conv8, conv9, conv9 - 2, conv9 - 4


def _image_input(input_shape, input_tensor):
    if input_tensor is None:
        image = keras.Input(shape=tuple(input_shape), name="input")
        return image, image
    if not keras.backend.is_keras_tensor(input_tensor):
        image = keras.Input(tensor=input_tensor, shape=tuple(input_shape or input_tensor.shape[1:]), name="input")
        return image, image
    return input_tensor, _single(keras.utils.get_source_inputs(input_tensor))


def _single(inputs):
    """A model's one input as a tensor, not a list of one (Keras warns when called with a tensor otherwise)."""
    return inputs[0] if isinstance(inputs, (list, tuple)) and len(inputs) == 1 else inputs


def _detector(inputs, maps, *, include_top, boxes_per_location, num_classes, separable, name):
    if not include_top:
        return keras.Model(inputs, {_layer_name(x): x for x in maps}, name=name)
    outputs = ssd_head_layers(maps, boxes_per_location, num_classes, separable=separable)
    return keras.Model(inputs, outputs, name=name)


def _layer_name(tensor):
    """The name of the layer that made the symbolic ``tensor``."""
    return _keras_compat.keras_history(tensor)[0].name


def ssd300_vgg16(num_classes=20, input_shape=(SSD300_SIZE, SSD300_SIZE, 3), *, boxes_per_location=SSD300_BOXES,
                 input_tensor=None, include_top=True, name="ssd300_vgg16"):
    """SSD300 (Liu et al. 2016) on VGG-16, the paper's model (module docstring):
    outputs ``{"boxes": (B, 8732, 4), "classes": (B, 8732, num_classes + 1)}`` at
    300×300. ``num_classes``: object classes (20: VOC, 26,285,486 parameters; 90:
    torchvision's COCO model, 35,641,826). ``include_top=False``: the six feature
    maps as a dict keyed by layer name. Weights: ``load_vgg16_weights``.
    Preprocessing: "caffe" (the Keras/Caffe VGG-16 weights')."""
    image, inputs = _image_input(input_shape, input_tensor)
    if None not in image.shape[1:3]:
        ssd300_vgg16_layout(image.shape[1:], boxes_per_location, num_classes)  # refuses a too small input
    return _detector(inputs, _ssd300_maps(image), include_top=include_top, boxes_per_location=boxes_per_location,
                     num_classes=num_classes, separable=False, name=name)


def vgg16_fc_to_ssd(classifier, *, fc_names=("fc1", "fc2")):
    """SSD's fc6 and fc7 from a VGG-16 classifier's first two fully connected
    layers (Keras names ``fc1``, ``fc2``; Caffe's fc6, fc7): ``{"fc6": [kernel
    (3, 3, 512, 1024), bias (1024,)], "fc7": [kernel (1, 1, 1024, 1024), bias
    (1024,)]}``. A classifier with Dense layers is convolutionized first
    (``surgery.convolutionize``: 7×7×512×4096 and 1×1×4096×4096); then fc6 =
    ``kernel[0::3, 0::3, :, 0::4]``, ``bias[0::4]`` and fc7 = ``kernel[:, :, 0::4,
    0::4]``, ``bias[0::4]`` (module docstring: the SSD reference's decimation)."""
    first = classifier.get_layer(fc_names[0])
    if isinstance(first, layers.Dense):
        classifier = surgery.convolutionize(classifier)
    kernel6, bias6 = classifier.get_layer(fc_names[0]).get_weights()
    kernel7, bias7 = classifier.get_layer(fc_names[1]).get_weights()
    if kernel6.shape != (7, 7, 512, 4096) or kernel7.shape != (1, 1, 4096, 4096):
        raise ValueError(f"vgg16_fc_to_ssd needs VGG-16's fc layers (7, 7, 512, 4096) and (1, 1, 4096, 4096) once "
                         f"convolutionized; {classifier.name!r} has {kernel6.shape} and {kernel7.shape}")
    return {"fc6": [np.ascontiguousarray(kernel6[0::3, 0::3, :, 0::4]), np.ascontiguousarray(bias6[0::4])],
            "fc7": [np.ascontiguousarray(kernel7[:, :, 0::4, 0::4]), np.ascontiguousarray(bias7[0::4])]}


def load_vgg16_weights(ssd_model, classifier):
    """Copy a Keras VGG-16 (``models.get_model("vgg16", weights="imagenet")`` or
    keras.applications.VGG16) into ``ssd300_vgg16``: the 13 convolutions by name,
    and fc6/fc7 from ``vgg16_fc_to_ssd`` when the classifier has its top (a
    ``include_top=False`` one leaves them as initialised). Returns the names of
    the layers set."""
    loaded = []
    for stage, row in enumerate(VGG16_STAGES, start=1):
        for index in range(1, len(row.widths) + 1):
            name = f"block{stage}_conv{index}"
            ssd_model.get_layer(name).set_weights(classifier.get_layer(name).get_weights())
            loaded.append(name)
    if any(layer.name == "fc1" for layer in classifier.layers):
        for name, weights in vgg16_fc_to_ssd(classifier).items():
            ssd_model.get_layer(name).set_weights(weights)
            loaded.append(name)
    return loaded


# ----------------------------------------------------------------------------- SSDLite on MobileNetV2

def _lite_conv(x, filters, *, name, strides=1, depthwise=False):
    """1×1 conv (or 3×3 depthwise, symmetric pad 1 when strided) → BN → ReLU6, no bias."""
    if depthwise:
        if strides > 1:
            x = layers.ZeroPadding2D(1, name=f"{name}_pad")(x)
        x = layers.DepthwiseConv2D(3, strides=strides, padding="same" if strides == 1 else "valid", use_bias=False,
                                   name=name)(x)
    else:
        x = layers.Conv2D(filters, 1, use_bias=False, name=name)(x)
    x = layers.BatchNormalization(**LITE_BN, name=f"{name}_BN")(x)
    return layers.ReLU(6.0, name=f"{name}_relu")(x)


def ssdlite_extra(x, channels, *, name):
    """SSDLite's extra layer: 1×1 to ``channels // 2`` → depthwise 3×3/2 → 1×1 to
    ``channels``, each BN + ReLU6 (``{name}_reduce``, ``{name}_pad``,
    ``{name}_depthwise``, ``{name}_project`` + ``_BN``, ``_relu``)."""
    x = _lite_conv(x, channels // 2, name=f"{name}_reduce")
    x = _lite_conv(x, None, name=f"{name}_depthwise", strides=2, depthwise=True)
    return _lite_conv(x, channels, name=f"{name}_project")


def ssd_extra(x, channels, *, name):
    """SSD300's extra layer: 1×1 to ``channels // 2`` → 3×3/2 (pad 1) to
    ``channels``, ReLU, bias (``{name}_reduce``, ``{name}_pad``, ``{name}_conv``)."""
    x = layers.Conv2D(max(channels // 2, 1), 1, activation="relu", name=f"{name}_reduce")(x)
    x = layers.ZeroPadding2D(1, name=f"{name}_pad")(x)
    return layers.Conv2D(channels, 3, strides=2, activation="relu", name=f"{name}_conv")(x)


def _ssdlite_maps(image, alpha=1.0, backbone_weights=None):
    backbone = get_model("mobilenet_v2", include_top=False, input_tensor=image, alpha=alpha, weights=backbone_weights)
    info = model_info("mobilenet_v2")
    maps = [backbone.get_layer(info.tap(key).layer).output for key in SSDLITE_TAPS]
    x = maps[-1]
    for index, channels in enumerate(SSDLITE_EXTRAS, start=1):
        x = ssdlite_extra(x, channels, name=f"extra{index}")
        maps.append(x)
    return maps


def ssdlite_mobilenetv2_layout(input_shape=(SSDLITE_SIZE, SSDLITE_SIZE, 3), boxes_per_location=SSDLITE_BOXES,
                               num_classes=90):
    """The ``SSDLayout`` of ``ssdlite_mobilenetv2`` at ``input_shape`` without
    building it: 20, 10, 5, 3, 2, 1 at 320 (3,234 priors); 19, 10, 5, 3, 2, 1 at
    300. Every stride-2 layer (Keras's MobileNetV2 and the extras) gives ceil(n/2)."""
    def sides(n):
        found = []
        for halvings in (4, 1, 1, 1, 1, 1):
            for _ in range(halvings):
                n = -(-n // 2)
            found.append(n)
        return found
    sizes = tuple(zip(*(sides(side) for side in input_shape[:2])))
    return SSDLayout(tuple(input_shape[:2]), sizes, _per_map(boxes_per_location, len(sizes)), num_classes)


def ssdlite_mobilenetv2(num_classes=90, input_shape=(SSDLITE_SIZE, SSDLITE_SIZE, 3), *, alpha=1.0,
                        boxes_per_location=SSDLITE_BOXES, backbone_weights=None, input_tensor=None, include_top=True,
                        name="ssdlite_mobilenetv2"):
    """SSDLite (Sandler et al. 2018, §6.2) on MobileNetV2 (module docstring):
    ``{"boxes": (B, 3234, 4), "classes": (B, 3234, num_classes + 1)}`` at 320×320.
    ``num_classes``: object classes (90: COCO as TF/torchvision count it; 4,715,740
    parameters). ``alpha``: MobileNetV2's width; ``backbone_weights``: its weights
    (``"imagenet"``: Keras's file, the 224 one at 320, with Keras's warning).
    Preprocessing: "tf" (MobileNetV2's, [-1, 1])."""
    image, inputs = _image_input(input_shape, input_tensor)
    return _detector(inputs, _ssdlite_maps(image, alpha, backbone_weights), include_top=include_top,
                     boxes_per_location=boxes_per_location, num_classes=num_classes, separable=True, name=name)


# ----------------------------------------------------------------------------- any backbone

def ssd_on_backbone(backbone_or_name, taps=("P3", "P4", "P5"), *, num_classes, boxes_per_location, extra_levels=0,
                    extra_channels=None, separable=False, l2_normalize=(), input_shape=None, name=None,
                    **build_kwargs):
    """SSD heads on a registered backbone's feature taps.

    ``backbone_or_name``: a registered name (built with ``include_top=False``,
    ``input_shape`` and ``build_kwargs``, e.g. ``width=4``) or a built model
    holding a registered backbone (``models.feature_extractor``; resize it with
    ``surgery.with_input_shape`` rather than ``input_shape``). ``taps``: the
    levels or named taps in head order. ``l2_normalize``: taps given an
    ``L2Normalization`` (SSD's conv4_3 treatment, scale 20; layer
    ``{tap layer}_norm``). ``extra_levels`` stride-2 levels after the last tap,
    ``extra_channels`` wide (an int, one per level, or None: the last tap's
    channels): SSD300's 1×1 → 3×3/2 with ReLU (``extra{i}_reduce``,
    ``extra{i}_conv``), or with ``separable`` SSDLite's block (``ssdlite_extra``)
    and separable heads. ``boxes_per_location``: an int or one per map (taps,
    then extras). Returns the ``keras.Model`` (one flat graph), named ``name``
    (default ``ssd_{backbone}``, ``ssdlite_{backbone}`` when separable)."""
    taps = (taps,) if isinstance(taps, str) else tuple(taps)
    if isinstance(backbone_or_name, str):
        kwargs = dict(build_kwargs) if input_shape is None else {**build_kwargs, "input_shape": tuple(input_shape)}
        extractor = feature_extractor(backbone_or_name, taps, **kwargs)
        info = model_info(backbone_or_name)
        backbone_name = info.name
    else:
        if build_kwargs or input_shape is not None:
            raise ValueError("ssd_on_backbone builds nothing from a built model: input_shape and builder options go "
                             "with a registered name (surgery.with_input_shape resizes a built model)")
        extractor = feature_extractor(backbone_or_name, taps)
        _, info = find_backbone(backbone_or_name)
        backbone_name = info.name
    unknown = sorted(set(l2_normalize) - set(taps))
    if unknown:
        raise ValueError(f"l2_normalize names taps that are not in taps {taps}: {unknown}")
    outputs = extractor.output
    maps = []
    for key in taps:
        x = outputs[key]
        if key in l2_normalize:
            x = L2Normalization(L2_SCALE, name=f"{info.tap(key).layer}_norm")(x)
        maps.append(x)
    extra_levels = int(extra_levels)
    if extra_levels < 0:
        raise ValueError(f"extra_levels must be >= 0; got {extra_levels!r}")
    widths = _extra_widths(extra_channels, extra_levels, maps[-1].shape[-1])
    x = maps[-1]
    for index, channels in enumerate(widths, start=1):
        x = (ssdlite_extra if separable else ssd_extra)(x, channels, name=f"extra{index}")
        maps.append(x)
    prefix = "ssdlite" if separable else "ssd"
    outputs = ssd_head_layers(maps, boxes_per_location, num_classes, separable=separable)
    return functional_model(_single(extractor.inputs), outputs, name=name or f"{prefix}_{backbone_name}")


def _extra_widths(extra_channels, levels, last):
    if extra_channels is None:
        return (int(last),) * levels
    if isinstance(extra_channels, (int, np.integer)) and not isinstance(extra_channels, bool):
        extra_channels = (extra_channels,) * levels
    widths = tuple(_positive_int("extra_channels", c) for c in extra_channels)
    if len(widths) != levels:
        raise ValueError(f"extra_channels needs one width per extra level ({levels}); got {extra_channels!r}")
    return widths


# ----------------------------------------------------------------------------- layouts

class SSDLayout(NamedTuple):
    """What default boxes are laid out from: ``image_size`` (H, W), the
    ``feature_sizes`` ((h, w) per map, in head order), ``boxes_per_location``
    (k per map) and ``num_classes`` (object classes; None when unknown)."""

    image_size: tuple
    feature_sizes: tuple
    boxes_per_location: tuple
    num_classes: int = None

    @property
    def num_priors(self):
        """P = Σ h·w·k, the rows of the "boxes" and "classes" outputs."""
        return sum(h * w * k for (h, w), k in zip(self.feature_sizes, self.boxes_per_location))


def ssd_layout(model, *, name=HEAD_NAME):
    """The ``SSDLayout`` of a built (or loaded) SSD model, read from its head
    layers ``{name}_boxes_{i}_conv`` (map size, 4·k filters) and
    ``{name}_classes_{i}_conv`` (k·(C + 1)); the model's input needs a known
    height and width."""
    pattern = re.compile(rf"^{re.escape(name)}_boxes_(\d+)_conv$")
    found = sorted((int(m.group(1)), layer) for layer in model.layers if (m := pattern.match(layer.name)))
    if not found:
        raise ValueError(f"{model.name!r} has no SSD head layers named {name}_boxes_<i>_conv")
    sizes, boxes = [], []
    for index, layer in found:
        height, width, filters = layer.output.shape[1:]
        if height is None or width is None:
            raise ValueError(f"{model.name!r} takes inputs of any size: its feature sizes are not fixed; rebuild it "
                             "with a height and width (surgery.with_input_shape)")
        sizes.append((int(height), int(width)))
        boxes.append(int(filters) // 4)
    depth = model.get_layer(f"{name}_classes_0_conv").output.shape[-1] // boxes[0]
    return SSDLayout(tuple(model.input_shape[1:3]), tuple(sizes), tuple(boxes), int(depth) - 1)


# ----------------------------------------------------------------------------- registration (see the docstring)

LAYOUTS = ("ssd300_vgg16", "ssdlite_mobilenetv2")


def ssd_family(request, *, layout, boxes_per_location=None, alpha=1.0):
    """The generic builder of ``ROWS`` (``models._common`` contract): ``layout``
    "ssd300_vgg16" or "ssdlite_mobilenetv2" on ``request.image``; ``classes`` is
    the number of object classes; the outputs are logits whatever
    ``classifier_activation`` says; ``include_top=False`` gives the feature maps
    (``pooling`` must be None)."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}; got {layout!r}")
    if not request.include_top and request.pooling is not None:
        raise ValueError(f"{request.name!r} without its top gives SSD's feature maps; pooling must be None, got "
                         f"{request.pooling!r}")
    lite = layout == "ssdlite_mobilenetv2"
    if lite:
        maps = _ssdlite_maps(request.image, alpha)
    else:
        if None not in request.image.shape[1:3]:
            ssd300_vgg16_layout(request.image.shape[1:], SSD300_BOXES)
        maps = _ssd300_maps(request.image)
    if not request.include_top:
        return request.finish({_layer_name(x): x for x in maps})
    boxes = boxes_per_location or (SSDLITE_BOXES if lite else SSD300_BOXES)
    return request.finish(ssd_head_layers(maps, boxes, request.classes, separable=lite))


ROWS = (
    _common.Row("ssd300_vgg16", "SSD300VGG16", "ssd", PAPER, 26_285_486, "caffe", (300, 300, 3), 268,
                doc=ssd300_vgg16.__doc__, options={"layout": "ssd300_vgg16"},
                user_options={"boxes_per_location": SSD300_BOXES}, classes=20, task="detection",
                taps=(FeatureTap("P3", "conv4_3_norm", 512, 8), FeatureTap("P4", "fc7", 1024, 16),
                      FeatureTap("P5", "conv8_2", 512, 32))),
    _common.Row("ssdlite_mobilenetv2", "SSDLiteMobileNetV2", "ssd", SSDLITE_PAPER, 4_715_740, "tf", (320, 320, 3), 32,
                doc=ssdlite_mobilenetv2.__doc__, options={"layout": "ssdlite_mobilenetv2"},
                user_options={"boxes_per_location": SSDLITE_BOXES, "alpha": 1.0}, classes=90, task="detection",
                taps=(FeatureTap("P4", "block_13_expand_relu", 576, 16), FeatureTap("P5", "out_relu", 1280, 32),
                      FeatureTap("P6", "extra1_project_relu", 512, 64))),
)
_BUILDERS = _common.define(ROWS, ssd_family)
SSD300VGG16 = _BUILDERS["SSD300VGG16"]
SSDLiteMobileNetV2 = _BUILDERS["SSDLiteMobileNetV2"]
