"""Small VGG-style networks for 28×28 gray images: ``fashion_vgg``,
``fashion_cnn`` and ``fashion_cnn_wide``, rows of models/vgg.py's one VGG
builder (``vgg_family`` with ``layer_names="course"``; ``widths``/``convs`` are
the course's shorthand for a table of ``vgg.vgg_like`` stages).

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

Layer names (vgg.py's "course" grammar): ``stem_whiten``, ``stem_relu``,
``stem_pool`` (whitening stem only), ``block{i}_conv{j}``, ``block{i}_bn{j}``,
``block{i}_relu{j}``, ``block{i}_pool``, ``avg_pool`` or ``flatten``/``fc1``,
``top_dropout``, ``predictions``.
"""

import functools

from keras_cv_course.models import _common, vgg
from keras_cv_course.models.vgg import STEM_PATCH  # noqa: F401  (the stem's patch side, as before)

PAPER = "VGG (Simonyan & Zisserman 2015) with BatchNorm (Ioffe & Szegedy 2015) and a GAP head (Lin et al. 2014), sized for 28x28"
WHITENING_PAPER = ("A frozen patch-whitening stem (Coates & Ng 2012; Jordan 2024, airbench) before VGG stages "
                   "(Simonyan & Zisserman 2015) with BatchNorm and LeNet-5's Flatten-Dense head, sized for 28x28")
DENSE_HEAD_PAPER = ("VGG (Simonyan & Zisserman 2015) with BatchNorm (Ioffe & Szegedy 2015) and LeNet-5's Flatten-Dense head "
                    "(LeCun et al. 1998), sized for 28x28")

# FashionVGG's options and defaults: ``widths``/``convs`` filters and number of
# 3×3 convolutions per stage (a 2×2 max-pool between stages);
# ``stem_batch_norm=False`` gives the first convolution a bias and fused ReLU
# instead of BatchNorm (at full resolution with one input channel it is the
# costliest BatchNorm of the net on a CPU); ``top_units=None`` ends in the GAP
# head, an int in Flatten → Dense ``fc1`` (ReLU) → Dropout → ``predictions``
# (LeNet-5's and VGG's own head, which keeps where a feature was);
# ``stem_whitening=True`` puts a frozen 3×3 ``PatchWhitening`` (18 filters a gray
# channel), ReLU and 2×2 max-pool before the stages (adapt it to the training
# images before training: ``training.fit`` does); ``channels`` the input depth.
FASHION_VGG = dict(widths=(32, 64, 128), convs=(1, 2, 1), dropout=0.3, channels=1, stem_batch_norm=True,
                   top_units=None, stem_whitening=False)
# A frozen whitening stem, two stages of one 3×3 convolution each and a dense
# head: the fast small net of benchmarks/time_to_accuracy.py.
FASHION_CNN = dict(widths=(32, 64), convs=(1, 1), stem_whitening=True, top_units=128, dropout=0.0)
# Twice the width, a second convolution at 7×7 (where a CPU pays least for it)
# and dropout: the accuracy model.
FASHION_CNN_WIDE = dict(widths=(32, 64, 128), convs=(1, 1, 2), stem_batch_norm=False, top_units=256, dropout=0.3)


def vgg_options(*, widths, convs, dropout, stem_batch_norm, top_units, stem_whitening, channels=1):
    """FashionVGG's options as ``vgg.vgg_family``'s: the stage table and head."""
    return dict(stages=vgg.vgg_like(widths, convs), batch_norm=True, stem_batch_norm=stem_batch_norm,
                stem="whitening" if stem_whitening else None, fc_units=(top_units,) if top_units else (),
                dropout=dropout, layer_names="course", bias_before_bn=False)


def fashion_family(request, **options):
    """``vgg.vgg_family`` on the table ``vgg_options(**options)`` makes."""
    return vgg.vgg_family(request, **vgg_options(**options))


def _rules(options):
    """28×28 by default; the smallest side is 2 to the number of pools."""
    table = vgg_options(**options)
    return _common.InputRules(28, 2 ** vgg.pool_count(table["stages"], table["stem"]), options["channels"])


def _trained_weights(model_name, options=None):
    """Named weights of ``model_name`` (from weights/manifest.json)."""
    from keras_cv_course.models import trained_weights

    return trained_weights.weight_specs(model_name)


def _row(name, public, params, paper, options, doc):
    """A 28×28×1, 10-class net with its trained weights; one tap per stage."""
    options = {**FASHION_VGG, **options}
    return _common.Row(name, public, "small", paper, params, "unit", (28, 28, 1), 4, doc=doc, user_options=options,
                       classes=10, taps=vgg.stage_taps(**vgg_options(**options), channels=options["channels"]),
                       weights=functools.partial(_trained_weights, name), rules=_rules)


ROWS = (
    _row("fashion_vgg", "FashionVGG", 131_754, PAPER, {},
         "A VGG-style BN network for small gray images with a GAP head; see the module docstring and "
         "``FASHION_VGG`` for its options (``widths``, ``convs``, ``dropout``, ``channels``, "
         "``stem_batch_norm``, ``top_units``, ``stem_whitening``)."),
    _row("fashion_cnn", "FashionCNN", 426_988, WHITENING_PAPER, FASHION_CNN,
         "``fashion_cnn``: ``FashionVGG`` with a frozen patch-whitening stem, then widths 32-64 with one "
         "convolution per stage and a Flatten → Dense(128) head: 426,988 parameters (162 frozen), about 5 MFLOPs "
         "a 28×28 image, trained to 92.5% Fashion-MNIST test accuracy in three epochs on a 2-core CPU. Adapt the "
         "stem before training (``training.fit`` does). Other arguments as ``FashionVGG``."),
    _row("fashion_cnn_wide", "FashionCNNWide", 1_849_674, DENSE_HEAD_PAPER, FASHION_CNN_WIDE,
         "``fashion_cnn_wide``: ``FashionVGG`` at widths 32-64-128 with one convolution per stage but two in the "
         "last, no BatchNorm on the stem, a Flatten → Dense(256) head and dropout 0.3: 1,849,674 parameters. "
         "Other arguments as ``FashionVGG``."),
)
_BUILDERS = _common.define(ROWS, fashion_family)
FashionVGG, FashionCNN, FashionCNNWide = (_BUILDERS[n] for n in ("FashionVGG", "FashionCNN", "FashionCNNWide"))
