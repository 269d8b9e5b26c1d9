"""A small VGG-style network for 28×28 gray images: ``fashion_vgg``.

Credit: the VGG recipe (Simonyan & Zisserman 2015, stacks of 3×3 convolutions
between 2×2 max-pools, widths doubling per stage) with batch normalization
(Ioffe & Szegedy 2015) after each convolution and a global-average-pooling head
(Lin, Chen & Yan 2014, Network in Network), sized for Fashion-MNIST on a CPU:
``widths=(32, 64, 128)``, ``convs=(1, 2, 1)`` — about 29 MFLOPs a 28×28 image and
131,754 parameters for 10 classes. It is the project's "deeper model" next to
LeNet-5 (weights/manifest.json has Fashion-MNIST weights for both).

Layer names: ``block{i}_conv{j}``, ``block{i}_bn{j}``, ``block{i}_relu{j}``,
``block{i}_pool``, ``avg_pool``, ``top_dropout``, ``predictions``.
"""

from keras import layers

from keras_cv_course.blocks import conv_bn_act
from keras_cv_course.models import _common
from keras_cv_course.models.registry import FeatureTap, register

PAPER = "VGG (Simonyan & Zisserman 2015) with BatchNorm (Ioffe & Szegedy 2015) and a GAP head (Lin et al. 2014), sized for 28x28"


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
):
    """A VGG-style BN network for small gray images; see the module docstring."""
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
        min_size=2 ** (len(widths) - 1),
        available_weights=fashion_vgg_weights() if name == "fashion_vgg" else {},
        channels=channels,
    )
    x = image
    for stage, (filters, count) in enumerate(zip(widths, convs), start=1):
        for index in range(1, count + 1):
            x = conv_bn_act(
                x, filters, 3, name=f"block{stage}_{index}",
                conv_name=f"block{stage}_conv{index}", bn_name=f"block{stage}_bn{index}", act_name=f"block{stage}_relu{index}",
            )
        if stage < len(widths):
            x = layers.MaxPooling2D(2, name=f"block{stage}_pool")(x)
    if include_top:
        x = _common.classifier(x, classes=classes, classifier_activation=classifier_activation, dropout=dropout)
    else:
        x = _common.pool_features(x, pooling)
    return _common.finish_model(inputs, x, name=name, weights=weights, weight_spec=weight_spec, include_top=include_top)


def fashion_vgg_weights():
    """Named weights of ``fashion_vgg`` (from weights/manifest.json)."""
    from keras_cv_course.models import trained_weights

    return trained_weights.weight_specs("fashion_vgg")


register(
    "fashion_vgg",
    FashionVGG,
    family="small",
    paper=PAPER,
    input_shape=(28, 28, 1),
    min_size=4,
    params=131_754,
    preprocessing="unit",
    classes=10,
    weights=fashion_vgg_weights(),
    taps=(
        FeatureTap(level="P0", layer="block1_relu1", channels=32, stride=1),
        FeatureTap(level="P1", layer="block2_relu2", channels=64, stride=2),
        FeatureTap(level="P2", layer="block3_relu1", channels=128, stride=4),
    ),
)
