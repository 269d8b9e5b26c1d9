"""Model surgery for transfer learning and fine-tuning.

The course's recipe (Chollet, *Deep Learning with Python*, 5.3): put a classifier
on a pretrained convolutional base, train the classifier with the base frozen,
then unfreeze the top block (``block5_conv1`` onwards in VGG16) and fine-tune it
with a small learning rate::

    conv_base = get_model("vgg16", include_top=False, weights="imagenet", input_shape=(150, 150, 3))
    model = transfer_classifier(conv_base, hidden=256, classes=1)   # 16,812,353 parameters
    freeze(conv_base)                                               # step 1: train the head
    ...
    freeze(conv_base, until="block5_conv1")                         # step 2: fine-tune block 5
    model.compile(...)                                              # recompile after changing trainable

Keras 3 runs a ``BatchNormalization`` layer whose ``trainable`` is False in
inference mode (moving statistics, no updates), so a frozen BN stays frozen even
inside a fine-tuned network; ``freeze`` relies on that and ``frozen_batchnorm``
lists the BN layers it froze so a test can check it.
"""

import keras
import numpy as np
from keras import layers

from keras_cv_course import _keras_compat
from keras_cv_course.precision import functional_model

__all__ = ["freeze", "unfreeze_from", "flat_layers", "layers_feeding", "with_input_shape", "transfer_classifier", "trainable_summary",
           "borrow_layer", "FreezeSchedule"]


def _is_container(layer):
    return isinstance(layer, keras.Model) or (hasattr(layer, "layers") and isinstance(getattr(layer, "layers"), list))


def flat_layers(model):
    """Every leaf layer of ``model`` in order, descending into nested models
    (a Sequential with a ``conv_base`` lists conv_base's layers in place)."""
    result = []
    for layer in model.layers:
        if _is_container(layer) and layer.layers:
            result.extend(flat_layers(layer))
        else:
            result.append(layer)
    return result


def layers_feeding(model, output_name):
    """Names of the layers of the functional ``model`` on some path to its output
    ``output_name`` (a name of ``model.output_names``), that output's layer included."""
    if output_name not in model.output_names:
        raise ValueError(f"{model.name!r} has no output {output_name!r}; its outputs are {model.output_names}")
    found, pending = set(), [model.outputs[model.output_names.index(output_name)]]
    while pending:
        operation, node_index, _ = _keras_compat.keras_history(pending.pop())
        if operation.name in found or isinstance(operation, keras.layers.InputLayer):
            continue
        found.add(operation.name)
        pending.extend(_keras_compat.inbound_input_tensors(operation, node_index))
    return found


def with_input_shape(model, input_shape):
    """A copy of the functional ``model`` on a new input of ``input_shape`` (such
    as ``(None, None, C)``, so a fully convolutional network built for one size
    takes any), its weights copied; ``model`` itself when the shape is already that."""
    input_shape = tuple(input_shape)
    if tuple(model.input_shape[1:]) == input_shape:
        return model
    if not _keras_compat.is_functional(model) or len(model.inputs) != 1:
        raise ValueError(f"with_input_shape needs a functional model with one input; {model.name!r} is not one")
    copy = keras.models.clone_model(model, input_tensors=keras.Input(input_shape, name=model.inputs[0].name))
    copy.set_weights(model.get_weights())
    return copy


def _set_containers_trainable(model):
    # A nested model with trainable=False would hide its layers' flags; setting a
    # container's flag sets every layer inside it, so the leaves' flags are restored.
    flags = [(layer, layer.trainable) for layer in flat_layers(model)]
    model.trainable = True
    for layer, flag in flags:
        layer.trainable = flag


def _index_of(leaves, name, model):
    for index, layer in enumerate(leaves):
        if layer.name == name:
            return index
    raise ValueError(f"{model.name!r} has no layer named {name!r}; its layers include: {', '.join(l.name for l in leaves[:40])}")


def freeze(model, until=None):
    """Freeze the layers of ``model`` before the layer named ``until``; that layer
    and every later one become trainable. ``until=None`` freezes everything.

    Returns ``model``. Recompile afterwards: ``trainable`` is read at compile time.
    """
    _set_containers_trainable(model)
    leaves = flat_layers(model)
    stop = len(leaves) if until is None else _index_of(leaves, until, model)
    for index, layer in enumerate(leaves):
        layer.trainable = index >= stop
    if until is None:
        model.trainable = False
    return model


def unfreeze_from(model, name):
    """Make the layer ``name`` and every later layer trainable, leaving the flags
    of earlier layers as they are (``freeze(model, until=name)`` also freezes them)."""
    _set_containers_trainable(model)
    leaves = flat_layers(model)
    start = _index_of(leaves, name, model)
    for layer in leaves[start:]:
        layer.trainable = True
    return model


def frozen_batchnorm(model):
    """Names of the BatchNormalization layers of ``model`` that are frozen
    (``trainable=False``, hence run in inference mode by Keras 3)."""
    return [l.name for l in flat_layers(model) if isinstance(l, layers.BatchNormalization) and not l.trainable]


def transfer_classifier(conv_base, *, hidden=256, classes=1, dropout=0.0, name=None):
    """The course's transfer model: ``conv_base`` → Flatten → Dense(hidden, relu)
    → [Dropout] → Dense(classes) (sigmoid for one output, softmax otherwise).

    With VGG16's base at 150×150 and ``hidden=256, classes=1`` it has 16,812,353
    parameters, as in the book.
    """
    activation = "sigmoid" if classes == 1 else "softmax"
    head = [layers.Flatten(name="flatten"), layers.Dense(hidden, activation="relu", name="fc")]
    if dropout:
        head.append(layers.Dropout(dropout, name="fc_dropout"))
    head.append(layers.Dense(classes, activation=activation, name="predictions"))
    inputs = keras.Input(shape=conv_base.input_shape[1:], name="input_layer")
    x = conv_base(inputs)
    for layer in head:
        x = layer(x)
    return functional_model(inputs, x, name=name or f"{conv_base.name}_transfer")


def borrow_layer(model, name, *, new_name=None):
    """A copy of the built layer ``name`` of ``model`` with its trained weights,
    for a new model (EE-559 7.5's "neuro-surgery": the first layer of a trained
    network inside another one). The copy has its own variables: training the new
    model leaves ``model`` as it was. ``new_name`` renames it (default: the same
    name)."""
    source = _layer_named(model, name)
    if not source.built or not source.weights:
        raise ValueError(f"Layer {name!r} of {model.name!r} has no weights to borrow (built: {source.built})")
    config = source.get_config()
    if new_name is not None:
        config["name"] = new_name
    borrowed = type(source).from_config(config)
    borrowed.build(tuple(source.input.shape))
    borrowed.set_weights(source.get_weights())
    return borrowed


def _layer_named(model, name):
    """The leaf layer ``name`` of ``model`` (nested models searched), or a
    ValueError listing the names there are."""
    leaves = flat_layers(model)
    return leaves[_index_of(leaves, name, model)]


class FreezeSchedule(keras.callbacks.Callback):
    """Keep the layers ``layer_names`` frozen for the first ``epochs`` epochs of
    ``model.fit``, then train them with the rest (EE-559 7.5: a borrowed first
    layer frozen for the first half of the epochs, so the new layers adapt to it
    before it moves).

    The layers must be trainable when ``fit`` starts: Keras builds the optimizer
    for the variables trainable then, and one that never saw them could not train
    them later. After ``fit`` they are trainable again. TensorFlow and PyTorch
    backends (JAX's ``fit`` fixes the trainable variables when it starts).
    """

    def __init__(self, layer_names, epochs):
        super().__init__()
        if isinstance(layer_names, str):
            layer_names = [layer_names]
        if int(epochs) != epochs or epochs < 0:
            raise ValueError(f"FreezeSchedule: epochs must be a whole number >= 0; got {epochs!r}")
        self.layer_names, self.epochs = list(layer_names), int(epochs)
        self._layers, self._frozen = [], None

    def on_train_begin(self, logs=None):
        if keras.backend.backend() == "jax":
            raise RuntimeError("FreezeSchedule cannot change what trains during fit on the JAX backend; "
                               "call fit twice instead (frozen, then unfrozen with a new optimizer)")
        self._layers = [_layer_named(self.model, name) for name in self.layer_names]
        already = [layer.name for layer in self._layers if not layer.trainable]
        if already:
            raise ValueError(f"FreezeSchedule: {already} are frozen when fit starts; leave them trainable "
                             "(the optimizer is built for the variables trainable then) and let the schedule freeze them")
        optimizer = self.model.optimizer
        if not optimizer.built:  # built now, it knows the variables the schedule will unfreeze
            optimizer.build(self.model.trainable_variables)
        self._frozen = None

    def on_epoch_begin(self, epoch, logs=None):
        frozen = epoch < self.epochs
        if frozen != self._frozen:
            for layer in self._layers:
                layer.trainable = not frozen
            self.model.make_train_function(force=True)  # the step reads the trainable variables when traced
            self._frozen = frozen

    def on_train_end(self, logs=None):
        for layer in self._layers:
            layer.trainable = True


def trainable_summary(model):
    """``(trainable, non-trainable)`` parameter counts."""
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    total = model.count_params()
    return trainable, total - trainable


# ----------------------------------------------------------------------------- convolutionize
#
# EE-559 7.2/7.3 and OverFeat (Sermanet et al. 2013, "OverFeat: Integrated
# Recognition, Localization and Detection using Convolutional Networks", 3.5):
# a classifier's fully connected layers are convolutions whose kernel covers the
# whole map they see, so rewriting them as such makes the network accept any input
# at least as large as the native one and score every window of a grid (stride:
# the product of the strides before the head) in one pass. FCN (Long, Shelhamer &
# Darrell 2015, 3.1) starts the same way.

__all__ += ["convolutionize", "total_stride", "dense_kernel_from_torch", "conv_kernel_from_torch_linear"]

# Layers carried over unchanged after Flatten: elementwise, or acting on the last
# (channel) axis only, so they mean the same on a (N, h, w, U) map as on (N, U).
_ELEMENTWISE = (layers.Dropout, layers.AlphaDropout, layers.GaussianDropout, layers.GaussianNoise,
                layers.Activation, layers.ReLU, layers.LeakyReLU, layers.ELU, layers.Identity)
# Layers that pin the spatial size: the network would not slide over a larger input.
_FIXED_SIZE = (layers.Reshape, layers.Resizing, layers.CenterCrop, layers.RandomCrop, layers.Permute)
_GLOBAL_POOLS = (layers.GlobalAveragePooling2D, layers.GlobalMaxPooling2D)


def convolutionize(model, *, input_shape=None, name=None):
    """The fully convolutional version of a classifier with a Flatten → Dense head.

    The first Dense after ``Flatten`` becomes a "valid" Conv2D whose kernel is the
    flattened map's size k_h×k_w, its kernel the Dense kernel reshaped in Keras's
    channels-last Flatten order, ``reshape(H, W, C, U)``; each later Dense a 1×1
    convolution (OverFeat, Sermanet et al. 2013, 3.5). Activations (softmax too,
    over the channel axis), Dropout and BatchNormalization after Flatten are carried
    over; every new layer keeps the old one's name (``fc6`` is a Conv2D ``fc6``).
    The layers before Flatten are copied, with their weights (not shared with
    ``model``, so ``get_layer(name).output`` taps the new graph), on a new input of ``input_shape`` (default ``(None, None, C)``);
    nested models are inlined, so the result is one flat graph.

    At the native size the output is (N, 1, 1, classes) and equals ``model``'s
    output; at native + s·k (s = ``total_stride(model)``) it is (N, 1+k, 1+k,
    classes), cell (i, j) scoring the window at offset (s·i, s·j). It equals
    ``model`` run on that crop exactly only where no layer pads (LeNet-5): a
    padded convolution of a crop sees zeros where the dense pass sees the
    neighbouring pixels (Simonyan & Zisserman 2015, 3.2, "boundary conditions").

    torchvision's AlexNet ``AdaptiveAveragePooling2D`` (6×6) is converted to the
    pooling it equals at the native size: nothing when the map is already 6×6
    (224×224), a uniform ``AveragePooling2D`` when the windows are uniform, and
    refused otherwise. Refused, with the layer named: a global pooling head (already
    convolutional), a Dense not fed by a Flatten of a spatial map, a layer after
    Flatten that is not elementwise, a layer fixing the spatial size.
    """
    if not isinstance(model, keras.Model) or len(model.inputs) != 1:
        raise ValueError(f"convolutionize needs a Functional or Sequential keras.Model with one input; got {model!r}")
    native = tuple(model.inputs[0].shape[1:])
    if len(native) != 3:
        raise ValueError(
            f"{model.name!r} takes inputs of shape {model.inputs[0].shape}, not images (height, width, channels): "
            f"convolutionize converts a Dense fed by a Flatten of a spatial map, and its Dense "
            f"{_first_dense_name(model)!r} is fed by none.")
    shape = _new_input_shape(model, native, input_shape)
    converter = _Converter(model)
    inputs = keras.Input(shape=shape, name=model.inputs[0].name)
    outputs = converter.run(inputs)
    converter.check_done()
    return functional_model(inputs, outputs, name=name or f"{model.name}_fcn")


def total_stride(model):
    """``(s_h, s_w)``: the product of the strides on the path to the classifier's
    Flatten (or to the output of a fully convolutional model), the step between
    the windows ``convolutionize(model)`` scores (LeNet-5: 4; VGG, AlexNet: 32)."""
    converter = _Converter(model, strides_only=True)
    converter.run(keras.Input(shape=(None, None, model.inputs[0].shape[-1])))
    return converter.map_stride or converter.last_stride


def _first_dense_name(model):
    return next((l.name for l in flat_layers(model) if isinstance(l, layers.Dense)), None)


def _new_input_shape(model, native, input_shape):
    shape = tuple(input_shape) if input_shape is not None else (None, None, native[-1])
    if len(shape) != 3 or shape[-1] != native[-1]:
        raise ValueError(f"input_shape must be (height, width, {native[-1]}) for {model.name!r}; got {input_shape!r}")
    for side, least in zip(shape[:2], native[:2]):
        if side is not None and least is not None and side < least:
            raise ValueError(f"input_shape {shape} is smaller than {model.name!r}'s native input {native}: "
                             f"the convolutionized head needs at least one full window.")
    return shape


def _is_graph(layer):
    return isinstance(layer, keras.Model) and (isinstance(layer, keras.Sequential) or _keras_compat.is_functional(layer))


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


class _Converter:
    """Runs ``model``'s graph on new tensors, inlining nested models, reusing the
    layers before Flatten and replacing the head; tracks each tensor's stride."""

    def __init__(self, model, strides_only=False):
        self.model, self.strides_only = model, strides_only
        self.map_shape = None  # (H, W, C) the original Flatten saw
        self.map_stride = None  # the stride at Flatten
        self.last_stride = (1, 1)
        self.fc_layers = 0
        self._strides = {}

    def run(self, inputs):
        return self._inline(self.model, inputs)

    def check_done(self):
        if self.fc_layers == 0:
            raise ValueError(f"{self.model.name!r} has no Flatten → Dense head to convolutionize.")

    # -- graph walk
    def _inline(self, model, inputs):
        if isinstance(model, keras.Sequential):
            x = inputs
            for layer in model.layers:
                x = self._call(layer, x)
            return x
        if not _keras_compat.is_functional(model):
            raise ValueError(f"{model.name!r} is a subclassed model: convolutionize walks Functional and Sequential graphs only.")
        return _keras_compat.run_graph_calls(model, inputs, self._call)

    def _call(self, op, *args, **kwargs):
        stride = self._stride_in(args)
        if _is_graph(op):
            out = self._inline(op, args[0] if len(args) == 1 else list(args))
        elif self.map_shape is not None:
            out = self._head_layer(op, args[0])
        else:
            out, stride = self._feature_layer(op, stride, args, kwargs)
        self._record(out, stride)
        return out

    def _stride_in(self, args):
        found = [self._strides[id(t)][1] for t in keras.tree.flatten(args) if id(t) in self._strides]
        return max(found, default=(1, 1))

    def _record(self, outputs, stride):
        for tensor in keras.tree.flatten(outputs):
            self._strides[id(tensor)] = (tensor, stride)  # the tensor is kept so its id stays its own
        self.last_stride = stride

    # -- before Flatten: reuse, with checks
    def _feature_layer(self, op, stride, args, kwargs):
        if isinstance(op, layers.Flatten):
            return self._flatten(op, args[0]), stride
        _refuse_before_flatten(op, args[0])
        from keras_cv_course.blocks import AdaptiveAveragePooling2D

        if isinstance(op, AdaptiveAveragePooling2D):
            return self._adaptive_pool(op, args[0], stride)
        if hasattr(op, "strides") and not isinstance(op, layers.Conv2DTranspose):
            stride = tuple(a * b for a, b in zip(stride, _pair(op.strides)))
        return _copy(op)(*args, **kwargs), stride

    def _flatten(self, op, x):
        shape = tuple(op.input.shape[1:])  # the map the original Flatten saw
        if len(shape) != 3 or None in shape or op.data_format != "channels_last":
            raise ValueError(f"Flatten {op.name!r} of {self.model.name!r} flattens {op.input.shape} "
                             f"(data_format {op.data_format!r}); convolutionize needs a channels-last spatial map "
                             f"of known size (build the classifier with a fixed input_shape).")
        self.map_shape, self.map_stride = shape, self._stride_in((x,))
        return x

    def _adaptive_pool(self, op, x, stride):
        native = tuple(op.input.shape[1:3])
        windows = [_uniform_windows(size, cells) for size, cells in zip(native, op.output_size)]
        if None in native or None in windows:
            raise ValueError(
                f"{op.name!r} (AdaptiveAveragePooling2D to {op.output_size}) of {self.model.name!r} sees a {native} map at "
                f"the native size: its windows are not one uniform pooling, so the network does not slide. Build the "
                f"classifier at a size whose map is a multiple of {op.output_size} (224×224 for AlexNet), or use "
                f"variant='paper', which flattens a fixed 6×6 map.")
        (kh, sh), (kw, sw) = windows
        if (kh, kw, sh, sw) == (1, 1, 1, 1):
            return x, stride  # the identity at the native size
        pool = layers.AveragePooling2D((kh, kw), strides=(sh, sw), padding="valid", name=op.name)
        return pool(x), (stride[0] * sh, stride[1] * sw)

    # -- after Flatten: the head
    def _head_layer(self, op, x):
        if isinstance(op, layers.Dense):
            return self._dense_as_conv(op, x)
        if isinstance(op, _ELEMENTWISE) or (isinstance(op, layers.Softmax) and op.axis in (-1, [-1], (-1,))):
            return _copy(op)(x)
        if isinstance(op, layers.BatchNormalization):
            return self._channel_batchnorm(op, x)
        raise ValueError(f"convolutionize cannot carry {op.name!r} ({type(op).__name__}) after Flatten in "
                         f"{self.model.name!r}: only Dense, Dropout, activations and BatchNormalization are converted.")

    def _dense_as_conv(self, dense, x):
        kernel = keras.ops.convert_to_numpy(dense.kernel)
        size = self.map_shape[:2] if self.fc_layers == 0 else (1, 1)
        units_in = int(np.prod(size)) * x.shape[-1]
        if kernel.shape[0] != units_in:
            raise ValueError(f"Dense {dense.name!r} has {kernel.shape[0]} inputs; the {size} map of {x.shape[-1]} "
                             f"channels before it gives {units_in}.")
        conv = layers.Conv2D(dense.units, size, padding="valid", activation=dense.activation, use_bias=dense.use_bias,
                             kernel_regularizer=dense.kernel_regularizer, bias_regularizer=dense.bias_regularizer,
                             dtype=dense.dtype_policy, name=dense.name)
        y = conv(x)
        weights = [kernel.reshape(*size, x.shape[-1], dense.units)]
        if dense.use_bias:
            weights.append(keras.ops.convert_to_numpy(dense.bias))
        conv.set_weights(weights)
        conv.trainable = dense.trainable
        self.fc_layers += 1
        return y

    def _channel_batchnorm(self, bn, x):
        axis = bn.axis if isinstance(bn.axis, int) else bn.axis[0] if len(bn.axis) == 1 else None
        if axis not in (-1, 1):
            raise ValueError(f"BatchNormalization {bn.name!r} after Flatten normalizes axis {bn.axis}; "
                             f"only the feature axis maps to the channel axis.")
        new = layers.BatchNormalization.from_config({**bn.get_config(), "axis": -1})
        y = new(x)
        new.set_weights(bn.get_weights())
        return y


def _copy(layer):
    """A new layer of the same config, given ``layer``'s weights once built (so the
    new model's tensors are its own: ``get_layer(name).output`` taps work, and
    fine-tuning it leaves the classifier as it was)."""
    new = type(layer).from_config(layer.get_config())
    original_call = new.__call__

    def call_then_copy(*args, **kwargs):
        out = original_call(*args, **kwargs)
        new.set_weights(layer.get_weights())
        for attribute in ("is_adapted",):  # PatchWhitening's state beside its weights
            if hasattr(layer, attribute):
                setattr(new, attribute, getattr(layer, attribute))
        new.trainable = layer.trainable
        return out

    return call_then_copy


def _refuse_before_flatten(op, x):
    if isinstance(op, _GLOBAL_POOLS) and not op.keepdims:
        raise ValueError(
            f"{op.name!r} ({type(op).__name__}) pools the whole map: a global-pooling head is already convolutional "
            f"(its Dense acts on pooled features of any input size); there is no Flatten → Dense head to convert.")
    if isinstance(op, layers.Dense) and len(x.shape) == 2:
        raise ValueError(f"Dense {op.name!r} is not fed by a Flatten of a spatial map (its input has shape {x.shape}); "
                         f"convolutionize converts Flatten → Dense heads only.")
    if isinstance(op, _FIXED_SIZE):
        raise ValueError(f"{op.name!r} ({type(op).__name__}) fixes the spatial size before Flatten, so the network "
                         f"cannot slide over a larger input.")


def _uniform_windows(size, cells):
    """``(kernel, stride)`` when adaptive average pooling ``size`` → ``cells``
    (torch's windows ``[floor(i·size/cells), ceil((i+1)·size/cells))``) is one
    "valid" average pooling, else None."""
    if size is None:
        return None
    starts = [i * size // cells for i in range(cells)]
    ends = [-(-(i + 1) * size // cells) for i in range(cells)]
    kernels = {e - s for s, e in zip(starts, ends)}
    steps = {b - a for a, b in zip(starts, starts[1:])} or {1}
    if len(kernels) != 1 or len(steps) != 1 or min(steps) < 1:
        return None  # uneven windows, or a map smaller than the output (cells repeat pixels)
    return kernels.pop(), steps.pop()


# ----------------------------------------------------------------------------- torchvision weights


def conv_kernel_from_torch_linear(linear_weight, channels, height, width):
    """The (H, W, C, U) Conv2D kernel equal to a torchvision ``nn.Linear`` of
    weight (U, C·H·W) applied after ``torch.flatten`` of an NCHW map: PyTorch
    flattens channel-major, so the weight is viewed as (U, C, H, W) and permuted
    to (H, W, C, U) (OverFeat-style convolutionization of torch weights)."""
    weight = np.asarray(linear_weight)
    if weight.ndim != 2 or weight.shape[1] != channels * height * width:
        raise ValueError(f"linear_weight must have shape (units, {channels}·{height}·{width} = "
                         f"{channels * height * width}); got {weight.shape}")
    return weight.reshape(weight.shape[0], channels, height, width).transpose(2, 3, 1, 0)


def dense_kernel_from_torch(linear_weight, channels, height, width):
    """The Keras Dense kernel (H·W·C, U) after a channels-last ``Flatten`` equal
    to a torchvision Linear (U, C·H·W) after ``torch.flatten`` of the NCHW map."""
    kernel = conv_kernel_from_torch_linear(linear_weight, channels, height, width)
    return kernel.reshape(height * width * channels, kernel.shape[-1])
