"""Model complexity: parameters and analytic multiply-accumulate counts.

Conventions (those of the papers' tables and of fvcore/ptflops):
- a **MAC** is one multiply-accumulate; **FLOPs = 2 × MACs** (one multiply, one add).
  Papers often say "FLOPs" or "mult-adds" for MACs: ResNet-50's "3.8–4.1 GFLOPs",
  MobileNetV2's "300M MAdds" and EfficientNet-B0's "0.39B FLOPs" are all MACs;
- only the linear layers are counted: ``Conv1D/2D/3D`` (including ``groups``, as
  ``kernel.size`` = k×k×Cin/groups×Cout), their transposes, ``DepthwiseConv2D``,
  ``SeparableConv2D`` (depthwise + pointwise) and ``Dense`` (per position when its
  input has more than two axes). Biases, BatchNorm, activations, pooling, adds and
  the squeeze-excitation multiply are left out (they are < 1% of a convnet's MACs);
- a convolution costs ``output positions × kernel.size`` MACs (transposed ones:
  input positions × kernel.size), padding zeros included, batch size 1.

``count_flops(model)`` returns a ``Complexity`` with per-layer rows and totals;
``complexity_table(names)`` builds registered models at their default input and
returns ``(name, params, gflops)`` rows.
"""

import collections
import dataclasses
import math

import keras

from keras_cv_course import _keras_compat


@dataclasses.dataclass(frozen=True)
class LayerCost:
    """The MACs of one call of one layer: ``name`` (nested models joined by ``/``),
    its class name, its output shape (batch axis dropped) and ``macs``."""

    name: str
    kind: str
    output_shape: tuple
    macs: int

    @property
    def flops(self):
        return 2 * self.macs


@dataclasses.dataclass(frozen=True)
class Complexity:
    """Per-layer costs and totals of a model (batch size 1)."""

    layers: tuple
    params: int

    @property
    def macs(self):
        return sum(row.macs for row in self.layers)

    @property
    def flops(self):
        return 2 * self.macs

    @property
    def gmacs(self):
        return self.macs / 1e9

    @property
    def gflops(self):
        return self.flops / 1e9

    def by_kind(self):
        """``{layer class name: MACs}``, largest first."""
        totals = collections.Counter()
        for row in self.layers:
            totals[row.kind] += row.macs
        return dict(totals.most_common())


class ComplexityRow(collections.namedtuple("ComplexityRow", ["name", "params", "gflops"])):
    """One row of ``complexity_table``: model name, parameters, GFLOPs (= 2 × GMACs)."""

    __slots__ = ()

    @property
    def gmacs(self):
        return self.gflops / 2


def count_flops(model):
    """Analytic MACs of every linear layer of a built model (see the module docstring).

    Every spatial size must be known: build the model with a fixed ``input_shape``.
    Returns a ``Complexity``; ``.macs``, ``.flops`` (= 2 × MACs), ``.gflops``.
    """
    rows = tuple(_walk(model, prefix=""))
    return Complexity(layers=rows, params=int(model.count_params()))


def layer_macs(layer, input_shape, output_shape):
    """MACs of one call of ``layer`` mapping ``input_shape`` to ``output_shape``
    (both without the batch axis); 0 for layers this counter leaves out."""
    if isinstance(layer, keras.layers.SeparableConv2D):
        positions = _positions(layer, output_shape[:-1])
        return positions * (_size(layer.depthwise_kernel) + _size(layer.pointwise_kernel))
    if isinstance(layer, keras.layers.DepthwiseConv2D):  # also DepthwiseConv1D via the base check below
        return _positions(layer, output_shape[:-1]) * _size(layer.kernel)
    if isinstance(layer, (keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose, keras.layers.Conv3DTranspose)):
        return _positions(layer, input_shape[:-1]) * _size(layer.kernel)
    if isinstance(layer, (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D, keras.layers.DepthwiseConv1D)):
        return _positions(layer, output_shape[:-1]) * _size(layer.kernel)
    if isinstance(layer, keras.layers.Dense):
        return _positions(layer, input_shape[:-1]) * _size(layer.kernel)
    if isinstance(layer, keras.layers.EinsumDense):
        raise NotImplementedError(f"count_flops does not count EinsumDense layers ({layer.name!r})")
    return 0


def complexity_table(names, input_shapes=None):
    """``[ComplexityRow(name, params, gflops)]`` of registered models, each built
    without weights at its default input (with its 1000-class top); ``input_shapes``
    may map a name to another (H, W, C)."""
    from keras_cv_course.models.registry import get_model, model_info

    rows = []
    for name in names:
        info = model_info(name)
        shape = (input_shapes or {}).get(name, info.input_shape)
        model = get_model(name, input_shape=tuple(shape), weights=None)
        cost = count_flops(model)
        rows.append(ComplexityRow(name, cost.params, cost.gflops))
        del model
        keras.backend.clear_session()
    return rows


def format_table(rows):
    """A plain-text table of ``complexity_table`` rows."""
    lines = [f"{'model':<24} {'params (M)':>11} {'GFLOPs':>9} {'GMACs':>8}"]
    for row in rows:
        lines.append(f"{row.name:<24} {row.params / 1e6:>11.2f} {row.gflops:>9.3f} {row.gmacs:>8.3f}")
    return "\n".join(lines)


def _walk(model, prefix):
    for layer in model.layers:
        full_name = f"{prefix}{layer.name}"
        if isinstance(layer, keras.Model):
            yield from _walk(layer, prefix=f"{full_name}/")
            continue
        for input_shape, output_shape in _call_shapes(layer):
            macs = layer_macs(layer, input_shape, output_shape)
            if macs:
                yield LayerCost(full_name, type(layer).__name__, output_shape, int(macs))


def _call_shapes(layer):
    """(input shape, output shape) of each call of ``layer``, batch axis dropped."""
    shapes = []
    for input_tensors, output_tensors in _keras_compat.layer_calls(layer):
        inputs = [t for t in input_tensors if hasattr(t, "shape")]
        outputs = [t for t in output_tensors if hasattr(t, "shape")]
        if not inputs or not outputs:
            continue
        shapes.append((tuple(inputs[0].shape[1:]), tuple(outputs[0].shape[1:])))
    return shapes


def _positions(layer, spatial):
    if any(side is None for side in spatial):
        raise ValueError(
            f"Layer {layer.name!r} has an unknown spatial size {spatial}; build the model "
            "with a fixed input_shape (e.g. input_shape=(224, 224, 3)) to count its FLOPs."
        )
    return int(math.prod(spatial))


def _size(variable):
    return int(math.prod(variable.shape))


__all__ = ["Complexity", "ComplexityRow", "LayerCost", "count_flops", "complexity_table", "format_table", "layer_macs"]
