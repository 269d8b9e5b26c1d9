"""Choosing a ``tf.distribute`` strategy (or, on JAX and PyTorch, its stand-in).

``get_strategy("auto")`` on TensorFlow picks, in order: a TPU when one is
reachable, ``MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` names more than one
worker, ``MirroredStrategy`` when there are several GPUs, else the default
strategy. On the JAX and PyTorch backends tf.distribute cannot place Keras's
variables, so "auto" and "default" give ``SingleDevice``, and on JAX with more
than one device "auto" (or "data_parallel") gives ``DataParallel``, Keras's
``keras.distribution.DataParallel`` over all of them. Models are built and
compiled inside ``strategy.scope()`` by ``training.fit``; the global batch is the
per-replica batch × ``strategy.num_replicas_in_sync``.

Nothing here runs at import: TensorFlow is initialised on the first call.
"""

import contextlib
import json
import os

import keras

STRATEGIES = ("auto", "default", "one_device", "mirrored", "multi_worker", "tpu", "data_parallel")
TF_ONLY = ("one_device", "mirrored", "multi_worker", "tpu")


class SingleDevice:
    """The strategy of a JAX or PyTorch run on one device: ``scope()`` does
    nothing and there is one replica (tf.distribute's default strategy, for the
    backends tf.distribute cannot drive)."""

    num_replicas_in_sync = 1

    def scope(self):
        return contextlib.nullcontext()


class DataParallel:
    """Data parallelism on the JAX backend over ``keras.distribution``'s devices:
    ``scope()`` opens ``keras.distribution.DataParallel``, which replicates the
    variables and splits each global batch over the devices."""

    def __init__(self, devices=None):
        self.distribution = keras.distribution.DataParallel(devices=devices)
        self.num_replicas_in_sync = len(self.distribution.device_mesh.devices.reshape(-1))

    def scope(self):
        return self.distribution.scope()


def _backend_strategy(name, devices):
    """The strategy ``name`` on a backend other than TensorFlow."""
    backend = keras.backend.backend()
    if name in TF_ONLY:
        raise ValueError(f"strategy {name!r} is tf.distribute's and needs KERAS_BACKEND=tensorflow; Keras runs on "
                         f"{backend!r}, where the strategies are 'auto', 'default' and (JAX) 'data_parallel'")
    if name == "data_parallel" and backend != "jax":
        raise ValueError(f"strategy 'data_parallel' needs the JAX backend; Keras runs on {backend!r}")
    several = backend == "jax" and len(devices or keras.distribution.list_devices()) > 1
    if name == "data_parallel" or (name == "auto" and several):
        return DataParallel(devices)
    return SingleDevice()


def tf_config_workers(environ=None):
    """Number of workers (chief included) that ``TF_CONFIG`` names; 0 without one."""
    text = (environ if environ is not None else os.environ).get("TF_CONFIG")
    if not text:
        return 0
    try:
        cluster = json.loads(text).get("cluster", {})
    except (ValueError, AttributeError) as error:
        raise ValueError(f"TF_CONFIG is not valid JSON with a 'cluster' entry: {error}") from error
    return len(cluster.get("worker", ())) + len(cluster.get("chief", ()))


def _tpu_resolver():
    import tensorflow as tf

    try:
        return tf.distribute.cluster_resolver.TPUClusterResolver()
    except (ValueError, RuntimeError, tf.errors.NotFoundError):
        return None


def get_strategy(name="auto", *, devices=None):
    """A ``tf.distribute.Strategy`` by name (one of ``STRATEGIES``); on JAX and
    PyTorch a ``SingleDevice`` or ``DataParallel`` (see the module docstring).

    ``devices`` (mirrored / one_device / data_parallel only): the device strings
    to use; default all GPUs for mirrored (all logical CPUs when there is no GPU),
    the first GPU or the CPU for one_device, all of JAX's devices for data_parallel.
    """
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}; expected one of {STRATEGIES}")
    if keras.backend.backend() != "tensorflow":
        return _backend_strategy(name, devices)
    if name == "data_parallel":
        raise ValueError("strategy 'data_parallel' is keras.distribution's for the JAX backend; on TensorFlow use "
                         "'mirrored' (or 'auto')")
    import tensorflow as tf

    if name == "auto":
        name = _auto_name(tf)
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "one_device":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.OneDeviceStrategy(devices[0] if devices else (gpus[0].name if gpus else "/cpu:0"))
    if name == "mirrored":
        if devices is None:
            gpus = tf.config.list_logical_devices("GPU")
            devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "multi_worker":
        if tf_config_workers() == 0:
            raise ValueError("strategy 'multi_worker' needs TF_CONFIG describing the cluster (see the tutorial 03)")
        return tf.distribute.MultiWorkerMirroredStrategy()
    resolver = _tpu_resolver()
    if resolver is None:
        raise ValueError("strategy 'tpu' asked for, but no TPU could be found")
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def _auto_name(tf):
    # Physical device listing does not initialise the eager context: a
    # MultiWorkerMirroredStrategy must be created before that happens.
    if os.environ.get("TPU_NAME") or os.environ.get("COLAB_TPU_ADDR") or tf.config.list_physical_devices("TPU"):
        if _tpu_resolver() is not None:
            return "tpu"
    if tf_config_workers() > 1:
        return "multi_worker"
    if len(tf.config.list_physical_devices("GPU")) > 1:
        return "mirrored"
    return "default"


def is_chief(strategy=None):
    """True on the worker that writes files (the chief, or worker 0 without one)."""
    text = os.environ.get("TF_CONFIG")
    if not text:
        return True
    task = json.loads(text).get("task", {})
    cluster = json.loads(text).get("cluster", {})
    kind, index = task.get("type"), task.get("index", 0)
    if "chief" in cluster:
        return kind == "chief"
    return kind in (None, "worker") and index == 0


def global_batch_size(per_replica_batch, strategy):
    """The global batch: per-replica batch × replicas in sync."""
    return int(per_replica_batch) * int(strategy.num_replicas_in_sync)
