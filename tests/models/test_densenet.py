"""DenseNet-121/169/201 against keras.applications: same layers, names, options
and weight shapes; Keras's weight files (legacy .h5) give identical outputs."""

import inspect

import keras
import numpy as np
import pytest
from keras.src.applications import densenet as keras_densenet

from _keras_parity import assert_same_architecture, build_twins, randomize_batch_norm, save_legacy_h5, shapes_only

from keras_cv_course.models import DenseNet121, model_info
from keras_cv_course.models.densenet import IMAGENET_WEIGHTS

PARAMS = {121: 8_062_504, 169: 14_307_880, 201: 20_242_984}


def _assert_same_layout(ours, theirs):
    # Keras's names everywhere, except its two unnamed ZeroPadding2D layers.
    renamed = assert_same_architecture(ours, theirs)
    assert [a for a, _ in renamed] == ["conv1_pad", "pool1_pad"]
    assert all(b.startswith("zero_padding2d") for _, b in renamed)


@pytest.mark.parametrize("depth", [169, 201])
def test_layout_and_parameters_match_keras_applications(depth):
    with shapes_only():  # no weight is materialised
        ours, theirs = build_twins(f"densenet{depth}", input_shape=(32, 32, 3))
        assert ours.count_params() == theirs.count_params() == PARAMS[depth] == model_info(f"densenet{depth}").params
        _assert_same_layout(ours, theirs)


def test_densenet121_layout_weights_outputs_and_taps(tmp_path):
    rng = np.random.default_rng(0)
    shape = (64, 64, 3)
    theirs = keras.applications.DenseNet121(weights=None, input_shape=shape, classifier_activation=None)
    randomize_batch_norm(theirs, rng)
    weight_file = tmp_path / "densenet121_weights_tf_dim_ordering_tf_kernels.h5"
    save_legacy_h5(theirs, weight_file)
    ours = DenseNet121(weights=weight_file, input_shape=shape, classifier_activation=None)
    assert ours.count_params() == PARAMS[121] == model_info("densenet121").params
    _assert_same_layout(ours, theirs)
    x = rng.uniform(-2, 2, size=(2, *shape)).astype("float32")
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), atol=1e-5)
    # Feature taps at 64×64: exactly input / stride, with the recorded channels.
    for tap in model_info("densenet121").taps:
        assert ours.get_layer(tap.layer).output.shape[1:] == (64 // tap.stride, 64 // tap.stride, tap.channels)


@pytest.mark.parametrize("depth", [121, 169, 201])
def test_weight_specs_are_keras_files_and_hashes(depth):
    source = inspect.getsource(keras_densenet)
    spec = IMAGENET_WEIGHTS[depth]["imagenet"]
    assert spec.top.origin == getattr(keras_densenet, f"DENSENET{depth}_WEIGHT_PATH")
    assert spec.notop.origin == getattr(keras_densenet, f"DENSENET{depth}_WEIGHT_PATH_NO_TOP")
    for remote in (spec.top, spec.notop):
        assert f'"{remote.fname}"' in source and f'file_hash="{remote.file_hash}"' in source
    assert spec.preprocessing == "torch"
    assert model_info(f"densenet{depth}").weights["imagenet"] is spec


def test_feature_taps_channels_follow_the_blocks():
    assert [t.channels for t in model_info("densenet121").taps] == [64, 256, 512, 1024, 1024]
    assert [t.channels for t in model_info("densenet169").taps] == [64, 256, 512, 1280, 1664]
    assert [t.channels for t in model_info("densenet201").taps] == [64, 256, 512, 1792, 1920]


def test_one_row_per_depth_with_taps_and_weights_from_the_depth():
    from keras_cv_course.models import densenet

    keras_rows, torch_rows = densenet.ROWS[:3], densenet.ROWS[3:]
    assert [(r.name, r.public, r.options) for r in keras_rows] == [
        (f"densenet{d}", f"DenseNet{d}", {"depth": d}) for d in (121, 169, 201)]
    # torchvision's: presets of the same builders with PyTorch's BN epsilon, and only torchvision's weights
    assert [(r.name, r.base, r.fixed) for r in torch_rows] == [
        (f"densenet{d}_torchvision", f"densenet{d}", {"bn_epsilon": densenet.TORCH_BN_EPSILON}) for d in (121, 169, 201)]
    for row, torch_row in zip(keras_rows, torch_rows):
        info, torch_info = model_info(row.name), model_info(torch_row.name)
        assert info.taps == torch_info.taps == densenet._taps(row.options["depth"])
        assert info.params == torch_info.params == row.params
        assert info.weights == IMAGENET_WEIGHTS[row.options["depth"]]
        assert list(torch_info.weights) == ["torchvision"]
    with pytest.raises(TypeError, match=r"DenseNet121\(\) got unexpected keyword arguments \['dropout'\]"):
        DenseNet121(dropout=0.2)
