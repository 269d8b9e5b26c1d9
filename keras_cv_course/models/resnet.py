"""The ResNet family: ResNet v1 and v2, ResNeXt, Wide ResNet, and the small-image
ResNets of the CIFAR experiments.

Papers: He, Zhang, Ren & Sun 2015, "Deep Residual Learning for Image Recognition"
(v1, arXiv:1512.03385); He et al. 2016, "Identity Mappings in Deep Residual
Networks" (v2, pre-activation, arXiv:1603.05027); Xie et al. 2017, "Aggregated
Residual Transformations for Deep Neural Networks" (ResNeXt, arXiv:1611.05431);
Zagoruyko & Komodakis 2016, "Wide Residual Networks" (arXiv:1605.07146).

One generic builder, ``resnet(request, **spec)``, walks a ``ResNetArch`` table (one
row per stage: blocks, width, stride) made from a row's options (``depth=50``;
``layout="cifar"`` or ``"wrn"`` for the small-image networks). Every registered model
is one ``_common.Row`` of ``ROWS``; its feature taps, named weights, ``variant`` name
suffix and docstring are derived from that table, never typed again. A new ImageNet
ResNet is one Row, plus one ``IMAGENET_DEPTHS`` entry if its depth is new: ResNet-26
(timm's ``resnet26``: bottleneck blocks (2, 2, 2, 2), 26 = 2 + 3·8 layers) is.

Layouts (``variant``) of the ImageNet v1 networks:
- ``"keras"`` (default for ResNet50/101/152; ResNet50V2/101V2/152V2 have only
  this one): keras.applications' exact layout — conv biases everywhere, BN epsilon
  1.001e-5, momentum 0.99, glorot_uniform, the bottleneck's stride on its first
  1×1 (as in the paper), layer names ``conv1_pad``, ``conv1_conv``, ``pool1_pool``,
  ``conv{s}_block{b}_{0..3}_{conv|bn}``, ``_add``, ``_out``, ``post_bn`` (v2),
  ``avg_pool``, ``predictions`` — so keras.applications' ImageNet files load
  unchanged (``weights="imagenet"``, Keras's own file names and hashes).
- ``"torchvision"`` (default for ResNet18/26/34, ResNeXt and Wide ResNet-50/101-2,
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
import functools
import inspect

from keras import layers

from keras_cv_course.blocks import conv_bn_act, residual
from keras_cv_course.models import _common
from keras_cv_course.models.registry import FeatureTap

PAPER_V1 = "He, Zhang, Ren & Sun 2015, Deep Residual Learning for Image Recognition"
PAPER_V2 = "He, Zhang, Ren & Sun 2016, Identity Mappings in Deep Residual Networks"
PAPER_RESNEXT = "Xie, Girshick, Dollar, Tu & He 2017, Aggregated Residual Transformations for Deep Neural Networks"
PAPER_WRN = "Zagoruyko & Komodakis 2016, Wide Residual Networks"

IMAGENET_WIDTHS = (64, 128, 256, 512)
# depth → (block, blocks per stage). A new depth is one entry here and one Row in ROWS.
IMAGENET_DEPTHS = {
    18: ("basic", (2, 2, 2, 2)),
    26: ("bottleneck", (2, 2, 2, 2)),  # timm's resnet26
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


def resnet(request, **spec):
    """The generic builder: the stem, the stages of ``arch_of(**spec)``, (v2:
    ``post_bn``, ``post_relu``), then the global-average-pooling head."""
    arch = arch_of(**spec)
    options = arch.block_options
    x = _stem(request.image, arch, options)
    block = BLOCKS[(arch.block, arch.preact)]
    for block_name, width, stride in arch.plan():
        x = block(x, width, stride=stride, name=block_name, **options)
    if arch.preact:
        x = layers.BatchNormalization(epsilon=options["bn_epsilon"], momentum=options["bn_momentum"], name="post_bn")(x)
        x = layers.Activation("relu", name="post_relu")(x)
    return request.finish(request.tail(x, request.gap_head()))


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
LAYOUTS = {"imagenet": imagenet_arch, "cifar": cifar_arch, "wrn": wide_resnet_arch}


def arch_of(layout="imagenet", **spec):
    """The ``ResNetArch`` of a row's options: ``LAYOUTS[layout](**spec)``."""
    if layout not in LAYOUTS:
        raise ValueError(f"ResNet layout must be one of {sorted(LAYOUTS)}; got {layout!r}")
    return LAYOUTS[layout](**spec)


def named_weights(spec):
    """The named weights a build with options ``spec`` can load (Keras's files for the
    Keras-layout ImageNet v1/v2 50/101/152). Making its ``ResNetArch`` first refuses a
    bad depth, variant or shortcut before the input is resolved."""
    arch_of(**spec)
    if spec.get("layout", "imagenet") != "imagenet":
        return {}
    return keras_weights_for(spec["depth"], version=spec.get("version", 1), variant=spec.get("variant", "keras"))


def _derived(rows):
    """``rows`` with what their table entry decides filled in: feature taps, named
    weights, the ``variant`` name suffix and the docstring (presets: from their base
    row's options with their ``fixed`` ones)."""
    by_name = {row.name: row for row in rows}
    return tuple(_derive(row, by_name.get(row.base, row)) for row in rows)


def _derive(row, base):
    defaults = {**base.options, **base.user_options}
    arch = arch_of(**{**defaults, **row.fixed})
    facts = {"taps": row.taps or arch.taps()}
    if row.weights is None:
        facts["weights"] = lambda chosen: named_weights({**defaults, **chosen})
    if row.public is not None and row.name_of is None and "variant" in row.user_options:
        facts["name_of"] = functools.partial(_variant_name, row.name, row.user_options["variant"])
    if row.public is not None and not row.doc:
        facts["doc"] = _doc(row, arch)
    return dataclasses.replace(row, **facts)


def _variant_name(name, default_variant, options):
    """``resnet50`` in the row's default layout, ``resnet50_torchvision`` in the other."""
    return name if options["variant"] == default_variant else f"{name}_{options['variant']}"


def _doc(row, arch):
    options = arch.block_options
    grouped = "" if options.get("groups", 1) == 1 and options.get("width_per_group", 64) == 64 else (
        f", {options['groups']} groups × width {options['width_per_group']}")
    kind = "pre-activation " if arch.preact else ""
    user = ", ".join(f"{key}={value!r}" for key, value in row.user_options.items())
    return (f"{row.public} ({row.paper}): {kind}{arch.block} blocks {arch.depths} of widths {arch.widths}{grouped}; "
            f"options {user}. See the module docstring.")


def _signature(row, builder, leading=()):
    """``builder``'s signature with ``row``'s ``leading`` options first and by
    position, the others after ``name`` (positional there too, as ``CIFARResNet``
    and ``WideResNet`` always had), then the keyword-only ``weights_sha256``."""
    P = inspect.Parameter
    parameters = inspect.signature(builder).parameters.values()
    application = [p for p in parameters if p.kind == P.POSITIONAL_OR_KEYWORD]
    generic = [p for p in parameters if p.kind == P.KEYWORD_ONLY and p.name not in row.user_options]
    after_name = P.POSITIONAL_OR_KEYWORD if leading else P.KEYWORD_ONLY
    return inspect.Signature(
        [P(key, P.POSITIONAL_OR_KEYWORD, default=row.user_options[key]) for key in leading] + application
        + [P(key, after_name, default=value) for key, value in row.user_options.items() if key not in leading]
        + generic
    )


def _options_first(row, *leading):
    """The public builder of an unregistered ``row`` taking its ``leading`` options
    first and by position (``CIFARResNet(56)``, ``WideResNet(16, 4)``)."""
    builder = _common.public_builder(row, resnet)
    signature = _signature(row, builder, leading)

    @functools.wraps(builder)
    def options_first(*args, **kwargs):
        return builder(**signature.bind(*args, **kwargs).arguments)

    options_first.__signature__ = signature
    return options_first


# ---------------------------------------------------------------- the models
# ``params``: model.count_params() of the default build (top included, default
# classes), as Keras counts — BN moving statistics included; the registry sweep checks
# it. ``options`` is the table entry (``depth``, and ``version``, ``groups``,
# ``width_per_group`` where they differ from 1, 1, 64); ``user_options`` what a caller
# may change. Presets (``public=None``) are another row's builder with ``fixed`` options.
Row = _common.Row
TORCH, KERAS = {"variant": "torchvision"}, {"variant": "keras"}
ROWS = _derived((
    Row("resnet18", "ResNet18", "resnet", PAPER_V1, 11_699_112, "torch", (224, 224, 3), 32, options={"depth": 18}, user_options=TORCH),
    Row("resnet26", "ResNet26", "resnet", PAPER_V1, 16_026_024, "torch", (224, 224, 3), 32, options={"depth": 26}, user_options=TORCH),
    Row("resnet34", "ResNet34", "resnet", PAPER_V1, 21_814_696, "torch", (224, 224, 3), 32, options={"depth": 34}, user_options=TORCH),
    Row("resnet50", "ResNet50", "resnet", PAPER_V1, 25_636_712, "caffe", (224, 224, 3), 32, options={"depth": 50}, user_options=KERAS),
    Row("resnet101", "ResNet101", "resnet", PAPER_V1, 44_707_176, "caffe", (224, 224, 3), 32, options={"depth": 101}, user_options=KERAS),
    Row("resnet152", "ResNet152", "resnet", PAPER_V1, 60_419_944, "caffe", (224, 224, 3), 32, options={"depth": 152}, user_options=KERAS),
    Row("resnet50_torchvision", None, "resnet", PAPER_V1, 25_610_152, "torch", (224, 224, 3), 32, base="resnet50", fixed=TORCH),
    Row("resnet101_torchvision", None, "resnet", PAPER_V1, 44_654_504, "torch", (224, 224, 3), 32, base="resnet101", fixed=TORCH),
    Row("resnet152_torchvision", None, "resnet", PAPER_V1, 60_344_232, "torch", (224, 224, 3), 32, base="resnet152", fixed=TORCH),
    Row("resnet50_v2", "ResNet50V2", "resnet", PAPER_V2, 25_613_800, "tf", (224, 224, 3), 32,
        options={"depth": 50, "version": 2}, user_options=KERAS),
    Row("resnet101_v2", "ResNet101V2", "resnet", PAPER_V2, 44_675_560, "tf", (224, 224, 3), 32,
        options={"depth": 101, "version": 2}, user_options=KERAS),
    Row("resnet152_v2", "ResNet152V2", "resnet", PAPER_V2, 60_380_648, "tf", (224, 224, 3), 32,
        options={"depth": 152, "version": 2}, user_options=KERAS),
    Row("resnext50_32x4d", "ResNeXt50_32x4d", "resnet", PAPER_RESNEXT, 25_097_128, "torch", (224, 224, 3), 32,
        options={"depth": 50, "groups": 32, "width_per_group": 4}, user_options=TORCH),
    Row("resnext101_32x8d", "ResNeXt101_32x8d", "resnet", PAPER_RESNEXT, 88_994_216, "torch", (224, 224, 3), 32,
        options={"depth": 101, "groups": 32, "width_per_group": 8}, user_options=TORCH),
    Row("resnext101_64x4d", "ResNeXt101_64x4d", "resnet", PAPER_RESNEXT, 83_658_152, "torch", (224, 224, 3), 32,
        options={"depth": 101, "groups": 64, "width_per_group": 4}, user_options=TORCH),
    Row("wide_resnet50_2", "WideResNet50_2", "resnet", PAPER_WRN, 68_951_464, "torch", (224, 224, 3), 32,
        options={"depth": 50, "width_per_group": 128}, user_options=TORCH),
    Row("wide_resnet101_2", "WideResNet101_2", "resnet", PAPER_WRN, 127_024_552, "torch", (224, 224, 3), 32,
        options={"depth": 101, "width_per_group": 128}, user_options=TORCH),
    # Small images: 32×32×3 by default, 10 classes, any side of at least 8.
    Row("cifar_resnet20", "CIFARResNet20", "resnet", PAPER_V1, 271_098, "unit", (32, 32, 3), SMALL_IMAGE_MIN_SIZE, classes=10,
        options={"layout": "cifar", "depth": 20}, user_options={"shortcut": "A"}),
    Row("cifar_resnet32", "CIFARResNet32", "resnet", PAPER_V1, 466_426, "unit", (32, 32, 3), SMALL_IMAGE_MIN_SIZE, classes=10,
        options={"layout": "cifar", "depth": 32}, user_options={"shortcut": "A"}),
    Row("cifar_resnet44", "CIFARResNet44", "resnet", PAPER_V1, 661_754, "unit", (32, 32, 3), SMALL_IMAGE_MIN_SIZE, classes=10,
        options={"layout": "cifar", "depth": 44}, user_options={"shortcut": "A"}),
    Row("cifar_resnet56", "CIFARResNet56", "resnet", PAPER_V1, 857_082, "unit", (32, 32, 3), SMALL_IMAGE_MIN_SIZE, classes=10,
        options={"layout": "cifar", "depth": 56}, user_options={"shortcut": "A"}),
    Row("cifar_resnet110", "CIFARResNet110", "resnet", PAPER_V1, 1_736_058, "unit", (32, 32, 3), SMALL_IMAGE_MIN_SIZE, classes=10,
        options={"layout": "cifar", "depth": 110}, user_options={"shortcut": "A"}),
    Row("wrn_16_4", "WRN16_4", "resnet", PAPER_WRN, 2_752_506, "unit", (32, 32, 3), SMALL_IMAGE_MIN_SIZE, classes=10,
        options={"layout": "wrn", "depth": 16, "width": 4}, user_options={"dropout": 0.0}),
    Row("wrn_28_10", "WRN28_10", "resnet", PAPER_WRN, 36_497_146, "unit", (32, 32, 3), SMALL_IMAGE_MIN_SIZE, classes=10,
        options={"layout": "wrn", "depth": 28, "width": 10}, user_options={"dropout": 0.0}),
))
# Any depth (and width): public builders, not registered models.
ANY_DEPTH = _derived((
    Row("cifar_resnet", "CIFARResNet", "resnet", PAPER_V1, 271_098, "unit", (32, 32, 3), SMALL_IMAGE_MIN_SIZE, classes=10,
        doc="A CIFAR ResNet of depth 6n+2 (He et al. 2015 §4.2); ``shortcut=\"A\"`` or ``\"B\"``.\n"
            "    Takes any input of at least 8×8 (32×32×3 CIFAR, 28×28×1 Fashion-MNIST).",
        options={"layout": "cifar"}, user_options={"depth": 20, "shortcut": "A"}, name_of=lambda o: f"cifar_resnet{o['depth']}"),
    Row("wrn", "WideResNet", "resnet", PAPER_WRN, 36_497_146, "unit", (32, 32, 3), SMALL_IMAGE_MIN_SIZE, classes=10,
        doc="WRN-``depth``-``width`` for small images (Zagoruyko & Komodakis 2016).",
        options={"layout": "wrn"}, user_options={"depth": 28, "width": 10, "dropout": 0.0},
        name_of=lambda o: f"wrn_{o['depth']}_{o['width']}"),
))
_BUILDERS = _common.define(ROWS, resnet)
globals().update(_BUILDERS)  # ResNet18, ResNet26, ..., WRN28_10: one public builder per Row
CIFARResNet = _options_first(ANY_DEPTH[0], "depth")
WideResNet = _options_first(ANY_DEPTH[1], "depth", "width")
