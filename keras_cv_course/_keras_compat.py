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
