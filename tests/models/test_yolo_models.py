"""YOLOv1's and Fast YOLO's networks (Redmon et al. 2016, Fig. 3 and §2.3):
the paper's 7×7×30 output at 448×448, parameter counts worked by hand, leaky
ReLU 0.1, dropout 0.5 after the first fully connected layer, darknet's
symmetric padding of the stride-2 convolutions, and the options' refusals."""

import keras
import numpy as np
import pytest

from keras_cv_course import models
from keras_cv_course.detection.yolo import yolov1_detector
from keras_cv_course.models import yolo


def conv(k, c_in, c_out):
    """Parameters of a k×k convolution with bias."""
    return k * k * c_in * c_out + c_out


# The paper's Figure 3, convolution by convolution (input 3 channels).
YOLOV1_CONVS = [
    conv(7, 3, 64),                                       # conv1 7×7×64 /2
    conv(3, 64, 192),                                     # conv2 3×3×192
    conv(1, 192, 128), conv(3, 128, 256), conv(1, 256, 256), conv(3, 256, 512),  # conv3-6
    *[conv(1, 512, 256), conv(3, 256, 512)] * 4,          # conv7-14: (1×1×256, 3×3×512) ×4
    conv(1, 512, 512), conv(3, 512, 1024),                # conv15-16
    *[conv(1, 1024, 512), conv(3, 512, 1024)] * 2,        # conv17-20: (1×1×512, 3×3×1024) ×2
    conv(3, 1024, 1024), conv(3, 1024, 1024),             # conv21, conv22 (/2)
    conv(3, 1024, 1024), conv(3, 1024, 1024),             # conv23-24
]
FC1 = 7 * 7 * 1024 * 4096 + 4096                          # 205,524,992: the 7×7×1024 map → 4096
FC2 = 4096 * (7 * 7 * 30) + 7 * 7 * 30                    # 6,022,590: → 1,470 = 7·7·(5·2 + 20)


def test_the_paper_network_outputs_7x7x30_with_the_hand_counted_parameters():
    assert len(YOLOV1_CONVS) == 24
    assert sum(YOLOV1_CONVS) == 60_155_968
    with keras.StatelessScope():  # 271.7M parameters: shapes only, nothing allocated
        model, head = yolov1_detector("yolov1", input_shape=(448, 448, 3), grid=7, boxes_per_cell=2, classes=20)
    assert model.output_shape == (None, 7, 7, 30)  # 1,470 values per image
    assert model.get_layer("yolo_fc2").units == 1470
    assert model.get_layer("yolo_flatten").output.shape == (None, 7 * 7 * 1024)
    assert model.count_params() == sum(YOLOV1_CONVS) + FC1 + FC2 == 271_703_550
    assert (head.grid, head.boxes_per_cell, head.num_classes) == (7, 2, 20)


def test_the_classifiers_parameter_counts_by_hand():
    with keras.StatelessScope():
        assert models.get_model("yolov1").count_params() == sum(YOLOV1_CONVS) + 1024 * 1000 + 1000
        # §2.2's pretraining network: the first 20 convolutions, average pooling, a fully connected layer
        assert models.get_model("yolov1", convs=20).count_params() == sum(YOLOV1_CONVS[:20]) + 1024 * 1000 + 1000
        fast = [conv(3, 3, 16), conv(3, 16, 32), conv(3, 32, 64), conv(3, 64, 128), conv(3, 128, 256),
                conv(3, 256, 512), conv(3, 512, 1024), conv(3, 1024, 1024), conv(3, 1024, 1024)]  # 9 convolutions
        assert models.get_model("fast_yolo").count_params() == sum(fast) + 1024 * 1000 + 1000
    assert models.model_info("yolov1").params == sum(YOLOV1_CONVS) + 1_025_000


def test_leaky_relu_0_1_everywhere_dropout_after_the_first_fc_and_a_linear_output():
    with keras.StatelessScope():
        model, _ = yolov1_detector("fast_yolo", input_shape=(448, 448, 3), grid=7, boxes_per_cell=2, classes=20)
    leaky = [layer for layer in model.layers if isinstance(layer, keras.layers.LeakyReLU)]
    assert len(leaky) == 9 + 1 and all(layer.negative_slope == pytest.approx(0.1) for layer in leaky)
    names = [layer.name for layer in model.layers]
    assert names[-5:] == ["yolo_fc1", "yolo_fc1_leaky", "yolo_dropout", "yolo_fc2", "yolo"]
    assert model.get_layer("yolo_dropout").rate == 0.5
    assert model.get_layer("yolo_fc2").activation is keras.activations.linear
    assert all(layer.activation is keras.activations.linear for layer in model.layers
               if isinstance(layer, keras.layers.Conv2D))  # the activation is the LeakyReLU layer after it


def test_stride_two_convolutions_pad_symmetrically_as_darknet():
    """7×7/2 with 3 pixels on every side: output pixel (0, 0) sees input rows and
    columns -3..3, its kernel's centre on input (0, 0); TensorFlow's "same" pads 2
    before and 3 after, which would put the centre on input (1, 1)."""
    model = models.get_model("yolov1", include_top=False, input_shape=(32, 32, 3))
    first = keras.Model(model.input, model.get_layer("conv1").output)
    kernel = np.zeros((7, 7, 3, 64), "float32")
    kernel[3, 3, 0, 0] = 1.0
    first.get_layer("conv1").set_weights([kernel, np.zeros(64, "float32")])
    for (row, col), expected in (((0, 0), 1.0), ((1, 1), 0.0)):
        image = np.zeros((1, 32, 32, 3), "float32")
        image[0, row, col, 0] = 1.0
        assert first(image)[0, 0, 0, 0] == expected, (row, col)
    assert model.get_layer("conv22").output.shape[1:3] == (1, 1)


def test_taps_at_448():
    extractor = models.feature_extractor("yolov1", ["P5", "P6"], input_shape=(448, 448, 3))
    assert extractor.output["P5"].shape == (None, 14, 14, 1024)
    assert extractor.output["P6"].shape == (None, 7, 7, 1024)
    fast = models.feature_extractor("fast_yolo", ["P6"], input_shape=(448, 448, 3))
    assert fast.output["P6"].shape == (None, 7, 7, 1024)


def test_bad_options_are_refused_by_name():
    with pytest.raises(ValueError, match="convs must be 20 .* or 24 .*; got 22"):
        models.get_model("yolov1", convs=22)
    with pytest.raises(ValueError, match="width must be a positive integer; got 0"):
        models.get_model("fast_yolo", width=0)
    with pytest.raises(ValueError, match="grid must be a positive integer; got 0"):
        yolo.detection_top(keras.Input((7, 7, 8)), grid=0)
    with pytest.raises(ValueError, match="units must be a positive integer; got 0"):
        yolo.detection_top(keras.Input((7, 7, 8)), units=0)
    with pytest.raises(ValueError, match=r"top must be one of \('fc', 'conv'\); got 'local'"):
        yolo.detection_top(keras.Input((7, 7, 8)), top="local")
    with pytest.raises(ValueError, match="the map must be 7×7 for grid=7; got 4×4"):
        yolo.detection_top(keras.Input((4, 4, 8)), grid=7, top="conv")


def test_the_convolutional_top_predicts_each_cell_from_its_own_position():
    """``top="conv"``: the two layers as 1×1 convolutions, so changing the
    features at one position changes that cell's prediction only."""
    inputs = keras.Input((4, 4, 8))
    model = keras.Model(inputs, yolo.detection_top(inputs, grid=4, boxes_per_cell=2, classes=3, top="conv", units=16))
    assert model.output_shape == (None, 4, 4, 13)
    features = np.random.default_rng(0).random((1, 4, 4, 8)).astype("float32")
    changed = features.copy()
    changed[0, 2, 1] += 1.0
    moved = np.abs(np.asarray(model(changed)) - np.asarray(model(features))).max(axis=-1)[0]
    assert moved[2, 1] > 0 and np.count_nonzero(moved) == 1
