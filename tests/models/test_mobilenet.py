"""MobileNet v1/v2 beyond the keras.applications twin sweep
(test_keras_applications_parity.py): the width options layer for layer, the
taps, and the ImageNet weight files (Keras's names, loaded through the Keras cache)."""

import inspect

import keras
import numpy as np
import pytest

from keras_cv_course import models
from keras_cv_course.models import mobilenet

from _keras_parity import assert_same_architecture, build_twins, randomize_weights, save_legacy_h5, shapes_only

SMALL = (64, 64, 3)


def run(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def test_registry_facts():
    v1, v2 = models.model_info("mobilenet"), models.model_info("mobilenet_v2")
    assert (v1.params, v2.params) == (4_253_864, 3_538_984)
    assert v1.preprocessing == v2.preprocessing == "tf"
    assert [t.level for t in v1.taps] == [t.level for t in v2.taps] == ["P2", "P3", "P4", "P5"]


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("mobilenet", dict(alpha=0.5, depth_multiplier=2)),
        ("mobilenet", dict(alpha=0.25)),
        ("mobilenet_v2", dict(alpha=0.35)),
        ("mobilenet_v2", dict(alpha=1.4)),
    ],
)
def test_width_options_match_keras_layer_for_layer(name, kwargs):
    with shapes_only():  # no weight is materialised
        model, reference = build_twins(name, include_top=False, input_shape=(32, 32, 3), **kwargs)
        assert assert_same_architecture(model, reference) == []  # every name is Keras's own


def test_taps_are_the_deepest_maps_at_each_stride():
    model = models.MobileNetV2(include_top=False, input_shape=(224, 224, 3))
    info = models.model_info("mobilenet_v2")
    for tap in info.taps:
        assert model.get_layer(tap.layer).output.shape == (None, 224 // tap.stride, 224 // tap.stride, tap.channels)
    # block_13 starts the stride-32 stage: its expansion is the last stride-16 map
    assert model.get_layer("block_13_depthwise").output.shape[1] == 7


def test_weight_file_names_are_keras_own():
    from keras.src.applications import mobilenet as keras_v1
    from keras.src.applications import mobilenet_v2 as keras_v2

    v1 = mobilenet.mobilenet_v1_weights(0.75, 160)
    assert v1.top.fname == "mobilenet_%s_%d_tf.h5" % ("7_5", 160)
    assert v1.notop.fname == "mobilenet_%s_%d_tf_no_top.h5" % ("7_5", 160)
    assert '"mobilenet_%s_%d_tf.h5"' in inspect.getsource(keras_v1) and '"7_5"' in inspect.getsource(keras_v1)
    assert v1.top.origin == keras_v1.BASE_WEIGHT_PATH + v1.top.fname
    v2 = mobilenet.mobilenet_v2_weights(1.0, 224)
    assert v2.top.fname == "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5"
    assert v2.notop.fname == "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
    source = inspect.getsource(keras_v2)
    assert '"mobilenet_v2_weights_tf_dim_ordering_tf_kernels"' in source and 'f"_{float(alpha)}_{rows}.h5"' in source
    assert v2.top.origin == keras_v2.BASE_WEIGHT_PATH + v2.top.fname
    assert v1.top.file_hash is None and v2.top.file_hash is None  # Keras checks none
    assert models.model_info("mobilenet").weights["imagenet"].top.fname == "mobilenet_1_0_224_tf.h5"


def test_imagenet_weights_load_from_the_keras_cache(tmp_path, monkeypatch):
    """A file under $KERAS_HOME/models with Keras's name is what weights="imagenet" loads."""
    reference = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(96, 96, 3))
    randomize_weights(reference, seed=3)
    (tmp_path / "models").mkdir()
    save_legacy_h5(reference, tmp_path / "models" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    model = models.MobileNetV2(weights="imagenet", include_top=False, input_shape=(96, 96, 3))
    x = np.random.default_rng(0).uniform(-1, 1, (1, 96, 96, 3)).astype("float32")
    np.testing.assert_allclose(run(model, x), run(reference, x), atol=1e-5)


def test_imagenet_option_errors():
    with pytest.raises(ValueError, match="alpha"):
        models.MobileNet(weights="imagenet", alpha=0.6)
    with pytest.raises(ValueError, match="depth_multiplier"):
        models.MobileNet(weights="imagenet", depth_multiplier=2)
    with pytest.raises(ValueError, match="alpha"):
        models.MobileNetV2(weights="imagenet", alpha=0.6)
    with pytest.raises(ValueError, match="1000 classes"):
        models.MobileNetV2(weights="imagenet", classes=10)


def test_imagenet_file_and_default_name_follow_alpha_and_input_side(monkeypatch):
    """Keras's choice: the file of (alpha, side) for a square side it has files for,
    else the 224 file with a warning (and, with the top, a refusal before building)."""
    from keras_cv_course.models import _common

    fetched = []

    def fetch(remote, model_name):
        fetched.append((model_name, remote.fname))
        raise LookupError("stop before loading")

    monkeypatch.setattr(_common.RemoteFile, "fetch", fetch)
    with keras.StatelessScope():
        with pytest.raises(LookupError):
            models.MobileNet(weights="imagenet", alpha=0.5, input_shape=(160, 160, 3))
        with pytest.warns(UserWarning, match=r"\(224, 224\) will be loaded"), pytest.raises(LookupError):
            models.MobileNetV2(weights="imagenet", alpha=0.35, include_top=False, input_shape=(100, 100, 3))
        with pytest.raises(ValueError, match="include_top=True needs a square input of side 128, 160, 192, 224"):
            models.MobileNet(weights="imagenet", input_shape=(100, 100, 3))
        assert models.MobileNetV2(alpha=0.35, input_shape=(96, 96, 3), include_top=False).name == "mobilenetv2_0.35_96"
        assert models.MobileNet(alpha=0.75, input_shape=(100, 100, 3), name="mine").name == "mine"
    assert fetched == [("mobilenet_0.50_160", "mobilenet_5_0_160_tf.h5"),
                       ("mobilenetv2_0.35_224", "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5")]


def test_taps_are_generated_from_the_tables():
    assert [(t.level, t.layer, t.channels) for t in models.model_info("mobilenet").taps] == [
        ("P2", "conv_pw_3_relu", 128), ("P3", "conv_pw_5_relu", 256),
        ("P4", "conv_pw_11_relu", 512), ("P5", "conv_pw_13_relu", 1024)]
    assert [(t.level, t.layer, t.channels) for t in models.model_info("mobilenet_v2").taps] == [
        ("P2", "block_3_expand_relu", 144), ("P3", "block_6_expand_relu", 192),
        ("P4", "block_13_expand_relu", 576), ("P5", "out_relu", 1280)]
