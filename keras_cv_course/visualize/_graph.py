"""Running any Keras model layer by layer, nested models included, so that the
visualization tools can read (and differentiate through) any layer's output.

``Tracer(model, watch=...)(images)`` runs ``model`` eagerly on the TensorFlow
backend, descending into nested models (a ``conv_base`` inside a Sequential, a
backbone inside a functional head), and records the outputs of the watched
layers. Options change the run without touching the user's model:
``logits=True`` drops a final softmax/sigmoid (scores are pre-softmax),
``relu_rule="guided"|"deconvnet"`` swaps the backward rule of every ReLU
(fused ReLUs of Conv/Dense layers run through an unfused copy of the layer),
``stop=True`` stops once every watched layer has run (so a pattern can be
optimized at any input size even when the top flattens a fixed-size map).
"""

import difflib
import re

import keras
import numpy as np

from keras_cv_course import _keras_compat

_LEVEL = re.compile(r"^P\d+$")
CONV_TYPES = (
    keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D, keras.layers.DepthwiseConv2D,
    keras.layers.SeparableConv2D, keras.layers.Conv2DTranspose,
)
_AFTER_CONV = (keras.layers.BatchNormalization, keras.layers.Activation, keras.layers.ReLU)


def tf_module():
    """TensorFlow, checking that Keras runs on it (the tools use GradientTape)."""
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            "keras_cv_course.visualize needs the TensorFlow backend (KERAS_BACKEND=tensorflow); "
            f"Keras runs on {keras.backend.backend()!r}."
        )
    import tensorflow as tf

    return tf


# ---------------------------------------------------------------- finding layers


def iter_layers(model, prefix=""):
    """``(path, layer)`` for every layer of ``model`` in order, descending into
    nested models (which are listed before their own layers); input layers skipped."""
    for layer in getattr(model, "layers", []):
        if isinstance(layer, keras.layers.InputLayer):
            continue
        path = f"{prefix}{layer.name}"
        yield path, layer
        if isinstance(layer, keras.Model):
            yield from iter_layers(layer, prefix=f"{path}/")


def find_layer(model, spec):
    """The layer of ``model`` named by ``spec``: a Layer of it, a name (searched
    through nested models), a path ``"conv_base/block1_conv1"``, or a feature level
    ``"P4"`` of a registered backbone inside ``model``."""
    if isinstance(spec, keras.layers.Layer):
        if any(layer is spec for _, layer in iter_layers(model)):
            return spec
        raise ValueError(f"Layer {spec.name!r} is not part of model {model.name!r}")
    if not isinstance(spec, str):
        raise TypeError(f"A layer is given by name, path, feature level or Layer; got {type(spec).__name__}")
    pairs = list(iter_layers(model))
    for path, layer in pairs:
        if path == spec:
            return layer
    for _, layer in pairs:
        if layer.name == spec:
            return layer
    if _LEVEL.match(spec):
        from keras_cv_course.models.features import find_backbone

        backbone, info = find_backbone(model)
        return backbone.get_layer(info.tap(spec).layer)
    names = [path for path, _ in pairs]
    close = difflib.get_close_matches(spec, names + [layer.name for _, layer in pairs], n=5, cutoff=0.5)
    hint = f" Did you mean: {', '.join(dict.fromkeys(close))}?" if close else ""
    raise ValueError(f"Model {model.name!r} has no layer {spec!r}.{hint} Its layers: {', '.join(names)}")


def layer_path(model, target):
    for path, layer in iter_layers(model):
        if layer is target:
            return path
    return target.name


def last_conv_layer(model):
    """The default target of the class-activation maps: the output of the last
    convolution unit of ``model`` (nested models searched) — the last conv layer,
    or the BatchNorm/activation layers that directly follow it."""
    pairs = [layer for _, layer in iter_layers(model) if not isinstance(layer, keras.Model)]
    index = max((i for i, layer in enumerate(pairs) if isinstance(layer, CONV_TYPES)), default=None)
    if index is None:
        raise ValueError(f"Model {model.name!r} has no convolutional layer; pass layer= explicitly")
    while index + 1 < len(pairs) and isinstance(pairs[index + 1], _AFTER_CONV) and _feeds(pairs[index], pairs[index + 1]):
        index += 1
    return pairs[index]


def _feeds(producer, consumer):
    """Whether ``consumer`` takes ``producer``'s output (True when unknown)."""
    try:
        inputs = consumer.input
    except (AttributeError, ValueError):
        return True
    inputs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    if not all(isinstance(t, keras.KerasTensor) for t in inputs):
        return True
    return any(_keras_compat.keras_history(t)[0] is producer for t in inputs)


def conv_layers(model):
    """Every convolutional layer of ``model`` (nested models included), in order."""
    return [layer for _, layer in iter_layers(model) if isinstance(layer, CONV_TYPES)]


# ---------------------------------------------------------------- running


class _Stop(Exception):
    pass


def _is_relu(fn):
    return fn is keras.activations.relu or getattr(fn, "__name__", None) == "relu"


def _is_squash(fn):
    return fn in (keras.activations.softmax, keras.activations.sigmoid) or getattr(fn, "__name__", None) in ("softmax", "sigmoid")


class Tracer:
    """Run ``model`` eagerly, recording the outputs of ``watch`` (layers)."""

    def __init__(self, model, watch=(), *, logits=False, relu_rule=None, stop=False, pre_activation=False):
        self.tf = tf_module()
        if relu_rule not in (None, "guided", "deconvnet"):
            raise ValueError(f"relu_rule must be None, 'guided' or 'deconvnet'; got {relu_rule!r}")
        self.model = model
        self.watch = {id(layer): layer for layer in watch}
        self.logits = logits
        self.relu_rule = relu_rule
        self.stop = stop
        self.pre_activation = pre_activation
        self.recorded = {}
        self._twins = {}

    def __call__(self, images):
        self.recorded = {}
        try:
            output = self._run(self.model, images, final=self.logits)
        except _Stop:
            output = None
        return output, self.recorded

    def outputs(self, images):
        """The recorded tensors of the watched layers, in ``watch`` order."""
        _, recorded = self(images)
        missing = [layer.name for key, layer in self.watch.items() if key not in recorded]
        if missing:
            raise ValueError(f"Layers {missing} did not run on the way to the output of {self.model.name!r}")
        return [recorded[key] for key in self.watch]

    def pre_activations(self):
        """After a run with ``pre_activation=True``: the watched layers' outputs
        before their fused activation (their outputs when they have none)."""
        return [self.recorded.get(("pre", key), self.recorded.get(key)) for key in self.watch]

    # -- containers
    def _run(self, model, x, final):
        if isinstance(model, keras.Sequential):
            layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
            for index, layer in enumerate(layers):
                x = self._call(layer, (x,), {}, final and index == len(layers) - 1)
            return x
        if isinstance(model, keras.Model) and _keras_compat.is_functional(model):
            if len(model.inputs) != 1:
                raise ValueError(f"visualize supports models with one image input; {model.name!r} has {len(model.inputs)}")
            output_ops = {id(_keras_compat.keras_history(t)[0]) for t in model.outputs} if final else set()

            def operation_fn(op):
                return lambda *args, **kwargs: self._call(op, args, kwargs, id(op) in output_ops)

            outputs = _keras_compat.run_through_graph(model, [x], operation_fn)
            return outputs[0] if isinstance(outputs, (list, tuple)) and len(outputs) == 1 else outputs
        if isinstance(model, keras.Model):
            raise ValueError(
                f"{model.name!r} is a subclassed model; visualize can look inside Sequential and functional "
                "models only (wrap its parts in a functional model)."
            )
        return self._call(model, (x,), {}, final)

    # -- one layer
    def _call(self, layer, args, kwargs, final):
        tf = self.tf
        if isinstance(layer, keras.Model):
            y = self._run(layer, args[0], final)
        else:
            if getattr(layer, "_call_has_training_arg", False):
                kwargs = {**kwargs, "training": False}
            activation = getattr(layer, "activation", None)
            relu_layer = isinstance(layer, keras.layers.ReLU) or (
                isinstance(layer, keras.layers.Activation) and _is_relu(activation)
            )
            if final and (isinstance(layer, keras.layers.Softmax) or (isinstance(layer, keras.layers.Activation) and _is_squash(activation))):
                y = args[0]
            elif final and activation is not None and _is_squash(activation) and not isinstance(layer, keras.layers.Activation):
                y = self._twin(layer, args[0])(*args, **kwargs)
            elif self.pre_activation and id(layer) in self.watch and activation is not None and not isinstance(layer, keras.layers.Activation) and activation is not keras.activations.linear:
                pre = self._twin(layer, args[0])(*args, **kwargs)
                self.recorded[("pre", id(layer))] = pre
                y = activation(pre)
            elif self.relu_rule and relu_layer:
                x = args[0]
                y = self._rule(x, layer(*args, **kwargs), getattr(layer, "max_value", None))
            elif self.relu_rule and activation is not None and _is_relu(activation) and not isinstance(layer, keras.layers.Activation):
                pre = self._twin(layer, args[0])(*args, **kwargs)
                y = self._rule(pre, tf.nn.relu(pre), None)
            else:
                y = layer(*args, **kwargs)
        if id(layer) in self.watch:
            self.recorded[id(layer)] = y
            if self.stop and all(key in self.recorded for key in self.watch):
                raise _Stop()
        return y

    def _twin(self, layer, x):
        """A copy of ``layer`` without its activation, holding its current weights
        (the user's layer is never changed)."""
        twin = self._twins.get(id(layer))
        if twin is None:
            config = {**layer.get_config(), "activation": "linear"}
            twin = type(layer).from_config(config)
            twin.build(tuple(x.shape))
            twin.set_weights(layer.get_weights())
            self._twins[id(layer)] = twin
        return twin

    def _rule(self, x, y, max_value):
        tf = self.tf
        rule = self.relu_rule

        @tf.custom_gradient
        def relu_with_rule(x, y):
            def grad(dy):
                if rule == "deconvnet":
                    return tf.nn.relu(dy), tf.zeros_like(y)
                gate = tf.cast(x > 0, dy.dtype)
                if max_value is not None:
                    gate *= tf.cast(x < max_value, dy.dtype)
                return dy * gate * tf.cast(dy > 0, dy.dtype), tf.zeros_like(y)

            return tf.identity(y), grad

        return relu_with_rule(x, y)


# ---------------------------------------------------------------- inputs and scores


def as_batch(images, model=None):
    """Images as a float32 numpy batch (N, H, W, C); a single image gains a batch axis."""
    images = np.asarray(images)
    rank = _input_rank(model)
    if images.ndim == rank - 1:
        images = images[None]
    if images.ndim != rank:
        raise ValueError(f"Expected an image or a batch of rank {rank}; got shape {images.shape}")
    return images.astype(np.float32)


def _input_rank(model):
    try:
        return len(model.inputs[0].shape)
    except (AttributeError, TypeError, ValueError, IndexError):
        return 4


def class_scores(outputs, class_index):
    """``(scores (N,), class indices (N,))``: the score of ``class_index`` (an int,
    one per image, or None for each image's top class) from (N, classes) outputs."""
    tf = tf_module()
    if isinstance(outputs, dict) or isinstance(outputs, (list, tuple)):
        raise ValueError("visualize needs a model with a single class-score output")
    outputs = tf.reshape(outputs, (tf.shape(outputs)[0], -1))
    if class_index is None:
        indices = tf.argmax(outputs, axis=-1, output_type=tf.int32)
    else:
        indices = np.broadcast_to(np.asarray(class_index, dtype=np.int32), (outputs.shape[0],))
        if indices.max(initial=0) >= outputs.shape[-1] or indices.min(initial=0) < 0:
            raise ValueError(f"class_index {class_index} is out of range for {outputs.shape[-1]} outputs")
        indices = tf.constant(indices)
    scores = tf.gather(outputs, indices, axis=1, batch_dims=1)
    return scores, np.asarray(indices)
