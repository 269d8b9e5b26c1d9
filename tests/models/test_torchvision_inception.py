"""InceptionV3(variant="torchvision") (registry ``inception_v3_torchvision``)
against torchvision's ``Inception3``: torchvision's weights converted through
the name table give its logits, at 299×299 and at a non-square size; its
pretrained input transform is our "tf" preprocessing; the keras layout stays
as it was."""

import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from _torch_parity import (ATOL, RTOL, assert_torchvision_parity, converted, random_images,  # noqa: E402
                           randomised, torch_outputs)

from keras_cv_course.models import InceptionV3, get_model, model_info, preprocess_input  # noqa: E402
from keras_cv_course.models.torch_weights import load_torch_weights  # noqa: E402
from keras_cv_course.models.torchvision_tables.inception_v3 import TABLES  # noqa: E402

NAME = "inception_v3_torchvision"
IMAGENET_MEAN, IMAGENET_STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])


def torchvision_inception(transform_input=False, aux_logits=False, seed=0):
    """torchvision's Inception-v3 as the parity tests build it, its random
    initialisation seeded (torch's global generator is left as it was)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return torchvision.models.inception_v3(weights=None, aux_logits=aux_logits, init_weights=True,
                                               transform_input=transform_input)


@pytest.mark.parametrize("input_hw, batch", [((299, 299), 1), ((160, 203), 2)], ids=["299x299", "160x203"])
def test_logits_match_torchvision(input_hw, batch):
    assert_torchvision_parity(NAME, torchvision_inception(), input_hw, batch=batch)


def test_pretrained_input_transform_is_tf_preprocessing():
    """torchvision's pretrained Inception-v3 runs with ``transform_input=True``:
    fed ImageNet-normalised images ``(x / 255 - mean) / std`` it first maps them
    to ``x / 127.5 - 1``. So our model on ``preprocess_input(x, "tf")`` gives its
    logits: the mode the registry records is right."""
    assert model_info(NAME).preprocessing == "tf" == model_info(NAME).weights["torchvision"].preprocessing
    input_hw = (96, 107)
    torch_model = randomised(torchvision_inception(transform_input=True), input_hw)
    model = converted(NAME, torch_model, input_hw, classifier_activation=None)
    pixels = np.random.default_rng(1).uniform(0, 255, size=(2, *input_hw, 3)).astype("float32")
    normalised = ((pixels / 255.0 - IMAGENET_MEAN) / IMAGENET_STD).astype("float32")
    expected = torch_outputs(torch_model, normalised)
    actual = keras.ops.convert_to_numpy(model(preprocess_input(pixels, model=NAME), training=False))
    np.testing.assert_allclose(actual, expected, atol=ATOL, rtol=RTOL)


def test_state_dict_with_the_aux_head_converts_without_it():
    """The table lists every torchvision module in state_dict order; the
    pretrained file has ``AuxLogits``, which the table marks optional (never
    built here), so such a file converts, with or without the top."""
    torch_model = torchvision_inception(aux_logits=True)
    state = {key: value.numpy() for key, value in torch_model.state_dict().items()}
    assert any(key.startswith("AuxLogits.") for key in state)
    # One entry per torch module (94 BasicConv2d × conv, bn; 5 of AuxLogits; fc), in state_dict order.
    table = TABLES[NAME](None)
    assert [entry.prefix for entry in table] == list(dict.fromkeys(key.rsplit(".", 1)[0] for key in state))
    assert len(table) == 94 * 2 + 5 + 1
    assert {entry.optional for entry in table if entry.prefix.startswith(("AuxLogits.", "fc"))} == {True}
    for include_top in (True, False):
        model = get_model(NAME, input_shape=(75, 75, 3), include_top=include_top)
        load_torch_weights(model, state, NAME)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model.get_layer("mixed10_branch3x3dbl_3x1_bn").gamma),
                                  state["Mixed_7c.branch3x3dbl_3b.bn.weight"])


def _layers(model):
    return {layer.name: layer for layer in model.layers}


def test_keras_variant_is_unchanged_and_the_variants_differ_only_where_torchvision_does():
    shape = (75, 75, 3)
    keras_layout = InceptionV3(input_shape=shape)
    assert InceptionV3(input_shape=shape, variant="keras").to_json() == keras_layout.to_json()
    assert keras_layout.name == "inception_v3" and keras_layout.count_params() == model_info("inception_v3").params
    torch_layout = get_model(NAME, input_shape=shape)
    assert torch_layout.name == NAME and torch_layout.count_params() == model_info(NAME).params == 23_869_000

    ours, theirs = _layers(keras_layout), _layers(torch_layout)
    added = [name for name in theirs if name not in ours]
    pads = [f"mixed{i}_branch_pool_pad" for i in (0, 1, 2, 4, 5, 6, 7, 9, 10)]
    assert sorted(added) == sorted(pads + ["top_dropout"]) and set(theirs) - set(added) == set(ours)
    assert theirs["top_dropout"].rate == 0.5
    for name, layer in ours.items():
        if isinstance(layer, keras.layers.BatchNormalization):
            assert not layer.scale and theirs[name].scale and layer.epsilon == theirs[name].epsilon == 1e-3
        elif isinstance(layer, keras.layers.AveragePooling2D):
            assert (layer.padding, theirs[name].padding) == ("same", "valid"), name
            assert theirs[f"{name}_pad"].padding == ((1, 1), (1, 1))
        elif layer.weights:
            assert [w.shape for w in layer.weights] == [w.shape for w in theirs[name].weights], name


def test_variant_is_checked_and_keras_files_are_keras_layout_only():
    with pytest.raises(ValueError, match="variant must be one of"):
        InceptionV3(variant="paper", input_shape=(75, 75, 3))
    assert "imagenet" in model_info("inception_v3").weights and "imagenet" not in model_info(NAME).weights
    with pytest.raises(ValueError, match="imagenet"):
        get_model(NAME, weights="imagenet")
