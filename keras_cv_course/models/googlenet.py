"""GoogLeNet / Inception-v1 (Szegedy et al. 2015, "Going Deeper with
Convolutions", arXiv:1409.4842), with its two auxiliary classifiers.

Two variants (``VARIANTS``), one table (``INCEPTION_STAGES``, the rows of the paper's
Table 1, from which the feature taps are generated too):

- ``variant="torchvision"`` (default, registry ``googlenet``): torchvision's
  layout. Every conv is conv (no bias) → BatchNorm (eps 1e-3) → ReLU; the "5×5"
  branch uses a 3×3 kernel (a torchvision quirk its weights depend on); the aux
  heads pool adaptively to 4×4; dropout 0.2 before the classifier. torchvision's
  6,624,904 parameters are its *trainable* weights: PyTorch keeps BN running
  mean/variance as buffers, Keras counts them (non-trainable), so
  ``count_params()`` is 6,624,904 + 2 × 7,280 BN channels = 6,639,464 without the aux heads.
- ``variant="paper"`` (registry ``googlenet_paper``): the paper / Caffe
  ``bvlc_googlenet``: conv + bias + ReLU, real 5×5 convs, local response
  normalization (n=5, alpha=1e-4, beta=0.75, k=1) after pool1 and conv3, aux
  heads with 5×5/3 average pooling, dropout 0.4.

Max pools use PyTorch/Caffe's ceil rounding (224 → 112 → 56 → 28 → 14 → 7), so
any input divisible by 32 gives maps of exactly input/stride.

``aux_logits=True`` returns three outputs ``[main, aux1, aux2]`` named
``predictions``, ``aux1_predictions`` (after inception4a) and
``aux2_predictions`` (after inception4d). The paper adds the auxiliary losses
with weight 0.3; ``AUX_LOSS_WEIGHTS`` is that, ready for
``model.compile(loss=..., loss_weights=AUX_LOSS_WEIGHTS)``. Use the main output
alone at inference (build with ``aux_logits=False``; the weights of the shared
layers are the same).

Names follow torchvision's module paths with "." → "_" (``inception4a.branch2.0.conv``
→ ``inception4a_branch2_0_conv``, ``aux1.fc1`` → ``aux1_fc1``); ``fc`` is
``predictions`` and ``aux{i}.fc2`` is ``aux{i}_predictions``.
"""

from typing import NamedTuple

from keras import layers

from keras_cv_course.blocks import LocalResponseNormalization, conv_bn_act, inception_module, max_pool_ceil
from keras_cv_course.models import _common
from keras_cv_course.models.registry import FeatureTap

PAPER = "Szegedy et al. 2015, Going Deeper with Convolutions"
AUX_LOSS_WEIGHTS = {"predictions": 1.0, "aux1_predictions": 0.3, "aux2_predictions": 0.3}


class Filters(NamedTuple):
    """The widths of one inception module (a row of Table 1)."""

    n1x1: int
    n3x3_reduce: int
    n3x3: int
    n5x5_reduce: int
    n5x5: int
    pool_proj: int

    @property
    def channels(self):
        return self.n1x1 + self.n3x3 + self.n5x5 + self.pool_proj


class Module(NamedTuple):
    letter: str  # inception{stage}{letter}
    filters: Filters


class Stage(NamedTuple):
    """Inception modules at one stride, then the max pool (kernel, stride) after
    them (None after the last stage)."""

    number: int
    modules: tuple
    pool: tuple


class Variant(NamedTuple):
    """conv + BN (no bias) or conv + bias; the kernel of the "5×5" branch; LRN
    after pool1 and conv3; aux heads pooling adaptively to 4×4 or 5×5/3; the
    dropout before ``predictions``; the model's default name."""

    batch_norm: bool
    middle_kernel: int
    lrn: bool
    aux_adaptive_pool: bool
    dropout: float
    name: str


INCEPTION_STAGES = (
    Stage(3, (Module("a", Filters(64, 96, 128, 16, 32, 32)),
              Module("b", Filters(128, 128, 192, 32, 96, 64))), (3, 2)),
    Stage(4, (Module("a", Filters(192, 96, 208, 16, 48, 64)),
              Module("b", Filters(160, 112, 224, 24, 64, 64)),
              Module("c", Filters(128, 128, 256, 24, 64, 64)),
              Module("d", Filters(112, 144, 288, 32, 64, 64)),
              Module("e", Filters(256, 160, 320, 32, 128, 128))), (2, 2)),
    Stage(5, (Module("a", Filters(256, 160, 320, 32, 128, 128)),
              Module("b", Filters(384, 192, 384, 48, 128, 128))), None),
)
AUX_AFTER = {"inception4a": "aux1", "inception4d": "aux2"}
VARIANTS = {
    "torchvision": Variant(batch_norm=True, middle_kernel=3, lrn=False, aux_adaptive_pool=True, dropout=0.2,
                           name="googlenet"),
    "paper": Variant(batch_norm=False, middle_kernel=5, lrn=True, aux_adaptive_pool=False, dropout=0.4,
                     name="googlenet_paper"),
}
AUX_DROPOUT = 0.7
MIN_SIZE = 32
# The paper's aux heads pool 5×5/3, so inception4a must be at least 5×5: input >= 79.
AUX_PAPER_MIN_SIZE = 79


def _variant(options):
    if options["variant"] not in VARIANTS:
        raise ValueError(f"GoogLeNet variant must be one of {sorted(VARIANTS)}; got {options['variant']!r}")
    return VARIANTS[options["variant"]]


def _rules(options):
    aux_pools_5x5 = options["aux_logits"] and not _variant(options).aux_adaptive_pool
    return _common.InputRules(224, AUX_PAPER_MIN_SIZE if aux_pools_5x5 else MIN_SIZE)


def _lrn(x, name):
    return LocalResponseNormalization(size=5, alpha=1e-4, beta=0.75, k=1.0, name=name)(x)


def _aux_head(x, *, name, request, batch_norm, adaptive_pool):
    """Auxiliary classifier: average pool to 4×4 (adaptively, or 5×5/3 as in the
    paper) → 1×1 conv 128 → FC 1024 + ReLU → dropout 0.7 → FC ``classes``."""
    if adaptive_pool:
        x = layers.AdaptiveAveragePooling2D((4, 4), name=f"{name}_pool")(x)
    else:
        x = layers.AveragePooling2D(5, strides=3, name=f"{name}_pool")(x)
    x = conv_bn_act(x, 128, 1, name=f"{name}_conv", batch_norm=batch_norm)
    x = layers.Flatten(name=f"{name}_flatten")(x)
    x = layers.Dense(1024, activation="relu", name=f"{name}_fc1")(x)
    x = layers.Dropout(AUX_DROPOUT, name=f"{name}_dropout")(x)
    return request.dense(x, name=f"{name}_predictions")


def googlenet(request, *, variant, aux_logits):
    """The generic GoogLeNet builder: the stem, then ``INCEPTION_STAGES``; with
    ``aux_logits=True`` (needs ``include_top``) the model has three outputs,
    ``[predictions, aux1_predictions, aux2_predictions]``."""
    if aux_logits and not request.include_top:
        raise ValueError("aux_logits=True needs include_top=True: the auxiliary heads are classifiers.")
    options = VARIANTS[variant]
    unit = dict(batch_norm=options.batch_norm)
    x = conv_bn_act(request.image, 64, 7, strides=2, padding=3, name="conv1", **unit)
    x = max_pool_ceil(x, 3, 2, name="maxpool1")
    if options.lrn:
        x = _lrn(x, "maxpool1_lrn")
    x = conv_bn_act(x, 64, 1, name="conv2", **unit)
    x = conv_bn_act(x, 192, 3, padding=1, name="conv3", **unit)
    if options.lrn:
        x = _lrn(x, "conv3_lrn")
    x = max_pool_ceil(x, 3, 2, name="maxpool2")
    aux_outputs = []
    for stage in INCEPTION_STAGES:
        for module in stage.modules:
            block = f"inception{stage.number}{module.letter}"
            x = inception_module(x, module.filters, name=block, middle_kernel=options.middle_kernel, **unit)
            if aux_logits and block in AUX_AFTER:
                aux_outputs.append(_aux_head(x, name=AUX_AFTER[block], request=request,
                                             adaptive_pool=options.aux_adaptive_pool, **unit))
        if stage.pool:
            x = max_pool_ceil(x, *stage.pool, name=f"maxpool{stage.number}")
    x = request.tail(x, request.gap_head(options.dropout))
    return request.finish([x, *aux_outputs] if aux_logits else x)


def _taps(variant):
    """conv1 (P1) and conv3 (P2) of the stem, then each stage's last module (stage n has stride 2**n)."""
    conv1, conv3 = ("conv1_relu", "conv3_relu") if VARIANTS[variant].batch_norm else ("conv1_conv", "conv3_lrn")
    return (FeatureTap("P1", conv1, 64, 2), FeatureTap("P2", conv3, 192, 4)) + tuple(
        FeatureTap(f"P{s.number}", f"inception{s.number}{s.modules[-1].letter}_concat", s.modules[-1].filters.channels,
                   2**s.number)
        for s in INCEPTION_STAGES
    )


ROWS = (
    _common.Row("googlenet", "GoogLeNet", "googlenet", PAPER, 6_639_464, "torch", (224, 224, 3), MIN_SIZE,
                doc="GoogLeNet; see the module docstring for ``variant`` and ``aux_logits``.\n\n"
                "With ``aux_logits=True`` (needs ``include_top``) the model has three outputs,\n"
                "``[predictions, aux1_predictions, aux2_predictions]``.",
                user_options={"variant": "torchvision", "aux_logits": False}, taps=_taps("torchvision"),
                rules=_rules, name_of=lambda options: _variant(options).name),
    _common.Row("googlenet_paper", None, "googlenet", PAPER, 6_998_552, "caffe", (224, 224, 3), MIN_SIZE,
                taps=_taps("paper"), base="googlenet", fixed={"variant": "paper"}),
)
_BUILDERS = _common.define(ROWS, googlenet)
GoogLeNet = _BUILDERS["GoogLeNet"]
