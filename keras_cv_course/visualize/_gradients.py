"""Gradients on every Keras 3 backend, behind one function.

``pullback(fn, inputs)`` runs ``fn`` once and hands back the gradients of its
scalars with respect to ``inputs`` (numpy arrays), and with ``tapped=True`` with
respect to any intermediate tensor ``fn`` passes through ``tap`` (a layer's
output, for Grad-CAM): ``tf.GradientTape`` on TensorFlow, ``jax.vjp`` on JAX
(an intermediate tensor is reached through a zero "probe" added to it, shaped
by ``jax.eval_shape``), ``torch.autograd.grad`` on PyTorch. ``value_and_gradients``
is the one-scalar case. ``relu_with_rule`` gives a ReLU the backward rule of
guided backpropagation or of the deconvnet (``tf.custom_gradient``,
``jax.custom_vjp``, ``torch.autograd.Function``). Results come back as numpy.
"""

import contextlib
import functools

import keras
import numpy as np
from keras import ops

from keras_cv_course.backends import BACKENDS

RULES = ("guided", "deconvnet")


def backend():
    """The Keras backend's name, checking it is one the gradients run on."""
    name = keras.backend.backend()
    if name not in BACKENDS:
        raise RuntimeError(
            f"keras_cv_course.visualize runs on the TensorFlow, JAX and PyTorch backends "
            f"(KERAS_BACKEND={' | '.join(BACKENDS)}); Keras runs on {name!r}."
        )
    return name


def no_gradients():
    """A context for forward passes nothing is differentiated through (on
    PyTorch, ``torch.no_grad``: no autograd graph is kept for the weights)."""
    if backend() == "torch":
        import torch

        return torch.no_grad()
    return contextlib.nullcontext()


def eagerly():
    """A context for making state (a layer's weights) while ``fn`` is being
    differentiated: on JAX, ``jax.ensure_compile_time_eval``, so that the values
    are arrays, not tracers of the transformation that would leak out of it."""
    if backend() == "jax":
        import jax

        return jax.ensure_compile_time_eval()
    return contextlib.nullcontext()


def to_numpy(structure):
    """Every backend tensor in ``structure`` (a tensor, tuple, list or dict) as numpy."""
    return keras.tree.map_structure(lambda t: ops.convert_to_numpy(t) if ops.is_tensor(t) else t, structure)


def value_and_gradients(fn, inputs, *, tapped=False):
    """``(value, gradients, aux)`` of ``fn(*inputs) -> (scalar, aux)``: the scalar
    as a float, its gradients with respect to each input (then each tapped
    tensor, see ``pullback``) as numpy arrays, and ``aux`` with its tensors as numpy."""

    def scalars(*args):
        value, aux = fn(*args)
        return (value,), aux

    values, aux, gradient = pullback(scalars, inputs, tapped=tapped)
    return float(values[0]), gradient(0), aux


def pullback(fn, inputs, *, tapped=False):
    """Run ``fn`` once for the backward passes of its scalars.

    ``fn(*inputs) -> (scalars, aux)``: a tuple of scalar tensors and anything
    else to hand back. ``inputs``: numpy arrays (float32), given to ``fn`` as
    backend tensors. With ``tapped=True`` ``fn`` is called as ``fn(tap, *inputs)``
    and ``tap(y)`` (which returns ``y``, to be used in its place) marks an
    intermediate tensor to differentiate with respect to; ``fn`` must tap the
    same shapes on every call. Returns ``(values, aux, gradient)``: the scalars
    as a numpy array, ``aux`` with its tensors as numpy, and ``gradient(k)``, the
    list of numpy gradients of scalar ``k`` with respect to each input, then
    each tapped tensor in tapping order (zero where the scalar does not depend on it).
    """
    run = {"tensorflow": _tf_pullback, "jax": _jax_pullback, "torch": _torch_pullback}[backend()]
    values, aux, gradient = run(fn, [np.asarray(x, dtype=np.float32) for x in inputs], tapped)
    return np.asarray([float(ops.convert_to_numpy(v)) for v in values]), to_numpy(aux), gradient


def _tf_pullback(fn, inputs, tapped):
    import tensorflow as tf

    xs = [tf.constant(x) for x in inputs]
    taps = []
    # only the inputs and the tapped tensors are watched: no weight gradients are computed
    with tf.GradientTape(persistent=True, watch_accessed_variables=False) as tape:
        for x in xs:
            tape.watch(x)

        def tap(y):
            tape.watch(y)
            taps.append(y)
            return y

        scalars, aux = fn(tap, *xs) if tapped else fn(*xs)
    sources = xs + taps

    def gradient(k):
        grads = tape.gradient(scalars[k], sources, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        return [np.asarray(g) for g in grads]

    return scalars, aux, gradient


def _jax_pullback(fn, inputs, tapped):
    import jax
    import jax.numpy as jnp

    xs = [jnp.asarray(x) for x in inputs]
    probes = [jnp.zeros(s.shape, s.dtype) for s in _tapped_shapes(fn, xs)] if tapped else []

    def run(*args):
        added = iter(args[len(xs):])

        def tap(y):
            return y + next(added)

        scalars, aux = fn(tap, *args[: len(xs)]) if tapped else fn(*args)
        return tuple(scalars), aux

    scalars, vjp, aux = jax.vjp(run, *xs, *probes, has_aux=True)

    def gradient(k):
        cotangent = tuple(jnp.ones_like(s) if i == k else jnp.zeros_like(s) for i, s in enumerate(scalars))
        return [np.asarray(g) for g in vjp(cotangent)]

    return scalars, aux, gradient


def _tapped_shapes(fn, xs):
    """The shapes of what ``fn`` taps, traced without computing anything."""
    import jax

    shapes = []

    def record(y):
        shapes.append(jax.ShapeDtypeStruct(y.shape, y.dtype))
        return y

    jax.eval_shape(lambda *args: fn(record, *args)[0], *xs)
    return shapes


def _torch_pullback(fn, inputs, tapped):
    import torch

    xs = [ops.convert_to_tensor(x).detach().clone().requires_grad_(True) for x in inputs]
    probes = []

    def tap(y):
        probes.append(torch.zeros_like(y, requires_grad=True))
        return y + probes[-1]

    scalars, aux = fn(tap, *xs) if tapped else fn(*xs)
    sources = xs + probes

    def gradient(k):
        if not scalars[k].requires_grad:
            grads = [None] * len(sources)
        else:
            grads = torch.autograd.grad(scalars[k], sources, retain_graph=True, allow_unused=True)
        return [np.zeros(tuple(s.shape), np.float32) if g is None else g.detach().cpu().numpy()
                for g, s in zip(grads, sources)]

    return scalars, aux, gradient


# ---------------------------------------------------------------- ReLU rules


def relu_with_rule(x, y, rule, max_value=None):
    """``y`` (a ReLU of ``x``) on the way forward; on the way back, the gradient
    reaching ``y`` goes to ``x`` by ``rule`` instead of the ReLU's derivative:
    ``"guided"`` passes it where ``x > 0`` (and below ``max_value``) and the
    gradient is positive, ``"deconvnet"`` passes its ReLU whatever ``x`` was."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}; got {rule!r}")
    max_value = None if max_value is None else float(max_value)
    return {"tensorflow": _tf_rule, "jax": _jax_rule, "torch": _torch_rule}[backend()](x, y, rule, max_value)


def _backward(rule, x, dy, max_value):
    """What ``rule`` sends back to a ReLU's input ``x`` for the gradient ``dy``."""
    if rule == "deconvnet":
        return ops.relu(dy)
    gate = ops.cast(ops.greater(x, 0), dy.dtype) * ops.cast(ops.greater(dy, 0), dy.dtype)
    if max_value is not None:
        gate = gate * ops.cast(ops.less(x, max_value), dy.dtype)
    return dy * gate


def _tf_rule(x, y, rule, max_value):
    import tensorflow as tf

    @tf.custom_gradient
    def relu(x, y):
        def grad(dy):
            return _backward(rule, x, dy, max_value), tf.zeros_like(y)

        return tf.identity(y), grad

    return relu(x, y)


@functools.lru_cache(maxsize=None)
def _jax_relu(rule, max_value):
    import jax
    import jax.numpy as jnp

    @jax.custom_vjp
    def relu(x, y):
        return y

    def forward(x, y):
        return y, (x, y)

    def backward(saved, dy):
        x, y = saved
        return _backward(rule, x, dy, max_value), jnp.zeros_like(y)

    relu.defvjp(forward, backward)
    return relu


def _jax_rule(x, y, rule, max_value):
    return _jax_relu(rule, max_value)(x, y)


@functools.lru_cache(maxsize=None)
def _torch_function():
    import torch

    class ReluWithRule(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, y, rule, max_value):
            ctx.save_for_backward(x)
            ctx.rule, ctx.max_value = rule, max_value
            return y.clone()

        @staticmethod
        def backward(ctx, dy):
            (x,) = ctx.saved_tensors
            return _backward(ctx.rule, x, dy, ctx.max_value), None, None, None

    return ReluWithRule


def _torch_rule(x, y, rule, max_value):
    return _torch_function().apply(x, y, rule, max_value)
