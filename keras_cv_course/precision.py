"""Numeric precision and compilation choices of training and inference.

    from keras_cv_course import precision
    precision.resolve("auto", "auto", "resnet50")  # ("mixed_bfloat16", True) where measured fastest
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
``predict``) is what is fastest on the machine it runs on, precision and
``jit_compile`` (XLA) chosen together (``fastest``), since one decides the other:
on an AVX2 CPU without bfloat16 hardware, ResNet-50's bfloat16 train step was
measured at 0.13× float32's without XLA and 1.27× with it (224×224, batch 8).

- On a CPU under TensorFlow, the measured figures of this machine:
  ``kcc bench --write-choices`` times one model per family in every combination
  of float32 / mixed_bfloat16 and XLA on / off, and writes the ratios to float32
  without XLA into ``cpu_choices.json`` beside this module, under this machine's
  key (CPU model, cores, AVX/AMX features: ``machine_key``). A model not measured
  takes its family's least ratios; a combination wins only when more than
  ``FASTER`` times as fast.
- Not measured (another machine, family or backend): float32 without XLA on a
  CPU; on a GPU the hardware's 16-bit format (``hardware_precision``: compute
  capability >= 8.0 bfloat16, 7.x float16) and Keras's own jit "auto".
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
CHOICES_ENV = "KCC_CPU_CHOICES"  # another choices file (the tests point it at none)
FASTER = 1.05  # a measured ratio counts as faster above this (the rounds' spread is a few per cent)
CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
KEY_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "avx512_vnni", "avx_vnni")


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


def cpu_name(cpuinfo="/proc/cpuinfo"):
    """The CPU's model name (/proc/cpuinfo), or the platform's processor string."""
    import platform

    try:
        with open(cpuinfo) as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_key():
    """This machine as the choices file names it: CPU model, cores and the
    vector/matrix features that decide the ratios (figures measured on one CPU
    say nothing about another)."""
    features = sorted(cpu_flags() & set(KEY_FLAGS)) or ["no AVX"]
    return f"{cpu_name()}, {os.cpu_count()} cores, {' '.join(features)}"


def measured_choices(path=None, machine=None):
    """This machine's (``machine_key()``) entry of ``cpu_choices.json``:
    {"cpu", "cores", "models": {name: {"family", "train": {combination: ratio},
    "inference": {...}}}} (ratios against float32 without XLA, ``combination``);
    {"models": {}} when the file is missing or has no entry for this machine."""
    return read_choices(path)["machines"].get(machine or machine_key(), {"models": {}})


def choices_path(path=None):
    """``path``, else the file the environment's ``KCC_CPU_CHOICES`` names, else ``CHOICES_FILE``."""
    return path or os.environ.get(CHOICES_ENV) or CHOICES_FILE


def read_choices(path=None):
    """The whole choices document, {"machines": {key: entry}}; refused by name when malformed."""
    path = choices_path(path)
    if not os.path.exists(path):
        return {"machines": {}}
    with open(path) as handle:
        try:
            document = json.load(handle)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not JSON ({error}); rewrite it with kcc bench --write-choices") from None
    if not isinstance(document, dict) or not isinstance(document.get("machines"), dict):
        raise ValueError(f"{path} must hold {{\"machines\": {{machine: entry}}}}; rewrite it with "
                         "kcc bench --write-choices")
    return document


def write_choices(entry, path=None, machine=None):
    """Put ``entry`` (``bench.choices``'s) under this machine's key of the file,
    keeping the other machines' entries."""
    document = read_choices(path)
    document["machines"][machine or machine_key()] = entry
    with open(choices_path(path), "w") as handle:
        json.dump(document, handle, indent=1, sort_keys=True)
        handle.write("\n")


def combination(precision, jit_compile):
    """The choices file's name of a (precision, jit_compile) pair: "float32",
    "mixed_bfloat16+xla", ..."""
    return precision + ("+xla" if jit_compile else "")


def _measured(model_name, use, path=None):
    """{combination: speed ratio to float32 without XLA} measured for ``use`` of
    ``model_name`` on this machine, else the least ratio of each combination over
    its family's measured models (faster only where all of them were), else None.
    Measurements are TensorFlow's on a CPU and speak for nothing else."""
    if keras.backend.backend() != "tensorflow" or gpu_compute_capability() is not None or not model_name:
        return None
    models = measured_choices(path)["models"]
    for name, row in models.items():
        if not isinstance(row, dict) or not isinstance(row.get(use), dict):
            raise ValueError(f"{choices_path(path)}: {name!r} has no {use!r} ratios ({{combination: ratio}}); "
                             "rewrite it with kcc bench --write-choices")
    if model_name in models:
        return models[model_name][use]
    from keras_cv_course.models import list_models, model_info

    if model_name not in list_models():
        return None
    family = [row[use] for row in models.values() if row.get("family") == model_info(model_name).family]
    if not family:
        return None
    return {key: min(row.get(key, 0.0) for row in family) for key in set().union(*family)}


def _unmeasured(precision, jit_compile):
    """"auto" where nothing was measured: the hardware's 16-bit policy on a GPU,
    float32 on a CPU; no XLA under TensorFlow on a CPU, else Keras's own "auto"."""
    on_gpu = gpu_compute_capability() is not None
    if precision == AUTO:
        precision = hardware_precision() if on_gpu else "float32"
    if jit_compile == AUTO:
        jit_compile = AUTO if on_gpu or keras.backend.backend() != "tensorflow" else False
    return precision, jit_compile


def fastest(model_name, precision=AUTO, jit_compile=AUTO, *, use="train", path=None):
    """``(precision, jit_compile)`` with each "auto" filled by the fastest
    measured combination for ``use`` ("train" or "inference") of ``model_name``
    here. Starting from float32 (or the precision asked for) without XLA, a
    combination replaces the one chosen only when measured more than ``FASTER``
    times as fast, and the other XLA setting is tried before another precision:
    16 bits must beat float32's best, not tie it. Unmeasured: ``_unmeasured``."""
    if use not in ("train", "inference"):
        raise ValueError(f"use must be 'train' or 'inference'; got {use!r}")
    precision, jit_compile = check_precision(precision), check_jit_compile(jit_compile)
    if AUTO not in (precision, jit_compile):
        return precision, jit_compile
    ratios = _measured(model_name, use, path)
    if ratios is None:
        return _unmeasured(precision, jit_compile)
    baseline = (precision if precision != AUTO else "float32", jit_compile if jit_compile != AUTO else False)
    candidates = [(p, j) for p in (PRECISIONS if precision == AUTO else (precision,))
                  for j in ((False, True) if jit_compile == AUTO else (jit_compile,))
                  if combination(p, j) in ratios]
    if combination(*baseline) not in ratios or not candidates:
        return _unmeasured(precision, jit_compile)
    chosen = baseline
    for pair in sorted(candidates, key=lambda pair: (pair[0] != baseline[0], ratios[combination(*pair)])):
        if ratios[combination(*pair)] > FASTER * ratios[combination(*chosen)]:
            chosen = pair
    return chosen


def default_precision(model_name=None, *, use="train", path=None):
    """What precision "auto" resolves to for ``model_name`` here (``fastest``;
    inference is measured without XLA)."""
    return fastest(model_name, AUTO, False if use == "inference" else AUTO, use=use, path=path)[0]


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


def default_jit_compile(model_name=None, *, path=None):
    """What ``jit_compile="auto"`` resolves to for training ``model_name`` here (``fastest``)."""
    return fastest(model_name, AUTO, AUTO, path=path)[1]


def resolve(precision, jit_compile, model_name):
    """``(precision, jit_compile)`` with "auto" resolved for training ``model_name``."""
    return fastest(model_name, precision, jit_compile)


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
