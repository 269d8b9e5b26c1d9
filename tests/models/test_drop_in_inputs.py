"""keras.applications' input conventions that its own applications_test.py
exercises: ``keras.config.image_data_format() == "channels_first"`` (inputs and
spatial outputs (channels, height, width), the network channels-last inside so it
runs on a CPU, the global setting restored after every build), EfficientNet on 1
and 4 channels, EfficientNet loading a Keras 3 ``.weights.h5`` written by
keras.applications, and named weights found by the registry entry, not by the
``name`` argument."""

import zipfile

import h5py
import keras
import numpy as np
import pytest

from keras_cv_course import models
from keras_cv_course.blocks.mobile import ImageNormalization
from keras_cv_course.models import _common

from _keras_parity import randomize_weights

# registered name → (keras.applications builder or None, side of the small input)
CHANNELS_FIRST_MODELS = {
    "vgg16": ("VGG16", 32),
    "resnet50": ("ResNet50", 32),
    "resnet50_v2": ("ResNet50V2", 32),
    "inception_v3": ("InceptionV3", 75),
    "mobilenet": ("MobileNet", 32),
    "mobilenet_v2": ("MobileNetV2", 32),
    "densenet121": (None, 32),  # keras.applications' DenseNet does not build channels-first
    "efficientnet_b0": ("EfficientNetB0", 32),
    "squeezenet1_1": (None, 32),
}
# (channels, height, width) of include_top=False at the small input, worked by hand:
# DenseNet-121 has stride 32 and 1024 channels; SqueezeNet 1.1 a valid 3x3/2 conv
# (32 -> 15) and three ceil-mode 3x3/2 pools (15 -> 7 -> 3 -> 1), 512 channels.
BY_HAND = {"densenet121": (1024, 1, 1), "squeezenet1_1": (512, 1, 1)}


@pytest.fixture
def channels_first():
    """The global setting "channels_first" for the test, the previous one after."""
    previous = keras.config.image_data_format()
    keras.config.set_image_data_format("channels_first")
    yield
    assert keras.config.image_data_format() == "channels_first"  # no build left it changed
    keras.config.set_image_data_format(previous)


def shapes_only():
    """Build with shapes but no weight values (the variables are dropped by the
    clear_session of tests/conftest.py after the test)."""
    return keras.StatelessScope(initialize_variables=False)


def run(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def randomized(model, seed=0):
    """Random weights, BN statistics included; the input normalization keeps its
    statistics (a random variance could be negative)."""
    return randomize_weights(model, seed, skip=(ImageNormalization,))


@pytest.mark.parametrize("name", sorted(CHANNELS_FIRST_MODELS))
def test_channels_first_shapes_equal_keras_applications(name, channels_first):
    keras_name, side = CHANNELS_FIRST_MODELS[name]
    with shapes_only():
        spatial = models.get_model(name, include_top=False, input_shape=(3, side, side))
        default = models.get_model(name)
        gray = models.get_model(name, include_top=False, input_shape=(1, None, None))
        if keras_name is None:
            assert spatial.output_shape == (None, *BY_HAND[name])
        else:
            builder = getattr(keras.applications, keras_name)
            reference = builder(weights=None, include_top=False, input_shape=(3, side, side))
            assert spatial.output_shape == reference.output_shape
            reference_default = builder(weights=None)
            assert default.input_shape == reference_default.input_shape
            assert default.output_shape == reference_default.output_shape
    assert spatial.input_shape == (None, 3, side, side)
    info = models.model_info(name)
    assert default.input_shape == (None, info.input_shape[2], *info.input_shape[:2])  # the default, channels-first
    assert default.output_shape == (None, 1000)
    assert gray.input_shape == (None, 1, None, None) and gray.output_shape[1] == spatial.output_shape[1]
    assert spatial.get_layer(_common.TO_CHANNELS_LAST).output.shape == (None, side, side, 3)
    assert spatial.layers[-1].name == _common.TO_CHANNELS_FIRST


@pytest.mark.parametrize("name", sorted(CHANNELS_FIRST_MODELS))
def test_channels_first_runs_and_equals_channels_last(name, channels_first):
    """On a CPU (no NCHW kernels there), with the channels-last model's weights:
    the same numbers, transposed."""
    side = CHANNELS_FIRST_MODELS[name][1]
    first = models.get_model(name, include_top=False, input_shape=(3, side, side))
    with _common.scoped_image_data_format("channels_last"):
        last = randomized(models.get_model(name, include_top=False, input_shape=(side, side, 3)))
    first.set_weights(last.get_weights())
    x = np.random.default_rng(1).uniform(0, 1, (2, side, side, 3)).astype("float32")
    expected = run(last, x)
    np.testing.assert_allclose(run(first, x.transpose(0, 3, 1, 2)), expected.transpose(0, 3, 1, 2), atol=1e-5)
    # every layer inside is channels-last, whatever the global setting was
    assert {l.data_format for l in first.layers if hasattr(l, "data_format")} == {"channels_last"}


def test_channels_first_top_pooling_and_input_tensor(channels_first):
    """Pooled and top outputs as usual; an input tensor taken as channels-first."""
    tensor = keras.Input((3, 40, 40), name="image")
    model = models.SqueezeNet1_1(input_tensor=tensor, classes=5)
    assert model.inputs[0] is tensor and model.output_shape == (None, 5)
    pooled = models.SqueezeNet1_1(include_top=False, pooling="max", input_shape=(3, 40, 40))
    assert pooled.output_shape == (None, 512)
    with _common.scoped_image_data_format("channels_last"):
        last = randomized(models.SqueezeNet1_1(input_shape=(40, 40, 3), classes=5), seed=2)
    model.set_weights(last.get_weights())
    x = np.random.default_rng(2).uniform(0, 1, (2, 40, 40, 3)).astype("float32")
    np.testing.assert_allclose(run(model, x.transpose(0, 3, 1, 2)), run(last, x), atol=1e-6)


def test_channels_first_shipped_weights_load_and_agree(channels_first):
    """Weight files are the same in either format (the Permute layers hold none;
    the Flatten inside sees channels-last maps, as the file's Dense expects)."""
    first = models.LeNet5(weights="fashion_mnist")
    assert first.input_shape == (None, 1, 28, 28)
    with _common.scoped_image_data_format("channels_last"):
        last = models.LeNet5(weights="fashion_mnist")
    x = np.random.default_rng(3).uniform(0, 1, (4, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(run(first, x.transpose(0, 3, 1, 2)), run(last, x), atol=1e-6)


def test_channels_first_errors_read_the_shape_as_channels_first(channels_first):
    with pytest.raises(ValueError, match=r"Input 16x16 is too small for 'vgg16'.*channels, height, width"):
        models.VGG16(input_shape=(3, 16, 16))
    with pytest.raises(ValueError, match=r"Input 224x3 is too small for 'vgg16'"):
        models.VGG16(input_shape=(224, 224, 3))  # a channels-last shape under channels_first
    with pytest.raises(ValueError, match=r"expects input_shape \(channels, height, width\)"):
        models.ResNet50(input_shape=(224, 224))
    with pytest.raises(ValueError, match=r"channels-last only"):  # heads: channels-last only
        models.get_model("yolov1_fashion")


def test_global_format_is_restored_after_every_build(channels_first):
    seen = []

    def failing(request, **options):
        seen.append((keras.config.image_data_format(), tuple(request.image.shape), tuple(request.inputs.shape)))
        raise RuntimeError("boom")

    row = _common.Row("probe", "Probe", "probe", "none", 0, "none", (32, 32, 3), 8)
    with pytest.raises(RuntimeError, match="boom"):
        _common.public_builder(row, failing)(include_top=False, input_shape=(3, 16, 16))
    assert seen == [("channels_last", (None, 16, 16, 3), (None, 3, 16, 16))]  # built channels-last inside
    assert keras.config.image_data_format() == "channels_first"
    with pytest.raises(ValueError):
        models.VGG16(input_shape=(3, 16, 16))
    assert keras.config.image_data_format() == "channels_first"
    with shapes_only():
        models.get_model("googlenet", aux_logits=True, input_shape=(3, 224, 224))  # three outputs, none spatial
    assert keras.config.image_data_format() == "channels_first"
    with _common.scoped_image_data_format("channels_last"):
        with shapes_only():
            model = models.get_model("googlenet", include_top=False)
        assert keras.config.image_data_format() == "channels_last"
    assert model.input_shape == (None, None, None, 3)
    assert not any(isinstance(l, keras.layers.Permute) for l in model.layers)  # channels-last: as before


@pytest.mark.parametrize("load_format", ["channels_last", "channels_first"])
def test_channels_first_model_round_trips_keras_file_in_safe_mode(tmp_path, channels_first, load_format):
    """Its custom layers (PatchWhitening, read at every call) and Permutes
    serialize; it loads and runs under either global setting."""
    model = randomized(models.get_model("fashion_cnn", include_top=False, input_shape=(1, 28, 28)), seed=4)
    assert model.output_shape == (None, 64, 7, 7)
    x = np.random.default_rng(4).uniform(0, 1, (2, 1, 28, 28)).astype("float32")
    expected = run(model, x)
    model.save(tmp_path / "m.keras")
    with _common.scoped_image_data_format(load_format):
        restored = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
        np.testing.assert_allclose(run(restored, x), expected, atol=1e-6)
    assert restored.input_shape == (None, 1, 28, 28) and restored.output_shape == (None, 64, 7, 7)


@pytest.mark.parametrize("channels", [1, 4])
def test_efficientnet_builds_and_runs_on_any_channel_count(channels):
    with shapes_only():
        reference = keras.applications.EfficientNetB0(weights=None, input_shape=(224, 224, channels))
        default = models.EfficientNetB0(input_shape=(224, 224, channels))
        assert default.output_shape == reference.output_shape and default.count_params() == reference.count_params()
    model = models.EfficientNetB0(include_top=False, input_shape=(32, 32, channels))
    mean, variance, _ = model.get_layer("normalization").get_weights()
    np.testing.assert_array_equal(mean, np.zeros(channels))  # ImageNet's statistics are RGB's only
    np.testing.assert_array_equal(variance, np.ones(channels))
    x = np.random.default_rng(5).uniform(0, 255, (2, 32, 32, channels)).astype("float32")
    out = run(model, x)
    assert out.shape == (2, 1, 1, 1280) and np.isfinite(out).all()
    with pytest.raises(ValueError, match="need 3 input channels"):
        models.EfficientNetB0(weights="imagenet", include_top=False, input_shape=(32, 32, channels))


def test_efficientnet_one_channel_equals_keras():
    reference = randomize_weights(keras.applications.EfficientNetB0(
        weights=None, include_top=False, input_shape=(32, 32, 1)), 6, skip=(keras.layers.Normalization,))
    model = models.EfficientNetB0(include_top=False, input_shape=(32, 32, 1))
    model.set_weights(reference.get_weights())
    x = np.random.default_rng(6).uniform(0, 255, (2, 32, 32, 1)).astype("float32")
    np.testing.assert_allclose(run(model, x), run(reference, x), atol=1e-5)


def keras_b0(seed, **kwargs):
    """keras.applications' B0 with random weights, its Normalization statistics included."""
    reference = keras.applications.EfficientNetB0(weights=None, input_shape=(32, 32, 3), classes=7, **kwargs)
    randomize_weights(reference, seed, skip=(keras.layers.Normalization,))
    normalization = next(l for l in reference.layers if isinstance(l, keras.layers.Normalization))
    normalization.set_weights([np.array([0.4, 0.5, 0.6]), np.array([0.05, 0.06, 0.07]), np.array(0)])
    normalization.finalize_state()  # Keras's Normalization computes with snapshots of its weights
    return reference


def test_efficientnet_loads_keras3_weights_file_of_keras_applications(tmp_path):
    reference = keras_b0(7)
    path = str(tmp_path / "x.weights.h5")
    reference.save_weights(path)
    with h5py.File(path) as handle:
        assert "layers/normalization/vars" in handle  # Keras 3 addresses layers by class name
    model = models.get_model("efficientnet_b0", weights=path, input_shape=(32, 32, 3), classes=7)
    x = np.random.default_rng(7).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    expected = run(reference, x)
    np.testing.assert_allclose(run(model, x), expected, atol=1e-5)
    np.testing.assert_allclose(model.get_layer("normalization").get_weights()[1], [0.05, 0.06, 0.07], rtol=1e-6)

    # and back: Keras loads ours (the same paths)
    ours = str(tmp_path / "ours.weights.h5")
    model.save_weights(ours)
    back = keras.applications.EfficientNetB0(weights=None, input_shape=(32, 32, 3), classes=7)
    back.load_weights(ours)
    np.testing.assert_allclose(run(back, x), expected, atol=1e-5)

    # a file of ours from before the rename (layers/image_normalization) still loads
    old = str(tmp_path / "old.weights.h5")
    model.save_weights(old)
    with h5py.File(old, "a") as handle:
        handle.move("layers/normalization", "layers/image_normalization")
    loaded = models.EfficientNetB0(weights=old, input_shape=(32, 32, 3), classes=7)
    np.testing.assert_allclose(run(loaded, x), expected, atol=1e-5)
    assert type(loaded.get_layer("normalization")).__name__ == "Normalization"  # the class came back

    # the weights of a .keras archive, in either naming
    archive = tmp_path / "ours.keras"
    model.save(archive)
    np.testing.assert_allclose(run(models.EfficientNetB0(weights=archive, input_shape=(32, 32, 3), classes=7), x),
                               expected, atol=1e-5)
    old_archive = tmp_path / "old.keras"
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(old_archive, "w") as target:
        for member in source.namelist():
            data = source.read(member)
            if member == "model.weights.h5":
                (tmp_path / "inner.h5").write_bytes(data)
                with h5py.File(tmp_path / "inner.h5", "a") as handle:
                    handle.move("layers/normalization", "layers/image_normalization")
                data = (tmp_path / "inner.h5").read_bytes()
            target.writestr(member, data)
    np.testing.assert_allclose(run(models.EfficientNetB0(weights=old_archive, input_shape=(32, 32, 3), classes=7), x),
                               expected, atol=1e-5)


def test_efficientnet_channels_first_loads_keras3_weights_file(tmp_path, channels_first):
    with _common.scoped_image_data_format("channels_last"):
        reference = keras_b0(8, include_top=False)
        path = str(tmp_path / "x.weights.h5")
        reference.save_weights(path)
        x = np.random.default_rng(8).uniform(0, 255, (1, 32, 32, 3)).astype("float32")
        expected = run(reference, x)
    model = models.EfficientNetB0(weights=path, include_top=False, input_shape=(3, 32, 32))
    np.testing.assert_allclose(run(model, x.transpose(0, 3, 1, 2)), expected.transpose(0, 3, 1, 2), atol=1e-5)


def test_named_weights_are_found_by_the_registry_entry_not_the_model_name():
    default = models.LeNet5(weights="fashion_mnist")
    renamed = models.LeNet5(name="x", weights="fashion_mnist")
    registry = models.get_model("lenet5", name="y", weights="fashion_mnist")
    assert (renamed.name, registry.name) == ("x", "y")
    x = np.random.default_rng(9).uniform(0, 1, (3, 28, 28, 1)).astype("float32")
    expected = run(default, x)
    np.testing.assert_array_equal(run(renamed, x), expected)
    np.testing.assert_array_equal(run(registry, x), expected)
