"""VGG: published parameter counts, the configurations of the paper's Table 1 as
rows of one table-driven builder, and interchangeability with keras.applications."""

import dataclasses
import hashlib
import inspect

import keras
import numpy as np
import pytest

from _keras_parity import assert_same_architecture, build_twins, save_legacy_h5, shapes_only, twins
from keras_cv_course.blocks import LocalResponseNormalization
from keras_cv_course.models import VGG11, VGG11_BN, VGG16, VGG19, model_info, vgg
from keras_cv_course.models._common import InputRules, Request, WeightsUnavailableError
from keras_cv_course.models.vgg import VGG16_C
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


@pytest.mark.parametrize("twin", twins("vgg16", "vgg19"), ids=["vgg16", "vgg19"])
def test_same_layers_as_keras_applications_at_the_default_input(twin):
    """At 224×224 with the top (the 7×7×512 → fc1 kernel) and without it (any size)."""
    with shapes_only():  # no weight is materialised
        for include_top in (True, False):
            ours, theirs = build_twins(twin, include_top=include_top)
            # every name is Keras's own (its explicit "flatten" looks automatic)
            assert assert_same_architecture(ours, theirs) == ([("flatten", "flatten")] if include_top else [])


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


# Simonyan & Zisserman 2015, Table 1, column by column ("M" is a max-pool) and
# Table 2's parameter counts in millions.
TABLE_1 = {
    "A": "conv3-64 M conv3-128 M conv3-256 conv3-256 M conv3-512 conv3-512 M conv3-512 conv3-512 M",
    "A-LRN": "conv3-64 LRN M conv3-128 M conv3-256 conv3-256 M conv3-512 conv3-512 M conv3-512 conv3-512 M",
    "B": "conv3-64 conv3-64 M conv3-128 conv3-128 M conv3-256 conv3-256 M conv3-512 conv3-512 M conv3-512 conv3-512 M",
    "C": "conv3-64 conv3-64 M conv3-128 conv3-128 M conv3-256 conv3-256 conv1-256 M "
         "conv3-512 conv3-512 conv1-512 M conv3-512 conv3-512 conv1-512 M",
    "D": "conv3-64 conv3-64 M conv3-128 conv3-128 M conv3-256 conv3-256 conv3-256 M "
         "conv3-512 conv3-512 conv3-512 M conv3-512 conv3-512 conv3-512 M",
    "E": "conv3-64 conv3-64 M conv3-128 conv3-128 M conv3-256 conv3-256 conv3-256 conv3-256 M "
         "conv3-512 conv3-512 conv3-512 conv3-512 M conv3-512 conv3-512 conv3-512 conv3-512 M",
}
TABLE_2_MILLIONS = {"A": 133, "A-LRN": 133, "B": 133, "C": 134, "D": 138, "E": 144}


def table_1_params(column, classes=1000, size=224):
    """Parameters of a Table 1 column worked by hand: k·k·c_in·c_out + c_out a conv,
    then FC-4096, FC-4096, FC-classes on the flattened (size/32)² × 512 map."""
    total, c_in = 0, 3
    for layer in column.split():
        if layer.startswith("conv"):
            kernel, width = (int(part) for part in layer[4:].split("-"))
            total, c_in = total + kernel * kernel * c_in * width + width, width
    side = size // 32
    return total + (side * side * c_in * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * classes + classes)


def build_config(config, **options):
    """An unregistered configuration of vgg.CONFIGS through the generic builder."""
    request = Request.resolve(f"vgg_{config.lower()}", InputRules(224, 32, require_flatten=True), include_top=True,
                              weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
                              classifier_activation="softmax")
    return vgg.vgg_family(request, stages=vgg.CONFIGS[config], **options)


@pytest.mark.parametrize("config", sorted(TABLE_1))
def test_every_table_1_configuration_is_a_row_with_table_2s_parameter_count(config):
    with keras.StatelessScope():
        model = build_config(config)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    column = [layer for layer in TABLE_1[config].split() if layer.startswith("conv")]
    assert [f"conv{c.kernel_size[0]}-{c.filters}" for c in convs] == column
    assert model.count_params() == table_1_params(TABLE_1[config])
    assert round(model.count_params() / 1e6) == TABLE_2_MILLIONS[config]
    lrn = [layer.name for layer in model.layers if isinstance(layer, LocalResponseNormalization)]
    assert lrn == (["block1_conv1_lrn"] if "LRN" in config else [])


def test_vgg16_c_has_1x1_convs_last_in_stages_3_to_5_and_134m_parameters():
    with keras.StatelessScope():
        model = VGG16_C()
    kernels = {name: tuple(model.get_layer(name).kernel.shape) for name in
               ("block2_conv2", "block3_conv2", "block3_conv3", "block4_conv3", "block5_conv3")}
    assert kernels == {"block2_conv2": (3, 3, 128, 128), "block3_conv2": (3, 3, 256, 256),
                       "block3_conv3": (1, 1, 256, 256), "block4_conv3": (1, 1, 512, 512),
                       "block5_conv3": (1, 1, 512, 512)}
    assert model.get_layer("block5_pool").output.shape == (None, 7, 7, 512)
    # D less the difference of three 3×3 and three 1×1 convolutions (biases are the same).
    hand = 138_357_544 - (9 - 1) * (256 * 256 + 512 * 512 + 512 * 512)
    assert model.count_params() == hand == table_1_params(TABLE_1["C"]) == 133_638_952 == model_info("vgg16_c").params
    assert round(hand / 1e6) == 134  # Table 2
    assert model_info("vgg16_c").taps == model_info("vgg16").taps  # same layer names: block{i}_conv3 ends stages 3-5


def test_taps_are_the_last_activation_of_stages_2_to_5_and_the_last_pool():
    def taps(name):
        return [(t.level, t.layer, t.channels, t.stride) for t in model_info(name).taps if t.name is None]

    assert taps("vgg11") == [("P1", "block2_conv1", 128, 2), ("P2", "block3_conv2", 256, 4),
                             ("P3", "block4_conv2", 512, 8), ("P4", "block5_conv2", 512, 16),
                             ("P5", "block5_pool", 512, 32)]
    assert taps("vgg16")[1:4] == [("P2", "block3_conv3", 256, 4), ("P3", "block4_conv3", 512, 8),
                                  ("P4", "block5_conv3", 512, 16)]
    assert taps("vgg19_bn")[:2] == [("P1", "block2_conv2_relu", 128, 2), ("P2", "block3_conv4_relu", 256, 4)]
    assert taps("vgg13_bn")[-1] == ("P5", "block5_pool", 512, 32)
    named = {t.name: (t.level, t.layer, t.channels, t.stride) for t in model_info("vgg16").taps if t.name}
    # FCN's pool3/pool4 (Long et al. 2015): the first layer at strides 8 and 16, where the primary tap is the last
    assert named == {"pool1": ("P1", "block1_pool", 64, 2), "pool2": ("P2", "block2_pool", 128, 4),
                     "pool3": ("P3", "block3_pool", 256, 8), "pool4": ("P4", "block4_pool", 512, 16)}


def test_one_builder_two_layer_name_grammars_same_weight_shapes():
    stages = vgg.vgg_like((8, 16), (1, 2))
    request = lambda: Request.resolve("tiny", InputRules(32, 2), include_top=True, weights=None,  # noqa: E731
                                      input_tensor=None, input_shape=None, pooling=None, classes=3,
                                      classifier_activation="softmax")
    keras_names = vgg.vgg_family(request(), stages=stages, batch_norm=True, fc_units=(), dropout=0.1)
    course = vgg.vgg_family(request(), stages=stages, batch_norm=True, fc_units=(), dropout=0.1,
                            layer_names="course", bias_before_bn=True)
    assert [w.shape for w in keras_names.weights] == [w.shape for w in course.weights]
    assert [layer.name for layer in keras_names.layers][1:5] == ["block1_conv1", "block1_conv1_bn", "block1_conv1_relu",
                                                                  "block1_pool"]
    assert [layer.name for layer in course.layers][1:5] == ["block1_conv1", "block1_bn1", "block1_relu1", "block1_pool"]
    assert [layer.name for layer in course.layers][-3:] == ["avg_pool", "top_dropout", "predictions"]
