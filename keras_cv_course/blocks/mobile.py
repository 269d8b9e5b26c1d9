"""Mobile blocks: MobileNet's depthwise-separable convolution, MobileNetV2's
inverted residual (linear bottleneck) and EfficientNet's MBConv with
squeeze-and-excitation.

Every block is a function ``x -> x`` with a required keyword ``name``; its layers
are named ``f"{name}_{suffix}"``. The suffixes are keras.applications' own, so
the families built on these blocks reproduce keras.applications' layer names:

- ``inverted_residual(name="block_1")`` makes ``block_1_expand``, ``block_1_expand_BN``,
  ``block_1_expand_relu``, ``block_1_pad``, ``block_1_depthwise``, ... ``block_1_add``
  (keras MobileNetV2);
- ``mbconv(name="block2a")`` makes ``block2a_expand_conv``, ``block2a_dwconv``,
  ``block2a_se_reduce``, ... ``block2a_add`` (keras EfficientNet);
- ``depthwise_separable`` takes a ``names`` mapping for MobileNet v1, whose
  names (``conv_dw_1``, ``conv_pw_1_bn``) share no prefix.
"""

import keras
from keras import layers

from keras_cv_course.blocks.conv import activation_layer
from keras_cv_course.preprocessing import IMAGENET_MEAN_RGB, IMAGENET_STD_RGB

# keras.applications.efficientnet's initializers (as config dicts, so every layer
# gets its own initializer object).
CONV_KERNEL_INITIALIZER = {
    "class_name": "VarianceScaling",
    "config": {"scale": 2.0, "mode": "fan_out", "distribution": "truncated_normal"},
}
DENSE_KERNEL_INITIALIZER = {
    "class_name": "VarianceScaling",
    "config": {"scale": 1.0 / 3.0, "mode": "fan_out", "distribution": "uniform"},
}


def make_divisible(value, divisor=8, min_value=None):
    """Round a channel count to a multiple of ``divisor`` without losing more than
    10% (the rule of MobileNetV2 and EfficientNet)."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return int(rounded)


def correct_pad(x, kernel_size):
    """The zero padding before a stride-2 "valid" convolution that keras.applications
    uses (TensorFlow "same" padding, made explicit): ``((top, bottom), (left, right))``.

    Even (or unknown) sides get one pixel less on the top/left.
    """
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    height, width = x.shape[1], x.shape[2]
    adjust = (1, 1) if height is None else (1 - height % 2, 1 - width % 2)
    correct = (kernel_size[0] // 2, kernel_size[1] // 2)
    return ((correct[0] - adjust[0], correct[0]), (correct[1] - adjust[1], correct[1]))


PADDINGS = ("keras", "symmetric")


def stride_padding(x, kernel_size, padding="keras"):
    """The zero padding before a strided "valid" k×k convolution, as
    ``((top, bottom), (left, right))``: ``"keras"`` is ``correct_pad`` (TensorFlow's
    "same", one pixel less on the top/left of an even side); ``"symmetric"`` is
    PyTorch's ``Conv2d(padding=(k - 1) // 2)`` on every side, as torchvision pads."""
    if padding == "keras":
        return correct_pad(x, kernel_size)
    if padding != "symmetric":
        raise ValueError(f"padding must be one of {PADDINGS}; got {padding!r}")
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    return (((kh - 1) // 2,) * 2, ((kw - 1) // 2,) * 2)


_SEPARABLE_SUFFIXES = ("pad", "dw", "dw_bn", "dw_relu", "pw", "pw_bn", "pw_relu")


def depthwise_separable(
    x,
    filters,
    *,
    name,
    strides=1,
    kernel_size=3,
    depth_multiplier=1,
    activation="relu6",
    bn_epsilon=1e-3,
    bn_momentum=0.99,
    names=None,
):
    """MobileNet's depthwise-separable unit (Howard et al. 2017, Fig. 3):
    k×k DepthwiseConv2D → BN → act → 1×1 Conv2D ``filters`` → BN → act.

    Parameters: ``k*k*Cin*depth_multiplier + Cin*depth_multiplier*filters`` weights
    plus 4 per channel for each BatchNormalization (no conv biases).
    A stride-2 unit pads ``((0, 1), (0, 1))`` and convolves "valid", as
    keras.applications.MobileNet does.

    Layer names: ``{name}_pad``, ``{name}_dw``, ``{name}_dw_bn``, ``{name}_dw_relu``,
    ``{name}_pw``, ``{name}_pw_bn``, ``{name}_pw_relu``; ``names`` maps any of the
    suffixes to a full layer name instead.
    """
    full = {suffix: f"{name}_{suffix}" for suffix in _SEPARABLE_SUFFIXES}
    unknown = set(names or {}) - set(full)
    if unknown:
        raise ValueError(f"depthwise_separable names has unknown keys {sorted(unknown)}; expected some of {list(full)}")
    full.update(names or {})
    if strides != 1:
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=full["pad"])(x)
    x = layers.DepthwiseConv2D(
        kernel_size,
        strides=strides,
        padding="same" if strides == 1 else "valid",
        depth_multiplier=depth_multiplier,
        use_bias=False,
        name=full["dw"],
    )(x)
    x = layers.BatchNormalization(epsilon=bn_epsilon, momentum=bn_momentum, name=full["dw_bn"])(x)
    x = activation_layer(activation, full["dw_relu"])(x)
    x = layers.Conv2D(filters, 1, padding="same", use_bias=False, name=full["pw"])(x)
    x = layers.BatchNormalization(epsilon=bn_epsilon, momentum=bn_momentum, name=full["pw_bn"])(x)
    return activation_layer(activation, full["pw_relu"])(x)


def inverted_residual(
    x,
    filters,
    *,
    name,
    expansion=6,
    strides=1,
    kernel_size=3,
    activation="relu6",
    bn_epsilon=1e-3,
    bn_momentum=0.999,
    padding="keras",
):
    """MobileNetV2's inverted residual with linear bottleneck (Sandler et al. 2018,
    Table 1): 1×1 expand to ``expansion*Cin`` → BN → ReLU6 → k×k depthwise →
    BN → ReLU6 → 1×1 linear projection to ``filters`` → BN, plus the input when
    ``strides == 1`` and ``Cin == filters`` (and only then).

    ``expansion == 1`` skips the expand conv (MobileNetV2's first block).
    A stride-2 depthwise conv is zero-padded by ``stride_padding(padding)``
    (``"keras"``: asymmetric, as keras.applications; ``"symmetric"``: torchvision's).
    Layer names are keras.applications': ``{name}_expand``, ``{name}_expand_BN``,
    ``{name}_expand_relu``, ``{name}_pad``, ``{name}_depthwise``, ``{name}_depthwise_BN``,
    ``{name}_depthwise_relu``, ``{name}_project``, ``{name}_project_BN``, ``{name}_add``.
    """
    inputs = x
    in_channels = x.shape[-1]
    bn = dict(epsilon=bn_epsilon, momentum=bn_momentum)
    if expansion != 1:
        x = layers.Conv2D(expansion * in_channels, 1, padding="same", use_bias=False, name=f"{name}_expand")(x)
        x = layers.BatchNormalization(**bn, name=f"{name}_expand_BN")(x)
        x = activation_layer(activation, f"{name}_expand_relu")(x)
    if strides == 2:
        x = layers.ZeroPadding2D(stride_padding(x, kernel_size, padding), name=f"{name}_pad")(x)
    x = layers.DepthwiseConv2D(
        kernel_size,
        strides=strides,
        use_bias=False,
        padding="same" if strides == 1 else "valid",
        name=f"{name}_depthwise",
    )(x)
    x = layers.BatchNormalization(**bn, name=f"{name}_depthwise_BN")(x)
    x = activation_layer(activation, f"{name}_depthwise_relu")(x)
    x = layers.Conv2D(filters, 1, padding="same", use_bias=False, name=f"{name}_project")(x)
    x = layers.BatchNormalization(**bn, name=f"{name}_project_BN")(x)
    if strides == 1 and in_channels == filters:
        x = layers.Add(name=f"{name}_add")([inputs, x])
    return x


def squeeze_excite(x, filters_se, *, name, activation="swish"):
    """Squeeze-and-excitation (Hu et al. 2018) as EfficientNet writes it: global
    average pool → 1×1 conv ``filters_se`` (``activation``) → 1×1 conv back to
    C (sigmoid) → multiply, so each channel of ``x`` is scaled by a gate in (0, 1).

    Layer names: ``{name}_se_squeeze``, ``{name}_se_reshape``, ``{name}_se_reduce``,
    ``{name}_se_expand``, ``{name}_se_excite``.
    """
    channels = x.shape[-1]
    se = layers.GlobalAveragePooling2D(name=f"{name}_se_squeeze")(x)
    se = layers.Reshape((1, 1, channels), name=f"{name}_se_reshape")(se)
    se = layers.Conv2D(
        filters_se, 1, padding="same", activation=activation,
        kernel_initializer=CONV_KERNEL_INITIALIZER, name=f"{name}_se_reduce",
    )(se)
    se = layers.Conv2D(
        channels, 1, padding="same", activation="sigmoid",
        kernel_initializer=CONV_KERNEL_INITIALIZER, name=f"{name}_se_expand",
    )(se)
    return layers.Multiply(name=f"{name}_se_excite")([x, se])


def mbconv(
    x,
    filters_out,
    *,
    name,
    expand_ratio=6,
    kernel_size=3,
    strides=1,
    se_ratio=0.25,
    activation="swish",
    drop_rate=0.0,
    id_skip=True,
    bn_epsilon=1e-3,
    bn_momentum=0.99,
    padding="keras",
):
    """EfficientNet's MBConv block (Tan & Le 2019; keras.applications.efficientnet.block):
    1×1 expand (unless ``expand_ratio == 1``) → BN → swish → k×k depthwise → BN →
    swish → squeeze-excitation (``max(1, int(Cin * se_ratio))`` units, of the block's
    *input* channels) → 1×1 projection → BN → drop-connect (``Dropout`` with
    ``noise_shape=(None, 1, 1, 1)``, rate ``drop_rate``) → add the input when
    ``id_skip``, ``strides == 1`` and ``Cin == filters_out``.
    A stride-2 depthwise conv is zero-padded by ``stride_padding(padding)``
    (``"keras"``: asymmetric, as keras.applications; ``"symmetric"``: torchvision's);
    ``bn_epsilon``/``bn_momentum`` set every BatchNormalization (Keras's defaults).

    Layer names are keras.applications' with ``name`` = ``"block2a"`` etc.:
    ``{name}_expand_conv``, ``{name}_expand_bn``, ``{name}_expand_activation``,
    ``{name}_dwconv_pad``, ``{name}_dwconv``, ``{name}_bn``, ``{name}_activation``,
    the SE layers, ``{name}_project_conv``, ``{name}_project_bn``, ``{name}_drop``,
    ``{name}_add``.
    """
    inputs = x
    filters_in = x.shape[-1]
    filters = filters_in * expand_ratio
    bn = dict(epsilon=bn_epsilon, momentum=bn_momentum)
    if expand_ratio != 1:
        x = layers.Conv2D(
            filters, 1, padding="same", use_bias=False,
            kernel_initializer=CONV_KERNEL_INITIALIZER, name=f"{name}_expand_conv",
        )(x)
        x = layers.BatchNormalization(**bn, name=f"{name}_expand_bn")(x)
        x = activation_layer(activation, f"{name}_expand_activation")(x)
    if strides == 2:
        x = layers.ZeroPadding2D(stride_padding(x, kernel_size, padding), name=f"{name}_dwconv_pad")(x)
    x = layers.DepthwiseConv2D(
        kernel_size,
        strides=strides,
        padding="same" if strides == 1 else "valid",
        use_bias=False,
        depthwise_initializer=CONV_KERNEL_INITIALIZER,
        name=f"{name}_dwconv",
    )(x)
    x = layers.BatchNormalization(**bn, name=f"{name}_bn")(x)
    x = activation_layer(activation, f"{name}_activation")(x)
    if 0 < se_ratio <= 1:
        x = squeeze_excite(x, max(1, int(filters_in * se_ratio)), name=name, activation=activation)
    x = layers.Conv2D(
        filters_out, 1, padding="same", use_bias=False,
        kernel_initializer=CONV_KERNEL_INITIALIZER, name=f"{name}_project_conv",
    )(x)
    x = layers.BatchNormalization(**bn, name=f"{name}_project_bn")(x)
    if id_skip and strides == 1 and filters_in == filters_out:
        if drop_rate > 0:
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}_drop")(x)
        x = layers.Add(name=f"{name}_add")([x, inputs])
    return x


@keras.saving.register_keras_serializable(package="keras_cv_course")
class ImageNormalization(keras.layers.Layer):
    """``(x - mean) / sqrt(variance)`` per channel, with ``mean`` and ``variance``
    held as non-trainable weights laid out like ``keras.layers.Normalization``'s
    (``mean``, ``variance``, ``count``), so keras.applications' EfficientNet files
    load into it unchanged.

    Unlike ``keras.layers.Normalization`` it reads its weights at every call:
    ``set_weights`` and ``variable.assign`` take effect at once (Keras's layer keeps
    snapshots that only ``finalize_state`` refreshes). The initial values are
    ``mean`` and ``variance`` (default: the ImageNet RGB statistics of [0, 1]
    pixels), so an untrained model already normalizes sensibly.
    """

    def __init__(self, mean=IMAGENET_MEAN_RGB, variance=tuple(s**2 for s in IMAGENET_STD_RGB), epsilon=1e-7, **kwargs):
        super().__init__(**kwargs)
        self.initial_mean = [float(v) for v in mean]
        self.initial_variance = [float(v) for v in variance]
        if len(self.initial_mean) != len(self.initial_variance):
            raise ValueError(f"mean and variance need the same length; got {len(self.initial_mean)} and {len(self.initial_variance)}")
        if min(self.initial_variance) < 0:
            raise ValueError(f"variance must be non-negative; got {self.initial_variance}")
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels != len(self.initial_mean):
            raise ValueError(
                f"{self.name}: inputs have {channels} channels but mean/variance have {len(self.initial_mean)} values"
            )
        self.mean = self.add_weight(
            name="mean", shape=(channels,), initializer=keras.initializers.Constant(self.initial_mean), trainable=False
        )
        self.variance = self.add_weight(
            name="variance", shape=(channels,), initializer=keras.initializers.Constant(self.initial_variance),
            trainable=False,
        )
        # Normalization's "count" (kept for file compatibility; unused).
        self.count = self.add_weight(name="count", shape=(), dtype="int", initializer="zeros", trainable=False)

    def call(self, inputs):
        # In float32 under every policy (epsilon 1e-7 is below float16's smallest
        # normal number), then in the compute dtype.
        inputs = keras.ops.cast(inputs, "float32")
        std = keras.ops.sqrt(keras.ops.cast(self.variance, "float32"))
        normalized = (inputs - keras.ops.cast(self.mean, "float32")) / keras.ops.maximum(std, self.epsilon)
        return keras.ops.cast(normalized, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(mean=self.initial_mean, variance=self.initial_variance, epsilon=self.epsilon)
        return config


@keras.saving.register_keras_serializable(package="keras_cv_course")
class Normalization(ImageNormalization):
    """``ImageNormalization`` under ``keras.layers.Normalization``'s class name,
    as EfficientNet uses it. A Keras 3 weights file (``.weights.h5``, and the
    weights in a ``.keras`` archive) addresses a layer by its class name in snake
    case, numbered per class (``layers/normalization/vars``; see
    keras/src/saving/saving_lib.py), so under this name a file written by
    keras.applications' EfficientNet loads into ours and ours into Keras's.
    Behaviour, weights and config are ImageNormalization's (serialized as
    ``keras_cv_course>Normalization``; models saved with ``ImageNormalization``
    still load as such)."""


def identity_statistics(channels):
    """``(mean, variance)`` that leave ``channels`` channels unchanged: 0 and 1 each
    (what ``keras.layers.Normalization`` starts from)."""
    return (0.0,) * channels, (1.0,) * channels


__all__ = [
    "make_divisible", "correct_pad", "stride_padding", "depthwise_separable", "inverted_residual",
    "squeeze_excite", "mbconv", "ImageNormalization", "Normalization", "identity_statistics",
]
