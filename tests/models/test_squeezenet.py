"""SqueezeNet 1.0 / 1.1: torchvision's parameter counts, map sizes, the top."""

import keras
import numpy as np
import pytest

from keras_cv_course.models import SqueezeNet1_0, SqueezeNet1_1, model_info

# torchvision's published figures (SqueezeNet1_0_Weights / SqueezeNet1_1_Weights "num_params").
CASES = [
    (SqueezeNet1_0, "squeezenet1_0", 1_248_424, (109, 54, 27, 13)),
    (SqueezeNet1_1, "squeezenet1_1", 1_235_496, (111, 55, 27, 13)),
]


@pytest.mark.parametrize("builder, key, params, sides", CASES)
def test_parameters_map_sizes_and_top(builder, key, params, sides):
    model = builder(input_shape=(224, 224, 3))
    assert model.count_params() == params == model_info(key).params
    assert model.name == key
    assert model.output_shape == (None, 1000)
    conv1, pool1, pool2, pool3 = sides  # torchvision: ceil-mode 3×3/2 pools
    assert model.get_layer("conv1").output.shape[1:3] == (conv1, conv1)
    for index, side in enumerate((pool1, pool2, pool3), start=1):
        assert model.get_layer(f"pool{index}").output.shape[1:3] == (side, side)
    fires = [l.name for l in model.layers if l.name.endswith("_concat")]
    assert fires == [f"fire{i}_concat" for i in range(2, 10)]
    # The classifier: 1×1 conv with ReLU, then the spatial mean, then softmax.
    conv10 = model.get_layer("conv10")
    assert conv10.kernel.shape == (1, 1, 512, 1000) and conv10.activation is keras.activations.relu
    assert model.get_layer("fire9_concat").output.shape[1:] == (13, 13, 512)


@pytest.mark.parametrize("builder, key, size", [(SqueezeNet1_0, "squeezenet1_0", 21), (SqueezeNet1_1, "squeezenet1_1", 17)])
def test_smallest_input_and_feature_output(builder, key, size):
    assert model_info(key).min_size == size
    model = builder(include_top=False, pooling="avg", input_shape=(size, size, 3))
    assert model.output_shape == (None, 512)
    assert model.get_layer("fire9_concat").output.shape[1:3] == (1, 1)
    with pytest.raises(ValueError, match="too small"):
        builder(include_top=False, input_shape=(size - 1, size - 1, 3))


def test_logits_without_activation_are_the_mean_of_relu_maps():
    rng = np.random.default_rng(0)
    model = SqueezeNet1_1(input_shape=(64, 64, 3), classes=7, classifier_activation=None)
    x = rng.uniform(-1, 1, size=(2, 64, 64, 3)).astype("float32")
    logits = keras.ops.convert_to_numpy(model(x))
    assert logits.shape == (2, 7) and (logits >= 0).all()


def test_one_row_per_version_and_the_dropout_option():
    from keras_cv_course.models import squeezenet

    assert [(r.name, r.public, r.options, r.user_options) for r in squeezenet.ROWS] == [
        ("squeezenet1_0", "SqueezeNet1_0", {"version": "1_0"}, {"dropout": 0.5}),
        ("squeezenet1_1", "SqueezeNet1_1", {"version": "1_1"}, {"dropout": 0.5}),
    ]
    with keras.StatelessScope():
        assert not any(isinstance(l, keras.layers.Dropout) for l in SqueezeNet1_1(dropout=0.0).layers)
        assert SqueezeNet1_0(include_top=False, pooling="max").output_shape == (None, 512)
    with pytest.raises(TypeError, match=r"SqueezeNet1_0\(\) got unexpected keyword arguments \['variant'\]"):
        SqueezeNet1_0(variant="paper")
