"""Mixed precision (``keras_cv_course.precision``): models built and trained under
each policy keep float32 outputs and losses, round-trip through ``.keras`` with
``safe_mode=True`` and convert back to float32; the custom layers match their
float32 values under every policy; "auto" follows the hardware and the measured
choices file."""

import json
import os

import keras
import numpy as np
import pytest

from keras_cv_course import precision
from keras_cv_course.blocks import LocalResponseNormalization, PatchWhitening
from keras_cv_course.blocks.mobile import ImageNormalization
from keras_cv_course.models import get_model
from keras_cv_course.training import fit

MIXED = ("mixed_bfloat16", "mixed_float16")
COMPUTE = {"float32": "float32", "mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}
# bfloat16 keeps 8 significant bits (relative step 2**-8 = 0.4%), float16 11 bits.
RELATIVE = {"float32": 1e-6, "mixed_bfloat16": 2e-2, "mixed_float16": 3e-3}


@pytest.fixture
def restore_policy():
    previous = keras.config.dtype_policy()
    yield
    keras.config.set_dtype_policy(previous)


def test_bad_precision_and_jit_values_are_named():
    with pytest.raises(ValueError, match=r"precision must be one of .*'float32'.*got 'bfloat16'"):
        precision.check_precision("bfloat16")
    with pytest.raises(ValueError, match=r"jit_compile must be 'auto', True or False; got 'yes'"):
        precision.check_jit_compile("yes")
    assert precision.check_jit_compile("false") is False and precision.check_precision(None) == "auto"


def test_policy_scope_restores_the_global_policy():
    before = keras.config.dtype_policy().name
    with precision.policy_scope("mixed_bfloat16"):
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == before


@pytest.mark.parametrize("policy", MIXED)
def test_a_builder_under_a_mixed_global_policy_gives_float32_outputs(policy, restore_policy):
    keras.config.set_dtype_policy(policy)
    model = get_model("lenet5", weights=None)
    assert str(model.outputs[0].dtype) == "float32"
    assert model.get_layer("predictions").dtype_policy.name == "float32"
    assert precision.model_precision(model) == policy
    assert model.get_layer("conv1").compute_dtype == COMPUTE[policy]


def _images(n=64, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 28, 28, 1)).astype("uint8")


def _dataset(n=64):
    import tensorflow as tf

    labels = np.arange(n) % 10
    return tf.data.Dataset.from_tensor_slices((_images(n), labels.astype("int64")))


@pytest.mark.parametrize("policy", ("float32",) + MIXED)
def test_fashion_cnn_trains_in_each_policy_saves_loads_and_converts_to_float32(policy, tmp_path):
    """fit builds the whitening-stem net in ``policy``; its loss and outputs are
    float32; the run's best.keras loads with safe_mode and predicts as the
    model does; with_precision(float32) predicts within the policy's rounding."""
    result = fit("fashion_cnn", _dataset(), _dataset(32), epochs=1, batch_size=32, precision=policy,
                 jit_compile=False, run_dir=str(tmp_path / "run"), verbose=0, evaluate=False)
    model = result.model
    assert np.isfinite(result.history[0]["loss"])
    assert precision.model_precision(model) == policy and str(model.outputs[0].dtype) == "float32"
    assert model.get_layer("stem_whiten").is_adapted
    config = json.load(open(tmp_path / "run" / "state.json"))["config"]
    assert (config["precision"], config["jit_compile"]) == (policy, False)
    images = _images(8, seed=1).astype("float32") / 255.0
    predicted = keras.ops.convert_to_numpy(model(images))
    assert predicted.dtype == np.float32
    loaded = keras.saving.load_model(tmp_path / "run" / "last.keras", safe_mode=True)
    assert precision.model_precision(loaded) == policy
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(images)), predicted, atol=1e-6)
    as32 = precision.with_precision(loaded, "float32")
    assert precision.model_precision(as32) == "float32" and as32.get_layer("stem_whiten").is_adapted
    np.testing.assert_allclose(keras.ops.convert_to_numpy(as32(images)), predicted, atol=0.05)


def test_a_resume_keeps_the_recorded_precision_and_refuses_another(tmp_path):
    run_dir = str(tmp_path / "run")
    fit("lenet5", _dataset(), _dataset(32), epochs=1, batch_size=32, precision="mixed_bfloat16", run_dir=run_dir,
        verbose=0, evaluate=False)
    with pytest.raises(ValueError, match=r"precision 'float32': it was trained with precision 'mixed_bfloat16'"):
        fit("lenet5", _dataset(), _dataset(32), epochs=2, batch_size=32, precision="float32", run_dir=run_dir,
            resume=True, verbose=0, evaluate=False)
    resumed = fit("lenet5", _dataset(), _dataset(32), epochs=2, batch_size=32, run_dir=run_dir, resume=True,
                  verbose=0, evaluate=False)
    assert precision.model_precision(resumed.model) == "mixed_bfloat16" and len(resumed.history) == 2


def test_a_mixed_float16_checkpoint_loads_with_its_loss_scale_optimizer_state(tmp_path):
    """Keras 3.15 alone rebuilds a plain Adam and drops the saved state (see runs.load_model_file)."""
    from keras_cv_course.runs import load_model_file

    result = fit("lenet5", _dataset(), None, epochs=1, batch_size=32, precision="mixed_float16",
                 run_dir=str(tmp_path / "run"), verbose=0, evaluate=False)
    loaded = load_model_file(str(tmp_path / "run" / "last.keras"))
    assert isinstance(loaded.optimizer, keras.optimizers.LossScaleOptimizer)
    saved = [keras.ops.convert_to_numpy(v) for v in result.model.optimizer.variables]
    restored = [keras.ops.convert_to_numpy(v) for v in loaded.optimizer.variables]
    assert len(saved) == len(restored) and all(np.array_equal(a, b) for a, b in zip(saved, restored))


def _in_policy(layer_class, policy, inputs, **kwargs):
    layer = layer_class(dtype=policy, **kwargs)
    out = layer(inputs)
    return layer, keras.ops.convert_to_numpy(keras.ops.cast(out, "float32"))


@pytest.mark.parametrize("policy", MIXED)
def test_lrn_is_computed_in_float32_under_mixed_policies(policy):
    """Activations of a few hundred: their squares overflow float16 (max 65,504)."""
    x = np.random.default_rng(0).uniform(-400, 400, (2, 5, 5, 16)).astype("float32")
    reference = _in_policy(LocalResponseNormalization, "float32", x)[1]
    layer, out = _in_policy(LocalResponseNormalization, policy, x)
    assert keras.ops.convert_to_numpy(layer(x)).dtype.name == COMPUTE[policy]
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, reference, rtol=RELATIVE[policy] * 2, atol=RELATIVE[policy])


@pytest.mark.parametrize("policy", MIXED)
def test_image_normalization_matches_float32_and_is_zero_at_the_mean_of_a_zero_variance(policy):
    x = np.random.default_rng(1).random((2, 4, 4, 3)).astype("float32")
    reference = _in_policy(ImageNormalization, "float32", x)[1]
    out = _in_policy(ImageNormalization, policy, x)[1]
    np.testing.assert_allclose(out, reference, rtol=RELATIVE[policy], atol=RELATIVE[policy] * 4)
    at_mean = np.full((1, 2, 2, 3), 0.5, "float32")  # 0 / epsilon: 0, where a 16-bit epsilon could make it 0 / 0
    zero = _in_policy(ImageNormalization, policy, at_mean, mean=(0.5,) * 3, variance=(0.0,) * 3)[1]
    np.testing.assert_array_equal(zero, 0.0)


@pytest.mark.parametrize("policy", MIXED)
def test_patch_whitening_matches_float32_within_the_policys_rounding(policy):
    images = np.random.default_rng(2).random((16, 12, 12, 1)).astype("float32")
    outputs = {}
    for name in ("float32", policy):
        layer = PatchWhitening(3, dtype=name)
        layer.adapt(images)
        outputs[name] = keras.ops.convert_to_numpy(keras.ops.cast(layer(images), "float32"))
    scale = np.abs(outputs["float32"]).max()
    assert np.abs(outputs[policy] - outputs["float32"]).max() < 4 * RELATIVE[policy] * scale


def test_detection_losses_take_16_bit_predictions_in_float32():
    """A head's loss (Keras casts y_pred to the loss's float32 dtype) gives the
    float32 value of the same bfloat16-rounded predictions."""
    from keras_cv_course.detection.yolo import YOLOv1Loss

    rng = np.random.default_rng(3)
    y_true = np.zeros((2, 4, 4, 5 + 3), "float32")
    y_true[:, 1, 2, :5] = [1.0, 0.5, 0.5, 0.3, 0.4]
    y_true[:, 1, 2, 5] = 1.0
    y_pred = rng.normal(size=(2, 4, 4, 2 * 5 + 3)).astype("float32")
    rounded = keras.ops.cast(keras.ops.cast(y_pred, "bfloat16"), "float32")
    loss = YOLOv1Loss(boxes_per_cell=2, num_classes=3)
    mixed = loss(y_true, keras.ops.cast(y_pred, "bfloat16"))
    assert keras.backend.standardize_dtype(mixed.dtype) == "float32"
    np.testing.assert_allclose(keras.ops.convert_to_numpy(mixed), keras.ops.convert_to_numpy(loss(y_true, rounded)),
                               rtol=1e-6)


def _choices(tmp_path, models, name="cpu_choices.json"):
    path = tmp_path / name
    precision.write_choices({"cpu": "test", "models": models}, str(path), machine="this machine")
    return str(path)


def _ratios(f32_xla, bf16, bf16_xla):
    return {"float32": 1.0, "float32+xla": f32_xla, "mixed_bfloat16": bf16, "mixed_bfloat16+xla": bf16_xla}


def test_auto_is_the_fastest_measured_combination(tmp_path, monkeypatch):
    path = _choices(tmp_path, {
        "resnet50": {"family": "resnet", "train": _ratios(1.06, 0.13, 1.27), "inference": _ratios(0.95, 0.88, 0.87)},
        "mobilenet_v2": {"family": "mobilenet", "train": _ratios(0.17, 0.28, 0.17),
                         "inference": _ratios(0.1, 1.2, 0.09)},
        "lenet5": {"family": "lenet", "train": _ratios(1.29, 0.5, 1.21), "inference": _ratios(1.2, 1.02, 0.99)}})
    monkeypatch.setattr(precision, "gpu_compute_capability", lambda: None)
    monkeypatch.setattr(precision, "machine_key", lambda: "this machine")
    if keras.backend.backend() != "tensorflow":
        assert precision.resolve("auto", "auto", "resnet50") == ("float32", "auto")  # measured on TensorFlow only
        return
    assert precision.fastest("resnet50", path=path) == ("mixed_bfloat16", True)  # together, not one at a time
    assert precision.fastest("resnet18", path=path) == ("mixed_bfloat16", True)  # its family's figures
    assert precision.fastest("resnet50", "float32", path=path) == ("float32", True)  # 1.06 > 1.05
    assert precision.fastest("resnet50", "auto", False, path=path) == ("float32", False)  # bf16 alone is slower
    assert precision.fastest("mobilenet_v2", path=path) == ("float32", False)
    assert precision.default_precision("mobilenet_v2", use="inference", path=path) == "mixed_bfloat16"
    assert precision.fastest("lenet5", path=path) == ("float32", True)
    assert precision.fastest("alexnet", path=path) == ("float32", False)  # family not measured
    tie = _choices(tmp_path, {"vgg11": {"family": "vgg", "train": _ratios(1.12, 0.1, 1.123), "inference": _ratios(1, 1, 1)}}, "tie.json")
    assert precision.fastest("vgg11", path=tie) == ("float32", True)  # 16 bits must beat float32's best by 5%
    assert precision.fastest("resnet50", "mixed_float16", True, path=path) == ("mixed_float16", True)  # as asked
    assert precision.default_jit_compile("resnet50", path=path) is True


def test_unmeasured_auto_follows_the_hardware(tmp_path, monkeypatch):
    path = str(tmp_path / "none.json")
    monkeypatch.setattr(precision, "gpu_compute_capability", lambda: None)
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx512f", "avx512_bf16"}))
    precision.hardware_precision.cache_clear()
    try:
        assert precision.hardware_precision() == "mixed_bfloat16"
        assert precision.default_precision("resnet50", path=path) == "float32"  # a CPU: measured, or float32
        if keras.backend.backend() == "tensorflow":
            assert precision.default_jit_compile("resnet50", path=path) is False
        monkeypatch.setattr(precision, "gpu_compute_capability", lambda: (7, 5))
        precision.hardware_precision.cache_clear()
        assert precision.resolve("auto", "auto", "lenet5") == ("mixed_float16", "auto")
        monkeypatch.setattr(precision, "gpu_compute_capability", lambda: (8, 0))
        precision.hardware_precision.cache_clear()
        assert precision.default_precision("lenet5", path=path) == "mixed_bfloat16"
    finally:
        precision.hardware_precision.cache_clear()


def test_the_choices_of_another_machine_are_not_used(tmp_path, monkeypatch):
    path = str(tmp_path / "cpu_choices.json")
    faster = {"family": "resnet", "train": _ratios(1.5, 1.4, 1.3), "inference": _ratios(1.0, 1.3, 1.0)}
    precision.write_choices({"cpu": "A", "models": {"resnet50": faster}}, path, machine="cpu A, 2 cores, avx512_bf16")
    precision.write_choices({"cpu": "B", "models": {}}, path, machine="cpu B, 2 cores, avx2")
    assert set(precision.read_choices(path)["machines"]) == {"cpu A, 2 cores, avx512_bf16", "cpu B, 2 cores, avx2"}
    monkeypatch.setattr(precision, "gpu_compute_capability", lambda: None)
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx512f", "avx512_bf16"}))
    precision.hardware_precision.cache_clear()
    try:
        monkeypatch.setattr(precision, "machine_key", lambda: "cpu A, 2 cores, avx512_bf16")
        if keras.backend.backend() == "tensorflow":
            assert precision.fastest("resnet50", path=path) == ("float32", True)
        monkeypatch.setattr(precision, "machine_key", lambda: "cpu C, 2 cores, avx512_bf16")
        assert precision.default_precision("resnet50", path=path) == "float32"
        if keras.backend.backend() == "tensorflow":
            assert precision.default_jit_compile("resnet50", path=path) is False
    finally:
        precision.hardware_precision.cache_clear()


def test_a_malformed_choices_file_is_refused_by_name(tmp_path):
    path = tmp_path / "cpu_choices.json"
    path.write_text('{"cpu": "old layout", "models": {}}')
    with pytest.raises(ValueError, match="machines"):
        precision.measured_choices(str(path))
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not JSON"):
        precision.measured_choices(str(path))
    path.unlink()
    precision.write_choices({"models": {"resnet50": {"family": "resnet", "bf16_train": 1.4}}}, str(path),
                            machine=precision.machine_key())
    if keras.backend.backend() == "tensorflow":
        with pytest.raises(ValueError, match="'resnet50' has no 'train' ratios"):
            precision.fastest("resnet50", path=str(path))


def test_the_machine_key_names_the_cpu_cores_and_features(monkeypatch):
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"fpu", "avx2", "avx512_bf16"}))
    key = precision.machine_key()
    assert key.endswith(f", {os.cpu_count()} cores, avx2 avx512_bf16") and key.startswith(precision.cpu_name())


def test_the_environment_names_another_choices_file(tmp_path, monkeypatch):
    path = str(tmp_path / "mine.json")
    monkeypatch.setenv(precision.CHOICES_ENV, path)
    precision.write_choices({"cpu": "x", "models": {}}, machine="m")
    assert precision.read_choices(path)["machines"] == {"m": {"cpu": "x", "models": {}}}
    monkeypatch.delenv(precision.CHOICES_ENV)
    assert precision.choices_path() == precision.CHOICES_FILE
