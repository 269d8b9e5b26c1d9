"""OverFeat fast and accurate (Sermanet et al. 2014, arXiv:1312.6229, Tables 1
and 3): parameter counts worked by hand per layer, the tables' spatial sizes,
and what the paper's Table 4 states (145M and 144M parameters, 2810M and 5369M
connections)."""

import keras
import pytest

from keras_cv_course.blocks import LocalResponseNormalization
from keras_cv_course.models import OverFeatAccurate, OverFeatFast, get_model, model_info

# Table 4, "Number of parameters and connections for different models", in millions.
PAPER_PARAMS_M = {"overfeat_fast": 145, "overfeat_accurate": 144}
PAPER_CONNECTIONS_M = {"overfeat_fast": 2810, "overfeat_accurate": 5369}

# Per layer: kernel × kernel × in × out + out biases (convs); in × out + out (fc).
FAST_PARAMS = {
    "conv1": 11 * 11 * 3 * 96 + 96,  # 34,944
    "conv2": 5 * 5 * 96 * 256 + 256,  # 614,656
    "conv3": 3 * 3 * 256 * 512 + 512,  # 1,180,160
    "conv4": 3 * 3 * 512 * 1024 + 1024,  # 4,719,616
    "conv5": 3 * 3 * 1024 * 1024 + 1024,  # 9,438,208
    "fc6": 6 * 6 * 1024 * 3072 + 3072,  # 113,249,280 (pool5 is 6×6×1024 = 36,864)
    "fc7": 3072 * 4096 + 4096,  # 12,587,008
    "predictions": 4096 * 1000 + 1000,  # 4,097,000
}
ACCURATE_PARAMS = {
    "conv1": 7 * 7 * 3 * 96 + 96,  # 14,208
    "conv2": 7 * 7 * 96 * 256 + 256,  # 1,204,480
    "conv3": 3 * 3 * 256 * 512 + 512,  # 1,180,160
    "conv4": 3 * 3 * 512 * 512 + 512,  # 2,359,808
    "conv5": 3 * 3 * 512 * 1024 + 1024,  # 4,719,616
    "conv6": 3 * 3 * 1024 * 1024 + 1024,  # 9,438,208
    "fc7": 5 * 5 * 1024 * 4096 + 4096,  # 104,861,696 (pool6 is 5×5×1024 = 25,600)
    "fc8": 4096 * 4096 + 4096,  # 16,781,312
    "predictions": 4096 * 1000 + 1000,  # 4,097,000
}
HAND = {"overfeat_fast": FAST_PARAMS, "overfeat_accurate": ACCURATE_PARAMS}
BUILDERS = {"overfeat_fast": OverFeatFast, "overfeat_accurate": OverFeatAccurate}


def build(name, **kwargs):
    with keras.StatelessScope():  # shapes and counts only: no weight is allocated
        return BUILDERS[name](**kwargs)


def test_fast_hand_count_is_145920872():
    assert sum(FAST_PARAMS.values()) == 145_920_872


def test_accurate_hand_count_is_144656488():
    assert sum(ACCURATE_PARAMS.values()) == 144_656_488


@pytest.mark.parametrize("name", sorted(HAND))
def test_parameters_equal_hand_count_row_and_per_layer(name):
    model = build(name)
    hand = sum(HAND[name].values())
    assert model.count_params() == hand == model_info(name).params
    assert {layer: model.get_layer(layer).count_params() for layer in HAND[name]} == HAND[name]
    weighted = {layer.name for layer in model.layers if layer.count_params()}
    assert weighted == set(HAND[name])


@pytest.mark.parametrize("name", sorted(HAND))
def test_parameters_agree_with_the_papers_table_4(name):
    # The paper states whole millions: 145,920,872 → 145M and 144,656,488 → 144M (truncated).
    assert sum(HAND[name].values()) // 1_000_000 == PAPER_PARAMS_M[name]


def _connections(model):
    """Multiply-accumulates per image: output positions × kernel area × input channels × filters."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, height, width, filters = layer.output.shape
            total += height * width * filters * layer.kernel_size[0] * layer.kernel_size[1] * layer.input.shape[-1]
        elif isinstance(layer, keras.layers.Dense):
            total += layer.input.shape[-1] * layer.units
    return total


@pytest.mark.parametrize("name", sorted(HAND))
def test_connections_are_within_one_percent_of_the_papers_table_4(name):
    # fast 2,801,549,312 vs 2810M; accurate 5,355,517,440 vs 5369M (the paper's count
    # convention is not stated; the gap is 0.3%).
    assert _connections(build(name)) == pytest.approx(PAPER_CONNECTIONS_M[name] * 1e6, rel=0.01)


def test_fast_spatial_sizes_follow_table_1():
    model = build("overfeat_fast")
    assert model.input_shape == (None, 231, 231, 3)
    sides = {name: model.get_layer(name).output.shape[1] for name in
             ("conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5")}
    # Table 1 "spatial input size" per layer: 231, 24 (see below), 12, 12, 12, 6, 1, 1.
    # Layer 2's input is pool1 = 28 (231 -11/4-> 56 -2/2-> 28); the table's 24 is conv2's output.
    assert sides == {"conv1": 56, "pool1": 28, "conv2": 24, "pool2": 12, "conv3": 12, "conv4": 12, "conv5": 12,
                     "pool5": 6}
    assert model.get_layer("flatten").output.shape == (None, 6 * 6 * 1024)
    assert [model.get_layer(fc).units for fc in ("fc6", "fc7", "predictions")] == [3072, 4096, 1000]


def test_accurate_spatial_sizes_follow_table_3():
    model = build("overfeat_accurate")
    assert model.input_shape == (None, 221, 221, 3)
    # Table 3 "spatial input size" per layer: 221, 36, 15, 15, 15, 15, 5, 1, 1.
    inputs = [model.get_layer(name).output.shape[1] for name in ("pool1", "pool2", "conv3", "conv4", "conv5", "pool6")]
    assert [221] + inputs == [221, 36, 15, 15, 15, 15, 5]
    assert model.get_layer("conv1").output.shape[1] == 108 and model.get_layer("conv2").output.shape[1] == 30
    assert model.get_layer("flatten").output.shape == (None, 5 * 5 * 1024)
    assert [model.get_layer(fc).units for fc in ("fc7", "fc8", "predictions")] == [4096, 4096, 1000]


@pytest.mark.parametrize("name, kernels, strides, pads, pools", [
    ("overfeat_fast", [11, 5, 3, 3, 3], [4, 1, 1, 1, 1], ["conv3_pad", "conv4_pad", "conv5_pad"],
     {"pool1": 2, "pool2": 2, "pool5": 2}),
    ("overfeat_accurate", [7, 7, 3, 3, 3, 3], [2, 1, 1, 1, 1, 1], ["conv3_pad", "conv4_pad", "conv5_pad", "conv6_pad"],
     {"pool1": 3, "pool2": 2, "pool6": 3}),
])
def test_table_filters_padding_and_non_overlapping_pools_without_lrn(name, kernels, strides, pads, pools):
    model = build(name)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [conv.kernel_size[0] for conv in convs] == kernels and [conv.strides[0] for conv in convs] == strides
    assert all(conv.padding == "valid" and conv.activation.__name__ == "relu" for conv in convs)
    padded = [layer for layer in model.layers if isinstance(layer, keras.layers.ZeroPadding2D)]
    assert [layer.name for layer in padded] == pads and all(layer.padding == ((1, 1), (1, 1)) for layer in padded)
    max_pools = {layer.name: layer for layer in model.layers if isinstance(layer, keras.layers.MaxPooling2D)}
    assert {key: pool.pool_size[0] for key, pool in max_pools.items()} == pools
    assert all(pool.strides == pool.pool_size for pool in max_pools.values())  # kernel = stride
    assert not [layer for layer in model.layers if isinstance(layer, LocalResponseNormalization)]
    assert [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)] == [0.5, 0.5]


@pytest.mark.parametrize("name, size", [("overfeat_fast", 71), ("overfeat_accurate", 77)])
def test_registry_facts_and_smallest_input(name, size):
    info = model_info(name)
    assert info.family == "alexnet" and info.preprocessing == "torch" and info.min_size == size
    assert info.paper.startswith("Sermanet, Eigen, Zhang, Mathieu, Fergus & LeCun 2014")
    with keras.StatelessScope():
        features = get_model(name, include_top=False, input_shape=(size, size, 3))
    assert features.output_shape == (None, 1, 1, 1024)
    with pytest.raises(ValueError, match="too small"):
        get_model(name, include_top=False, input_shape=(size - 1, size - 1, 3))


def test_dropout_option_and_headless_vectors():
    assert "fc6_dropout" not in [layer.name for layer in build("overfeat_fast", dropout=0.0).layers]
    assert build("overfeat_accurate", include_top=False, pooling="avg").output_shape == (None, 1024)
    assert build("overfeat_fast", classes=10).count_params() == 145_920_872 - 4096 * 990 - 990
