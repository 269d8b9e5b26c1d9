"""The small Fashion-MNIST nets of models/small.py: fashion_vgg (GAP head),
fashion_cnn_wide (no stem BatchNorm, dense head) and fashion_cnn (frozen
whitening stem, dense head), with parameter counts worked by hand from their
layer shapes; they are rows of models/vgg.py's one VGG builder ("course" names)."""

import numpy as np
import pytest

from keras_cv_course.models import get_model, model_info, small, vgg
from keras_cv_course.models.small import FashionCNN, FashionCNNWide, FashionVGG


def conv_params(k, c_in, c_out, *, bias):
    return k * k * c_in * c_out + (c_out if bias else 0)


def dense_params(n_in, n_out):
    return n_in * n_out + n_out


def batch_norm_params(channels):
    return 4 * channels  # gamma, beta, moving mean, moving variance


def dense_head_net_params(widths, units, classes=10, size=28, last_stage_convs=1):
    """Stem conv with bias, then conv + BN per stage, Flatten → fc1 → predictions."""
    total = conv_params(3, 1, widths[0], bias=True)
    for c_in, c_out in zip(widths, widths[1:]):
        total += conv_params(3, c_in, c_out, bias=False) + batch_norm_params(c_out)
    total += (last_stage_convs - 1) * (conv_params(3, widths[-1], widths[-1], bias=False) + batch_norm_params(widths[-1]))
    final_size = size // 2 ** (len(widths) - 1)
    return total + dense_params(final_size * final_size * widths[-1], units) + dense_params(units, classes)


def whitening_net_params(widths, units, classes=10, size=28):
    """3×3 whitening stem (2·9 filters, no bias) → pool, then conv + BN per
    stage, Flatten → fc1 → predictions."""
    stem_filters = 2 * 3 * 3 * 1
    total, c_in = conv_params(3, 1, stem_filters, bias=False), stem_filters
    for c_out in widths:
        total += conv_params(3, c_in, c_out, bias=False) + batch_norm_params(c_out)
        c_in = c_out
    final_size = size // 2 ** len(widths)
    return total + dense_params(final_size * final_size * widths[-1], units) + dense_params(units, classes)


def test_fashion_cnn_wide_parameter_count_is_worked_by_hand():
    model = get_model("fashion_cnn_wide")
    assert model.count_params() == dense_head_net_params((32, 64, 128), 256, last_stage_convs=2) == 1_849_674


def test_fashion_cnn_parameter_count_is_worked_by_hand_and_its_stem_is_frozen():
    model = get_model("fashion_cnn")
    assert model.count_params() == whitening_net_params((32, 64), 128) == 426_988
    frozen = 3 * 3 * 18 + 2 * (32 + 64)  # the whitening kernel and BatchNorm's moving statistics
    assert sum(int(np.prod(w.shape)) for w in model.non_trainable_weights) == frozen
    assert not model.get_layer("stem_whiten").trainable_weights


def test_fashion_cnn_layout_whitening_stem_then_bn_stages_and_dense_head():
    names = [layer.name for layer in get_model("fashion_cnn").layers]
    assert names[1:5] == ["stem_whiten", "stem_relu", "stem_pool", "block1_conv1"]
    assert "block1_bn1" in names and "block2_bn1" in names and "block3_conv1" not in names
    assert names[-3:] == ["flatten", "fc1", "predictions"]  # dropout 0.0 adds no layer


def test_fashion_cnn_wide_layout_stem_without_batch_norm_and_dense_head():
    model = get_model("fashion_cnn_wide")
    names = [layer.name for layer in model.layers]
    assert "block1_bn1" not in names and "block2_bn1" in names and "block3_bn1" in names
    assert model.get_layer("block1_conv1").activation.__name__ == "relu"
    assert model.get_layer("block1_conv1").use_bias and not model.get_layer("block2_conv1").use_bias
    assert model.get_layer("flatten").output.shape == (None, 7 * 7 * 128)
    assert names[-4:] == ["flatten", "fc1", "top_dropout", "predictions"] and "block3_conv2" in names


def test_fashion_vgg_keeps_its_gap_head_and_batch_norm_stem():
    model = get_model("fashion_vgg")
    names = [layer.name for layer in model.layers]
    assert "block1_bn1" in names and "avg_pool" in names and "fc1" not in names
    assert model.count_params() == 131_754


def test_dense_head_follows_the_input_size_and_include_top_false_pools():
    model = FashionVGG(input_shape=(32, 32, 1), widths=(8, 16), convs=(1, 1), stem_batch_norm=False, top_units=20, classes=3)
    assert model.get_layer("flatten").output.shape == (None, 16 * 16 * 16)
    assert model.count_params() == dense_head_net_params((8, 16), 20, classes=3, size=32)
    features = get_model("fashion_cnn", include_top=False, pooling="avg")
    assert features.output.shape == (None, 64)
    out = features(np.zeros((2, 28, 28, 1), "float32"))
    assert out.shape == (2, 64)


def test_taps_are_each_stages_last_activation_and_the_whitening_stem():
    def taps(name):
        return [(t.level, t.layer, t.channels, t.stride) for t in model_info(name).taps if t.name is None]

    assert taps("fashion_vgg") == [("P0", "block1_relu1", 32, 1), ("P1", "block2_relu2", 64, 2),
                                   ("P2", "block3_relu1", 128, 4)]
    assert taps("fashion_cnn") == [("P0", "stem_relu", 18, 1), ("P1", "block1_relu1", 32, 2),
                                   ("P2", "block2_relu1", 64, 4)]
    assert taps("fashion_cnn_wide") == [("P0", "block1_conv1", 32, 1), ("P1", "block2_relu1", 64, 2),
                                        ("P2", "block3_relu2", 128, 4)]


def test_small_nets_are_vgg_like_tables_of_the_one_vgg_builder():
    options = small.vgg_options(**{**small.FASHION_VGG, **small.FASHION_CNN_WIDE})
    assert options["stages"] == (vgg.Stage((32,)), vgg.Stage((64,)), vgg.Stage((128, 128), pool=False))
    assert (options["layer_names"], options["fc_units"], options["stem"]) == ("course", (256,), None)
    assert [b.__module__ for b in (FashionVGG, FashionCNN, FashionCNNWide)] == ["keras_cv_course.models.small"] * 3
    assert FashionCNN(top_units=None, dropout=0.0).layers[-2].name == "avg_pool"  # FashionVGG's options
    assert FashionCNNWide().name == "fashion_cnn_wide" and FashionVGG(name="mine").name == "mine"


def test_bad_stage_table_and_unknown_option_are_named():
    with pytest.raises(ValueError, match="widths and convs need one entry per stage"):
        FashionVGG(widths=(8, 16), convs=(1,))
    with pytest.raises(TypeError, match=r"FashionCNN\(\) got unexpected keyword arguments \['width'\]"):
        FashionCNN(width=3)
    with pytest.raises(ValueError, match=r"too small for 'fashion_cnn'.*at least 4x4"):
        FashionCNN(include_top=False, input_shape=(3, 3, 1))
