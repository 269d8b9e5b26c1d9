"""torchvision's DenseNet-121/169/201 state_dicts in our DenseNets: the layouts
are the same (``models.densenet``'s docstring), so with ``bn_epsilon=1e-5``
(PyTorch's) the converted models give torchvision's logits, at 224×224 and at a
non-square 160×224."""

import numpy as np
import pytest

pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

import keras  # noqa: E402

from _torch_parity import (RTOL, assert_torchvision_parity, converted, random_images, randomised,  # noqa: E402
                           torch_outputs)
from keras_cv_course.models import densenet, get_model  # noqa: E402
from keras_cv_course.models.torchvision_tables.densenet import TABLES  # noqa: E402

DEPTHS = (121, 169, 201)


@pytest.mark.parametrize("input_hw", [(224, 224), (160, 224)], ids=["224x224", "160x224"])
@pytest.mark.parametrize("depth", [pytest.param(d, marks=[pytest.mark.exhaustive] if d != 121 else []) for d in DEPTHS])
def test_torchvision_densenet_parity(depth, input_hw):
    torch_model = getattr(torchvision.models, f"densenet{depth}")(weights=None)
    assert_torchvision_parity(f"densenet{depth}_torchvision", torch_model, input_hw)


@pytest.mark.parametrize("depth", DEPTHS)
def test_table_maps_every_torch_tensor_once(depth):
    """The table's modules are exactly torchvision's weighted modules, in state_dict order."""
    torch_model = getattr(torchvision.models, f"densenet{depth}")(weights=None)
    modules = list(dict.fromkeys(key.rsplit(".", 1)[0] for key in torch_model.state_dict()))
    model = get_model(f"densenet{depth}", input_shape=(32, 32, 3))
    entries = TABLES[f"densenet{depth}"](model)
    assert [entry.prefix for entry in entries] == modules
    assert len({entry.layer for entry in entries}) == len(entries)


def test_bn_epsilon_reaches_every_batch_norm_and_keeps_the_names():
    default = get_model("densenet121", input_shape=(32, 32, 3))
    torch_eps = get_model("densenet121", input_shape=(32, 32, 3), bn_epsilon=densenet.TORCH_BN_EPSILON)
    assert (default.name, torch_eps.name) == ("densenet121", "densenet121_torchvision")
    assert [layer.name for layer in default.layers] == [layer.name for layer in torch_eps.layers]
    norms = [layer for layer in torch_eps.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 2 * sum(densenet.BLOCKS[121]) + 3 + 2  # two a dense layer, one a transition, stem, norm5
    assert {layer.epsilon for layer in norms} == {densenet.TORCH_BN_EPSILON}
    assert {layer.epsilon for layer in default.layers if isinstance(layer, keras.layers.BatchNormalization)} \
        == {densenet.BN_EPSILON}


def test_bn_epsilon_matters_when_running_variances_are_near_it():
    """With norm5's running variances at 1e-5 (near-dead channels, as trained
    networks have; BN then scales them up ~220×), Keras's 1.001e-5 moves the
    logits by ~2.5e-4 of their scale, beyond the parity tolerance; bn_epsilon=1e-5
    stays at float32 rounding (errors relative to the largest logit)."""
    input_hw = (64, 64)
    torch_model = randomised(torchvision.models.densenet121(weights=None))
    torch_model.features.norm5.running_var.fill_(1e-5)
    images = random_images(input_hw)
    expected = torch_outputs(torch_model, images)
    error = {}
    for eps in (densenet.BN_EPSILON, densenet.TORCH_BN_EPSILON):
        model = converted("densenet121", torch_model, input_hw, classifier_activation=None, bn_epsilon=eps)
        actual = keras.ops.convert_to_numpy(model(images, training=False))
        error[eps] = np.max(np.abs(actual - expected)) / np.max(np.abs(expected))
    assert error[densenet.TORCH_BN_EPSILON] < 1e-5
    assert error[densenet.BN_EPSILON] > RTOL
