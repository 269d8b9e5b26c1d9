"""The ResNet family: ResNet v1 and v2, ResNeXt, Wide ResNet, and the small-image
ResNets of the CIFAR experiments.

Papers: He, Zhang, Ren & Sun 2015, "Deep Residual Learning for Image Recognition"
(v1, arXiv:1512.03385); He et al. 2016, "Identity Mappings in Deep Residual
Networks" (v2, pre-activation, arXiv:1603.05027); Xie et al. 2017, "Aggregated
Residual Transformations for Deep Neural Networks" (ResNeXt, arXiv:1611.05431);
Zagoruyko & Komodakis 2016, "Wide Residual Networks" (arXiv:1605.07146).

One generic builder, ``resnet(arch, ...)``, walks a ``ResNetArch`` table (one row
per stage: blocks, width, stride); the public builders are thin wrappers.

Layouts (``variant``) of the ImageNet v1 networks:
- ``"keras"`` (default for ResNet50/101/152; ResNet50V2/101V2/152V2 have only
  this one): keras.applications' exact layout — conv biases everywhere, BN epsilon
  1.001e-5, momentum 0.99, glorot_uniform, the bottleneck's stride on its first
  1×1 (as in the paper), layer names ``conv1_pad``, ``conv1_conv``, ``pool1_pool``,
  ``conv{s}_block{b}_{0..3}_{conv|bn}``, ``_add``, ``_out``, ``post_bn`` (v2),
  ``avg_pool``, ``predictions`` — so keras.applications' ImageNet files load
  unchanged (``weights="imagenet"``, Keras's own file names and hashes).
- ``"torchvision"`` (default for ResNet18/34, ResNeXt and Wide ResNet-50/101-2,
  which Keras lacks): no conv bias, BN epsilon 1e-5 and momentum 0.9 (PyTorch's
  0.1), He-normal fan-out init, the bottleneck's stride on the 3×3 ("ResNet
  v1.5"), strided 3×3 convs padded symmetrically. Same layer names. Published
  torchvision parameter counts are trainable weights only (PyTorch keeps BN
  running statistics as buffers); Keras's ``count_params`` adds 2 per BN channel.

Keras ResNetV2 deviates from the v2 paper in where a stage strides: on its LAST
block (conv2..conv4; conv5 does not stride), with a 1×1 max-pool shortcut; we copy
Keras. Its feature taps are the pre-activations (``conv{s}_block{b}_preact_relu``,
BN+ReLU of the last map at each stride) and ``post_relu``.

Small-image networks (32×32×3 CIFAR or 28×28×1 Fashion-MNIST; 10 classes):
- ``CIFARResNet20/32/44/56/110`` (He et al. 2015 §4.2): 3×3 conv of 16, three
  stages of n basic blocks with 16/32/64 filters (depth 6n+2), global average
  pool, fc. ``shortcut="A"`` (default, the paper's CIFAR choice): identity, and
  subsampling with zero-padded new channels where the shape changes — parameter-
  free (ResNet-20: 0.27M parameters); ``shortcut="B"``: 1×1 projection + BN there.
- ``WideResNet(depth, width)`` / ``WRN16_4``, ``WRN28_10`` (Zagoruyko & Komodakis
  2016): pre-activation basic blocks, (depth-4)/6 per stage, widths 16k/32k/64k,
  1×1 projection shortcuts where the width changes, optional dropout between the
  convs (the paper's 0.3 is ``dropout=0.3``; default 0). WRN-28-10 has 36.5M and
  WRN-16-4 2.7M trainable parameters.
Both use He-normal init, no conv biases and PyTorch's BN settings. Weight decay
(5e-4 in WRN, 1e-4 in He et al.) is a training option, not part of the model.
"""

import dataclasses

from keras import layers

from keras_cv_course.blocks import conv_bn_act, residual
from keras_cv_course.models import _common
from keras_cv_course.models.registry import FeatureTap, register

PAPER_V1 = "He, Zhang, Ren & Sun 2015, Deep Residual Learning for Image Recognition"
PAPER_V2 = "He, Zhang, Ren & Sun 2016, Identity Mappings in Deep Residual Networks"
PAPER_RESNEXT = "Xie, Girshick, Dollar, Tu & He 2017, Aggregated Residual Transformations for Deep Neural Networks"
PAPER_WRN = "Zagoruyko & Komodakis 2016, Wide Residual Networks"

IMAGENET_WIDTHS = (64, 128, 256, 512)
IMAGENET_DEPTHS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}

# PyTorch's kaiming_normal_(mode="fan_out", nonlinearity="relu"), as torchvision initializes.
TORCH_CONV_INIT = {"class_name": "VarianceScaling", "config": {"scale": 2.0, "mode": "fan_out", "distribution": "untruncated_normal"}}
VARIANTS = {
    "keras": dict(use_bias=True, bn_epsilon=1.001e-5, bn_momentum=0.99, kernel_initializer="glorot_uniform", stride_on="1x1"),
    "torchvision": dict(use_bias=False, bn_epsilon=1e-5, bn_momentum=0.9, kernel_initializer=TORCH_CONV_INIT, stride_on="3x3"),
}
SMALL_IMAGE_OPTIONS = dict(use_bias=False, bn_epsilon=1e-5, bn_momentum=0.9, kernel_initializer="he_normal")
CIFAR_SHORTCUTS = {"A": "zero_pad", "B": "projection"}

BLOCKS = {
    ("basic", False): residual.basic_block,
    ("bottleneck", False): residual.bottleneck_block,
    ("basic", True): residual.preact_basic_block,
    ("bottleneck", True): residual.preact_bottleneck_block,
}
EXPANSION = {"basic": 1, "bottleneck": 4}


def _keras_imagenet(key, top_hash, notop_hash, preprocessing):
    """keras.applications' ``resnet/{key}_weights_tf_dim_ordering_tf_kernels[_notop].h5``."""
    return {
        "imagenet": _common.keras_weights(
            "resnet",
            f"{key}_weights_tf_dim_ordering_tf_kernels.h5",
            top_hash,
            f"{key}_weights_tf_dim_ordering_tf_kernels_notop.h5",
            notop_hash,
            preprocessing=preprocessing,
        )
    }


# Keras's file stems and md5 hashes (keras/src/applications/resnet.py, WEIGHTS_HASHES).
KERAS_WEIGHTS = {
    ("resnet", 50): _keras_imagenet("resnet50", "2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626", "caffe"),
    ("resnet", 101): _keras_imagenet("resnet101", "f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21", "caffe"),
    ("resnet", 152): _keras_imagenet("resnet152", "100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c", "caffe"),
    ("resnet_v2", 50): _keras_imagenet("resnet50v2", "3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917", "tf"),
    ("resnet_v2", 101): _keras_imagenet("resnet101v2", "6343647c601c52e1368623803854d971", "c0ed64b8031c3730f411d2eb4eea35b5", "tf"),
    ("resnet_v2", 152): _keras_imagenet("resnet152v2", "a49b44d1979771252814e80f8ec446f9", "ed17cf2e0169df9d443503ef94b23b33", "tf"),
}


def keras_weights_for(depth, *, version=1, variant="keras"):
    """The named weights a (depth, version, variant) ImageNet ResNet can load."""
    if variant != "keras":
        return {}
    return dict(KERAS_WEIGHTS.get(("resnet" if version == 1 else "resnet_v2", depth), {}))


@dataclasses.dataclass(frozen=True)
class ResNetArch:
    """One row per stage: ``depths[i]`` blocks of width ``widths[i]`` (a bottleneck's
    ``filters``; its output is 4× that), the stage striding by ``strides[i]`` on
    its first block (its last with ``stride_last``, Keras ResNetV2).

    ``stem``: ``"imagenet"`` (7×7/2 conv, 3×3/2 max-pool; stride 4) or ``"cifar"``
    (one 3×3 conv; stride 1); pre-activation stems have no BN/ReLU. ``options``
    go to every block (bias, BN epsilon/momentum, init, groups, stride_on, ...).
    """

    block: str
    depths: tuple
    widths: tuple
    strides: tuple
    preact: bool = False
    stem: str = "imagenet"
    stem_width: int = 64
    stride_last: bool = False
    options: tuple = ()

    @property
    def block_options(self):
        return dict(self.options)

    def plan(self):
        """``(block name, width, stride)`` for every block, in order."""
        for stage, (depth, width, stride) in enumerate(zip(self.depths, self.widths, self.strides), start=2):
            strided = depth if self.stride_last else 1
            for index in range(1, depth + 1):
                yield f"conv{stage}_block{index}", width, stride if index == strided else 1

    def taps(self):
        """One FeatureTap per stride: the deepest block output (v1) or
        pre-activation / ``post_relu`` (v2) at that stride."""
        stride, channels = (4 if self.stem == "imagenet" else 1), self.stem_width
        deepest = {}
        for block_name, width, block_stride in self.plan():
            if self.preact:
                deepest[stride] = (f"{block_name}_preact_relu", channels)
            stride, channels = stride * block_stride, width * EXPANSION[self.block]
            if not self.preact:
                deepest[stride] = (f"{block_name}_out", channels)
        if self.preact:
            deepest[stride] = ("post_relu", channels)
        return tuple(FeatureTap(f"P{s.bit_length() - 1}", layer, c, s) for s, (layer, c) in sorted(deepest.items()))


def resnet(
    arch,
    *,
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="resnet",
    available_weights=None,
    default_size=224,
    min_size=32,
):
    """The generic builder: stem, the stages of ``arch``, (v2: ``post_bn``,
    ``post_relu``), then the keras.applications tail."""
    image, inputs, spec = _common.prepare(
        name,
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        default_size=default_size,
        min_size=min_size,
        available_weights=available_weights,
    )
    options = arch.block_options
    x = _stem(image, arch, options)
    block = BLOCKS[(arch.block, arch.preact)]
    for block_name, width, stride in arch.plan():
        x = block(x, width, stride=stride, name=block_name, **options)
    if arch.preact:
        x = layers.BatchNormalization(epsilon=options["bn_epsilon"], momentum=options["bn_momentum"], name="post_bn")(x)
        x = layers.Activation("relu", name="post_relu")(x)
    if include_top:
        x = _common.classifier(x, classes=classes, classifier_activation=classifier_activation)
    else:
        x = _common.pool_features(x, pooling)
    return _common.finish_model(inputs, x, name=name, weights=weights, weight_spec=spec, include_top=include_top)


def _stem(x, arch, options):
    conv = dict(
        use_bias=options["use_bias"],
        bn_epsilon=options["bn_epsilon"],
        bn_momentum=options["bn_momentum"],
        kernel_initializer=options["kernel_initializer"],
        batch_norm=not arch.preact,
        activation=None if arch.preact else "relu",
    )
    if arch.stem == "cifar":
        return conv_bn_act(x, arch.stem_width, 3, name="conv1", **conv)
    x = conv_bn_act(x, arch.stem_width, 7, strides=2, padding=3, name="conv1", **conv)
    x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
    return layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)


def imagenet_arch(depth, *, version=1, variant="keras", groups=1, width_per_group=64):
    """The ``ResNetArch`` of an ImageNet ResNet / ResNeXt / Wide ResNet."""
    if depth not in IMAGENET_DEPTHS:
        raise ValueError(f"ImageNet ResNet depth must be one of {sorted(IMAGENET_DEPTHS)}; got {depth!r}")
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {sorted(VARIANTS)}; got {variant!r}")
    block, depths = IMAGENET_DEPTHS[depth]
    options = dict(VARIANTS[variant])
    if version == 2:
        if variant != "keras" or block != "bottleneck":
            raise ValueError("ResNet v2 exists in the Keras layout with bottleneck blocks only (depth 50, 101, 152)")
        del options["stride_on"]
        return ResNetArch(block, depths, IMAGENET_WIDTHS, (2, 2, 2, 1), preact=True, stride_last=True, options=_frozen(options))
    if version != 1:
        raise ValueError(f"version must be 1 or 2; got {version!r}")
    if block == "basic":
        if groups != 1 or width_per_group != 64:
            raise ValueError("Basic-block ResNets (18, 34) support only groups=1 and width_per_group=64")
        del options["stride_on"]
    else:
        options.update(groups=groups, width_per_group=width_per_group)
    return ResNetArch(block, depths, IMAGENET_WIDTHS, (1, 2, 2, 2), options=_frozen(options))


def _frozen(options):
    return tuple(sorted(options.items(), key=lambda item: item[0]))


def _imagenet_builder(key, builder_name, depth, *, version=1, default_variant="keras", groups=1, width_per_group=64, paper=PAPER_V1):
    variant_doc = "" if version == 2 else f' ``variant="keras"|"torchvision"`` (default {default_variant!r}).'

    def builder(
        include_top=True,
        weights=None,
        input_tensor=None,
        input_shape=None,
        pooling=None,
        classes=1000,
        classifier_activation="softmax",
        name=None,
        variant=default_variant,
    ):
        arch = imagenet_arch(depth, version=version, variant=variant, groups=groups, width_per_group=width_per_group)
        return resnet(
            arch,
            include_top=include_top,
            weights=weights,
            input_tensor=input_tensor,
            input_shape=input_shape,
            pooling=pooling,
            classes=classes,
            classifier_activation=classifier_activation,
            name=name or (key if variant == default_variant else f"{key}_{variant}"),
            available_weights=keras_weights_for(depth, version=version, variant=variant),
        )

    builder.__name__ = builder.__qualname__ = builder_name
    builder.__doc__ = f"{builder_name} ({paper}); see the module docstring.{variant_doc}"
    return builder


ResNet18 = _imagenet_builder("resnet18", "ResNet18", 18, default_variant="torchvision")
ResNet34 = _imagenet_builder("resnet34", "ResNet34", 34, default_variant="torchvision")
ResNet50 = _imagenet_builder("resnet50", "ResNet50", 50)
ResNet101 = _imagenet_builder("resnet101", "ResNet101", 101)
ResNet152 = _imagenet_builder("resnet152", "ResNet152", 152)
ResNet50V2 = _imagenet_builder("resnet50_v2", "ResNet50V2", 50, version=2, paper=PAPER_V2)
ResNet101V2 = _imagenet_builder("resnet101_v2", "ResNet101V2", 101, version=2, paper=PAPER_V2)
ResNet152V2 = _imagenet_builder("resnet152_v2", "ResNet152V2", 152, version=2, paper=PAPER_V2)
ResNeXt50_32x4d = _imagenet_builder(
    "resnext50_32x4d", "ResNeXt50_32x4d", 50, default_variant="torchvision", groups=32, width_per_group=4, paper=PAPER_RESNEXT
)
ResNeXt101_32x8d = _imagenet_builder(
    "resnext101_32x8d", "ResNeXt101_32x8d", 101, default_variant="torchvision", groups=32, width_per_group=8, paper=PAPER_RESNEXT
)
WideResNet50_2 = _imagenet_builder("wide_resnet50_2", "WideResNet50_2", 50, default_variant="torchvision", width_per_group=128, paper=PAPER_WRN)
WideResNet101_2 = _imagenet_builder(
    "wide_resnet101_2", "WideResNet101_2", 101, default_variant="torchvision", width_per_group=128, paper=PAPER_WRN
)


def cifar_arch(depth, *, shortcut="A"):
    """He et al. 2015 §4.2: depth 6n+2, n basic blocks per stage of 16/32/64 filters."""
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"CIFAR ResNet depth must be 6n+2 (20, 32, 44, 56, 110, ...); got {depth!r}")
    if shortcut not in CIFAR_SHORTCUTS:
        raise ValueError(f"shortcut must be 'A' (zero-padding, parameter-free) or 'B' (projection); got {shortcut!r}")
    n = (depth - 2) // 6
    options = dict(SMALL_IMAGE_OPTIONS, shortcut=CIFAR_SHORTCUTS[shortcut])
    return ResNetArch("basic", (n, n, n), (16, 32, 64), (1, 2, 2), stem="cifar", stem_width=16, options=_frozen(options))


def wide_resnet_arch(depth, width, *, dropout=0.0):
    """Zagoruyko & Komodakis 2016: WRN-d-k, (d-4)/6 pre-activation blocks per stage."""
    if depth < 10 or (depth - 4) % 6:
        raise ValueError(f"Wide ResNet depth must be 6n+4 (10, 16, 22, 28, 40, ...); got {depth!r}")
    if width < 1:
        raise ValueError(f"Wide ResNet width (k) must be a positive int; got {width!r}")
    n = (depth - 4) // 6
    options = dict(SMALL_IMAGE_OPTIONS, dropout=dropout)
    widths = (16 * width, 32 * width, 64 * width)
    return ResNetArch("basic", (n, n, n), widths, (1, 2, 2), preact=True, stem="cifar", stem_width=16, options=_frozen(options))


SMALL_IMAGE_MIN_SIZE = 8


def _small_image_builder(arch, *, include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation, name):
    return resnet(
        arch,
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        name=name,
        default_size=32,
        min_size=SMALL_IMAGE_MIN_SIZE,
    )



def CIFARResNet(
    depth=20,
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=10,
    classifier_activation="softmax",
    name=None,
    shortcut="A",
):
    """A CIFAR ResNet of depth 6n+2 (He et al. 2015 §4.2); ``shortcut="A"`` or ``"B"``.
    Takes any input of at least 8×8 (32×32×3 CIFAR, 28×28×1 Fashion-MNIST)."""
    return _small_image_builder(
        cifar_arch(depth, shortcut=shortcut),
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        name=name or f"cifar_resnet{depth}",
    )


def WideResNet(
    depth=28,
    width=10,
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=10,
    classifier_activation="softmax",
    name=None,
    dropout=0.0,
):
    """WRN-``depth``-``width`` for small images (Zagoruyko & Komodakis 2016)."""
    return _small_image_builder(
        wide_resnet_arch(depth, width, dropout=dropout),
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        name=name or f"wrn_{depth}_{width}",
    )


def _fixed(generic, builder_name, doc, **fixed):
    def builder(
        include_top=True,
        weights=None,
        input_tensor=None,
        input_shape=None,
        pooling=None,
        classes=10,
        classifier_activation="softmax",
        name=None,
        **options,
    ):
        return generic(
            include_top=include_top,
            weights=weights,
            input_tensor=input_tensor,
            input_shape=input_shape,
            pooling=pooling,
            classes=classes,
            classifier_activation=classifier_activation,
            name=name,
            **fixed,
            **options,
        )

    builder.__name__ = builder.__qualname__ = builder_name
    builder.__doc__ = doc
    return builder


CIFAR_DEPTHS = (20, 32, 44, 56, 110)
CIFARResNet20, CIFARResNet32, CIFARResNet44, CIFARResNet56, CIFARResNet110 = (
    _fixed(CIFARResNet, f"CIFARResNet{d}", f"ResNet-{d} for CIFAR ({PAPER_V1}, §4.2); options: shortcut='A'|'B'.", depth=d)
    for d in CIFAR_DEPTHS
)
WRN16_4 = _fixed(WideResNet, "WRN16_4", f"WRN-16-4 ({PAPER_WRN}); option: dropout.", depth=16, width=4)
WRN28_10 = _fixed(WideResNet, "WRN28_10", f"WRN-28-10 ({PAPER_WRN}); option: dropout.", depth=28, width=10)


# ---------------------------------------------------------------- registry
# ``params``: model.count_params() of the default build (top included, default
# classes), as Keras counts — BN moving statistics included.
_IMAGENET_MODELS = (
    # key, builder, arch kwargs, params, preprocessing, paper
    ("resnet18", ResNet18, dict(depth=18, variant="torchvision"), 11_699_112, "torch", PAPER_V1),
    ("resnet34", ResNet34, dict(depth=34, variant="torchvision"), 21_814_696, "torch", PAPER_V1),
    ("resnet50", ResNet50, dict(depth=50), 25_636_712, "caffe", PAPER_V1),
    ("resnet101", ResNet101, dict(depth=101), 44_707_176, "caffe", PAPER_V1),
    ("resnet152", ResNet152, dict(depth=152), 60_419_944, "caffe", PAPER_V1),
    ("resnet50_torchvision", ResNet50, dict(depth=50, variant="torchvision"), 25_610_152, "torch", PAPER_V1),
    ("resnet101_torchvision", ResNet101, dict(depth=101, variant="torchvision"), 44_654_504, "torch", PAPER_V1),
    ("resnet152_torchvision", ResNet152, dict(depth=152, variant="torchvision"), 60_344_232, "torch", PAPER_V1),
    ("resnet50_v2", ResNet50V2, dict(depth=50, version=2), 25_613_800, "tf", PAPER_V2),
    ("resnet101_v2", ResNet101V2, dict(depth=101, version=2), 44_675_560, "tf", PAPER_V2),
    ("resnet152_v2", ResNet152V2, dict(depth=152, version=2), 60_380_648, "tf", PAPER_V2),
    ("resnext50_32x4d", ResNeXt50_32x4d, dict(depth=50, variant="torchvision", groups=32, width_per_group=4), 25_097_128, "torch", PAPER_RESNEXT),
    ("resnext101_32x8d", ResNeXt101_32x8d, dict(depth=101, variant="torchvision", groups=32, width_per_group=8), 88_994_216, "torch", PAPER_RESNEXT),
    ("wide_resnet50_2", WideResNet50_2, dict(depth=50, variant="torchvision", width_per_group=128), 68_951_464, "torch", PAPER_WRN),
    ("wide_resnet101_2", WideResNet101_2, dict(depth=101, variant="torchvision", width_per_group=128), 127_024_552, "torch", PAPER_WRN),
)
_SMALL_IMAGE_MODELS = tuple(
    (f"cifar_resnet{d}", builder, cifar_arch(d), params, PAPER_V1)
    for d, builder, params in zip(
        CIFAR_DEPTHS,
        (CIFARResNet20, CIFARResNet32, CIFARResNet44, CIFARResNet56, CIFARResNet110),
        (271_098, 466_426, 661_754, 857_082, 1_736_058),
    )
) + (
    ("wrn_16_4", WRN16_4, wide_resnet_arch(16, 4), 2_752_506, PAPER_WRN),
    ("wrn_28_10", WRN28_10, wide_resnet_arch(28, 10), 36_497_146, PAPER_WRN),
)

for _key, _builder, _arch_kwargs, _params, _mode, _paper in _IMAGENET_MODELS:
    register(
        _key,
        _builder,
        family="resnet",
        paper=_paper,
        input_shape=(224, 224, 3),
        min_size=32,
        params=_params,
        preprocessing=_mode,
        taps=imagenet_arch(**_arch_kwargs).taps(),
        weights=keras_weights_for(_arch_kwargs["depth"], version=_arch_kwargs.get("version", 1), variant=_arch_kwargs.get("variant", "keras")),
        kwargs={"variant": "torchvision"} if _key.endswith("_torchvision") else {},
    )

for _key, _builder, _arch, _params, _paper in _SMALL_IMAGE_MODELS:
    register(
        _key,
        _builder,
        family="resnet",
        paper=_paper,
        input_shape=(32, 32, 3),
        min_size=SMALL_IMAGE_MIN_SIZE,
        params=_params,
        preprocessing="unit",
        taps=_arch.taps(),
        classes=10,
    )
