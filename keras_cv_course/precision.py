"""Numeric precision and compilation choices of training and inference.

    from keras_cv_course import precision
    precision.default_precision("resnet50")        # "mixed_bfloat16" on a CPU with AVX-512 BF16
    with precision.policy_scope("mixed_bfloat16"):
        model = get_model("resnet50")              # bfloat16 compute, float32 variables and outputs
    model32 = precision.with_precision(model, "float32")

``PRECISIONS`` are Keras's dtype policies: ``float32``, and the mixed policies
``mixed_bfloat16`` and ``mixed_float16``, which compute in 16 bits and keep the
variables in float32 (Micikevicius et al. 2018, "Mixed Precision Training";
Kalamkar et al. 2019, "A Study of BFLOAT16 for Deep Learning Training"). As
Keras's mixed-precision guide requires, a model built or converted here keeps
its outputs in float32: the layers producing them compute in float32, so the
softmax/sigmoid, the losses and the metrics do too. ``mixed_float16`` trains
with Keras's ``LossScaleOptimizer`` (``model.compile`` wraps it).

"auto" (the default of ``training.fit`` and of ``kcc train``/``evaluate``/
``predict``/``bench``) is what is fastest on the machine it runs on:

- the hardware's 16-bit format when it has one (``hardware_precision``: a GPU of
  compute capability >= 8.0 bfloat16, 7.x float16; a CPU with AVX-512 BF16 or
  AMX bfloat16), else float32;
- on a CPU, only for the models whose measured train step is faster that way:
  ``kcc bench --write-choices`` measures one model per family float32 against
  mixed_bfloat16 and XLA against none and writes ``cpu_choices.json`` beside
  this module; a model it did not measure takes its family's figures, and a
  family not measured stays float32 without XLA.
"""

import contextlib
import functools
import json
import os

import keras

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
AUTO = "auto"
JIT_CHOICES = (AUTO, True, False)
CHOICES_FILE = os.path.join(os.path.dirname(__file__), "cpu_choices.json")
FASTER = 1.05  # a measured ratio counts as faster above this (the rounds' spread is a few per cent)
CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
RATIOS = ("bf16_train", "bf16_inference", "xla_train")  # measured against float32 / no XLA


def check_precision(precision):
    """``precision`` as a policy name, or "auto" (None means "auto"); anything
    else is refused naming the choices."""
    if precision is None or precision == AUTO:
        return AUTO
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {(AUTO,) + PRECISIONS}; got {precision!r}")
    return precision


def check_jit_compile(jit_compile):
    """``jit_compile`` as True, False or "auto" (also from the strings "true"/"false")."""
    if isinstance(jit_compile, str) and jit_compile.lower() in ("true", "false", AUTO):
        jit_compile = {"true": True, "false": False, AUTO: AUTO}[jit_compile.lower()]
    if jit_compile not in JIT_CHOICES or (jit_compile is not AUTO and not isinstance(jit_compile, bool)):
        raise ValueError(f"jit_compile must be 'auto', True or False; got {jit_compile!r}")
    return jit_compile


def cpu_flags(cpuinfo="/proc/cpuinfo"):
    """The CPU's feature flags (empty where /proc/cpuinfo is not readable)."""
    try:
        with open(cpuinfo) as handle:
            for line in handle:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def gpu_compute_capability():
    """(major, minor) of the first GPU the backend uses, or None on a CPU."""
    backend = keras.backend.backend()
    if backend == "torch":
        import torch

        return tuple(torch.cuda.get_device_capability(0)) if torch.cuda.is_available() else None
    if backend == "jax":
        import jax

        gpus = [device for device in jax.devices() if device.platform == "gpu"]
        capability = getattr(gpus[0], "compute_capability", None) if gpus else None
        return tuple(int(part) for part in str(capability).split(".")) if capability else None
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    return tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")


@functools.cache
def hardware_precision():
    """The 16-bit mixed policy the hardware computes natively, else float32:
    mixed_bfloat16 on a GPU of compute capability >= 8.0 or a CPU with
    AVX-512 BF16 / AMX; mixed_float16 on a 7.x GPU (tensor cores)."""
    capability = gpu_compute_capability()
    if capability is not None:
        return "mixed_bfloat16" if capability >= (8, 0) else "mixed_float16" if capability >= (7, 0) else "float32"
    return "mixed_bfloat16" if cpu_flags() & set(CPU_BF16_FLAGS) else "float32"


def measured_choices(path=CHOICES_FILE):
    """``cpu_choices.json``: {"cpu": ..., "models": {name: {"family", "bf16_train",
    "bf16_inference", "xla_train"}}} (ratios against float32 / no XLA); empty
    when the file is missing."""
    if not os.path.exists(path):
        return {"models": {}}
    with open(path) as handle:
        return json.load(handle)


def _measured(model_name, path=CHOICES_FILE):
    """The measured ratios of ``model_name``, else the least of each ratio over
    its family's measured models (faster only where all of them were), else None."""
    models = measured_choices(path)["models"]
    if model_name in models:
        return models[model_name]
    from keras_cv_course.models import list_models, model_info

    if model_name not in list_models():
        return None
    family = [row for row in models.values() if row.get("family") == model_info(model_name).family]
    if not family:
        return None
    return {key: min(row.get(key, 0) for row in family) for key in RATIOS}


def default_precision(model_name=None, *, use="train", path=CHOICES_FILE):
    """What "auto" resolves to for ``model_name`` here (see the module docstring);
    ``use``: "train" or "inference", whose measured ratio decides on a CPU."""
    if use not in ("train", "inference"):
        raise ValueError(f"use must be 'train' or 'inference'; got {use!r}")
    native = hardware_precision()
    if native == "float32" or gpu_compute_capability() is not None:
        return native
    row = _measured(model_name, path) if model_name else None
    return native if row is not None and row.get(f"bf16_{use}", 0) > FASTER else "float32"


def inference_model(model, precision, model_name=None):
    """``model`` to predict with in ``precision`` ("auto": ``default_precision``
    of ``model_name`` for inference); ``(model, precision name)``."""
    precision = check_precision(precision)
    if precision == AUTO:
        precision = default_precision(model_name, use="inference")
    return in_precision(model, precision), precision


def in_precision(model, precision):
    """``model`` when it computes in ``precision`` (a policy name) with float32
    outputs, else its ``with_precision`` copy."""
    if model_precision(model) == precision:
        return float32_outputs(model)
    return with_precision(model, precision)


def default_jit_compile(model_name=None, *, path=CHOICES_FILE):
    """What ``jit_compile="auto"`` resolves to for ``model_name``: on a CPU under
    TensorFlow, XLA only where it was measured faster; elsewhere Keras's own "auto"."""
    if keras.backend.backend() != "tensorflow" or gpu_compute_capability() is not None:
        return AUTO
    row = _measured(model_name, path) if model_name else None
    return bool(row is not None and row.get("xla_train", 0) > FASTER)


def resolve(precision, jit_compile, model_name):
    """``(precision, jit_compile)`` with "auto" resolved for ``model_name``."""
    precision, jit_compile = check_precision(precision), check_jit_compile(jit_compile)
    if precision == AUTO:
        precision = default_precision(model_name)
    if jit_compile == AUTO:
        jit_compile = default_jit_compile(model_name)
    return precision, jit_compile


def is_mixed(policy):
    """Whether a dtype policy (or its name) computes in another dtype than its variables."""
    policy = keras.dtype_policies.get(policy) if isinstance(policy, str) else policy
    return policy.compute_dtype != policy.variable_dtype


@contextlib.contextmanager
def policy_scope(precision):
    """Keras's global dtype policy set to ``precision`` inside, restored after."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(check_precision(precision) if precision != AUTO else previous)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def model_precision(model):
    """The policy most of ``model``'s weighted layers compute with (its precision)."""
    names = [layer.dtype_policy.name for layer in _leaves(model) if layer.weights]
    return max(set(names), key=names.count) if names else model.dtype_policy.name


def _leaves(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaves(layer)
        else:
            yield layer


def _output_layers(model):
    return {id(model.get_layer(name)) for name in model.output_names}


def with_precision(model, precision):
    """A copy of functional ``model`` computing in ``precision`` (a policy name),
    its output layers in float32 and its weights (and ``PatchWhitening``'s
    adapted state) copied; ``model`` itself is unchanged. Nested models are
    converted too."""
    precision = check_precision(precision)
    if precision == AUTO:
        raise ValueError("with_precision needs a policy name; resolve 'auto' with default_precision first")
    outputs = _output_layers(model)

    def clone_layer(layer):
        if isinstance(layer, keras.Model):
            return with_precision(layer, precision)
        config = layer.get_config()
        config["dtype"] = "float32" if id(layer) in outputs and is_mixed(precision) else precision
        new = type(layer).from_config(config)
        if hasattr(layer, "is_adapted"):
            new.is_adapted = layer.is_adapted
        return new

    with policy_scope(precision):
        copy = keras.models.clone_model(model, clone_function=clone_layer)
    copy.set_weights(model.get_weights())
    for old, new in zip(_leaves(model), _leaves(copy)):
        new.trainable = old.trainable
        if hasattr(old, "is_adapted"):
            new.is_adapted = old.is_adapted
    return copy


def functional_model(inputs, outputs, name=None):
    """``keras.Model(inputs, outputs, name=name)``, its outputs in float32 under
    a mixed global policy (``float32_outputs``): the builders' last step."""
    model = keras.Model(inputs, outputs, name=name)
    return float32_outputs(model) if is_mixed(keras.config.dtype_policy()) else model


def float32_outputs(model):
    """``model`` when its outputs are float32, else ``with_precision`` of its own
    precision (what the builders apply under a global mixed policy)."""
    if all(str(output.dtype) == "float32" for output in model.outputs):
        return model
    return with_precision(model, model_precision(model))
