"""The ResNet family: published parameter counts (keras.applications parity is
the twin sweep of test_keras_applications_parity.py), Keras's weight files, one
Row per model, and the small-image networks on 28×28×1 and 32×32×3 inputs."""

import inspect

import keras
import numpy as np
import pytest
from keras.src.applications import resnet as keras_resnet

from _keras_parity import randomize_weights
from keras_cv_course import models
from keras_cv_course.models import _common, registry, resnet, weight_files


def trainable_params(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def test_resnet50_keras_layout_parameter_count():
    assert models.ResNet50().count_params() == 25_636_712


def _bottleneck(cin, width, projection):
    """(conv weights, BN channels) of one torchvision bottleneck without conv biases:
    1×1 cin→w, 3×3 w→w, 1×1 w→4w, each with a BN, plus a 1×1 cin→4w projection and
    its BN where the shape changes (the first block of every stage)."""
    convs = cin * width + 3 * 3 * width * width + width * 4 * width + (cin * 4 * width if projection else 0)
    bn = width + width + 4 * width + (4 * width if projection else 0)
    return convs, bn


def test_resnet26_parameter_count_by_hand():
    # ResNet-26 = 2 + 3·8: the stem conv, 8 bottlenecks of 3 convs, the fc (timm's resnet26).
    stem_conv, stem_bn = 7 * 7 * 3 * 64, 64  # 9,408 weights; BN over 64 channels
    blocks = [
        _bottleneck(64, 64, True), _bottleneck(256, 64, False),  # conv2: 73,728 + 69,632; BN 640 + 384
        _bottleneck(256, 128, True), _bottleneck(512, 128, False),  # conv3: 376,832 + 278,528; BN 1,280 + 768
        _bottleneck(512, 256, True), _bottleneck(1024, 256, False),  # conv4: 1,507,328 + 1,114,112; BN 2,560 + 1,536
        _bottleneck(1024, 512, True), _bottleneck(2048, 512, False),  # conv5: 6,029,312 + 4,456,448; BN 5,120 + 3,072
    ]
    assert blocks == [(73_728, 640), (69_632, 384), (376_832, 1_280), (278_528, 768),
                      (1_507_328, 2_560), (1_114_112, 1_536), (6_029_312, 5_120), (4_456_448, 3_072)]
    conv_weights = stem_conv + sum(c for c, _ in blocks)
    bn_channels = stem_bn + sum(b for _, b in blocks)
    fc = 2048 * 1000 + 1000
    assert (conv_weights, bn_channels, fc) == (13_915_328, 15_424, 2_049_000)
    trainable = conv_weights + 2 * bn_channels + fc  # BN gamma and beta
    keras_count = trainable + 2 * bn_channels  # + BN moving mean and variance (PyTorch buffers)
    assert (trainable, keras_count) == (15_995_176, 16_026_024)
    assert round(trainable / 1e6, 1) == 16.0  # timm's published resnet26 figure, 16.0M

    row = next(r for r in resnet.ROWS if r.name == "resnet26")
    assert row.params == keras_count == models.model_info("resnet26").params
    assert row.options == {"depth": 26} and resnet.IMAGENET_DEPTHS[26] == ("bottleneck", (2, 2, 2, 2))
    with keras.StatelessScope():
        model = models.ResNet26()
    assert (model.name, model.count_params(), trainable_params(model)) == ("resnet26", keras_count, trainable)
    assert [layer.name for layer in model.layers if layer.name.endswith("_0_conv")] == [
        f"conv{s}_block1_0_conv" for s in (2, 3, 4, 5)]
    assert [(t.level, t.layer, t.channels, t.stride) for t in models.model_info("resnet26").taps] == [
        ("P2", "conv2_block2_out", 256, 4), ("P3", "conv3_block2_out", 512, 8),
        ("P4", "conv4_block2_out", 1024, 16), ("P5", "conv5_block2_out", 2048, 32),
    ]


# torchvision's figures count trainable weights only: PyTorch keeps BN running mean
# and variance as buffers, where Keras counts them as (non-trainable) weights.
TORCHVISION_COUNTS = [
    ("resnet18", 11_689_512),
    ("resnet26", 15_995_176),  # timm's resnet26: 16.0M
    ("resnet34", 21_797_672),
    ("resnet50_torchvision", 25_557_032),
    ("resnext50_32x4d", 25_028_904),
    ("wide_resnet50_2", 68_883_240),
]


@pytest.mark.parametrize("name, trainable", TORCHVISION_COUNTS)
def test_torchvision_layout_trainable_counts(name, trainable):
    model = models.get_model(name, input_shape=(32, 32, 3))
    assert trainable_params(model) == trainable
    bn_channels = sum(layer.gamma.shape[0] for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization))
    assert model.count_params() == trainable + 2 * bn_channels == models.model_info(name).params
    assert not any(getattr(layer, "use_bias", False) for layer in model.layers if isinstance(layer, keras.layers.Conv2D))


@pytest.mark.parametrize(
    "builder, low, high",
    [
        (models.CIFARResNet20, 0.265e6, 0.275e6),  # "0.27M" (He et al. 2015, Table 6)
        (models.CIFARResNet110, 1.65e6, 1.75e6),  # "1.7M"
        (models.WRN16_4, 2.65e6, 2.75e6),  # "2.7M" (Zagoruyko & Komodakis 2016, Table 4)
        (models.WRN28_10, 36.45e6, 36.55e6),  # "36.5M"
    ],
)
def test_small_image_parameter_counts(builder, low, high):
    assert low <= trainable_params(builder()) < high


def test_imagenet_weight_specs_are_keras_files():
    source = inspect.getsource(keras_resnet)
    assert 'f"{weights_name}_weights_tf_dim_ordering_tf_kernels.h5"' in source
    assert 'f"{weights_name}_weights_tf_dim_ordering_tf_kernels_notop.h5"' in source
    keras_names = {
        "resnet50": "resnet50", "resnet101": "resnet101", "resnet152": "resnet152",
        "resnet50_v2": "resnet50v2", "resnet101_v2": "resnet101v2", "resnet152_v2": "resnet152v2",
    }
    for ours, theirs in keras_names.items():
        spec = models.model_info(ours).weights["imagenet"]
        top_hash, notop_hash = keras_resnet.WEIGHTS_HASHES[theirs]
        for remote, suffix, file_hash in ((spec.top, "", top_hash), (spec.notop, "_notop", notop_hash)):
            assert remote.fname == f"{theirs}_weights_tf_dim_ordering_tf_kernels{suffix}.h5"
            assert remote.origin == keras_resnet.BASE_WEIGHTS_PATH + remote.fname
            assert remote.file_hash == file_hash and file_hash in source
        assert spec.preprocessing == ("tf" if ours.endswith("_v2") else "caffe")
    for name in ("resnet26", "cifar_resnet20"):  # no published ImageNet weights at all
        assert models.model_info(name).weights == {}
    for name in ("resnet18", "resnet50_torchvision", "resnext50_32x4d"):  # torchvision's only (torch_weights)
        assert list(models.model_info(name).weights) == ["torchvision"]


def test_weights_imagenet_fetches_the_keras_file(monkeypatch, tmp_path):
    fetched = []

    def fake_fetch(remote, model_name):
        fetched.append(remote)
        path = tmp_path / "resnet50.weights.h5"
        randomize_weights(models.ResNet50(include_top=False), seed=0).save_weights(path)
        return str(path)

    monkeypatch.setattr(_common.RemoteFile, "fetch", fake_fetch)
    model = models.ResNet50(weights="imagenet", include_top=False)
    assert [r.fname for r in fetched] == ["resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"]
    assert float(np.abs(keras.ops.convert_to_numpy(model.get_layer("conv1_conv").kernel)).max()) > 0
    with pytest.raises(ValueError, match="known weight name"):
        models.ResNet50(weights="imagenet", variant="torchvision")


def test_registered_taps_of_resnet50_and_v2():
    assert [(t.level, t.layer, t.channels, t.stride) for t in models.model_info("resnet50").taps] == [
        ("P2", "conv2_block3_out", 256, 4),
        ("P3", "conv3_block4_out", 512, 8),
        ("P4", "conv4_block6_out", 1024, 16),
        ("P5", "conv5_block3_out", 2048, 32),
    ]
    extractor = models.feature_extractor("resnet50_v2", levels=("P2", "P3", "P4", "P5"), input_shape=(64, 64, 3))
    shapes = {level: tuple(t.shape[1:]) for level, t in extractor.output.items()}
    assert shapes == {"P2": (16, 16, 256), "P3": (8, 8, 512), "P4": (4, 4, 1024), "P5": (2, 2, 2048)}


def test_variant_names_and_errors():
    assert models.get_model("resnet50_torchvision", include_top=False).name == "resnet50_torchvision"
    assert models.get_model("resnet18", include_top=False).name == "resnet18"
    with keras.StatelessScope():
        assert models.ResNet26(include_top=False, variant="keras").name == "resnet26_keras"
        assert models.ResNeXt50_32x4d(include_top=False, variant="keras").name == "resnext50_32x4d_keras"
        assert models.ResNet50(include_top=False, name="mine").name == "mine"
    with pytest.raises(ValueError, match="variant"):
        models.ResNet50(variant="caffe")
    with pytest.raises(ValueError, match="Keras layout"):
        models.ResNet50V2(variant="torchvision")
    with pytest.raises(ValueError, match="6n\\+2"):
        models.CIFARResNet(depth=21)
    with pytest.raises(ValueError, match="'A'"):
        models.CIFARResNet20(shortcut="C")


def test_every_registered_resnet_is_one_row_with_taps_from_its_table():
    rows = {row.name: row for row in resnet.ROWS}
    assert sorted(rows) == [name for name in models.list_models() if models.model_info(name).family == "resnet"]
    for name, row in rows.items():
        info = models.model_info(name)
        base = rows[row.base] if row.base else row
        arch = resnet.arch_of(**{**base.options, **base.user_options, **row.fixed})
        assert info.taps == arch.taps() and info.params == row.params and info.kwargs == row.fixed
        assert info.builder is getattr(models, base.public) is getattr(resnet, base.public)
    assert rows["resnet50_torchvision"].fixed == {"variant": "torchvision"}


def test_public_builders_keep_their_options_in_the_signature():
    keyword_only = inspect.Parameter.KEYWORD_ONLY
    for builder, options in [(models.ResNet50, {"variant": "keras"}), (models.ResNet18, {"variant": "torchvision"}),
                             (models.ResNet26, {"variant": "torchvision"}), (models.WRN16_4, {"dropout": 0.0}),
                             (models.CIFARResNet20, {"shortcut": "A"})]:
        parameters = inspect.signature(builder).parameters
        assert list(parameters)[:8] == list(_common.APPLICATION_ARGS)
        assert {k: p.default for k, p in parameters.items() if p.kind == keyword_only} == {**options,
                                                                                           "weights_sha256": None}
    assert str(inspect.signature(models.CIFARResNet)) == (
        "(depth=20, include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=10, "
        "classifier_activation='softmax', name=None, shortcut='A', *, weights_sha256=None)")
    assert list(inspect.signature(models.WideResNet).parameters)[:3] == ["depth", "width", "include_top"]
    with keras.StatelessScope():
        assert models.CIFARResNet(56, False).name == "cifar_resnet56"  # depth, include_top by position
        assert models.WideResNet(10, 2, include_top=False, dropout=0.3).name == "wrn_10_2"
    with pytest.raises(TypeError, match="multiple values"):
        models.CIFARResNet(20, depth=32)
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['depth'\]"):
        models.CIFARResNet20(depth=32)


def test_a_new_imagenet_resnet_is_one_row(monkeypatch):
    """A row of an existing depth: its taps, weights, name rule and builder come from the table."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    row = _common.Row("wide_resnet26_2", "WideResNet26_2", "resnet", resnet.PAPER_WRN, 0, "torch", (224, 224, 3), 32,
                      options={"depth": 26, "width_per_group": 128}, user_options={"variant": "torchvision"})
    builder = _common.define(resnet._derived((row,)), resnet.resnet)["WideResNet26_2"]
    info = models.model_info("wide_resnet26_2")
    assert [t.layer for t in info.taps] == [f"conv{s}_block2_out" for s in (2, 3, 4, 5)] and info.weights == {}
    with keras.StatelessScope():
        model = builder(include_top=False, input_shape=(32, 32, 3), variant="keras")
    assert model.name == "wide_resnet26_2_keras"
    assert model.get_layer("conv2_block1_2_conv").filters == 128  # 2× the width of the 3×3


@pytest.mark.parametrize("input_shape", [(28, 28, 1), (32, 32, 3)])
def test_cifar_resnet_small_inputs_and_taps(input_shape):
    model = models.CIFARResNet20(input_shape=input_shape)
    assert model.output.shape == (None, 10)
    size = input_shape[0]
    for tap in models.model_info("cifar_resnet20").taps:
        assert tuple(model.get_layer(tap.layer).output.shape[1:]) == (size // tap.stride, size // tap.stride, tap.channels)


def test_cifar_option_a_versus_b():
    a, b = models.CIFARResNet20(), models.CIFARResNet20(shortcut="B")
    assert not any(layer.name.endswith("_0_conv") for layer in a.layers)
    assert sum(isinstance(layer, resnet.residual.ZeroPadShortcut) for layer in a.layers) == 2
    # B adds two 1x1 projections (16->32, 32->64) with their BNs
    assert b.count_params() - a.count_params() == 16 * 32 + 4 * 32 + 32 * 64 + 4 * 64


def test_cifar_resnet_trains_and_round_trips(tmp_path):
    model = models.CIFARResNet20(input_shape=(28, 28, 1))
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="sparse_categorical_crossentropy", jit_compile=False)
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 1, (16, 28, 28, 1)).astype("float32"), rng.integers(0, 10, 16)
    losses = model.fit(x, y, batch_size=8, epochs=3, verbose=0).history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    path = tmp_path / "cifar_resnet20.keras"
    model.save(path)
    restored = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(restored(x, training=False), model(x, training=False), atol=1e-6)


def test_wide_resnet_layout():
    model = models.WRN16_4(input_shape=(28, 28, 1), dropout=0.3)
    assert model.output.shape == (None, 10)
    assert [t.layer for t in models.model_info("wrn_16_4").taps] == ["conv3_block1_preact_relu", "conv4_block1_preact_relu", "post_relu"]
    widths = [model.get_layer(f"conv{s}_block1_1_conv").filters for s in (2, 3, 4)]
    assert widths == [64, 128, 256]
    assert sum(isinstance(layer, keras.layers.Dropout) for layer in model.layers) == 6  # 2 blocks x 3 stages
