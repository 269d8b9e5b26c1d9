"""SSD's networks (Liu et al. 2016) and SSDLite (Sandler et al. 2018, §6.2):
SSD300's geometry (maps 38/19/10/5/3/1, 8,732 priors) and parameters worked by
hand — torchvision's ssd300_vgg16 count at 91 columns —, the heads' row-major
prior order, L2Normalization by hand, fc6/fc7 decimated from a VGG-16
classifier, SSDLite's shapes and count against the paper's "4.3M", SSD heads
on a small registered backbone and its .keras round trip with safe_mode=True."""

import keras
import numpy as np
import pytest

from keras_cv_course import models
from keras_cv_course.models import _common, ssd


def conv(k, c_in, c_out, bias=True):
    """Parameters of a k×k convolution."""
    return k * k * c_in * c_out + (c_out if bias else 0)


# ----------------------------------------------------------------------------- SSD300, by hand
# VGG-16's 13 convolutions (configuration D), 3×3 with bias
VGG16_CONVS = [conv(3, 3, 64), conv(3, 64, 64),                            # block1: 1,792 + 36,928
               conv(3, 64, 128), conv(3, 128, 128),                        # block2: 73,856 + 147,584
               conv(3, 128, 256), conv(3, 256, 256), conv(3, 256, 256),    # block3: 295,168 + 2 × 590,080
               conv(3, 256, 512), conv(3, 512, 512), conv(3, 512, 512),    # block4: 1,180,160 + 2 × 2,359,808
               conv(3, 512, 512), conv(3, 512, 512), conv(3, 512, 512)]    # block5: 3 × 2,359,808
L2_SCALE = 512                                                             # conv4_3_norm: one scale per channel
FC6 = conv(3, 512, 1024)                                                   # 4,719,616 (3×3, dilation 6)
FC7 = conv(1, 1024, 1024)                                                  # 1,049,600
EXTRAS = [conv(1, 1024, 256), conv(3, 256, 512),                           # conv8_1, conv8_2: 262,400 + 1,180,160
          conv(1, 512, 128), conv(3, 128, 256),                            # conv9: 65,664 + 295,168
          conv(1, 256, 128), conv(3, 128, 256),                            # conv10: 32,896 + 295,168
          conv(1, 256, 128), conv(3, 128, 256)]                            # conv11: 32,896 + 295,168
SSD300_SOURCES = ((512, 4), (1024, 6), (512, 6), (256, 6), (256, 4), (256, 4))  # (channels, boxes) per map


def ssd300_heads(columns):
    """A 3×3 box conv (4k filters) and a 3×3 class conv (k·columns) on every map."""
    return sum(conv(3, c, 4 * k) + conv(3, c, k * columns) for c, k in SSD300_SOURCES)


def test_ssd300_geometry_priors_and_hand_counted_parameters(flag_automatic_names):
    """VOC (20 classes, 21 columns): 14,714,688 + 512 + 4,719,616 + 1,049,600 +
    2,459,520 + heads 3,341,550 (4·25·4,609 + 6·25·9,217 + 6·25·4,609 +
    6·25·2,305 + 2·4·25·2,305) = 26,285,486. torchvision's ssd300_vgg16 (COCO,
    its num_classes=91 with the background, ours 90) has 35,641,826: the same
    trunk and extras, heads 12,697,890 (k·95·(9·C_in + 1) summed) — identical."""
    assert sum(VGG16_CONVS) == 14_714_688 and sum(EXTRAS) == 2_459_520
    assert ssd300_heads(21) == 3_341_550 and ssd300_heads(91) == 12_697_890
    with keras.StatelessScope():  # shapes and names only
        model = ssd.ssd300_vgg16()
        coco = ssd.ssd300_vgg16(num_classes=90)
    assert model.output_shape == [(None, 8732, 4), (None, 8732, 21)]
    assert model.output_names == ["boxes", "classes"]
    sides = {"block3_pool": 38, "conv4_3_norm": 38, "block4_pool": 19, "pool5": 19, "fc6": 19, "fc7": 19,
             "conv8_2": 10, "conv9_2": 5, "conv10_2": 3, "conv11_2": 1}  # block3_pool in ceil mode: 75 → 38
    assert {name: model.get_layer(name).output.shape[1] for name in sides} == sides
    assert [model.get_layer(name).output.shape[-1] for name in ssd.SSD300_MAPS] == [512, 1024, 512, 256, 256, 256]
    assert model.get_layer("fc6").dilation_rate == (6, 6)
    assert model.get_layer("pool5").pool_size == (3, 3) and model.get_layer("pool5").strides == (1, 1)
    assert model.get_layer("conv8_2_pad").padding == ((1, 1), (1, 1))  # symmetric, then "valid"
    assert model.get_layer("conv8_2").padding == "valid" and model.get_layer("conv10_2").padding == "valid"
    layout = ssd.ssd_layout(model)
    assert layout == ssd.ssd300_vgg16_layout()
    assert layout.feature_sizes == ((38, 38), (19, 19), (10, 10), (5, 5), (3, 3), (1, 1))
    assert layout.boxes_per_location == (4, 6, 6, 6, 4, 4) and layout.num_priors == 8732
    trunk = sum(VGG16_CONVS) + L2_SCALE + FC6 + FC7 + sum(EXTRAS)
    assert model.count_params() == trunk + ssd300_heads(21) == 26_285_486 == ssd.ROWS[0].params
    assert coco.count_params() == trunk + ssd300_heads(91) == 35_641_826  # torchvision's ssd300_vgg16
    assert [l.name for l in model.layers if l.name.startswith(flag_automatic_names)] == []
    with pytest.raises(ValueError, match="at least 268"):
        ssd.ssd300_vgg16(input_shape=(267, 267, 3))


def test_head_priors_are_row_major_position_then_box_and_maps_concatenate_in_order():
    """Prior ``(y·W + x)·k + a`` of a map holds channels ``a·4 … a·4 + 3`` of its
    conv at (y, x); the second map's priors follow the first's."""
    first, second = keras.Input((2, 3, 1)), keras.Input((1, 2, 1))
    outputs = ssd.ssd_head_layers([first, second], (2, 3), num_classes=1)
    model = keras.Model([first, second], outputs)
    for index, k in enumerate((2, 3)):
        for head, depth in (("boxes", 4), ("classes", 2)):
            layer = model.get_layer(f"ssd_{head}_{index}_conv")
            kernel = np.zeros(layer.kernel.shape, "float32")
            kernel[1, 1, 0, :] = 1.0  # every output channel copies the input at its own position
            layer.set_weights([kernel, 100.0 * index + np.arange(k * depth, dtype="float32") / 100])
    grid = lambda h, w: np.arange(h * w, dtype="float32").reshape(1, h, w, 1)  # value = y·W + x
    result = model([grid(2, 3), grid(1, 2)])
    boxes, classes = (keras.ops.convert_to_numpy(result[key])[0] for key in ("boxes", "classes"))
    assert boxes.shape == (2 * 3 * 2 + 1 * 2 * 3, 4) and classes.shape == (18, 2)
    y, x, a = 1, 2, 1  # first map: prior (1·3 + 2)·2 + 1 = 11
    np.testing.assert_allclose(boxes[(y * 3 + x) * 2 + a], (y * 3 + x) + np.arange(a * 4, a * 4 + 4) / 100)
    np.testing.assert_allclose(classes[(y * 3 + x) * 2 + a], (y * 3 + x) + np.arange(a * 2, a * 2 + 2) / 100)
    x, a = 1, 2  # second map (1×2, k = 3): prior 12 + (0·2 + 1)·3 + 2 = 17
    np.testing.assert_allclose(boxes[12 + x * 3 + a], 100 + x + np.arange(a * 4, a * 4 + 4) / 100, rtol=1e-6)


def test_l2_normalization_by_hand():
    """(3, 4) has norm 5: (0.6, 0.8) × 20 = (12, 16); with learned scales (1, 2):
    (0.6, 1.6). An all-zero position stays 0 with a finite gradient."""
    layer = ssd.L2Normalization()
    x = np.array([[[[3.0, 4.0], [0.0, 0.0]]]], "float32")  # (1, 1, 2 positions, 2 channels)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x))[0, 0], [[12.0, 16.0], [0.0, 0.0]], rtol=1e-6)
    layer.scale.assign([1.0, 2.0])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x))[0, 0, 0], [0.6, 1.6], rtol=1e-6)
    import tensorflow as tf

    zeros = tf.zeros((1, 1, 1, 2))
    with tf.GradientTape() as tape:
        tape.watch(zeros)
        total = tf.reduce_sum(layer(zeros))
    assert np.all(np.isfinite(tape.gradient(total, zeros).numpy()))
    config = layer.get_config()
    assert (config["initial_scale"], config["epsilon"]) == (20.0, 1e-10)
    assert ssd.L2Normalization.from_config(config).initial_scale == 20.0


def test_fc6_fc7_are_the_classifiers_fc1_fc2_decimated():
    """A randomly initialised VGG-16 classifier (Keras layout, no download):
    ``load_vgg16_weights`` copies its 13 convolutions and sets fc6 to fc1's
    Dense kernel at (row 3i, column 3j, channel c, unit 4o) — row
    ``(3i·7 + 3j)·512 + c`` of the (25088, 4096) Dense kernel, Keras's
    channels-last Flatten — and fc7 to fc2's (4·u, 4·o), biases every 4th."""
    classifier = models.get_model("vgg16")
    detector = ssd.ssd300_vgg16()
    loaded = ssd.load_vgg16_weights(detector, classifier)
    assert len(loaded) == 15 and loaded[-2:] == ["fc6", "fc7"]
    for name in ("block1_conv1", "block4_conv3", "block5_conv3"):
        for ours, theirs in zip(detector.get_layer(name).get_weights(), classifier.get_layer(name).get_weights()):
            np.testing.assert_array_equal(ours, theirs)
    dense6, bias6 = classifier.get_layer("fc1").get_weights()
    dense7, bias7 = classifier.get_layer("fc2").get_weights()
    kernel6, got6 = detector.get_layer("fc6").get_weights()
    kernel7, got7 = detector.get_layer("fc7").get_weights()
    assert kernel6.shape == (3, 3, 512, 1024) and kernel7.shape == (1, 1, 1024, 1024)
    i, j, c, o = np.meshgrid(np.arange(3), np.arange(3), np.arange(0, 512, 37), np.arange(0, 1024, 41), indexing="ij")
    np.testing.assert_array_equal(kernel6[i, j, c, o], dense6[(3 * i * 7 + 3 * j) * 512 + c, 4 * o])
    np.testing.assert_array_equal(kernel7[0, 0], dense7[0::4, 0::4])
    np.testing.assert_array_equal(got6, bias6[0::4])
    np.testing.assert_array_equal(got7, bias7[0::4])
    converted = ssd.vgg16_fc_to_ssd(classifier)
    np.testing.assert_array_equal(converted["fc6"][0], kernel6)


# ----------------------------------------------------------------------------- SSDLite, by hand
MOBILENET_V2_TABLE = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                      (6, 320, 1, 1))  # the paper's Table 2: (t, c, n, s)
SSDLITE_SOURCES = (576, 1280, 512, 256, 256, 128)  # block_13_expand_relu, out_relu, extra1 … extra4


def ssdlite_params(columns, boxes, bn):
    """SSDLite on MobileNetV2, ``bn`` parameters per BatchNorm channel (4 as Keras
    counts, with the moving statistics; 2 trainable). No conv bias before a BN.
    MobileNetV2: Conv1 3×3×3×32; per block a 1×1 expansion to t·C_in (not in
    block 0), a depthwise 3×3, a 1×1 projection; Conv_1 1×1 320 → 1280.
    Extras 512, 256, 256, 128: 1×1 to half, depthwise 3×3/2, 1×1. Heads per map
    and predictor: depthwise 3×3 + BN, then a 1×1 conv with bias."""
    total, c_in = conv(3, 3, 32, bias=False) + bn * 32, 32
    for t, c, n, _ in MOBILENET_V2_TABLE:
        for _ in range(n):
            hidden = t * c_in
            if t != 1:
                total += c_in * hidden + bn * hidden
            total += 9 * hidden + bn * hidden + hidden * c + bn * c
            c_in = c
    total += 320 * 1280 + bn * 1280
    backbone, c_in = total, 1280                  # 2,257,984 (Keras's include_top=False count)
    for c_out in (512, 256, 256, 128):
        half = c_out // 2
        total += c_in * half + bn * half + 9 * half + bn * half + half * c_out + bn * c_out
        c_in = c_out
    for c, k in zip(SSDLITE_SOURCES, boxes):
        for filters in (4 * k, k * columns):
            total += 9 * c + bn * c + conv(1, c, filters)
    return backbone, total


def test_ssdlite_mobilenetv2_shapes_and_hand_counted_parameters_against_the_papers_4_3m():
    """Our default (320×320, 6 boxes everywhere as torchvision's SSDLite, COCO
    with 90 classes + background): 4,715,740 as Keras counts (4,664,988
    trainable): backbone 2,257,984, extras 661,568, heads 1,796,188. The paper's
    "4.3M" (Table 6) is matched by 80 classes + background with TF's 3 boxes on
    the first map: 4,337,013 trainable (4,387,765 with BN statistics); 90 classes
    with TF's boxes give 4,500,543 (4.5M). (torchvision's ssdlite320_mobilenet_v3_large,
    on MobileNetV3, has 3,440,060 — another backbone, not compared.)"""
    backbone, total = ssdlite_params(91, (6,) * 6, bn=4)
    assert backbone == 2_257_984 and total == 4_715_740 == ssd.ROWS[1].params
    with keras.StatelessScope():
        model = ssd.ssdlite_mobilenetv2()
        paper_like = ssd.ssdlite_mobilenetv2(80, (300, 300, 3), boxes_per_location=(3, 6, 6, 6, 6, 6))
        registered = _common.public_builder(ssd.ROWS[1], ssd.ssd_family)()
        features = _common.public_builder(ssd.ROWS[1], ssd.ssd_family)(include_top=False)
    assert model.output_shape == [(None, 3234, 4), (None, 3234, 91)]
    assert [model.get_layer(n).output.shape[1:] for n in ("block_13_expand_relu", "out_relu")] == [(20, 20, 576),
                                                                                                   (10, 10, 1280)]
    layout = ssd.ssd_layout(model)
    assert layout == ssd.ssdlite_mobilenetv2_layout()
    assert layout.feature_sizes == ((20, 20), (10, 10), (5, 5), (3, 3), (2, 2), (1, 1)) and layout.num_priors == 3234
    assert isinstance(model.get_layer("ssd_classes_0_depthwise"), keras.layers.DepthwiseConv2D)
    assert model.get_layer("extra1_depthwise_pad").padding == ((1, 1), (1, 1))
    trainable = lambda m: sum(int(np.prod(w.shape)) for w in m.trainable_weights)
    assert model.count_params() == total and trainable(model) == ssdlite_params(91, (6,) * 6, bn=2)[1] == 4_664_988
    assert ssd.ssd_layout(paper_like).feature_sizes[0] == (19, 19)
    assert paper_like.count_params() == ssdlite_params(81, (3, 6, 6, 6, 6, 6), bn=4)[1] == 4_387_765
    assert trainable(paper_like) == ssdlite_params(81, (3, 6, 6, 6, 6, 6), bn=2)[1] == 4_337_013
    assert round(trainable(paper_like) / 1e6, 1) == 4.3
    assert ssdlite_params(91, (3, 6, 6, 6, 6, 6), bn=2)[1] == 4_500_543
    assert registered.count_params() == total and registered.output_names == ["boxes", "classes"]
    assert list(features.output) == ["block_13_expand_relu", "out_relu", "extra1_project_relu",
                                     "extra2_project_relu", "extra3_project_relu", "extra4_project_relu"]


# ----------------------------------------------------------------------------- any backbone

def test_ssd_on_a_small_registered_backbone_round_trips_with_safe_mode(tmp_path, flag_automatic_names):
    """Fast YOLO's net at width 4 on 128×128 gray: taps P3 (16×16×32) and P4
    (8×8×64), one SSDLite extra level (4×4×64), L2Normalization on P3:
    16²·4 + 8²·6 + 4²·6 = 1,504 priors."""
    model = ssd.ssd_on_backbone("fast_yolo", ("P3", "P4"), num_classes=10, boxes_per_location=(4, 6, 6),
                                extra_levels=1, separable=True, l2_normalize=("P3",), input_shape=(128, 128, 1),
                                width=4)
    assert model.name == "ssdlite_fast_yolo"
    assert model.output_shape == [(None, 1504, 4), (None, 1504, 11)]
    layout = ssd.ssd_layout(model)
    assert layout.feature_sizes == ((16, 16), (8, 8), (4, 4)) and layout.num_classes == 10
    assert isinstance(model.get_layer("conv4_leaky_norm"), ssd.L2Normalization)
    assert [l.name for l in model.layers if l.name.startswith(flag_automatic_names)] == []
    plain = ssd.ssd_on_backbone("fast_yolo", ("P3", "P4"), num_classes=3, boxes_per_location=4, extra_levels=2,
                                extra_channels=32, input_shape=(128, 128, 1), width=4)
    assert ssd.ssd_layout(plain).feature_sizes == ((16, 16), (8, 8), (4, 4), (2, 2))
    assert plain.get_layer("extra2_conv").output.shape == (None, 2, 2, 32)
    images = np.random.default_rng(0).uniform(0, 1, (2, 128, 128, 1)).astype("float32")
    expected = model(images, training=False)
    assert np.abs(keras.ops.convert_to_numpy(expected["classes"])).max() > 0  # the comparison below means something
    path = tmp_path / "ssdlite_fast_yolo.keras"
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    actual = restored(images, training=False)
    for key in ("boxes", "classes"):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(actual[key]), keras.ops.convert_to_numpy(expected[key]),
                                   atol=1e-6)
    assert ssd.ssd_layout(restored) == layout
