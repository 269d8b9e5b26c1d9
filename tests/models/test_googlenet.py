"""GoogLeNet: torchvision's and the paper's parameter counts, 5×5 vs 3×3,
auxiliary classifiers, feature taps."""

import keras
import numpy as np
import pytest

from keras_cv_course.models import GoogLeNet, model_info
from keras_cv_course.models.googlenet import AUX_LOSS_WEIGHTS, AUX_PAPER_MIN_SIZE, INCEPTION_STAGES

MODULES = [filters for _, modules, _ in INCEPTION_STAGES for _, filters in modules]
STEM_WIDTHS = (64, 64, 192)
BN_CHANNELS = sum(STEM_WIDTHS) + sum(sum(filters) for filters in MODULES)
FC = 1024 * 1000 + 1000


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def _aux_trainable(in_channels, classes, batch_norm=True):
    """conv 1×1 → 128 (+ BN gamma/beta, or a bias), fc1 2048 → 1024, fc2 1024 → classes."""
    return in_channels * 128 + (2 * 128 if batch_norm else 128) + 2048 * 1024 + 1024 + 1024 * classes + classes


def test_torchvision_variant_parameters_kernels_and_taps():
    assert BN_CHANNELS == 7280
    model = GoogLeNet(input_shape=(64, 64, 3))
    # torchvision's 6,624,904 counts trainable weights; Keras also counts the BN
    # moving mean and variance that PyTorch keeps as buffers.
    assert _trainable(model) == 6_624_904
    assert model.count_params() == 6_624_904 + 2 * BN_CHANNELS == model_info("googlenet").params
    assert model.output_shape == (None, 1000)
    assert not [l.name for l in model.layers if l.name.startswith("aux")]
    for stage, modules, _ in INCEPTION_STAGES:
        for letter, filters in modules:
            conv = model.get_layer(f"inception{stage}{letter}_branch3_1_conv")
            assert conv.kernel.shape[:2] == (3, 3)  # torchvision's "5×5" branch is 3×3
    # Taps (generated from the stage table) at 64×64: exactly input / stride (ceil-mode pools).
    assert [(t.level, t.layer) for t in model_info("googlenet").taps] == [
        ("P1", "conv1_relu"), ("P2", "conv3_relu"), ("P3", "inception3b_concat"), ("P4", "inception4e_concat"),
        ("P5", "inception5b_concat")]
    assert [t.layer for t in model_info("googlenet_paper").taps][:2] == ["conv1_conv", "conv3_lrn"]
    for tap in model_info("googlenet").taps:
        assert model.get_layer(tap.layer).output.shape[1:] == (64 // tap.stride, 64 // tap.stride, tap.channels)


def test_paper_variant_has_5x5_convs_lrn_biases_and_no_batch_norm():
    model = GoogLeNet(variant="paper", input_shape=(64, 64, 3))
    assert model.name == "googlenet_paper"
    for stage, modules, _ in INCEPTION_STAGES:
        for letter, (_, _, _, n5_reduce, n5, _) in modules:
            conv = model.get_layer(f"inception{stage}{letter}_branch3_1_conv")
            assert conv.kernel.shape == (5, 5, n5_reduce, n5) and conv.use_bias
    assert not [l for l in model.layers if isinstance(l, keras.layers.BatchNormalization)]
    assert [l.name for l in model.layers if "lrn" in l.name] == ["maxpool1_lrn", "conv3_lrn"]
    # From torchvision's count: BN gamma/beta become conv biases, and each 5×5
    # branch has 25 - 9 = 16 more weights per (reduce, out) channel pair.
    extra_5x5 = 16 * sum(n5_reduce * n5 for _, _, _, n5_reduce, n5, _ in MODULES)
    expected = 6_624_904 - 2 * BN_CHANNELS + BN_CHANNELS + extra_5x5
    assert model.count_params() == expected == 6_998_552 == model_info("googlenet_paper").params


def test_aux_logits_three_compile_ready_outputs():
    rng = np.random.default_rng(0)
    classes = 10
    model = GoogLeNet(aux_logits=True, input_shape=(64, 64, 3), classes=classes)
    assert model.output_names == ["predictions", "aux1_predictions", "aux2_predictions"]
    assert [tuple(o.shape) for o in model.outputs] == [(None, classes)] * 3
    main = 6_624_904 - FC + 1024 * classes + classes
    assert _trainable(model) == main + _aux_trainable(512, classes) + _aux_trainable(528, classes)
    # The same arithmetic gives torchvision's figure with the aux heads and 1000 classes.
    assert 6_624_904 + _aux_trainable(512, 1000) + _aux_trainable(528, 1000) == 13_004_888
    assert AUX_LOSS_WEIGHTS == {"predictions": 1.0, "aux1_predictions": 0.3, "aux2_predictions": 0.3}
    model.compile(
        optimizer="sgd",
        loss={name: "sparse_categorical_crossentropy" for name in AUX_LOSS_WEIGHTS},
        loss_weights=AUX_LOSS_WEIGHTS,
        run_eagerly=True,  # one step: tracing a graph would cost far more than it
    )
    x = rng.uniform(-1, 1, size=(2, 64, 64, 3)).astype("float32")
    y = np.array([1, 3])
    logs = model.train_on_batch(x, {name: y for name in AUX_LOSS_WEIGHTS}, return_dict=True)
    weighted = sum(weight * logs[f"{name}_loss"] for name, weight in AUX_LOSS_WEIGHTS.items())
    assert np.isfinite(logs["loss"]) and logs["loss"] == pytest.approx(weighted, rel=1e-5)
    predictions = model(x, training=False)
    assert len(predictions) == 3 and all(tuple(p.shape) == (2, classes) for p in predictions)


def test_paper_aux_heads_pool_5x5_stride_3():
    size = AUX_PAPER_MIN_SIZE
    model = GoogLeNet(variant="paper", aux_logits=True, input_shape=(size, size, 3), classes=5)
    assert model.get_layer("aux1_pool").output.shape[1:3] == (1, 1)
    assert model.get_layer("aux2_conv_conv").kernel.shape == (1, 1, 528, 128)
    with pytest.raises(ValueError, match="too small"):
        GoogLeNet(variant="paper", aux_logits=True, input_shape=(size - 1, size - 1, 3))


def test_aux_logits_need_the_top_and_variant_is_checked():
    with pytest.raises(ValueError, match="include_top"):
        GoogLeNet(include_top=False, aux_logits=True)
    with pytest.raises(ValueError, match="variant"):
        GoogLeNet(variant="caffe")
