"""FCN-32s/16s/8s (segmentation/fcn.py): the bilinear kernel's closed form and
the frozen transposed convolution against keras.ops.image.resize, the reference
crop offsets, output size = input size for every variant and geometry at odd
and even sizes, parameter counts worked by hand, the .keras round trip in safe
mode, the void label 255 in the loss and the metrics, fc6/fc7 from a classifier
through convolutionize, and FCN heads on other backbones' feature taps."""

import keras
import numpy as np
import pytest
from keras import ops

from keras_cv_course import models
from keras_cv_course.models import _common, vgg
from keras_cv_course.segmentation import fcn
from keras_cv_course.tasks import SegmentationTask

VARIANTS = ("32s", "16s", "8s")
# VGG-16's layout (configuration D: 2, 2, 3, 3, 3 convolutions, 7×7 fc6) at 4 channels: the reference
# geometry of fcn*_vgg16 on a network small enough to run in a test.
NARROW_D = tuple(vgg.Stage((4,) * len(row.widths)) for row in vgg.CONFIGS["D"])


def rng_images(shape, batch=1, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (batch, *shape)).astype("float32")


def request_for(input_shape, classes=5, activation=None, name="narrow"):
    return _common.Request.resolve(name, _common.InputRules(224, 1, input_shape[-1]), include_top=True, weights=None,
                                   input_tensor=None, input_shape=input_shape, pooling=None, classes=classes,
                                   classifier_activation=activation)


def narrow_vgg16_fcn(variant, geometry, input_shape, **options):
    """fcn_family with VGG-16's layers at 4 channels (fc6/fc7 of 8)."""
    return fcn.fcn_family(request_for(input_shape), stages=NARROW_D, variant=variant, geometry=geometry,
                          fc_units=(8, 8), dropout=0.0, **options)


# ----------------------------------------------------------------------------- bilinear upsampling


def test_bilinear_kernel_is_the_closed_form():
    np.testing.assert_allclose(fcn.bilinear_kernel(4), np.outer([.25, .75, .75, .25], [.25, .75, .75, .25]))
    np.testing.assert_allclose(fcn.bilinear_kernel(3), np.outer([.5, 1, .5], [.5, 1, .5]))
    # k = 64 (FCN-32s): factor 32, centre 31.5, w(x) = 1 - |x - 31.5| / 32 per axis.
    axis = 1 - np.abs(np.arange(64) - 31.5) / 32
    np.testing.assert_allclose(fcn.bilinear_kernel(64), np.outer(axis, axis), atol=1e-7)
    kernel = ops.convert_to_numpy(fcn.BilinearInitializer()((4, 4, 3, 3)))
    for out in range(3):
        for inp in range(3):
            expected = fcn.bilinear_kernel(4) if out == inp else np.zeros((4, 4))
            np.testing.assert_array_equal(kernel[:, :, out, inp], expected)
    with pytest.raises(ValueError, match=r"shape \(k, k, C, C\); got \(4, 4, 3, 2\)"):
        fcn.BilinearInitializer()((4, 4, 3, 2))


@pytest.mark.parametrize("factor", [2, 8, 16, 32])
def test_frozen_upsampling_equals_bilinear_resize_in_the_interior(factor):
    x = np.random.default_rng(factor).normal(size=(2, 5, 4, 3)).astype("float32")
    same = ops.convert_to_numpy(fcn.BilinearUpsampling(factor, padding="same")(x))
    resized = ops.convert_to_numpy(ops.image.resize(x, (5 * factor, 4 * factor), interpolation="bilinear"))
    assert same.shape == resized.shape == (2, 5 * factor, 4 * factor, 3)
    # Away from the border (half an input cell): resize clamps to the edge, the transposed conv pads zeros.
    interior = np.s_[:, factor // 2:-(factor // 2), factor // 2:-(factor // 2)]
    np.testing.assert_allclose(same[interior], resized[interior], atol=1e-5)
    assert not np.allclose(same, resized, atol=1e-3)  # the border does differ
    # "valid" (the reference nets' deconvolution) is the same map with factor/2 more rows and columns before.
    valid = ops.convert_to_numpy(fcn.BilinearUpsampling(factor, padding="valid")(x))
    assert valid.shape == (2, 4 * factor + 2 * factor, 3 * factor + 2 * factor, 3)
    half = factor // 2
    np.testing.assert_allclose(valid[:, half:half + 5 * factor, half:half + 4 * factor], same, atol=1e-5)


def test_upsampling_is_frozen_unless_learnable_even_when_the_layer_is_unfrozen():
    frozen, learnable = fcn.BilinearUpsampling(2), fcn.BilinearUpsampling(2, learnable=True)
    for layer in (frozen, learnable):
        layer.build((None, 4, 4, 3))
    frozen.trainable = True
    assert frozen.trainable_weights == [] and len(frozen.non_trainable_weights) == 1
    assert len(learnable.trainable_weights) == 1
    model = models.get_model("fcn8s_fashion", width=4, learnable_upsampling=True)
    assert all(model.get_layer(name).kernel.trainable for name in ("upscore2", "upscore_pool4", "upscore8"))
    with pytest.raises(ValueError, match="factor >= 1 and kernel_size >= factor; got factor 4, kernel_size 2"):
        fcn.BilinearUpsampling(4, kernel_size=2)


# ----------------------------------------------------------------------------- geometry


def test_crop_offsets_are_the_published_ones():
    assert fcn.crop_offsets("32s") == {"score": 19}
    assert fcn.crop_offsets("16s") == {"score_pool4c": 5, "score": 27}
    assert fcn.crop_offsets("8s") == {"score_pool4c": 5, "score_pool3c": 9, "score": 31}
    assert set(fcn.crop_offsets("8s", "same").values()) == {0}
    with keras.StatelessScope():
        model = models.get_model("fcn8s_vgg16")
    assert model.get_layer("block1_conv1_pad").padding == ((100, 100), (100, 100))
    assert {name: model.get_layer(name).offset for name in ("score_pool4c", "score_pool3c", "score")} == {
        "score_pool4c": 5, "score_pool3c": 9, "score": 31}
    with pytest.raises(ValueError, match="geometry must be one of 'caffe', 'same'; got 'reflect'"):
        fcn.crop_offsets("8s", "reflect")


@pytest.mark.parametrize("geometry", ["caffe", "same"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_output_size_equals_input_size_at_odd_and_even_sizes(variant, geometry):
    for height, width in ((64, 64), (97, 50), (33, 128)):
        model = narrow_vgg16_fcn(variant, geometry, (height, width, 3))
        assert model(rng_images((height, width, 3)), training=False).shape == (1, height, width, 5)
        with keras.StatelessScope():  # the registered VGG-16 nets: the same geometry, shapes only
            registered = models.get_model(f"fcn{variant}_vgg16", input_shape=(height, width, 3), geometry=geometry)
        assert registered.output_shape == (None, height, width, 21)
    any_size = narrow_vgg16_fcn(variant, geometry, (None, None, 3))
    for height, width in ((45, 61), (64, 32)):
        assert any_size(rng_images((height, width, 3)), training=False).shape == (1, height, width, 5)


@pytest.mark.parametrize("variant", VARIANTS)
def test_fashion_nets_keep_the_input_size(variant):
    for shape in ((128, 128, 1), (97, 64, 1)):
        model = models.get_model(f"fcn{variant}_fashion", input_shape=shape, width=4)
        assert model(rng_images(shape), training=False).shape == (1, *shape[:2], 11)
    with keras.StatelessScope():
        model = models.get_model(f"fcn{variant}_fashion")
    cropping = [layer for layer in model.layers if isinstance(layer, fcn.CropToReference)]
    # At 128×128 (a multiple of 32) the "same" geometry crops nothing.
    assert cropping and all(tuple(layer.input[0].shape) == tuple(layer.output.shape) for layer in cropping)


def test_same_geometry_is_aligned_scores_at_stride_32_upsample_to_the_right_pixels():
    """One class scored only in fc7's cell (1, 2) of a 128×128 image: after the
    frozen 32× upsampling, the scores peak on that cell's 32×32 pixels."""
    model = models.get_model("fcn32s_fashion", width=4)
    features = keras.Model(model.input, model.get_layer("score_fr").input)(rng_images((128, 128, 1)))
    assert features.shape[1:3] == (4, 4)
    peak = np.zeros((1, 4, 4, 11), "float32")
    peak[0, 1, 2, 3] = 1.0
    upsampled = ops.convert_to_numpy(model.get_layer("upscore")(peak))[0, :, :, 3]
    rows, cols = np.nonzero(upsampled == upsampled.max())
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (47, 48, 79, 80)  # the centre of rows 32..63, cols 64..95


def test_without_the_top_the_net_gives_fc7s_map():
    model = models.get_model("fcn8s_fashion", width=4, include_top=False, input_shape=(128, 128, 1))
    assert model.output_shape == (None, 4, 4, 64) and model.layers[-1].name == "fc7_relu"
    assert models.get_model("fcn8s_fashion", width=4, include_top=False, pooling="avg").output_shape == (None, 64)


def test_score_layers_start_at_zero_so_every_class_starts_equally_likely():
    model = models.get_model("fcn8s_fashion", width=4)
    for name in ("score_fr", "score_pool4", "score_pool3"):
        assert not np.any(model.get_layer(name).get_weights()[0])
    np.testing.assert_allclose(ops.convert_to_numpy(model(rng_images((128, 128, 1)), training=False)), 1 / 11,
                               atol=1e-6)


def test_at_once_scales_the_skips():
    model = models.get_model("fcn8s_fashion", width=4, at_once=True)
    assert model.get_layer("scale_pool4").scale == 0.01 and model.get_layer("scale_pool3").scale == 0.0001
    with pytest.raises(ValueError, match="No such layer|scale_pool4"):
        models.get_model("fcn8s_fashion", width=4).get_layer("scale_pool4")


def test_bad_options_and_crops_are_refused_naming_the_value():
    with pytest.raises(ValueError, match="variant must be one of '32s', '16s', '8s'; got '4s'"):
        narrow_vgg16_fcn("4s", "same", (64, 64, 3))
    with pytest.raises(ValueError, match="'crop' cannot crop a map of size 10 to 12 at offset 0: it needs at least 12"):
        fcn.CropToReference(name="crop")([keras.Input((10, 10, 2)), keras.Input((12, 12, 2))])
    with pytest.raises(ValueError, match=r"strides powers of two .* got strides \[32, 24\]"):
        fcn.fcn_head(keras.Input((64, 64, 3)), [("a", keras.Input((2, 2, 4))), ("b", keras.Input((3, 3, 4)))],
                     [32, 24], classes=3)


# ----------------------------------------------------------------------------- parameter counts


def vgg16_conv_params():
    """Configuration D's 13 convolutions, 3×3 kernels with bias."""
    widths = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    return sum(9 * c_in * c_out + c_out for c_in, c_out in zip([3] + widths[:-1], widths))


def test_vgg16_fcn_parameter_counts_by_hand():
    classes, conv = 21, vgg16_conv_params()
    assert conv == 14_714_688  # keras.applications VGG16(include_top=False)
    fc6, fc7 = 7 * 7 * 512 * 4096 + 4096, 4096 * 4096 + 4096
    score_fr, score_pool4, score_pool3 = 4096 * classes + classes, 512 * classes + classes, 256 * classes + classes
    deconv = {k: k * k * classes * classes for k in (64, 32, 16, 4)}  # C×C kernels, no bias
    expected = {
        "32s": conv + fc6 + fc7 + score_fr + deconv[64],
        "16s": conv + fc6 + fc7 + score_fr + deconv[4] + score_pool4 + deconv[32],
        "8s": conv + fc6 + fc7 + score_fr + deconv[4] + score_pool4 + deconv[4] + score_pool3 + deconv[16],
    }
    assert expected == {"32s": 136_152_917, "16s": 134_815_994, "8s": 134_489_759}
    for variant, count in expected.items():
        with keras.StatelessScope():
            model = models.get_model(f"fcn{variant}_vgg16")
        assert model.count_params() == count == models.model_info(f"fcn{variant}_vgg16").params
        frozen = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
        assert frozen == count - conv - fc6 - fc7 - score_fr - (variant != "32s") * score_pool4 \
            - (variant == "8s") * score_pool3  # only the bilinear kernels are frozen
    # The paper's Table 1 "134M" for FCN-VGG16 counts the learned weights of FCN-32s (without its fixed deconv).
    assert round((expected["32s"] - deconv[64]) / 1e6) == 134


def test_fashion_fcn_parameter_counts_by_hand():
    classes, w = 11, 16
    widths = [w, 2 * w, 4 * w, 4 * w, 8 * w, 8 * w, 8 * w, 8 * w]  # convs (1, 1, 2, 2, 2)
    trunk = sum(9 * c_in * c_out + 4 * c_out for c_in, c_out in zip([1] + widths[:-1], widths))  # no bias, BN: 4/ch
    fc = 9 * 8 * w * 16 * w + 4 * 16 * w + 16 * w * 16 * w + 4 * 16 * w
    score_fr, score_pool4, score_pool3 = 16 * w * classes + classes, 8 * w * classes + classes, 4 * w * classes + classes
    deconv = {k: k * k * classes * classes for k in (64, 32, 16, 4)}
    expected = {
        "32s": trunk + fc + score_fr + deconv[64],
        "16s": trunk + fc + score_fr + deconv[4] + score_pool4 + deconv[32],
        "8s": trunk + fc + score_fr + deconv[4] + score_pool4 + deconv[4] + score_pool3 + deconv[16],
    }
    for variant, count in expected.items():
        assert models.model_info(f"fcn{variant}_fashion").params == count
        with keras.StatelessScope():
            assert models.get_model(f"fcn{variant}_fashion").count_params() == count


# ----------------------------------------------------------------------------- saving


@pytest.mark.parametrize("build", ["fashion_8s_learnable", "narrow_caffe_16s"])
def test_keras_round_trip_in_safe_mode(build, tmp_path):
    if build == "fashion_8s_learnable":
        model = models.get_model("fcn8s_fashion", width=4, learnable_upsampling=True, at_once=True)
        images = rng_images((128, 128, 1), batch=2)
    else:
        model = narrow_vgg16_fcn("16s", "caffe", (None, None, 3))
        images = rng_images((70, 51, 3), batch=2)
    # Non-zero scores so the output depends on every layer.
    for layer in model.layers:
        if layer.name.startswith("score_") and layer.weights:
            layer.set_weights([np.random.default_rng(1).normal(size=w.shape).astype("float32") for w in layer.weights])
    expected = ops.convert_to_numpy(model(images, training=False))
    path = tmp_path / "fcn.keras"
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(ops.convert_to_numpy(restored(images, training=False)), expected, atol=1e-5)
    for layer in model.layers:
        if isinstance(layer, (fcn.BilinearUpsampling, fcn.CropToReference)):
            assert restored.get_layer(layer.name).get_config() == layer.get_config()


# ----------------------------------------------------------------------------- the void label


def test_void_label_contributes_no_loss_and_no_metric():
    """Pixels labelled 255 change neither the loss nor any metric, whatever is
    predicted there; the loss is the mean over the other pixels."""
    model = models.get_model("fcn32s_fashion", width=4)
    task = SegmentationTask().bind(model)
    assert task.from_logits is False and task.num_classes == 11
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 11, size=(2, 8, 8)).astype("int32")
    truth[:, :3] = 255
    scores = rng.dirichlet(np.ones(11), size=(2, 8, 8)).astype("float32")
    other = scores.copy()
    other[:, :3] = rng.dirichlet(np.ones(11), size=(2, 3, 8))  # different predictions on the void pixels only
    valid = truth != 255
    by_hand = -np.log(np.take_along_axis(scores, np.where(valid, truth, 0)[..., None], -1)[..., 0])[valid].mean()
    kwargs = task.compile_kwargs(model)
    assert [m.name for m in kwargs["metrics"]] == ["mean_iou", "pixel_accuracy"]
    values = []
    for predicted in (scores, other):
        loss = float(kwargs["loss"](truth, predicted))
        metrics = []
        for metric in task.compile_kwargs(model)["metrics"]:
            metric.update_state(truth, predicted)
            metrics.append(float(metric.result()))
        values.append([loss, *metrics])
    assert values[0][0] == pytest.approx(by_hand, rel=1e-5)
    assert values[0] == pytest.approx(values[1], rel=1e-6)
    correct = (scores.argmax(-1) == truth)[valid].mean()
    assert values[0][2] == pytest.approx(correct, rel=1e-6)  # pixel accuracy over the 40 valid pixels an image

    class Fixed:  # a "model" that returns the given scores, for task.evaluate
        def __init__(self, outputs):
            self.outputs = outputs

        def __call__(self, images, training=False):
            return self.outputs

    summaries = [task.evaluate(Fixed(p), [(None, truth)]) for p in (scores, other)]
    assert summaries[0]["pixels"] == int(valid.sum()) == 80
    assert summaries[0]["mean_iou"] == summaries[1]["mean_iou"]
    assert summaries[0]["pixel_accuracy"] == pytest.approx(correct)


# ----------------------------------------------------------------------------- weights and backbones


def test_fc6_fc7_come_from_the_classifier_through_convolutionize():
    """A VGG-like classifier (VGG-16's layers at 4 channels, 224×224, Flatten →
    fc1 → fc2 → predictions) fills the FCN's convolutions and fc6/fc7; at 224×224
    in the "same" geometry fc7's centre cell sees exactly the classifier's 7×7
    map, so it equals the classifier's fc2 output."""
    classifier = vgg.vgg_family(request_for((224, 224, 3), activation="softmax", name="classifier"), stages=NARROW_D,
                                fc_units=(8, 8))
    model = narrow_vgg16_fcn("8s", "same", (224, 224, 3))
    filled = fcn.load_classifier_weights(model, classifier)
    assert {"block1_conv1", "block5_conv3", "fc6", "fc7"} <= set(filled) and "score_fr" not in filled
    np.testing.assert_array_equal(model.get_layer("fc6").get_weights()[0],
                                  classifier.get_layer("fc1").get_weights()[0].reshape(7, 7, 4, 8))
    images = rng_images((224, 224, 3), batch=2)
    fc7 = keras.Model(model.input, model.get_layer("fc7").output)(images)
    fc2 = keras.Model(classifier.input, classifier.get_layer("fc2").output)(images)
    np.testing.assert_allclose(ops.convert_to_numpy(fc7)[:, 3, 3], ops.convert_to_numpy(fc2), rtol=1e-4, atol=1e-5)
    wider = fcn.fcn_family(request_for((224, 224, 3)), stages=NARROW_D, variant="8s", geometry="same",
                           fc_units=(16, 16))
    with pytest.raises(ValueError, match=r"layer 'fc1' has weights of shapes .*'fc6' needs"):
        fcn.load_classifier_weights(wider, classifier)


def test_backbone_weights_start_the_fcn_from_that_vgg16_classifier(monkeypatch):
    from keras_cv_course.models import registry

    classifier = vgg.vgg_family(request_for((224, 224, 3), activation="softmax", name="classifier"), stages=NARROW_D,
                                fc_units=(8, 8))
    asked = []
    monkeypatch.setattr(registry, "get_model", lambda name, **kw: asked.append((name, kw)) or classifier)
    model = narrow_vgg16_fcn("32s", "caffe", (64, 64, 3), backbone_weights="imagenet")
    assert asked == [("vgg16", {"weights": "imagenet"})]
    for fcn_layer, classifier_layer in (("block3_conv2", "block3_conv2"), ("fc7", "fc2")):
        np.testing.assert_array_equal(model.get_layer(fcn_layer).get_weights()[1],
                                      classifier.get_layer(classifier_layer).get_weights()[1])


def test_vgg_taps_pool3_and_pool4_the_first_layer_at_their_stride():
    info = models.model_info("vgg16")
    assert (info.tap("pool3").layer, info.tap("pool3").stride) == ("block3_pool", 8)
    assert (info.tap("pool4").layer, info.tap("pool4").stride) == ("block4_pool", 16)
    assert info.tap("P4").layer == "block5_conv3"  # the primary tap stays the deepest layer at the stride
    assert models.model_info("fashion_vgg").tap("pool2").layer == "block2_pool"


@pytest.mark.parametrize("backbone, levels, shape", [
    ("vgg16", ("P5", "pool4", "pool3"), (64, 96, 3)),
    ("resnet18", ("P5", "P4", "P3"), (64, 64, 3)),
    ("resnet18", ("P5", "P4"), (96, 64, 3)),
])
def test_fcn_head_on_a_backbones_feature_taps(backbone, levels, shape):
    model = fcn.fcn_on_backbone(backbone, levels, classes=4, input_shape=shape)
    stride = models.model_info(backbone).tap(levels[-1]).stride
    assert model.name == f"fcn{stride}s_{backbone}"
    assert model(rng_images(shape), training=False).shape == (1, *shape[:2], 4)
    expected = {"score_fr", "upscore2", f"upscore{stride}", "score", "masks"} | {f"score_{k.lower()}" for k in levels[1:]}
    assert expected <= {layer.name for layer in model.layers}
