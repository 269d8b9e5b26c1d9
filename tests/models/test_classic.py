"""LeNet-5, AlexNet, ZFNet and NiN: parameter counts worked by hand and the
structural facts of their papers."""

import keras
import numpy as np
import pytest

from keras_cv_course.blocks import LocalResponseNormalization
from keras_cv_course.models import VGGS, AlexNet, LeNet5, NiN, ZFNet, get_model, model_info


def conv_params(k, c_in, c_out, groups=1):
    return k * k * (c_in // groups) * c_out + c_out


def dense_params(n_in, n_out):
    return n_in * n_out + n_out


def test_lenet5_course_layout_has_44426_parameters():
    model = LeNet5()
    assert model.input_shape == (None, 28, 28, 1)
    assert model.get_layer("flatten").output.shape == (None, 256)
    hand = conv_params(5, 1, 6) + conv_params(5, 6, 16) + dense_params(256, 120) + dense_params(120, 84) + dense_params(84, 10)
    assert model.count_params() == hand == 44_426


def test_lenet5_classic_variant_is_the_papers_geometry():
    model = LeNet5(variant="classic")
    assert model.input_shape == (None, 32, 32, 1)
    assert model.get_layer("flatten").output.shape == (None, 400)
    assert model.count_params() == 61_706
    assert model.get_layer("conv1").activation.__name__ == "tanh"
    assert isinstance(model.get_layer("pool1"), keras.layers.AveragePooling2D)


def test_lenet5_rgb_input_and_unknown_variant():
    assert LeNet5(input_shape=(32, 32, 3)).count_params() == 44_426 + 2 * 25 * 6 + (400 - 256) * 120
    with pytest.raises(ValueError, match="variant must be one of"):
        LeNet5(variant="lenet1")


def test_lenet5_classic_registration_and_weights_of_the_course_variant_only():
    assert LeNet5(variant="classic").name == "lenet5" and get_model("lenet5_classic").name == "lenet5_classic"
    assert list(model_info("lenet5").weights) == ["fashion_mnist"] and not model_info("lenet5_classic").weights
    with pytest.raises(ValueError, match="neither a file nor a known weight name"):
        LeNet5(variant="classic", weights="fashion_mnist")


def test_alexnet_torchvision_layout_has_61100840_parameters():
    model = AlexNet()
    widths = [model.get_layer(f"conv{i}").filters for i in range(1, 6)]
    assert widths == [64, 192, 384, 256, 256]
    assert model.get_layer("pool5").output.shape == (None, 6, 6, 256)
    assert model.count_params() == 61_100_840


def test_alexnet_adaptive_pooling_accepts_other_sizes_with_the_same_weights():
    assert AlexNet(input_shape=(96, 96, 3)).count_params() == 61_100_840


def test_alexnet_paper_variant_is_two_tower_with_lrn():
    model = AlexNet(variant="paper")
    assert model.input_shape == (None, 227, 227, 3)
    assert [model.get_layer(f"conv{i}").groups for i in range(1, 6)] == [1, 2, 1, 2, 2]
    assert model.get_layer("conv2").kernel.shape == (5, 5, 48, 256)
    assert model.get_layer("conv1").output.shape == (None, 55, 55, 96)
    assert isinstance(model.get_layer("conv1_lrn"), LocalResponseNormalization)
    hand = (
        conv_params(11, 3, 96) + conv_params(5, 96, 256, 2) + conv_params(3, 256, 384)
        + conv_params(3, 384, 384, 2) + conv_params(3, 384, 256, 2)
        + dense_params(9216, 4096) + dense_params(4096, 4096) + dense_params(4096, 1000)
    )
    assert model.count_params() == hand == 60_965_224


def test_zfnet_map_sizes_follow_the_papers_figure_3():
    model = ZFNet()
    sizes = [model.get_layer(name).output.shape[1] for name in ("conv1", "pool1", "conv2", "pool2", "conv5", "pool5")]
    assert sizes == [110, 55, 26, 13, 13, 6]
    assert model.get_layer("conv1").kernel_size == (7, 7) and model.get_layer("conv1").strides == (2, 2)
    assert model.count_params() == 62_357_608


def test_vgg_s_is_chatfield_et_al_cnn_s_with_102908520_parameters():
    # Chatfield et al. 2014, Table 1 (CNN-S) as released (VGG_CNN_S): ceil-mode pools
    # 224 -conv 7/2-> 109 -pool 3/3-> 37 -conv 5-> 33 -pool 2/2-> 17 -conv 3 pad 1 (x3)-> 17 -pool 3/3-> 6.
    weights = [7 * 7 * 3 * 96 + 96, 5 * 5 * 96 * 256 + 256, 3 * 3 * 256 * 512 + 512, 2 * (3 * 3 * 512 * 512 + 512),
               6 * 6 * 512 * 4096 + 4096, 4096 * 4096 + 4096, 4096 * 1000 + 1000]
    with keras.StatelessScope():
        model = VGGS()
    assert model.count_params() == sum(weights) == 102_908_520 == model_info("vgg_s").params
    sides = {name: model.get_layer(name).output.shape[1] for name in ("conv1", "pool1", "conv2", "pool2", "conv5", "pool5")}
    assert sides == {"conv1": 109, "pool1": 37, "conv2": 33, "pool2": 17, "conv5": 17, "pool5": 6}
    assert isinstance(model.get_layer("conv1_lrn"), LocalResponseNormalization)
    assert "conv2_lrn" not in [layer.name for layer in model.layers]


def test_nin_has_no_fully_connected_layer_and_pools_class_maps():
    model = NiN()
    assert not [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert model.get_layer("mlpconv4_conv3").filters == 1000
    assert isinstance(model.get_layer("avg_pool"), keras.layers.GlobalAveragePooling2D)
    mlp = lambda k, c_in, widths: conv_params(k, c_in, widths[0]) + sum(  # noqa: E731
        conv_params(1, a, b) for a, b in zip(widths, widths[1:])
    )
    hand = mlp(11, 3, (96, 96, 96)) + mlp(5, 96, (256,) * 3) + mlp(3, 256, (384,) * 3) + mlp(3, 384, (1024, 1024, 1000))
    assert model.count_params() == hand == 7_595_176


def test_nin_cifar_variant_scores_are_class_map_means():
    model = get_model("nin_cifar", classifier_activation=None)
    images = np.random.default_rng(0).uniform(0, 1, (2, 32, 32, 3)).astype("float32")
    maps = keras.Model(model.input, model.get_layer("mlpconv3_conv3").output)(images)
    np.testing.assert_allclose(model(images), np.mean(maps, axis=(1, 2)), rtol=1e-5, atol=1e-6)
    assert model.count_params() == 966_986


def test_nin_cifar_pools_same_and_average_pools_its_second_block():
    model = get_model("nin_cifar")
    assert model.name == "nin_cifar" and NiN(variant="cifar").name == "nin_cifar"
    assert [model.get_layer(f"pool{i}").output.shape[1] for i in (1, 2)] == [16, 8]
    assert isinstance(model.get_layer("pool2"), keras.layers.AveragePooling2D)
    assert model.get_layer("pool1_dropout").rate == model.get_layer("pool2_dropout").rate == 0.5
    with pytest.raises(ValueError, match=r"NiN variant must be one of \['cifar', 'imagenet'\]"):
        NiN(variant="mnist")


@pytest.mark.parametrize("name", ["lenet5", "alexnet", "zfnet", "nin"])
def test_include_top_false_with_pooling_gives_vectors(name):
    model = get_model(name, include_top=False, pooling="avg")
    assert len(model.output_shape) == 2


def test_bad_pooling_and_classes_are_named():
    with pytest.raises(ValueError, match=r"pooling must be None, 'avg' or 'max'; got 'mean'"):
        AlexNet(include_top=False, pooling="mean")
    with pytest.raises(ValueError, match="classes must be a positive int; got 0"):
        LeNet5(classes=0)
