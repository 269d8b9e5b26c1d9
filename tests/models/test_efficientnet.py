"""EfficientNet-B0…B7 against keras.applications: B0 fully (parameters, every
layer's name, identical predictions with copied weights, the ImageNet path with
its extra rescaling), B1–B7 layer for layer (shapes only); Keras's weight
file names and hashes; the in-model normalization through save/load."""

import hashlib

import keras
import numpy as np
import pytest

from keras_cv_course import models
from keras_cv_course.models import efficientnet

from _keras_parity import assert_same_architecture, build_twins, randomize_batch_norm, save_legacy_h5, shapes_only

SMALL = (64, 64, 3)


def run(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def test_b0_parity_params_layers_and_predictions():
    model, reference = build_twins("efficientnet_b0", input_shape=SMALL)
    assert reference.count_params() == model.count_params() == 5_330_571 == models.model_info("efficientnet_b0").params
    # Every layer Keras's, its automatically named Rescaling(1/255) and Normalization
    # (ours: ImageNormalization, the same weights) named "rescaling" and "normalization".
    renamed = assert_same_architecture(model, reference)
    assert [ours for ours, _ in renamed] == ["rescaling", "normalization"]
    assert isinstance(reference.get_layer(renamed[1][1]), keras.layers.Normalization)
    drops = {l.name: l.rate for l in reference.layers if l.name.endswith("_drop")}
    assert drops and drops == {l.name: l.rate for l in model.layers if l.name.endswith("_drop")}
    randomize_batch_norm(reference, np.random.default_rng(0))
    model.set_weights(reference.get_weights())
    x = np.random.default_rng(0).uniform(0, 255, (2,) + SMALL).astype("float32")
    np.testing.assert_allclose(run(model, x), run(reference, x), atol=1e-5)


@pytest.mark.parametrize("variant", ["b1", "b2", "b3", "b4", "b5", "b6", "b7"])
def test_b1_to_b7_weighted_layers_match_keras(variant):
    number = variant[1]
    with shapes_only():  # no weight is materialised
        model, reference = build_twins(f"efficientnet_b{number}", include_top=False, input_shape=(32, 32, 3))
        assert [ours for ours, _ in assert_same_architecture(model, reference)] == ["rescaling", "normalization"]
        # the registered count is the notop count plus the Dense top
        top_width = efficientnet.round_filters(1280, efficientnet.VARIANTS[variant][0])
        assert model.count_params() + top_width * 1000 + 1000 == models.model_info(f"efficientnet_{variant}").params


def test_weight_specs_use_keras_file_names_and_hashes():
    from keras.src.applications import efficientnet as keras_efficientnet

    assert efficientnet.WEIGHTS_HASHES == keras_efficientnet.WEIGHTS_HASHES
    assert efficientnet.KERAS_WEIGHTS_BASE == keras_efficientnet.BASE_WEIGHTS_PATH
    for variant in efficientnet.VARIANTS:
        spec = models.model_info(f"efficientnet_{variant}").weights["imagenet"]
        keras_name = f"efficientnet{variant}"  # keras.applications' default model name
        assert (spec.top.fname, spec.notop.fname) == (keras_name + ".h5", keras_name + "_notop.h5")
        assert spec.top.origin == keras_efficientnet.BASE_WEIGHTS_PATH + spec.top.fname
        assert (spec.top.file_hash, spec.notop.file_hash) == keras_efficientnet.WEIGHTS_HASHES[variant]
        assert spec.preprocessing == "none" and spec.input_size == efficientnet.VARIANTS[variant][2]
        assert models.model_info(f"efficientnet_{variant}").preprocessing == "none"


def test_imagenet_path_matches_keras_including_the_std_rescaling(tmp_path, monkeypatch):
    """Both Keras and we load the same cached file as weights="imagenet" (hashes
    patched to the file's md5): identical outputs, Normalization statistics and
    Keras's extra 1/sqrt(std) rescaling included; then a safe-mode .keras round trip."""
    from keras.src.applications import efficientnet as keras_efficientnet
    from keras.src.backend import config as keras_config

    source = keras.applications.EfficientNetB0(weights=None, include_top=False, input_shape=SMALL)
    randomize_batch_norm(source, np.random.default_rng(5))
    (tmp_path / "models").mkdir()
    path = tmp_path / "models" / "efficientnetb0_notop.h5"
    save_legacy_h5(source, path)
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    monkeypatch.setitem(keras_efficientnet.WEIGHTS_HASHES, "b0", ("unused", md5))
    monkeypatch.setitem(efficientnet.WEIGHTS_HASHES, "b0", ("unused", md5))
    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    reference = keras.applications.EfficientNetB0(weights="imagenet", include_top=False, input_shape=SMALL)
    model = models.EfficientNetB0(weights="imagenet", include_top=False, input_shape=SMALL)
    assert model.get_layer("rescaling_1").scale == pytest.approx([1 / np.sqrt(s) for s in (0.229, 0.224, 0.225)])
    np.testing.assert_allclose(model.get_layer("normalization").get_weights()[1], [0.229, 0.224, 0.225], rtol=1e-6)
    x = np.random.default_rng(0).uniform(0, 255, (1,) + SMALL).astype("float32")
    expected = run(model, x)
    np.testing.assert_allclose(expected, run(reference, x), atol=1e-4)

    # the normalization statistics and the list-valued rescaling survive .keras in safe mode
    model.save(tmp_path / "b0.keras")
    restored = keras.saving.load_model(tmp_path / "b0.keras", safe_mode=True)
    np.testing.assert_allclose(restored.get_layer("normalization").get_weights()[1], [0.229, 0.224, 0.225], rtol=1e-6)
    np.testing.assert_allclose(run(restored, x), expected, atol=1e-5)


def test_scaling_rules_and_taps():
    assert [efficientnet.round_filters(f, 2.0) for f in (32, 16, 320, 1280)] == [64, 32, 640, 2560]
    assert efficientnet.round_filters(40, 1.1) == 48 and efficientnet.round_repeats(3, 3.1) == 10
    plan = efficientnet.stage_plan(1.0, 1.0)
    assert len(plan) == 16 and plan[0][0] == "block1a" and plan[-1][:2] == ("block7a", 320)
    assert len(efficientnet.stage_plan(2.0, 3.1)) == 55
    assert [t.channels for t in models.model_info("efficientnet_b0").taps] == [144, 240, 672, 1280]
    assert [(t.level, t.layer) for t in models.model_info("efficientnet_b0").taps] == [
        ("P2", "block3a_expand_activation"), ("P3", "block4a_expand_activation"),
        ("P4", "block6a_expand_activation"), ("P5", "top_activation")]
    assert [t.channels for t in models.model_info("efficientnet_b7").taps] == [288, 480, 1344, 2560]
    # one row per variant, its coefficients stated once: the registered facts come from it
    for variant, scaling in efficientnet.VARIANTS.items():
        info = models.model_info(f"efficientnet_{variant}")
        assert info.input_shape == (scaling.resolution, scaling.resolution, 3) and info.params == scaling.params
        assert info.taps == efficientnet.taps(scaling.width)
    with pytest.raises(TypeError, match="drop_connect_rate"):  # the options are named in the refusal
        models.EfficientNetB0(width=2.0)
