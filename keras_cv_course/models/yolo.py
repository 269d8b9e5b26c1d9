"""YOLOv1 (Redmon, Divvala, Girshick & Farhadi 2016, "You Only Look Once:
Unified, Real-Time Object Detection", arXiv:1506.02640) and Fast YOLO: the
convolutional networks as classifier families with feature taps, and the
detection top the paper puts on them (``detection_top``; the head, its loss and
its targets are ``keras_cv_course.detection.yolo``).

``yolov1`` is the network of the paper's Figure 3, one ``Conv`` row per
convolution (a 2×2 stride-2 max-pool after the rows that say so):
7×7/2 64 → pool → 3×3 192 → pool → 1×1 128, 3×3 256, 1×1 256, 3×3 512 → pool →
(1×1 256, 3×3 512) ×4, 1×1 512, 3×3 1024 → pool → (1×1 512, 3×3 1024) ×2,
3×3 1024, 3×3/2 1024, 3×3 1024, 3×3 1024: 24 convolutions, total stride 64, so
a 448×448 image gives the 7×7×1024 map the two fully connected layers read.
Leaky ReLU with slope 0.1 after every convolution (§2.2; note that Keras'
``"leaky_relu"`` defaults to 0.2, so ``layers.LeakyReLU(0.1)`` is used).

With ``include_top`` the classifier is the ImageNet pretraining network of
§2.2 at 224×224: the convolutions, then "an average-pooling layer and a fully
connected layer" (``avg_pool``, ``predictions``). The paper pretrains the first
20 convolutions only: ``convs=20`` builds exactly that network; the default
``convs=24`` keeps all 24 so that the backbone ends where the detection network
does (tap ``P6``, stride 64). ``detection_top`` adds the two fully connected
layers of §2 (4096, leaky 0.1, dropout 0.5 after the first — §2.2 — then a
linear ``S·S·(5B+C)`` layer) and reshapes to (S, S, 5B+C): 7×7×30 for S=7,
B=2, C=20 at 448×448.
``detection_top(top="conv")`` applies the same two layers to each position of
an S×S map as 1×1 convolutions (cell (i, j) predicted from the features at
(i, j) only): the top of the CPU-sized ``detection.yolo.yolov1_fashion``.

``fast_yolo`` is Fast YOLO (§2.3: "9 convolutional layers instead of 24 and
fewer filters"), the layout of darknet's yolo-tiny.cfg of the paper's time:
3×3 convolutions of 16, 32, 64, 128, 256, 512 filters each followed by a 2×2
max-pool, then three 3×3 of 1024 (``width`` scales them: ``width·2**k``), total
stride 64. That cfg also puts a 256-unit linear fully connected layer before
the 4096 one; ``detection_top`` does not (the paper does not mention it).

Ambiguities resolved: (1) padding: darknet pads every convolution by
``size // 2`` on each side; the stride-1 convolutions use "same" (the same
thing for odd kernels) and the two stride-2 ones an explicit symmetric
``ZeroPadding2D`` + "valid" (TensorFlow's "same" would pad only bottom/right),
so 448 → 224 exactly as darknet. (2) No batch normalization in the paper (it
came with YOLOv2); ``batch_norm=True`` adds it after every convolution (the
conv then has no bias) — darknet's later yolov1.cfg does the same.
(3) Preprocessing "unit" (pixels / 255, as darknet loads images).

Layer names: ``conv{i}`` (``conv{i}_pad`` before a stride-2 one), ``conv{i}_bn``,
``conv{i}_leaky``, ``pool{i}``, ``avg_pool``, ``predictions``; the detection
top ``yolo_flatten``, ``yolo_fc1``, ``yolo_fc1_leaky``, ``yolo_dropout``,
``yolo_fc2`` (``top="conv"``: ``yolo_conv1``, ``yolo_conv1_leaky``,
``yolo_dropout``, ``yolo_conv2``) and the output ``yolo`` (``DETECTION_OUTPUT``).
"""

from typing import NamedTuple

import keras
from keras import layers, ops

from keras_cv_course.models import _common
from keras_cv_course.models.registry import FeatureTap

PAPER = "Redmon, Divvala, Girshick & Farhadi 2016, You Only Look Once: Unified, Real-Time Object Detection"
LEAKY_SLOPE = 0.1
DETECTION_OUTPUT = "yolo"  # the detection output's name, which is the key of its loss
BN_MOMENTUM = 0.9  # PyTorch's 0.1: moving statistics usable after tens of steps, not hundreds (Keras' 0.99)


class Conv(NamedTuple):
    """One convolution with leaky ReLU; ``pool``: a 2×2 stride-2 max-pool after it."""

    filters: int
    kernel: int
    stride: int = 1
    pool: bool = False


def _pairs(first, second, times):
    return (Conv(first, 1), Conv(second, 3)) * times


# The paper's Figure 3.
YOLOV1_TABLE = (
    Conv(64, 7, 2, pool=True),
    Conv(192, 3, pool=True),
    Conv(128, 1), Conv(256, 3), Conv(256, 1), Conv(512, 3, pool=True),
    *_pairs(256, 512, 4), Conv(512, 1), Conv(1024, 3, pool=True),
    *_pairs(512, 1024, 2), Conv(1024, 3), Conv(1024, 3, 2),
    Conv(1024, 3), Conv(1024, 3),
)
YOLOV1_CONVS = (20, 24)  # the pretraining network (§2.2) and the detection network


def fast_yolo_table(width=16):
    """Fast YOLO's 9 convolutions with ``width`` filters in the first (16 in the paper's network)."""
    return tuple(Conv(width * 2 ** k, 3, pool=True) for k in range(6)) + (Conv(width * 64, 3),) * 3


def conv_stack(x, table, *, batch_norm=False, first=1):
    """The convolutions of ``table`` (``Conv`` rows) on ``x``, numbered from ``first``."""
    for index, row in enumerate(table, start=first):
        x = leaky_conv(x, row.filters, row.kernel, strides=row.stride, batch_norm=batch_norm, name=f"conv{index}")
        if row.pool:
            x = layers.MaxPooling2D(2, strides=2, name=f"pool{index}")(x)
    return x


def leaky_conv(x, filters, kernel, *, name, strides=1, batch_norm=False):
    """Conv2D (darknet's symmetric ``kernel // 2`` padding) → BatchNorm (optional) → leaky ReLU 0.1."""
    padding = "same"
    if strides > 1:
        x = layers.ZeroPadding2D(kernel // 2, name=f"{name}_pad")(x)
        padding = "valid"
    x = layers.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=not batch_norm, name=name)(x)
    if batch_norm:
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    return layers.LeakyReLU(LEAKY_SLOPE, name=f"{name}_leaky")(x)


@keras.saving.register_keras_serializable(package="keras_cv_course")
class YOLOGrid(layers.Layer):
    """Reshape the last fully connected layer's ``S·S·(5B+C)`` values to the
    (S, S, 5B+C) grid; it records ``grid``, ``boxes_per_cell`` and ``classes``
    so a head can read them from a built (or loaded) model. Channels of cell
    (i, j): ``5b:5b+5`` predictor b's (x, y, √w, √h, confidence), then the
    ``classes`` conditional class probabilities."""

    def __init__(self, grid, boxes_per_cell, classes, **kwargs):
        super().__init__(**kwargs)
        self.grid, self.boxes_per_cell, self.classes = int(grid), int(boxes_per_cell), int(classes)
        self.depth = 5 * self.boxes_per_cell + self.classes

    def call(self, values):
        return ops.reshape(values, (-1, self.grid, self.grid, self.depth))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.grid, self.grid, self.depth)

    def get_config(self):
        return {**super().get_config(), "grid": self.grid, "boxes_per_cell": self.boxes_per_cell,
                "classes": self.classes}


def check_grid(grid, boxes_per_cell, classes):
    """Refuse S, B, C that are not positive integers, naming the bad one."""
    for name, value in (("grid", grid), ("boxes_per_cell", boxes_per_cell), ("classes", classes)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"YOLO's {name} must be a positive integer; got {value!r}")


TOPS = ("fc", "conv")


def detection_top(features, *, grid=7, boxes_per_cell=2, classes=20, top="fc", units=4096, dropout=0.5,
                  name=DETECTION_OUTPUT):
    """The detection top on a feature map, ending in ``YOLOGrid`` (S, S, 5B+C) named ``name``.

    ``top="fc"``: YOLOv1's two fully connected layers (§2): Flatten → Dense
    ``units`` → leaky ReLU 0.1 → Dropout ``dropout`` → Dense ``S·S·(5B+C)``
    (linear); any map size gives any S. ``top="conv"``: the same two layers
    applied to each position of an S×S map (1×1 convolutions: ``units`` → leaky
    ReLU → Dropout → 5B+C, linear), so cell (i, j) is predicted from the
    features at (i, j) alone; the map must be S×S."""
    check_grid(grid, boxes_per_cell, classes)
    if top not in TOPS:
        raise ValueError(f"top must be one of {TOPS}; got {top!r}")
    if isinstance(units, bool) or not isinstance(units, int) or units < 1:
        raise ValueError(f"units must be a positive integer; got {units!r}")
    depth = 5 * boxes_per_cell + classes
    if top == "conv":
        side = tuple(features.shape[1:3])
        if side != (grid, grid):
            raise ValueError(f"top='conv' predicts one cell per feature-map position, so the map must be {grid}×{grid} "
                             f"for grid={grid}; got {side[0]}×{side[1]} (change the input size or grid, or use top='fc')")
        hidden, output = layers.Conv2D(units, 1, name="yolo_conv1"), layers.Conv2D(depth, 1, name="yolo_conv2")
        names = ("yolo_conv1_leaky", "yolo_dropout")
    else:
        features = layers.Flatten(name="yolo_flatten")(features)
        hidden, output = layers.Dense(units, name="yolo_fc1"), layers.Dense(grid * grid * depth, name="yolo_fc2")
        names = ("yolo_fc1_leaky", "yolo_dropout")
    x = layers.LeakyReLU(LEAKY_SLOPE, name=names[0])(hidden(features))
    if dropout:
        x = layers.Dropout(dropout, name=names[1])(x)
    return YOLOGrid(grid, boxes_per_cell, classes, name=name)(output(x))


def yolo_family(request, *, layout, convs=24, width=16, batch_norm=False):
    """The generic builder of ``YOLOv1`` and ``FastYOLO`` (``models._common``
    contract): the convolutions of the layout, then the pretraining classifier
    (global average pooling → ``predictions``) or ``include_top=False``'s
    features."""
    if layout == "yolov1":
        if convs not in YOLOV1_CONVS:
            raise ValueError(f"YOLOv1 convs must be 20 (the pretraining network) or 24 (the detection network); "
                             f"got {convs!r}")
        table = YOLOV1_TABLE[:convs]
    else:
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ValueError(f"FastYOLO width must be a positive integer; got {width!r}")
        table = fast_yolo_table(width)
    x = conv_stack(request.image, table, batch_norm=batch_norm)
    return request.finish(request.tail(x, request.gap_head()))


YOLOV1_TAPS = (
    FeatureTap("P1", "conv1_leaky", 64, 2),
    FeatureTap("P2", "conv2_leaky", 192, 4),
    FeatureTap("P3", "conv6_leaky", 512, 8),
    FeatureTap("P4", "conv16_leaky", 1024, 16),
    FeatureTap("P5", "conv20_leaky", 1024, 32),
    FeatureTap("P6", "conv24_leaky", 1024, 64),
)
FAST_YOLO_TAPS = tuple(FeatureTap(f"P{k}", f"conv{k + 1}_leaky", 16 * 2 ** k, 2 ** k) for k in range(6)) + (
    FeatureTap("P6", "conv9_leaky", 1024, 64),)

ROWS = (
    _common.Row("yolov1", "YOLOv1", "yolo", PAPER, 61_180_968, "unit", (224, 224, 3), 31,
                doc="YOLOv1's network (Redmon et al. 2016, Fig. 3) as a classifier: 24 convolutions with leaky "
                    "ReLU 0.1, global average pooling and ``predictions`` (the ImageNet pretraining top of §2.2; "
                    "``convs=20`` is exactly the pretraining network). Taps P1-P6 (P6: the 7×7 map of a 448×448 "
                    "image that ``detection.yolo.yolov1_detector`` puts the two fully connected layers on). "
                    "``batch_norm``: BatchNorm after every convolution (not in the paper).",
                user_options={"convs": 24, "batch_norm": False}, options={"layout": "yolov1"}, taps=YOLOV1_TAPS),
    _common.Row("fast_yolo", "FastYOLO", "yolo", PAPER, 26_193_800, "unit", (224, 224, 3), 64,
                doc="Fast YOLO's network (Redmon et al. 2016, §2.3; darknet's yolo-tiny.cfg): nine 3×3 "
                    "convolutions of ``width``·2**k filters (16 … 512, each with a 2×2 max-pool, then 1024 ×3), "
                    "leaky ReLU 0.1, as a classifier (global average pooling, ``predictions``). Taps P0-P6. "
                    "``batch_norm``: BatchNorm after every convolution (not in the paper).",
                user_options={"width": 16, "batch_norm": False}, options={"layout": "fast_yolo"},
                taps=FAST_YOLO_TAPS),
)
_BUILDERS = _common.define(ROWS, yolo_family)
YOLOv1, FastYOLO = _BUILDERS["YOLOv1"], _BUILDERS["FastYOLO"]
