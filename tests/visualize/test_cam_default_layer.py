"""Grad-CAM's default layer is the last block's output, and the map it gives
finds the object; ``filter_pattern`` works in the model's own input range.

The default layer is the last layer whose output is a spatial map that the
model's output depends on entirely (a dominator of the output in the layer
graph). For each architecture below the expected name was read off the
network: what follows it is only global pooling and the classifier, and the
layers just before it inside the last block are branches (a residual conv, a
shortcut, one tower of an inception module), which the old "last convolution"
rule picked.

Why the maps are a meaningful test with random weights (``weights=None``): the
image is black except one bright square, and at initialization these networks
have no bias that acts (zero biases, BatchNorm with its initial moving
statistics), so the activations are zero where the square's influence does not
reach and largest near it. The score is the top logit, whose class is the one
whose classifier weights best match the pooled features, which come from the
square: its class map is positive there. Each model sees the square in two
places, top-right then bottom-left, and the peak of the 4x4 map must be a cell
on the square, its quadrant outweighing the opposite one. A map that is
misplaced, flipped or transposed, or one read from a layer that does not follow
the square, fails. Where the top is global average pooling then a dense layer,
Grad-CAM at the right layer is exactly CAM (Zhou et al. 2016),
ReLU(sum_k w_kc A_k) / (H W). That identity fails for a layer inside the last
block, whose gradient is not the same at every position.
"""

import os

import keras
import numpy as np
import pytest
from keras import layers

from keras_cv_course import models, visualize
from keras_cv_course.preprocessing import value_range
from keras_cv_course.visualize.filters import input_preprocessing, pattern_value_range

# (registry name, input side, default layer); each input gives a 4x4 map there
ARCHITECTURES = [
    # conv5_block3: ..._3_conv -> ..._3_bn (the residual branch), + the identity
    # shortcut -> conv5_block3_add -> ReLU conv5_block3_out -> avg_pool -> predictions.
    # The old rule took conv5_block3_3_bn, the residual branch alone.
    ("resnet50", 128, "conv5_block3_out"),
    # conv5_block16_concat (the block's input joined with its new features) -> bn ->
    # relu -> avg_pool -> predictions: the final BN-ReLU. The old rule took
    # conv5_block16_2_conv, which only makes the block's 32 new channels.
    ("densenet121", 128, "relu"),
    # mixed10 concatenates its four towers (1x1, 3x3 pair, double 3x3 pair, pool
    # projection) -> avg_pool -> predictions. The old rule took the last tower's
    # mixed10_branch_pool_proj_conv. 171 px is the smallest side with a 4x4 mixed10.
    ("inception_v3", 171, "mixed10"),
    # inception5b_concat joins the module's four branches -> avgpool -> dropout ->
    # predictions. The old rule took a branch conv of inception5b.
    ("googlenet", 128, "inception5b_concat"),
]
# the square's quadrant (row, column) of the image
TOP_RIGHT, BOTTOM_LEFT = (0, 1), (1, 0)


def _square(size, quadrant):
    """``(image, box)``: a black (size, size, 3) image with a bright square of
    side size/4 in the middle of one quadrant, and the square's (top, left, bottom, right)."""
    image = np.zeros((size, size, 3), np.float32)
    half, side = size // 2, size // 4
    top, left = quadrant[0] * half + (half - side) // 2, quadrant[1] * half + (half - side) // 2
    image[top : top + side, left : left + side] = 1.0
    return image, (top, left, top + side, left + side)


def _cells_of(box, size, cells):
    """The (row, column) cells of a cells x cells map over a size x size image that
    overlap ``box``."""
    top, left, bottom, right = box
    step = size / cells
    rows = [r for r in range(cells) if r * step < bottom and (r + 1) * step > top]
    cols = [c for c in range(cells) if c * step < right and (c + 1) * step > left]
    return {(r, c) for r in rows for c in cols}


def _cam_of_top(model, image, layer):
    """CAM (Zhou et al.) for a GAP -> Dense top reading ``layer``, for the top
    logit's class: ReLU(sum_k w_kc A_k) / (H W)."""
    features = visualize.activations(model, image, layer)[layer][0]
    kernel, bias = model.get_layer("predictions").get_weights()
    c = int(np.argmax(features.mean(axis=(0, 1)) @ kernel + bias))
    return np.maximum(features @ kernel[:, c], 0.0) / (features.shape[0] * features.shape[1]), c


@pytest.mark.parametrize("name,size,expected", ARCHITECTURES, ids=[a[0] for a in ARCHITECTURES])
def test_default_layer_is_the_last_block_output_and_its_map_finds_the_square(name, size, expected):
    assert name in models.list_models()
    keras.utils.set_random_seed(0)
    model = models.get_model(name, input_shape=(size, size, 3))  # weights=None
    assert visualize.target_layer(model).name == expected
    for quadrant in (TOP_RIGHT, BOTTOM_LEFT):
        image, box = _square(size, quadrant)
        raw = visualize.grad_cam(model, image, upsample=False, normalize=False)[0]  # the top class
        assert raw.shape == (4, 4)
        # the peak is on the square, and the square's quadrant outweighs the opposite one
        peak = tuple(int(i) for i in np.unravel_index(np.argmax(raw), raw.shape))
        assert peak in _cells_of(box, size, 4), (quadrant, peak, raw)
        quadrants = raw.reshape(2, 2, 2, 2).mean(axis=(1, 3))  # (quadrant row, quadrant col)
        assert quadrants[quadrant] > quadrants[1 - quadrant[0], 1 - quadrant[1]], quadrants
        # after this layer come only global pooling and the classifier: Grad-CAM is CAM
        cam, _ = _cam_of_top(model, image, expected)
        np.testing.assert_allclose(raw, cam, rtol=1e-3, atol=1e-5 * cam.max())
        heatmap = visualize.upsample_maps(raw[None], (size, size))[0]  # as grad_cam draws it on the image
        row, col = np.unravel_index(np.argmax(heatmap), heatmap.shape)
        assert (row // (size // 2), col // (size // 2)) == quadrant
    # layer= still overrides the default
    branch = {"resnet50": "conv5_block3_3_bn", "densenet121": "conv5_block16_2_conv",
              "inception_v3": "mixed10_branch_pool_proj_conv", "googlenet": "inception5b_branch4_1_conv"}[name]
    assert visualize.target_layer(model, branch).name == branch


# ---------------------------------------------------------------- user-built models


def _residual_block_net(size=32, name="residual_net"):
    """stem conv -> one residual block -> Add -> ReLU ``block_out`` (16x16 for 32 px).
    The projection shortcut is built after the main path, so it is the last
    convolution in layer order: what the old rule took."""
    inputs = keras.Input((size, size, 3))
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="stem")(inputs)
    y = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu", name="block_conv1")(x)
    y = layers.Conv2D(16, 3, padding="same", name="block_conv2")(y)
    shortcut = layers.Conv2D(16, 1, strides=2, name="block_shortcut")(x)
    x = layers.Add(name="block_add")([y, shortcut])
    x = layers.Activation("relu", name="block_out")(x)
    return keras.Model(inputs, x, name=name)


def _with_top(body, classes=10, name="classifier"):
    x = layers.GlobalAveragePooling2D(name="avg_pool")(body.output)
    return keras.Model(body.input, layers.Dense(classes, activation="softmax", name="predictions")(x), name=name)


def test_user_residual_model_defaults_to_the_block_output_not_the_shortcut():
    keras.utils.set_random_seed(1)
    model = _with_top(_residual_block_net())  # one graph: stem ... block_out -> avg_pool -> predictions
    assert visualize.target_layer(model).name == "block_out"  # not block_shortcut, not block_conv2
    for top, left in [(3, 20), (20, 5)]:
        image = np.zeros((32, 32, 3), np.float32)
        image[top : top + 8, left : left + 8] = 1.0
        raw = visualize.grad_cam(model, image, upsample=False, normalize=False)[0]  # 16x16, stride 2
        cam, _ = _cam_of_top(model, image, "block_out")
        np.testing.assert_allclose(raw, cam, rtol=1e-3, atol=1e-6 * cam.max())
        row, col = np.unravel_index(np.argmax(raw), raw.shape)
        assert top - 2 <= 2 * row < top + 10 and left - 2 <= 2 * col < left + 10, ((top, left), (row, col))
        far = np.ones_like(raw, bool)
        far[max(top // 2 - 3, 0) : top // 2 + 7, max(left // 2 - 3, 0) : left // 2 + 7] = False
        assert raw[far].max() == 0.0  # nothing reaches there: a blank background gives zero activations
    # without the Activation the Add itself is the block's output
    join = layers.Add(name="join")([model.get_layer("block_conv2").output, model.get_layer("block_shortcut").output])
    bare = keras.Model(model.input, layers.Dense(3)(layers.GlobalAveragePooling2D()(join)), name="bare")
    assert visualize.target_layer(bare).name == "join"


def test_a_backbone_nested_as_a_layer_is_searched():
    keras.utils.set_random_seed(2)
    backbone = _residual_block_net(name="backbone")
    inputs = keras.Input((32, 32, 3))
    x = layers.GlobalAveragePooling2D(name="avg_pool")(backbone(inputs))
    functional = keras.Model(inputs, layers.Dense(4, name="predictions")(x), name="classifier")
    sequential = keras.Sequential([keras.Input((32, 32, 3)), backbone, layers.GlobalAveragePooling2D(), layers.Dense(4)])
    image = np.zeros((32, 32, 3), np.float32)
    image[4:12, 20:28] = 1.0
    for model in (functional, sequential):
        assert visualize.target_layer(model) is backbone.get_layer("block_out")  # inside the nested model
        raw = visualize.grad_cam(model, image, upsample=False, normalize=False)[0]
        row, col = np.unravel_index(np.argmax(raw), raw.shape)
        assert 2 <= 2 * row < 14 and 18 <= 2 * col < 30
    # a head after the backbone: the head's own last spatial layer; pooling and
    # dropout are passed over for the map they read
    x = layers.Conv2D(8, 1, activation="relu", name="head_conv")(backbone(inputs))
    x = layers.MaxPooling2D(2, name="head_pool")(x)
    x = layers.Dropout(0.5, name="head_dropout")(x)
    headed = keras.Model(inputs, layers.Dense(4)(layers.Flatten()(x)), name="headed")
    assert visualize.target_layer(headed).name == "head_conv"
    # the course's registered conv_base inside a Sequential
    conv_base = models.get_model("resnet50", include_top=False, input_shape=(64, 64, 3))
    course = keras.Sequential([keras.Input((64, 64, 3)), conv_base, layers.Flatten(), layers.Dense(2)])
    assert visualize.target_layer(course) is conv_base.get_layer("conv5_block3_out")


def test_shared_layers_and_several_outputs():
    keras.utils.set_random_seed(3)
    inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(4, 3, padding="same", activation="relu", name="stem")(inputs)
    shared = layers.Conv2D(4, 3, padding="same", activation="relu", name="shared")
    x = shared(shared(x))  # called twice: neither call's output is "the" output of `shared`
    model = keras.Model(inputs, layers.Dense(2)(layers.GlobalAveragePooling2D()(x)), name="shared_net")
    assert visualize.target_layer(model).name == "stem"
    assert np.isfinite(visualize.grad_cam(model, _square(16, TOP_RIGHT)[0])).all()
    # several outputs: the last layer every output depends on
    trunk = layers.Conv2D(4, 3, padding="same", activation="relu", name="trunk_out")(
        layers.Conv2D(4, 3, padding="same", name="trunk_in")(inputs))
    a = layers.Conv2D(4, 3, padding="same", name="head_a_conv")(trunk)
    a = layers.Dense(2, name="a")(layers.GlobalAveragePooling2D()(a))
    b = layers.Dense(3, name="b")(layers.GlobalAveragePooling2D()(trunk))
    assert visualize.target_layer(keras.Model(inputs, [a, b], name="two_heads")).name == "trunk_out"
    googlenet = models.get_model("googlenet", input_shape=(64, 64, 3), aux_logits=True)
    assert visualize.target_layer(googlenet).name == "inception4a_concat"  # aux1 branches off after 4a


def test_no_spatial_layer_the_output_depends_on_is_a_clear_error():
    inputs = keras.Input((8, 8, 3))
    mlp = keras.Model(inputs, layers.Dense(2)(layers.Flatten()(inputs)), name="mlp")
    with pytest.raises(ValueError, match=r"'mlp'.*layer="):
        visualize.target_layer(mlp)
    # two conv towers that only meet after pooling: no single map to explain
    left = layers.GlobalAveragePooling2D()(layers.Conv2D(2, 3, name="left_conv")(inputs))
    right = layers.GlobalAveragePooling2D()(layers.Conv2D(2, 3, name="right_conv")(inputs))
    towers = keras.Model(inputs, layers.Dense(2)(layers.Concatenate()([left, right])), name="towers")
    with pytest.raises(ValueError, match=r"'towers'.*layer=.*left_conv, right_conv"):
        visualize.grad_cam(towers, np.zeros((8, 8, 3), np.float32))
    assert visualize.grad_cam(towers, np.random.default_rng(0).random((8, 8, 3)), layer="left_conv").shape == (1, 8, 8)


# ---------------------------------------------------------------- filter patterns


def _vgg16(size=32):
    keras.utils.set_random_seed(4)
    return models.get_model("vgg16", include_top=False, input_shape=(size, size, 3))  # caffe, weights=None


def test_filter_pattern_of_a_caffe_model_lives_in_the_caffe_range():
    vgg = _vgg16()
    low, high = value_range("caffe")
    assert input_preprocessing(vgg) == "caffe" and pattern_value_range(vgg) == (low, high)
    raw = visualize.filter_pattern(vgg, "block1_conv2", 3, steps=5, deprocess=False)
    assert raw.min() >= low and raw.max() <= high
    # a gray start in the middle of the caffe range (about 14 to 36), not in [0, 1]
    assert raw.mean() == pytest.approx(low + 0.54 * (high - low), abs=0.08 * (high - low))
    assert raw.max() > 1.0 and raw.max() - raw.min() > 10.0
    # the course's Sequential([conv_base, ...]) records conv_base's preprocessing
    course = keras.Sequential([keras.Input((32, 32, 3)), vgg, layers.Flatten(), layers.Dense(2)])
    assert input_preprocessing(course) == "caffe"
    nested = visualize.filter_pattern(course, "block1_conv2", 3, steps=5, deprocess=False)
    np.testing.assert_allclose(nested, raw, rtol=1e-5, atol=1e-3)
    # explicit arguments override
    unit = visualize.filter_pattern(vgg, "block1_conv2", 3, steps=5, deprocess=False, value_range=(0.0, 1.0))
    assert unit.min() >= 0.0 and unit.max() <= 1.0
    tf_mode = visualize.filter_pattern(vgg, "block1_conv2", 3, steps=5, deprocess=False, preprocessing="tf")
    assert tf_mode.min() >= -1.0 and tf_mode.max() <= 1.0 and tf_mode.mean() == pytest.approx(0.08, abs=0.15)
    # a model the registry does not know keeps [0, 1]
    inputs = keras.Input((12, 12, 3))
    mine = keras.Model(inputs, layers.Conv2D(2, 3, name="conv")(inputs), name="mine")
    assert input_preprocessing(mine) is None
    plain = visualize.filter_pattern(mine, "conv", 0, steps=5, deprocess=False)
    assert plain.min() >= 0.0 and plain.max() <= 1.0


def test_long_pattern_galleries_report_progress(capsys):
    inputs = keras.Input((12, 12, 3))
    model = keras.Model(inputs, layers.Conv2D(4, 3, name="conv")(inputs), name="mine")
    lines = []
    visualize.filter_patterns(model, "conv", steps=3, verbose=True, progress_seconds=0, print_fn=lines.append)
    assert len(lines) == 3
    assert [line.split(": ")[0] for line in lines] == ["patterns conv (filters 0-3)"] * 3
    assert "step 1/3" in lines[0] and "step 2/3" in lines[1] and "done 3/3" in lines[2]
    assert "mean objective" in lines[0] and lines[2].endswith("s")
    # by default at most one line every progress_seconds, to stderr, and one when done
    visualize.filter_patterns(model, "conv", [2, 0], steps=3, verbose=True, progress_seconds=3600)
    captured = capsys.readouterr()
    assert captured.out == ""
    printed = captured.err.strip().splitlines()
    assert len(printed) == 1 and printed[0].startswith("patterns conv (2 filters): done 3/3")
    visualize.filter_pattern(model, "conv", 1, steps=2)  # quiet unless verbose
    assert capsys.readouterr().err == ""


def test_kcc_visualize_patterns_show_progress_on_stderr(tmp_path, capsys):
    from keras_cv_course.cli import main

    model = keras.Sequential([keras.Input((12, 12, 1)), layers.Conv2D(3, 3, name="conv1"), layers.Flatten(), layers.Dense(2)],
                             name="tiny")
    path = str(tmp_path / "tiny.keras")
    model.save(path)
    assert main(["visualize", path, "--what", "patterns", "--steps", "2", "--filters", "2", "--out", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert [os.path.basename(p) for p in captured.out.split()] == ["patterns_conv1.png"]
    assert "patterns conv1 (filters 0-1): done 2/2" in captured.err
