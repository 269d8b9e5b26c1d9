"""Small VGG-style networks for 28×28 gray images: ``fashion_vgg``,
``fashion_cnn`` and ``fashion_cnn_wide``.

Credit: the VGG recipe (Simonyan & Zisserman 2015, stacks of 3×3 convolutions
between 2×2 max-pools, widths doubling per stage) with batch normalization
(Ioffe & Szegedy 2015) after each convolution and a global-average-pooling head
(Lin, Chen & Yan 2014, Network in Network), sized for Fashion-MNIST on a CPU:
``widths=(32, 64, 128)``, ``convs=(1, 2, 1)`` — about 29 MFLOPs a 28×28 image and
131,754 parameters for 10 classes. It is the project's "deeper model" next to
LeNet-5 (weights/manifest.json has Fashion-MNIST weights for both).

``fashion_cnn_wide`` (1,849,674 parameters) is the same builder with one
convolution per stage (two in the last), no BatchNorm on the stem and LeNet-5's
Flatten → Dense head instead of GAP: built for training speed on a CPU, where
the full-resolution layers dominate the step time whatever their FLOPs. It is
the accuracy model of benchmarks/time_to_accuracy.py.

``fashion_cnn`` (426,988 parameters, 162 of them frozen) is the fast small
model: a frozen ``PatchWhitening`` stem (airbench's whitening convolution,
Jordan 2024) at 28×28, then 32- and 64-filter stages and a Flatten → Dense(128)
head. ``training.fit`` adapts the stem to the training images; it reaches 92%
Fashion-MNIST test accuracy in three epochs, about 45 s on 2 CPU cores.

Layer names: ``stem_whiten``, ``stem_relu``, ``stem_pool`` (whitening stem only),
``block{i}_conv{j}``, ``block{i}_bn{j}``, ``block{i}_relu{j}``,
``block{i}_pool``, ``avg_pool`` or ``flatten``/``fc1``, ``top_dropout``,
``predictions``.
"""

from keras import layers

from keras_cv_course.blocks import PatchWhitening, conv_bn_act
from keras_cv_course.models import _common
from keras_cv_course.models.registry import FeatureTap, register

PAPER = "VGG (Simonyan & Zisserman 2015) with BatchNorm (Ioffe & Szegedy 2015) and a GAP head (Lin et al. 2014), sized for 28x28"
WHITENING_PAPER = ("A frozen patch-whitening stem (Coates & Ng 2012; Jordan 2024, airbench) before VGG stages "
                   "(Simonyan & Zisserman 2015) with BatchNorm and LeNet-5's Flatten-Dense head, sized for 28x28")
DENSE_HEAD_PAPER = ("VGG (Simonyan & Zisserman 2015) with BatchNorm (Ioffe & Szegedy 2015) and LeNet-5's Flatten-Dense head "
                    "(LeCun et al. 1998), sized for 28x28")


def FashionVGG(
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=10,
    classifier_activation="softmax",
    name="fashion_vgg",
    widths=(32, 64, 128),
    convs=(1, 2, 1),
    dropout=0.3,
    channels=1,
    stem_batch_norm=True,
    top_units=None,
    stem_whitening=False,
):
    """A VGG-style BN network for small gray images; see the module docstring.

    ``widths``/``convs``: filters and number of 3×3 convolutions per stage (a 2×2
    max-pool between stages). ``stem_batch_norm=False`` gives the first
    convolution a bias and fused ReLU instead of BatchNorm (at full resolution
    with one input channel it is the costliest BatchNorm of the net on a CPU).
    ``top_units=None`` ends in the GAP head; an int ends in Flatten → Dense
    ``fc1`` (ReLU) → Dropout → ``predictions`` instead, which keeps where a
    feature was (LeNet-5's and VGG's own head). ``stem_whitening=True`` puts a
    frozen 3×3 ``PatchWhitening`` (18 filters a gray channel), ReLU and 2×2
    max-pool before the stages; adapt it to the training images before
    training (``training.fit`` does; else ``blocks.adapt_model``).
    """
    if len(widths) != len(convs):
        raise ValueError(f"widths and convs need one entry per stage; got {widths} and {convs}")
    image, inputs, weight_spec = _common.prepare(
        name,
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        default_size=28,
        min_size=2 ** (len(widths) - (0 if stem_whitening else 1)),
        available_weights=_trained_weights(name),
        channels=channels,
    )
    x = _whitening_stem(image) if stem_whitening else image
    for stage, (filters, count) in enumerate(zip(widths, convs), start=1):
        for index in range(1, count + 1):
            x = conv_bn_act(
                x, filters, 3, name=f"block{stage}_{index}", batch_norm=stem_batch_norm or (stage, index) != (1, 1),
                conv_name=f"block{stage}_conv{index}", bn_name=f"block{stage}_bn{index}", act_name=f"block{stage}_relu{index}",
            )
        if stage < len(widths):
            x = layers.MaxPooling2D(2, name=f"block{stage}_pool")(x)
    if include_top and top_units:
        x = _dense_classifier(x, top_units, classes=classes, classifier_activation=classifier_activation, dropout=dropout)
    elif include_top:
        x = _common.classifier(x, classes=classes, classifier_activation=classifier_activation, dropout=dropout)
    else:
        x = _common.pool_features(x, pooling)
    return _common.finish_model(inputs, x, name=name, weights=weights, weight_spec=weight_spec, include_top=include_top)


STEM_PATCH = 3  # the whitening stem's patch side: 2·3·3 = 18 filters a gray channel


def _whitening_stem(x):
    """Frozen 3×3 patch whitening → ReLU → 2×2 max-pool."""
    x = PatchWhitening(STEM_PATCH, name="stem_whiten")(x)
    x = layers.ReLU(name="stem_relu")(x)
    return layers.MaxPooling2D(2, name="stem_pool")(x)


def _dense_classifier(x, units, *, classes, classifier_activation, dropout):
    """Flatten → Dense ``fc1`` (ReLU) → optional Dropout → Dense ``predictions``."""
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(units, activation="relu", name="fc1")(x)
    if dropout:
        x = layers.Dropout(dropout, name="top_dropout")(x)
    return layers.Dense(classes, activation=classifier_activation, name="predictions")(x)


def _trained_weights(model_name):
    """Named weights of ``model_name`` (from weights/manifest.json)."""
    from keras_cv_course.models import trained_weights

    return trained_weights.weight_specs(model_name)


# A frozen whitening stem, two stages of one 3×3 convolution each and a dense
# head: the fast small net of benchmarks/time_to_accuracy.py.
FASHION_CNN = dict(widths=(32, 64), convs=(1, 1), stem_whitening=True, top_units=128, dropout=0.0)
# Twice the width, a second convolution at 7×7 (where a CPU pays least for it)
# and dropout: the accuracy model.
FASHION_CNN_WIDE = dict(widths=(32, 64, 128), convs=(1, 1, 2), stem_batch_norm=False, top_units=256, dropout=0.3)


def FashionCNN(name="fashion_cnn", **kwargs):
    """``fashion_cnn``: ``FashionVGG`` with a frozen patch-whitening stem, then
    widths 32-64 with one convolution per stage and a Flatten → Dense(128) head:
    426,988 parameters (162 frozen), about 5 MFLOPs a 28×28 image, trained to
    92.5% Fashion-MNIST test accuracy in three epochs on a 2-core CPU. Adapt the
    stem before training (``training.fit`` does). Other arguments as
    ``FashionVGG``."""
    return FashionVGG(name=name, **{**FASHION_CNN, **kwargs})


def FashionCNNWide(name="fashion_cnn_wide", **kwargs):
    """``fashion_cnn_wide``: ``FashionVGG`` at widths 32-64-128 with one
    convolution per stage but two in the last, no BatchNorm on the stem, a
    Flatten → Dense(256) head and dropout 0.3:
    1,849,674 parameters. Other arguments as ``FashionVGG``."""
    return FashionVGG(name=name, **{**FASHION_CNN_WIDE, **kwargs})


def _register_small(name, builder, *, params, taps, paper):
    """Register a 28×28×1, 10-class net of this module with its trained weights."""
    register(
        name, builder, family="small", paper=paper, input_shape=(28, 28, 1), min_size=4, params=params,
        preprocessing="unit", classes=10, weights=_trained_weights(name), taps=taps,
    )


def _taps(widths, convs, stem_batch_norm=True, stem_whitening=False, **_):
    """One tap per stage at its last activation: ``block{i}_relu{n}``, or the
    stem convolution itself when it has no BatchNorm (its ReLU is fused); a
    whitening stem adds ``stem_relu`` (18 channels) at full resolution."""
    stem_channels = 2 * STEM_PATCH * STEM_PATCH  # one gray input channel, ± filters
    taps = [FeatureTap(level="P0", layer="stem_relu", channels=stem_channels, stride=1)] if stem_whitening else []
    for stage, (width, count) in enumerate(zip(widths, convs)):
        fused_stem = stage == 0 and count == 1 and not stem_batch_norm
        layer = "block1_conv1" if fused_stem else f"block{stage + 1}_relu{count}"
        level = len(taps)
        taps.append(FeatureTap(level=f"P{level}", layer=layer, channels=width, stride=2**level))
    return tuple(taps)


_register_small("fashion_vgg", FashionVGG, params=131_754, taps=_taps(widths=(32, 64, 128), convs=(1, 2, 1)), paper=PAPER)
_register_small("fashion_cnn", FashionCNN, params=426_988, taps=_taps(**FASHION_CNN), paper=WHITENING_PAPER)
_register_small("fashion_cnn_wide", FashionCNNWide, params=1_849_674, taps=_taps(**FASHION_CNN_WIDE), paper=DENSE_HEAD_PAPER)
