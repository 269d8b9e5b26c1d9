"""Every use of Keras internals in keras_cv_course, in one place.

The rest of the package calls the small functions here instead of touching
private Keras attributes or ``keras.src`` modules, so that a Keras release that
moves one of them breaks one module, with a message that names it:
``KerasInternalsError`` ("keras_cv_course._keras_compat: ... <internal> ...
Keras <version> ...") instead of an ``AttributeError`` deep inside a tool.

``TESTED_KERAS`` is the range these internals were checked against; it is the
``keras`` dependency range of pyproject.toml. Another Keras version warns once,
at the first use of an internal (never at import).
"""

import contextlib
import functools
import warnings

import keras

TESTED_KERAS = ">=3.15,<3.16"


class KerasInternalsError(RuntimeError):
    """A Keras internal that keras_cv_course relies on is not where it was."""


def untested_keras_message(version):
    """The warning for a Keras ``version`` outside ``TESTED_KERAS``; None inside it."""
    from packaging.specifiers import SpecifierSet

    if SpecifierSet(TESTED_KERAS).contains(version, prereleases=True):
        return None
    return (f"keras_cv_course._keras_compat was tested with keras{TESTED_KERAS}; Keras {version} is installed. "
            "The package uses a few Keras internals (listed in keras_cv_course/_keras_compat.py); if one of them "
            "moved, its use fails with KerasInternalsError.")


@functools.lru_cache(maxsize=None)
def _warn_if_untested():
    message = untested_keras_message(keras.__version__)
    if message:
        warnings.warn(message, RuntimeWarning, stacklevel=4)


@contextlib.contextmanager
def _internal(name):
    """Check the Keras version once, and turn an AttributeError or ImportError
    raised while reaching the internal ``name`` into a ``KerasInternalsError``."""
    _warn_if_untested()
    try:
        yield
    except (AttributeError, ImportError) as error:
        raise KerasInternalsError(
            f"keras_cv_course._keras_compat: the Keras internal {name} is not available in Keras "
            f"{keras.__version__} (keras_cv_course is tested with keras{TESTED_KERAS}): {error}. "
            f"Install a Keras in that range, or update keras_cv_course._keras_compat for this version."
        ) from error


def layer_calls(layer):
    """``[(input tensors, output tensors)]``, one pair per symbolic call of
    ``layer`` (each functional model it is part of), as lists.

    Uses ``Operation._inbound_nodes`` and ``Node.input_tensors`` /
    ``Node.output_tensors``: Keras has no public list of a layer's calls
    (``layer.input`` / ``layer.output`` raise for a layer called more than once,
    and give no node of a nested model's call in its outer model).
    """
    with _internal("Operation._inbound_nodes[i].input_tensors/.output_tensors"):
        return [(list(node.input_tensors), list(node.output_tensors)) for node in layer._inbound_nodes]


def inbound_input_tensors(layer, call=0):
    """The input tensors of the ``call``-th symbolic call of ``layer`` (a nested
    model's call inside its outer model, where ``model.input`` would give the
    nested model's own Input). Uses ``Operation._inbound_nodes`` (see ``layer_calls``)."""
    with _internal("Operation._inbound_nodes[i].input_tensors"):
        return list(layer._inbound_nodes[call].input_tensors)


def keras_history(tensor):
    """``(operation, node_index, tensor_index)`` that produced ``tensor``, a
    symbolic tensor of a built model (``model.outputs``, ``layer.input``).
    Uses ``KerasTensor._keras_history``: Keras has no public way to ask which
    layer made a tensor."""
    with _internal("KerasTensor._keras_history"):
        history = tensor._keras_history
        return history[0], history[1], history[2]


def is_functional(model):
    """Whether ``model`` is a graph of operations (a functional model), which
    ``run_through_graph`` can run; public (``keras.Function``)."""
    return isinstance(model, keras.Function)


def run_through_graph(model, inputs, operation_fn):
    """Run the functional ``model`` on ``inputs`` (a list), computing each
    node as ``operation_fn(node.operation)(*args, **kwargs)``.

    Uses ``Function._run_through_graph``: ``model(inputs)`` runs the graph too but
    cannot swap an operation for the duration of one run (the visualization tools
    record, replace and re-route layers without changing the user's model)."""
    with _internal("Function._run_through_graph"):
        run = model._run_through_graph
    return run(inputs, operation_fn=operation_fn)


def run_graph_calls(model, inputs, call_fn):
    """Run the functional ``model`` on ``inputs``, calling each node as
    ``call_fn(operation, *args, **kwargs)`` — how ``surgery.convolutionize``
    rebuilds a graph with some layers replaced. ``Function._run_through_graph``
    again: no public API re-routes one call of a graph."""
    with _internal("Function._run_through_graph"):
        run = model._run_through_graph
    return run(inputs, call_fn=call_fn)


@contextlib.contextmanager
def multi_worker_fit(model, strategy):
    """Around ``model.fit`` (inside ``strategy.scope()``): the two work-arounds
    Keras 3.15's TensorFlow trainer needs under ``MultiWorkerMirroredStrategy``,
    which otherwise fails before the first step; nothing for other strategies.

    - For a model created under a strategy it first builds its metrics from one
      batch averaged with ``strategy.reduce``, which cannot take that per-replica
      batch ("Attempt to convert a value (PerReplica...)"). Clearing the model's
      ``_distribute_strategy`` hands it the strategy through the scope instead,
      and Keras builds the metrics when it traces the train step — the same
      build, without the reduce.
    - It averages each step's scalar logs with ``strategy.reduce("MEAN", v,
      axis=0)`` ("Invalid reduction dimension 0 for input with 0 dimensions").
      While the context is open, ``keras.src.backend.tensorflow.trainer.
      reduce_per_replica`` averages them over the replicas with ``axis=None``.

    No public API reaches either: the strategy a model keeps and the trainer's
    reduction are private to Keras's TensorFlow trainer.
    """
    if keras.backend.backend() != "tensorflow":
        yield
        return
    import tensorflow as tf

    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        yield
        return
    with _internal("Trainer._distribute_strategy"):
        if not hasattr(model, "_distribute_strategy"):
            raise AttributeError(f"{type(model).__name__} has no attribute '_distribute_strategy'")
        model._distribute_strategy = None
    with _mean_logs_over_workers():
        yield


@contextlib.contextmanager
def _mean_logs_over_workers():
    from keras import tree

    with _internal("keras.src.backend.tensorflow.trainer.reduce_per_replica/_collective_all_reduce_multi_worker"):
        from keras.src.backend.tensorflow import trainer as tf_trainer

        original = tf_trainer.reduce_per_replica
        multi_worker = tf_trainer._collective_all_reduce_multi_worker

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and multi_worker(strategy):
            return tree.map_structure(lambda value: strategy.reduce("MEAN", value, axis=None), values)
        return original(values, strategy, reduction)

    tf_trainer.reduce_per_replica = reduce_per_replica
    try:
        yield
    finally:
        tf_trainer.reduce_per_replica = original


def _two_pass_moments(x, axes, keepdims=False, synchronized=False):
    """``keras.ops.moments`` for the PyTorch backend with the variance taken as
    E[(x − E[x])²] (two passes), never negative, instead of Keras 3.15's
    E[x²] − E[x]², which cancels catastrophically in float32 when |mean| ≫ std
    (keras-team/keras#18795). float16 statistics are computed in float32, as Keras does."""
    import torch

    if synchronized:
        raise NotImplementedError("Argument synchronized=True is not supported with PyTorch.")
    x = keras.ops.convert_to_tensor(x)
    original = x.dtype
    if original == torch.float16:
        x = x.float()
    mean = torch.mean(x, dim=axes, keepdim=True)
    variance = torch.mean(torch.square(x - mean), dim=axes, keepdim=True)
    if not keepdims:
        mean, variance = torch.squeeze(mean, axes), torch.squeeze(variance, axes)
    if original == torch.float16:
        limit = torch.finfo(torch.float16).max
        mean, variance = torch.clip(mean, -limit, limit).to(original), torch.clip(variance, -limit, limit).to(original)
    return mean, variance


def _contiguous_sparse_categorical_crossentropy(original):
    """Keras 3.15's PyTorch sparse categorical cross-entropy with the class axis
    moved in memory, not only in view: on outputs of rank 3 and more it hands
    ``nll_loss`` a ``movedim`` view, whose backward fails on the CPU ("grad_input
    must be contiguous"), so every segmentation or dense-detection loss on
    softmax maps failed its first training step."""
    import torch

    def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
        output = keras.ops.convert_to_tensor(output)
        if output.dim() > 2 and axis % output.dim() != 1:
            output = torch.movedim(output, axis, 1).contiguous().movedim(1, axis)
        return original(target, output, from_logits=from_logits, axis=axis)

    sparse_categorical_crossentropy.keras_cv_course_fix = True
    return sparse_categorical_crossentropy


def fix_torch_backend():
    """On the PyTorch backend, replace two functions of Keras 3.15's
    ``keras.src.backend.torch.nn`` that ``keras.ops`` looks up at each call:
    ``moments`` by ``_two_pass_moments`` (BatchNormalization's variance) and
    ``sparse_categorical_crossentropy`` by a version that makes its class axis
    contiguous. Idempotent; nothing on the other backends. Returns the names of
    the functions replaced (all of them, however many calls), () elsewhere."""
    if keras.backend.backend() != "torch":
        return ()
    with _internal("keras.src.backend.torch.nn"):
        from keras.src.backend.torch import nn as torch_nn

        if torch_nn.moments is not _two_pass_moments:
            torch_nn.moments = _two_pass_moments
        if not getattr(torch_nn.sparse_categorical_crossentropy, "keras_cv_course_fix", False):
            torch_nn.sparse_categorical_crossentropy = _contiguous_sparse_categorical_crossentropy(
                torch_nn.sparse_categorical_crossentropy)
    return ("moments", "sparse_categorical_crossentropy")


# ----------------------------------------------------------------------------- tf.data under any backend
# Keras's own preprocessing layers (keras.src.layers.preprocessing.data_layer.DataLayer) compute with the
# TensorFlow backend when they run inside a tf.data map under JAX or PyTorch, whose ops cannot take the
# symbolic tf.Tensors of a traced graph. The functions below give keras_cv_course's layers the same switch.

import threading  # noqa: E402  (appended section)
import weakref  # noqa: E402


def in_tf_graph():
    """Whether TensorFlow is tracing a graph now (a tf.data map, a tf.function):
    ``keras.src.utils.backend_utils.in_tf_graph``, the test Keras's preprocessing
    layers make. False when TensorFlow was never imported."""
    with _internal("keras.src.utils.backend_utils.in_tf_graph"):
        from keras.src.utils import backend_utils

        return backend_utils.in_tf_graph()


def needs_tensorflow_ops(inputs):
    """Whether a layer or function called on ``inputs`` (a tensor or a nest of
    them) must compute with the TensorFlow backend's ops: Keras runs another
    backend, TensorFlow is tracing a graph (a tf.data map), and the first input
    is neither a symbolic ``keras.KerasTensor`` nor traced by JAX —
    ``DataLayer.__call__``'s test. Always False on the TensorFlow backend."""
    if keras.backend.backend() == "tensorflow" or not in_tf_graph():
        return False
    leaves = keras.tree.flatten(inputs)
    first = leaves[0] if leaves else None
    if isinstance(first, keras.KerasTensor):
        return False
    with _internal("keras.src.utils.jax_utils.is_in_jax_tracing_scope"):
        from keras.src.utils import jax_utils

        return not jax_utils.is_in_jax_tracing_scope(first)


class TensorFlowOps:
    """``keras.ops``' API computed by Keras's TensorFlow backend, whatever backend
    Keras runs: ``ops.stack``, ``ops.cast``, ``ops.image.affine_transform``, ... (the
    backend's ``numpy``, ``core``, ``math`` and ``nn`` functions, and its
    ``image`` module), plus ``random`` with ``keras.random``'s ``uniform`` and
    ``normal``. The functions keras_cv_course uses have keras.ops' signatures in
    Keras 3.15 (tests/data/test_pipeline_backends.py checks them). TensorFlow is imported
    at the first use, not before."""

    _MODULES = ("numpy", "core", "math", "nn")

    def _backend_module(self, name):
        import importlib

        with _internal(f"keras.src.backend.tensorflow.{name}"):
            return importlib.import_module(f"keras.src.backend.tensorflow.{name}")

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if name in ("image", "random"):
            return self._backend_module(name)
        for module_name in self._MODULES:
            function = getattr(self._backend_module(module_name), name, None)
            if function is not None:
                return function
        raise AttributeError(
            f"keras_cv_course._keras_compat.TensorFlowOps: the TensorFlow backend of Keras {keras.__version__} has "
            f"no op {name!r} in keras.src.backend.tensorflow.{{{', '.join(self._MODULES)}}}."
        )


@functools.lru_cache(maxsize=None)
def tensorflow_ops():
    """The one ``TensorFlowOps`` namespace (keras.ops' API on the TensorFlow backend)."""
    return TensorFlowOps()


@functools.lru_cache(maxsize=None)
def _tensorflow_twins():
    """The registry of ``tensorflow_seed_generator``: (a layer's SeedGenerator -> its
    TensorFlow twin, weakly keyed; the lock that guards it), made at the first use."""
    return weakref.WeakKeyDictionary(), threading.Lock()


def tensorflow_seed_generator(generator):
    """A ``keras.random.SeedGenerator`` of the TensorFlow backend that continues
    ``generator`` (a layer's own) from its current state, for random draws inside
    a tf.data graph under another backend — as ``DataLayer._get_seed_generator``
    makes one (``SeedGenerator(seed, backend=...)``). One per generator, kept here
    and not on the layer, so the layer's weights and their names (saved ``.keras``
    files) stay as they are. Under the TensorFlow backend: ``generator`` itself."""
    if keras.backend.backend() == "tensorflow":
        return generator
    twins, lock = _tensorflow_twins()
    with lock:
        twin = twins.get(generator)
        if twin is None:
            twin = twins[generator] = _tensorflow_twin(generator)
    return twin


def _tensorflow_twin(generator):
    import tensorflow as tf

    state = keras.ops.convert_to_numpy(generator.state.value)
    with tf.init_scope():  # created and set eagerly, also while a tf.data map is being traced
        with _internal("keras.src.backend.tensorflow (SeedGenerator(backend=...))"):
            from keras.src.backend import tensorflow as tf_backend

            twin = keras.random.SeedGenerator(int(state[0]), name=f"{generator.name}_tensorflow", backend=tf_backend)
        twin.state.assign(state.astype(twin.state.dtype))
    return twin


@contextlib.contextmanager
def tensorflow_layer_call(layer):
    """Around ``Layer.__call__`` of ``layer`` on the tf.Tensors of a tf.data graph
    under another backend: Keras then neither converts the inputs to its
    backend's tensors (``Layer._convert_input_args``) nor refuses them as
    non-tensor positional arguments (``Layer._allow_non_tensor_positional_args``),
    as ``DataLayer.__call__`` arranges; both are restored after."""
    with _internal("Layer._convert_input_args/_allow_non_tensor_positional_args"):
        before = layer._convert_input_args, layer._allow_non_tensor_positional_args
    layer._convert_input_args, layer._allow_non_tensor_positional_args = False, True
    try:
        yield
    finally:
        layer._convert_input_args, layer._allow_non_tensor_positional_args = before
