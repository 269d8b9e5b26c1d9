"""GoogLeNet / Inception-v1 (Szegedy et al. 2015, "Going Deeper with
Convolutions", arXiv:1409.4842), with its two auxiliary classifiers.

Two variants, one table (``INCEPTION_STAGES``, the rows of the paper's Table 1):

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

from keras import layers

from keras_cv_course.blocks import LocalResponseNormalization, conv_bn_act, inception_module, max_pool_ceil
from keras_cv_course.models import _common
from keras_cv_course.models.registry import FeatureTap, register

PAPER = "Szegedy et al. 2015, Going Deeper with Convolutions"
AUX_LOSS_WEIGHTS = {"predictions": 1.0, "aux1_predictions": 0.3, "aux2_predictions": 0.3}

# Stage → modules (n1x1, n3x3_reduce, n3x3, n5x5_reduce, n5x5, pool_proj), Table 1;
# then the max pool after the stage (kernel, stride), None after the last.
INCEPTION_STAGES = (
    (3, (("a", (64, 96, 128, 16, 32, 32)), ("b", (128, 128, 192, 32, 96, 64))), (3, 2)),
    (
        4,
        (
            ("a", (192, 96, 208, 16, 48, 64)),
            ("b", (160, 112, 224, 24, 64, 64)),
            ("c", (128, 128, 256, 24, 64, 64)),
            ("d", (112, 144, 288, 32, 64, 64)),
            ("e", (256, 160, 320, 32, 128, 128)),
        ),
        (2, 2),
    ),
    (5, (("a", (256, 160, 320, 32, 128, 128)), ("b", (384, 192, 384, 48, 128, 128))), None),
)
AUX_AFTER = {"inception4a": "aux1", "inception4d": "aux2"}
VARIANTS = {
    "torchvision": dict(batch_norm=True, middle_kernel=3, lrn=False, aux_adaptive_pool=True, dropout=0.2, name="googlenet"),
    "paper": dict(batch_norm=False, middle_kernel=5, lrn=True, aux_adaptive_pool=False, dropout=0.4, name="googlenet_paper"),
}
AUX_DROPOUT = 0.7
# The paper's aux heads pool 5×5/3, so inception4a must be at least 5×5: input >= 79.
AUX_PAPER_MIN_SIZE = 79


def _lrn(x, name):
    return LocalResponseNormalization(size=5, alpha=1e-4, beta=0.75, k=1.0, name=name)(x)


def _aux_head(x, *, name, classes, classifier_activation, batch_norm, adaptive_pool):
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
    return layers.Dense(classes, activation=classifier_activation, name=f"{name}_predictions")(x)


def GoogLeNet(
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name=None,
    variant="torchvision",
    aux_logits=False,
):
    """GoogLeNet; see the module docstring for ``variant`` and ``aux_logits``.

    With ``aux_logits=True`` (needs ``include_top``) the model has three outputs,
    ``[predictions, aux1_predictions, aux2_predictions]``.
    """
    if variant not in VARIANTS:
        raise ValueError(f"GoogLeNet variant must be one of {sorted(VARIANTS)}; got {variant!r}")
    if aux_logits and not include_top:
        raise ValueError("aux_logits=True needs include_top=True: the auxiliary heads are classifiers.")
    options = VARIANTS[variant]
    name = name or options["name"]
    image, inputs, spec = _common.prepare(
        name,
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        default_size=224,
        min_size=AUX_PAPER_MIN_SIZE if aux_logits and variant == "paper" else 32,
    )
    unit = dict(batch_norm=options["batch_norm"])
    x = conv_bn_act(image, 64, 7, strides=2, padding=3, name="conv1", **unit)
    x = max_pool_ceil(x, 3, 2, name="maxpool1")
    if options["lrn"]:
        x = _lrn(x, "maxpool1_lrn")
    x = conv_bn_act(x, 64, 1, name="conv2", **unit)
    x = conv_bn_act(x, 192, 3, padding=1, name="conv3", **unit)
    if options["lrn"]:
        x = _lrn(x, "conv3_lrn")
    x = max_pool_ceil(x, 3, 2, name="maxpool2")
    aux_outputs = []
    for stage, modules, pool in INCEPTION_STAGES:
        for letter, filters in modules:
            block = f"inception{stage}{letter}"
            x = inception_module(x, filters, name=block, middle_kernel=options["middle_kernel"], **unit)
            if aux_logits and block in AUX_AFTER:
                aux_outputs.append(
                    _aux_head(x, name=AUX_AFTER[block], classes=classes, classifier_activation=classifier_activation,
                              adaptive_pool=options["aux_adaptive_pool"], **unit)
                )
        if pool:
            x = max_pool_ceil(x, *pool, name=f"maxpool{stage}")
    if include_top:
        x = _common.classifier(
            x, classes=classes, classifier_activation=classifier_activation, dropout=options["dropout"]
        )
    else:
        x = _common.pool_features(x, pooling)
    outputs = [x, *aux_outputs] if aux_logits else x
    return _common.finish_model(inputs, outputs, name=name, weights=weights, weight_spec=spec, include_top=include_top)


def _taps(variant):
    conv1 = "conv1_relu" if variant == "torchvision" else "conv1_conv"
    conv3 = "conv3_relu" if variant == "torchvision" else "conv3_lrn"
    return (
        FeatureTap("P1", conv1, 64, 2),
        FeatureTap("P2", conv3, 192, 4),
        FeatureTap("P3", "inception3b_concat", 480, 8),
        FeatureTap("P4", "inception4e_concat", 832, 16),
        FeatureTap("P5", "inception5b_concat", 1024, 32),
    )


register("googlenet", GoogLeNet, family="googlenet", paper=PAPER, input_shape=(224, 224, 3), min_size=32,
         params=6_639_464, preprocessing="torch", taps=_taps("torchvision"))
register("googlenet_paper", GoogLeNet, family="googlenet", paper=PAPER, input_shape=(224, 224, 3), min_size=32,
         params=6_998_552, preprocessing="caffe", taps=_taps("paper"), kwargs={"variant": "paper"})
