"""count_flops: hand-computed MACs of every counted layer kind, FLOPs = 2 × MACs,
nested models, and published figures of well-known networks (tolerances stated)."""

import keras
import pytest

from keras_cv_course import models
from keras_cv_course.models.complexity import complexity_table, count_flops, format_table


def test_hand_computed_macs_per_layer_kind():
    inputs = keras.Input((10, 10, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", name="conv")(inputs)  # 10*10 positions * 3*3*3*8
    x = keras.layers.Conv2D(8, 3, padding="same", groups=2, name="grouped")(x)  # 100 * 3*3*(8/2)*8
    x = keras.layers.DepthwiseConv2D(3, strides=2, padding="valid", depth_multiplier=2, name="dw")(x)  # 4*4 * 3*3*8*2
    x = keras.layers.SeparableConv2D(5, 3, padding="same", name="sep")(x)  # 16 * (3*3*16 + 16*5)
    x = keras.layers.Conv2DTranspose(4, 2, strides=2, name="up")(x)  # 16 input positions * 2*2*4*5
    x = keras.layers.Dense(6, name="per_pixel")(x)  # 8*8 positions * 4*6
    x = keras.layers.Flatten(name="flat")(x)
    x = keras.layers.BatchNormalization(name="bn")(x)  # not counted
    outputs = keras.layers.Dense(10, name="fc")(x)  # 384 * 10
    model = keras.Model(inputs, outputs)
    cost = count_flops(model)
    expected = {
        "conv": 100 * 27 * 8,
        "grouped": 100 * 9 * 4 * 8,
        "dw": 16 * 9 * 8 * 2,
        "sep": 16 * (9 * 16 + 16 * 5),
        "up": 16 * 2 * 2 * 4 * 5,
        "per_pixel": 64 * 4 * 6,
        "fc": 384 * 10,
    }
    assert {row.name: row.macs for row in cost.layers} == expected
    assert cost.macs == sum(expected.values()) == 62_944
    assert cost.flops == 2 * cost.macs and cost.gflops == pytest.approx(2 * 62_944 / 1e9)
    assert cost.params == model.count_params()
    assert cost.by_kind()["Conv2D"] == expected["conv"] + expected["grouped"]


def test_nested_models_are_counted_once_with_prefixed_names():
    inner_in = keras.Input((8, 8, 4))
    inner = keras.Model(inner_in, keras.layers.Conv2D(2, 1, name="pw")(inner_in), name="backbone")
    outer = keras.Sequential([keras.Input((8, 8, 4)), inner, keras.layers.Flatten(name="f"),
                              keras.layers.Dense(3, name="head")])
    rows = {row.name: row.macs for row in count_flops(outer).layers}
    assert rows == {"backbone/pw": 64 * 4 * 2, "head": 128 * 3}


def test_unknown_spatial_size_is_refused_with_advice():
    model = models.MobileNet(include_top=False)  # (None, None, 3) input
    with pytest.raises(ValueError, match="fixed input_shape"):
        count_flops(model)


# Published multiply-accumulate counts at 224x224 (tolerance 2% unless stated):
# MobileNet v1 569M (Howard et al. 2017, Table 8), MobileNetV2 300M (Sandler et al.
# 2018, Table 4), EfficientNet-B0 0.39B (Tan & Le 2019, Table 2), VGG-16 15.5G
# (commonly cited, e.g. torchvision's 15.47 GFLOPS), ResNet-50 3.8G (He et al. 2016,
# Table 1; keras.applications' layout, stride in the first 1x1).
@pytest.mark.parametrize(
    "name, published_macs",
    [("mobilenet", 569e6), ("mobilenet_v2", 300e6), ("efficientnet_b0", 390e6), ("vgg16", 15.5e9)],
)
def test_published_figures(name, published_macs):
    info = models.model_info(name)
    cost = count_flops(models.get_model(name, input_shape=info.input_shape))
    assert cost.macs == pytest.approx(published_macs, rel=0.02)
    assert cost.params == info.params


def test_resnet50_matches_the_paper():
    cost = count_flops(keras.applications.ResNet50(weights=None))
    assert cost.macs == pytest.approx(3.8e9, rel=0.03)


def test_complexity_table_rows():
    rows = complexity_table(["mobilenet_v2", "lenet5"])
    assert [row.name for row in rows] == ["mobilenet_v2", "lenet5"]
    name, params, gflops = rows[0]
    assert params == models.model_info("mobilenet_v2").params
    assert gflops == pytest.approx(0.6015, rel=1e-3) and rows[0].gmacs == pytest.approx(gflops / 2)
    assert rows[1].params == models.model_info("lenet5").params
    text = format_table(rows)
    assert "mobilenet_v2" in text and "GFLOPs" in text
