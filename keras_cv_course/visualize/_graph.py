"""Running any Keras model layer by layer, nested models included, so that the
visualization tools can read (and differentiate through) any layer's output.

``Tracer(model, watch=...)(images)`` runs ``model`` eagerly (on TensorFlow, JAX
or PyTorch), descending into nested models (a ``conv_base`` inside a Sequential, a
backbone inside a functional head), and records the outputs of the watched
layers. Options change the run without touching the user's model:
``logits=True`` drops a final softmax/sigmoid (scores are pre-softmax),
``relu_rule="guided"|"deconvnet"`` swaps the backward rule of every ReLU
(fused ReLUs of Conv/Dense layers run through an unfused copy of the layer),
``stop=True`` stops once every watched layer has run (so a pattern can be
optimized at any input size even when the top flattens a fixed-size map),
and ``tracer(images, tap=...)`` passes each watched output through ``tap`` as it
is made (``_gradients.pullback``'s tap: the gradients with respect to the layer's
output, the backward pass stopping there).
"""

import difflib
import re

import keras
import numpy as np

from keras_cv_course import _keras_compat
from keras_cv_course.visualize import _gradients

_LEVEL = re.compile(r"^P\d+$")
CONV_TYPES = (
    keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D, keras.layers.DepthwiseConv2D,
    keras.layers.SeparableConv2D, keras.layers.Conv2DTranspose,
)


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


# Layers that only pool, pad or regularize a map: the same features as their
# input (at a lower resolution, or equal at inference), so never the default
# Grad-CAM target when the map they read is there to take instead. Pooling
# layers are known by their class name (``MaxPooling2D``, ``AdaptiveAveragePooling2D``,
# a user's ``BlurPool2D``...), the others by class.
_POOLING_NAME = re.compile(r"Pool(ing)?[123]D$")
_PASS_THROUGH = (
    keras.layers.Dropout, keras.layers.SpatialDropout1D, keras.layers.SpatialDropout2D, keras.layers.SpatialDropout3D,
    keras.layers.GaussianNoise, keras.layers.GaussianDropout, keras.layers.AlphaDropout,
    keras.layers.ActivityRegularization, keras.layers.Identity,
    keras.layers.ZeroPadding1D, keras.layers.ZeroPadding2D, keras.layers.ZeroPadding3D,
    keras.layers.Cropping1D, keras.layers.Cropping2D, keras.layers.Cropping3D,
)


def _passes_through(layer):
    return isinstance(layer, _PASS_THROUGH) or bool(_POOLING_NAME.search(type(layer).__name__))


def default_cam_layer(model):
    """The default target of the class-activation maps: the last layer of
    ``model`` whose output is a spatial map (rank 4, (N, H, W, C)) that the
    model's output depends on entirely — every path from the input to the output
    passes through it (a dominator of the output in the layer graph).

    That is the output of the network's last block, whatever the block is made
    of: ResNet50's ``conv5_block3_out`` (the Add + ReLU joining the residual and
    the shortcut, not a branch conv), DenseNet121's final ``relu``, InceptionV3's
    ``mixed10``, GoogLeNet's last ``..._concat``, a user model's last Add or the
    activation after it. The graph is walked call by call, nested functional and
    Sequential models (a backbone used as a layer) expanded in place, so the
    layer may lie inside a nested model. Rules:

    - multi-input layers (Add, Concatenate) join their branches: inside a block
      no branch layer dominates, the join does;
    - a shared layer (called more than once in the graph) is never chosen: its
      output is not one map;
    - layers that only pool, pad or drop out (``MaxPooling2D``, ``Dropout``, ...)
      are passed over for the map they read (VGG16: ``block5_conv3``, not
      ``block5_pool``);
    - a model with several outputs gets the last layer *all* of them depend on
      (GoogLeNet with ``aux_logits``: the last layer before the first auxiliary
      head branches off); pass ``layer=`` for a later one.

    Raises ``ValueError`` naming the model, with a hint for ``layer=``, when no
    layer qualifies (a model without convolutions, or one whose branches only
    meet after flattening).
    """
    graph = _LayerGraph(model)
    for index in reversed(graph.dominators()):
        vertex = graph.vertices[index]
        if vertex.candidate(graph):
            return vertex.layer
    spatial = {id(v.layer) for v in graph.vertices if v.rank == 4}
    maps = [path for path, layer in iter_layers(model) if id(layer) in spatial]  # in the model's layer order
    hint = f" Layers with a spatial output: {', '.join(maps[-5:])}." if maps else ""
    raise ValueError(
        f"Model {model.name!r} has no layer with a spatial (N, H, W, C) output that its output depends on entirely "
        f"(the last block's output, which Grad-CAM reads by default). Pass layer= (a name, path, feature level or "
        f"Layer) to choose one.{hint}"
    )


class _Vertex:
    """One call of one layer in the (nested models expanded) graph."""

    def __init__(self, layer, path, outputs, parents):
        self.layer, self.path, self.parents = layer, path, parents
        shapes = [tuple(t.shape) for t in outputs]
        self.rank = len(shapes[0]) if len(shapes) == 1 else None

    def candidate(self, graph):
        layer = self.layer
        return (self.rank == 4 and not isinstance(layer, (keras.layers.InputLayer, keras.Model))
                and not _passes_through(layer) and graph.calls[id(layer)] == 1)


class _Scope:
    """A graph being walked: the top model, or a nested model's call inside its
    parent (``bindings`` maps its Input tensors to the parent's tensors)."""

    def __init__(self, prefix, bindings):
        self.prefix, self.bindings = prefix, bindings


_SOURCE = -1


class _LayerGraph:
    """The calls of ``model``'s layers as a DAG, in topological order, nested
    functional and Sequential models expanded; vertex -1 is the input(s)."""

    def __init__(self, model):
        if not _expandable(model):
            raise ValueError(
                f"Cannot find a default layer of {model.name!r}: visualize looks inside built functional and "
                "Sequential models only (build it on a keras.Input, or pass layer=)."
            )
        self.model = model
        self.vertices, self.calls = [], {}
        self._index, self._scopes, self._memo = {}, {}, {}
        top = _Scope("", {id(t): (_SOURCE, None) for t in model.inputs})
        self._keep = [top]
        self.sinks = [self._resolve(t, top) for t in model.outputs]

    def dominators(self):
        """Indices of the vertices every input→output path passes through, in
        order. In a topological order a vertex is such a cut vertex exactly
        when no edge jumps over it (every vertex lies on some input→output path)."""
        count = len(self.vertices)
        edges = [(p, i) for i, v in enumerate(self.vertices) for p in v.parents] + [(s, count) for s in self.sinks]
        reach = [0] * (count + 1)  # reach[k]: the furthest end of the edges leaving position k
        for start, end in edges:
            position = start + 1  # the source is position 0
            reach[position] = max(reach[position], end + 1)
        found, furthest = [], reach[0]
        for index in range(count):
            position = index + 1
            if furthest <= position:
                found.append(index)
            furthest = max(furthest, reach[position])
        return found

    # -- building
    def _resolve(self, tensor, scope):
        """The vertex producing ``tensor`` in ``scope``, creating it (and every
        vertex it depends on) first: an iterative post-order walk, so networks
        hundreds of layers deep do not reach Python's recursion limit."""
        stack = [(tensor, scope)]
        while stack:
            t, s = stack[-1]
            if (id(s), id(t)) in self._memo:
                stack.pop()
                continue
            step = self._step(t, s)
            if step[0] == "alias":
                _, t2, s2 = step
                key = (id(s2), id(t2)) if s2 is not None else None
                if s2 is None:
                    self._memo[(id(s), id(t))] = t2  # t2 is the source index
                    stack.pop()
                elif key in self._memo:
                    self._memo[(id(s), id(t))] = self._memo[key]
                    stack.pop()
                else:
                    stack.append((t2, s2))
                continue
            _, layer, node_index, inputs, outputs = step
            vertex_key = (id(s), id(layer), node_index)
            if vertex_key in self._index:
                self._memo[(id(s), id(t))] = self._index[vertex_key]
                stack.pop()
                continue
            missing = [(p, s) for p in inputs if (id(s), id(p)) not in self._memo]
            if missing:
                stack.extend(missing)
                continue
            parents = sorted({self._memo[(id(s), id(p))] for p in inputs}) or [_SOURCE]
            index = len(self.vertices)
            self.vertices.append(_Vertex(layer, f"{s.prefix}{layer.name}", outputs, parents))
            self._index[vertex_key] = index
            self.calls[id(layer)] = self.calls.get(id(layer), 0) + 1
            self._memo[(id(s), id(t))] = index
            stack.pop()
        return self._memo[(id(scope), id(tensor))]

    def _step(self, tensor, scope):
        """What produces ``tensor`` in ``scope``: ``("alias", tensor2, scope2)``
        (an Input of a nested model, or a nested model's output: the same tensor
        seen from another scope; ``scope2`` None means the model's input) or
        ``("call", layer, node_index, input tensors, output tensors)``."""
        if id(tensor) in scope.bindings:
            return ("alias", *scope.bindings[id(tensor)])
        layer, node_index, tensor_index = _keras_compat.keras_history(tensor)
        inputs, outputs = _keras_compat.layer_calls(layer)[node_index]
        if isinstance(layer, keras.layers.InputLayer):
            raise ValueError(f"Input {layer.name!r} of {self.model.name!r} is not one of the model's inputs")
        if isinstance(layer, keras.Model) and _expandable(layer) and len(layer.inputs) == len(inputs):
            key = (id(scope), id(layer), node_index)
            inner = self._scopes.get(key)
            if inner is None:
                inner = _Scope(f"{scope.prefix}{layer.name}/", {id(i): (o, scope) for i, o in zip(layer.inputs, inputs)})
                self._scopes[key] = inner
                self._keep.append(inner)
            return ("alias", layer.outputs[tensor_index], inner)
        return ("call", layer, node_index, inputs, outputs)


def _expandable(model):
    """Whether the graph of ``model`` can be walked: a functional model, or a
    Sequential one that knows its input (built on a keras.Input or a shape)."""
    if not isinstance(model, keras.Model):
        return False
    if not (_keras_compat.is_functional(model) or isinstance(model, keras.Sequential)):
        return False
    try:
        return bool(model.inputs) and bool(model.outputs)
    except (AttributeError, ValueError):
        return False


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
        _gradients.backend()
        if relu_rule not in (None, "guided", "deconvnet"):
            raise ValueError(f"relu_rule must be None, 'guided' or 'deconvnet'; got {relu_rule!r}")
        self.model = model
        self.watch = {id(layer): layer for layer in watch}
        self.logits = logits
        self.relu_rule = relu_rule
        self.stop = stop
        self.tap = None
        self.pre_activation = pre_activation
        self.recorded = {}
        self._twins = {}

    def __call__(self, images, tap=None):
        self.recorded = {}
        self.tap = tap
        try:
            output = self._run(self.model, images, final=self.logits)
        except _Stop:
            output = None
        finally:
            self.tap = None
        return output, self.recorded

    def outputs(self, images, tap=None):
        """The recorded tensors of the watched layers, in ``watch`` order."""
        _, recorded = self(images, tap)
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
                max_value = getattr(layer, "max_value", None)
                y = _gradients.relu_with_rule(args[0], layer(*args, **kwargs), self.relu_rule, max_value)
            elif self.relu_rule and activation is not None and _is_relu(activation) and not isinstance(layer, keras.layers.Activation):
                pre = self._twin(layer, args[0])(*args, **kwargs)
                y = _gradients.relu_with_rule(pre, keras.ops.relu(pre), self.relu_rule)
            else:
                y = layer(*args, **kwargs)
        if id(layer) in self.watch:
            if self.tap is not None:
                y = self.tap(y)
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
            with _gradients.eagerly():
                twin = type(layer).from_config(config)
                twin.build(tuple(x.shape))
                twin.set_weights(layer.get_weights())
            self._twins[id(layer)] = twin
        return twin


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
    """``(scores (N,), class indices (N,))`` as backend tensors: the score of
    ``class_index`` (an int, one per image, or None for each image's top class)
    from (N, classes) outputs."""
    if isinstance(outputs, (dict, list, tuple)):
        raise ValueError("visualize needs a model with a single class-score output")
    outputs = keras.ops.reshape(outputs, (keras.ops.shape(outputs)[0], -1))
    if class_index is None:
        indices = keras.ops.cast(keras.ops.argmax(outputs, axis=-1), "int32")
    else:
        indices = np.broadcast_to(np.asarray(class_index, dtype=np.int32), (outputs.shape[0],))
        if indices.max(initial=0) >= outputs.shape[-1] or indices.min(initial=0) < 0:
            raise ValueError(f"class_index {class_index} is out of range for {outputs.shape[-1]} outputs")
        indices = keras.ops.convert_to_tensor(indices)
    scores = keras.ops.take_along_axis(outputs, keras.ops.expand_dims(indices, 1), axis=1)[:, 0]
    return scores, indices
