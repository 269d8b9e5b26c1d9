"""VGG: published parameter counts and interchangeability with keras.applications."""

import dataclasses
import hashlib
import inspect

import h5py
import keras
import numpy as np
import pytest

from keras_cv_course.models import VGG11, VGG11_BN, VGG16, VGG19, vgg
from keras_cv_course.models._common import WeightsUnavailableError
from keras_cv_course.models.weight_files import WeightFileMismatchError, weighted_layers


def images(shape, batch=2, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (batch,) + shape).astype("float32")


@pytest.mark.parametrize(
    "builder, published",
    [(VGG11, 132_863_336), (VGG16, 138_357_544), (VGG19, 143_667_240)],
)
def test_published_parameter_counts(builder, published):
    assert builder().count_params() == published


def test_vgg11_bn_published_count_is_trainable_weights():
    model = VGG11_BN()
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == 132_868_840
    bn_channels = sum(layer.weights[0].shape[0] for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization))
    assert model.count_params() == trainable + 2 * bn_channels  # moving mean and variance


def test_course_conv_base_at_150():
    conv_base = VGG16(include_top=False, input_shape=(150, 150, 3))
    assert conv_base.output_shape == (None, 4, 4, 512)
    assert conv_base.count_params() == 14_714_688


@pytest.mark.parametrize("ours, theirs", [(VGG16, keras.applications.VGG16), (VGG19, keras.applications.VGG19)])
def test_same_weighted_layers_as_keras_applications(ours, theirs):
    assert weighted_layers(ours()) == weighted_layers(theirs(weights=None))
    assert weighted_layers(ours(include_top=False)) == weighted_layers(theirs(weights=None, include_top=False))


def save_legacy_h5(model, path):
    """Write a weights-only legacy HDF5 file, the format of keras.applications' ImageNet files."""
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as handle:
        legacy_h5_format.save_weights_to_hdf5_group(handle, model)


@pytest.mark.parametrize("suffix", [".weights.h5", ".h5"])
def test_keras_applications_weight_files_load_and_predict_identically(tmp_path, suffix):
    reference = keras.applications.VGG16(weights=None, input_shape=(32, 32, 3), classes=10)
    path = str(tmp_path / f"vgg16{suffix}")
    if suffix == ".h5":
        save_legacy_h5(reference, path)
    else:
        reference.save_weights(path)
    ours = VGG16(weights=path, input_shape=(32, 32, 3), classes=10)
    batch = images((32, 32, 3))
    np.testing.assert_allclose(ours.predict(batch, verbose=0), reference.predict(batch, verbose=0), atol=1e-5)


def test_imagenet_file_names_and_hashes_are_keras_own():
    import keras.src.applications.vgg16 as keras_vgg16
    import keras.src.applications.vgg19 as keras_vgg19

    for depth, module in ((16, keras_vgg16), (19, keras_vgg19)):
        source = inspect.getsource(module)
        spec = vgg.IMAGENET_WEIGHTS[depth]["imagenet"]
        assert spec.top.origin == module.WEIGHTS_PATH
        assert spec.notop.origin == module.WEIGHTS_PATH_NO_TOP
        for remote in (spec.top, spec.notop):
            assert f'"{remote.fname}"' in source
            assert f'file_hash="{remote.file_hash}"' in source


def cache_weights(monkeypatch, tmp_path, reference, depth=16, include_top=False):
    """Put a weight file made from ``reference`` into a fresh Keras cache under the
    ImageNet file name, and point the spec's hash at it (Keras's real hash is of
    the real ImageNet file, which cannot be downloaded here)."""
    spec = vgg.IMAGENET_WEIGHTS[depth]["imagenet"]
    remote = spec.top if include_top else spec.notop
    (tmp_path / "models").mkdir()
    path = tmp_path / "models" / remote.fname
    save_legacy_h5(reference, str(path))
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    field = "top" if include_top else "notop"
    patched = dataclasses.replace(spec, **{field: dataclasses.replace(remote, file_hash=md5)})
    monkeypatch.setitem(vgg.IMAGENET_WEIGHTS[depth], "imagenet", patched)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    return path


def test_imagenet_weights_in_keras_cache_load_offline(monkeypatch, tmp_path):
    reference = keras.applications.VGG16(weights=None, include_top=False, input_shape=(64, 64, 3))
    cache_weights(monkeypatch, tmp_path, reference)
    spec = vgg.IMAGENET_WEIGHTS[16]["imagenet"]
    monkeypatch.setitem(
        vgg.IMAGENET_WEIGHTS[16], "imagenet",
        dataclasses.replace(spec, notop=dataclasses.replace(spec.notop, origin="http://127.0.0.1:9/unreachable.h5")),
    )
    ours = VGG16(weights="imagenet", include_top=False, input_shape=(64, 64, 3))
    batch = images((64, 64, 3))
    np.testing.assert_allclose(ours.predict(batch, verbose=0), reference.predict(batch, verbose=0), atol=1e-5)


def test_imagenet_weights_missing_and_offline_is_a_clear_error(monkeypatch, tmp_path):
    spec = vgg.IMAGENET_WEIGHTS[16]["imagenet"]
    offline = dataclasses.replace(spec, notop=dataclasses.replace(spec.notop, origin="http://127.0.0.1:9/unreachable.h5"))
    monkeypatch.setitem(vgg.IMAGENET_WEIGHTS[16], "imagenet", offline)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(WeightsUnavailableError, match=r"vgg16_weights_tf_dim_ordering_tf_kernels_notop\.h5 is not in the Keras cache"):
        VGG16(weights="imagenet", include_top=False)


def test_imagenet_top_with_other_class_count_is_refused():
    with pytest.raises(ValueError, match=r"1000 classes; got classes=10"):
        VGG16(weights="imagenet", classes=10)


def test_imagenet_top_needs_224_input():
    with pytest.raises(ValueError, match=r"needs input_shape \(224, 224, 3\)"):
        VGG16(weights="imagenet", input_shape=(160, 160, 3))


def test_input_too_small_names_the_minimum():
    with pytest.raises(ValueError, match=r"Input 16x16 is too small for 'vgg16': it needs at least 32x32"):
        VGG16(include_top=False, input_shape=(16, 16, 3))


def test_unknown_weights_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"weights='imagenet21k'.*'imagenet'"):
        VGG16(weights="imagenet21k")


@pytest.mark.parametrize("suffix", [".weights.h5", ".h5"])
def test_weight_file_of_another_architecture_names_first_mismatching_layer(tmp_path, suffix):
    other = VGG19(include_top=False, input_shape=(32, 32, 3))
    path = str(tmp_path / f"vgg19{suffix}")
    if suffix == ".h5":
        save_legacy_h5(other, path)
    else:
        other.save_weights(path)
    with pytest.raises(WeightFileMismatchError, match=r"#7 'block4_conv1' needs weights of shapes \[\(3, 3, 256, 512\)"):
        VGG16(include_top=False, input_shape=(32, 32, 3), weights=path)


def test_weight_file_with_fewer_layers_is_refused(tmp_path):
    smaller = VGG11(include_top=False, input_shape=(32, 32, 3))
    path = str(tmp_path / "vgg11.weights.h5")
    smaller.save_weights(path)
    with pytest.raises(WeightFileMismatchError, match="block"):
        VGG16(include_top=False, input_shape=(32, 32, 3), weights=path)


def test_corrupt_weight_file_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.weights.h5"
    path.write_bytes(b"not an hdf5 file")
    with pytest.raises(ValueError, match="not a readable HDF5 file"):
        VGG16(include_top=False, input_shape=(32, 32, 3), weights=str(path))


def test_batch_norm_variant_puts_bn_after_every_conv():
    model = VGG11_BN(include_top=False, input_shape=(32, 32, 3))
    names = [layer.name for layer in model.layers]
    assert names[1:4] == ["block1_conv1", "block1_conv1_bn", "block1_conv1_relu"]
    assert model.get_layer("block1_conv1").activation.__name__ == "linear"
    assert VGG16(include_top=False).get_layer("block1_conv1").activation.__name__ == "relu"


def test_paper_dropout_option_adds_dropout_without_weights():
    plain, dropped = VGG11(input_shape=(32, 32, 3)), VGG11(input_shape=(32, 32, 3), dropout=0.5)
    assert weighted_layers(plain) == weighted_layers(dropped)
    assert dropped.get_layer("fc1_dropout").rate == 0.5
