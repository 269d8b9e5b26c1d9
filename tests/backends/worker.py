"""The backend matrix's worker: run under one ``KERAS_BACKEND`` in a subprocess.

``python tests/backends/worker.py REFERENCE_DIR OUT_DIR [--all]``

(``--all``: every registered model instead of ``MATRIX``, at its smallest
input of 32 or more; over an hour per backend on 2 cores. Run it on each
backend with the same REFERENCE_DIR, TensorFlow first, and compare the
``results.npz`` files as ``test_matrix.py`` does.)

On TensorFlow it writes the reference into REFERENCE_DIR: one model per family
built with a fixed seed and saved as ``.keras``, a fixed input batch, the
model's outputs, and the losses of two SGD steps on a fixed batch; the weights
``lenet5.keras`` for ``kcc train``. On every backend (TensorFlow included) it
writes OUT_DIR/results.npz and OUT_DIR/results.json:

- ``{model}/tf_file``: the outputs of the TensorFlow-saved file loaded here
  (``safe_mode=True``); the test compares them with ``{model}/reference``;
- ``{model}/own_reloaded``: the outputs after saving that model here and
  loading it again (must equal ``tf_file`` bit for bit);
- ``{model}/losses``: two SGD steps of the reloaded model, and
  ``{model}/update_first`` / ``update_last``: the first step's change of its
  first and last kernels;
- ``alexnet_jit``: ``fit``, ``evaluate`` and ``predict`` of alexnet compiled
  with ``jit_compile=True`` (XLA on TensorFlow and JAX; on PyTorch "auto");
- ``kcc_train``: ``kcc train lenet5`` on the embedded sample from the
  TensorFlow-saved weights, its report's accuracy and loss;
- ``moments``: the BatchNormalization case of issue 22 on this backend.
"""

import json
import os
import subprocess
import sys
import time
import zlib

import numpy as np

# (registered name, input (H, W), batch): one model per family at a small size;
# classifiers train at batch 8, so BatchNorm's batch statistics average 8 values
# per channel or more even where the last map is 1x1 (batch 2 at 1x1 maps
# diverges on every backend); Inception-v3 at 107 (its last maps 2x2: at 75 the
# first step's gradients reach 300 and float32 rounding moves them by 3 % on
# every backend alike); detectors and FCN at batch 4 on maps of 2x2 and more.
MATRIX = (
    ("lenet5", (32, 32), 8),
    ("fashion_cnn", (28, 28), 8),
    ("alexnet", (64, 64), 8),
    ("vgg11_bn", (32, 32), 8),
    ("nin_cifar", (32, 32), 8),
    ("googlenet", (32, 32), 8),
    ("inception_v3", (107, 107), 8),
    ("resnet18", (32, 32), 8),
    ("densenet121", (32, 32), 8),
    ("squeezenet1_1", (32, 32), 8),
    ("mobilenet", (32, 32), 8),
    ("mobilenet_v2", (32, 32), 8),
    ("efficientnet_b0", (32, 32), 8),
    ("yolov1_fashion", (64, 64), 4),
    ("ssd_fashion", (64, 64), 4),
    ("overfeat_fashion", (64, 64), 4),
    ("fcn32s_fashion", (32, 32), 4),
)
SEED = 0


def whole_registry():
    """``MATRIX`` rows for every registered model (``--all``)."""
    from keras_cv_course.models import list_models, model_info

    rows = []
    for name in list_models():
        info = model_info(name)
        side = max(int(info.min_size or 32), 32)
        rows.append((name, (side, side), 8 if info.task == "classification" else 4))
    return tuple(rows)


def backend():
    import keras

    return keras.backend.backend()


def build(name, size):
    """The registered model at ``size``, initialised from ``SEED``."""
    import keras

    from keras_cv_course.models import get_model, model_info

    keras.utils.set_random_seed(SEED)
    info = model_info(name)
    channels = info.input_shape[-1] if info.input_shape else 3
    kwargs = {"input_shape": (*size, channels)}
    if info.task == "classification":
        kwargs["classes"] = 10
    return get_model(name, **kwargs)


def batch_for(model, name, batch):
    """A fixed input batch and training targets for ``model`` (numpy)."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    height, width, channels = model.input_shape[1:]
    x = rng.uniform(-1.0, 1.0, (batch, height, width, channels)).astype("float32")
    from keras_cv_course.models import model_info

    task = model_info(name).task
    if task == "classification":
        return x, rng.integers(0, 10, batch).astype("int32")
    if task == "segmentation":
        classes = model.output_shape[-1]
        return x, rng.integers(0, classes, (batch, height, width)).astype("int32")
    corner = rng.uniform(0, 0.5, (batch, 2, 2)) * np.array([width, height])
    side = rng.uniform(0.2, 0.45, (batch, 2, 2)) * np.array([width, height])
    boxes = np.concatenate([corner, corner + side], axis=-1).astype("float32")
    return x, {"boxes": boxes, "classes": rng.integers(0, 3, (batch, 2)).astype("int32")}


def first_output(outputs):
    import keras

    if isinstance(outputs, dict):
        outputs = outputs[sorted(outputs)[0]]
    elif isinstance(outputs, (list, tuple)):
        outputs = outputs[0]
    return np.asarray(keras.ops.convert_to_numpy(outputs), np.float32)


def compiled_for_training(model, name, x, targets):
    """``model`` compiled with its task's losses; the targets encoded for them."""
    import keras
    import tensorflow as tf

    from keras_cv_course import tasks
    from keras_cv_course.models import model_info

    info = model_info(name)
    if isinstance(targets, dict):
        spec = {key: tf.TensorSpec(value.shape[1:], tf.as_dtype(value.dtype)) for key, value in targets.items()}
    else:
        spec = tf.TensorSpec(targets.shape[1:], tf.as_dtype(targets.dtype))
    task = tasks.resolve_task(None, info, model, spec)
    model.compile(optimizer=keras.optimizers.SGD(0.01), **task.compile_kwargs(model))
    encoder = task.encoder(model)
    if encoder is None:
        return targets
    _, encoded = encoder(tf.constant(x), {key: tf.constant(value) for key, value in targets.items()})
    return {key: np.asarray(value) for key, value in encoded.items()}


def two_steps(model, name, x, targets):
    """The losses of two SGD steps on one batch, and the first step's update of
    the first and the last kernels (the first one's gradient has come back
    through the whole network)."""
    import keras

    y = compiled_for_training(model, name, x, targets)
    kernels = [w for w in model.trainable_weights if len(w.shape) >= 2]
    probes = (kernels[0], kernels[-1])
    before = [np.array(keras.ops.convert_to_numpy(w)) for w in probes]
    losses = [float(model.train_on_batch(x, y, return_dict=True)["loss"])]
    updates = [np.array(keras.ops.convert_to_numpy(w)) - b for w, b in zip(probes, before)]
    losses.append(float(model.train_on_batch(x, y, return_dict=True)["loss"]))
    return np.asarray(losses, np.float64), updates


def has_dropout(model):
    import keras

    return any(isinstance(layer, keras.layers.Dropout) and layer.rate > 0 for layer in model._flatten_layers())


def write_reference(reference_dir):
    import keras

    arrays, facts = {}, {}
    for name, size, batch in MATRIX:
        model = build(name, size)
        x, targets = batch_for(model, name, batch)
        path = os.path.join(reference_dir, f"{name}.keras")
        model.save(path)
        arrays[f"{name}/input"] = x
        arrays[f"{name}/reference"] = first_output(model(x, training=False))
        losses, updates = two_steps(keras.saving.load_model(path), name, x, targets)
        arrays[f"{name}/reference_losses"] = losses
        arrays[f"{name}/reference_update_first"], arrays[f"{name}/reference_update_last"] = updates
        facts[name] = {"dropout": has_dropout(model)}
    lenet = build("lenet5", (32, 32))
    lenet.save(os.path.join(reference_dir, "lenet5_start.keras"))
    np.savez(os.path.join(reference_dir, "reference.npz"), **arrays)
    with open(os.path.join(reference_dir, "reference.json"), "w") as handle:
        json.dump(facts, handle)


def check_models(reference_dir, arrays, facts):
    """Each TensorFlow-saved model loaded here (its layers built and called on
    this backend), run, saved here and reloaded, then trained two steps."""
    import keras

    reference = np.load(os.path.join(reference_dir, "reference.npz"))
    for name, size, batch in MATRIX:
        started = time.perf_counter()
        x = reference[f"{name}/input"]
        loaded = keras.saving.load_model(os.path.join(reference_dir, f"{name}.keras"), safe_mode=True)
        arrays[f"{name}/tf_file"] = first_output(loaded(x, training=False))
        own_path = os.path.join(os.environ["WORKER_OUT"], f"{name}_own.keras")
        loaded.save(own_path)
        reloaded = keras.saving.load_model(own_path, safe_mode=True)
        arrays[f"{name}/own_reloaded"] = first_output(reloaded(x, training=False))
        _, targets = batch_for(reloaded, name, batch)
        losses, updates = two_steps(reloaded, name, x, targets)
        arrays[f"{name}/losses"] = losses
        arrays[f"{name}/update_first"], arrays[f"{name}/update_last"] = updates
        weights_finite = all(np.isfinite(keras.ops.convert_to_numpy(w)).all() for w in reloaded.weights)
        facts[name] = {"seconds": time.perf_counter() - started, "weights_finite": bool(weights_finite)}
        print(f"{backend()}: {name} {facts[name]['seconds']:.1f} s", flush=True)


def check_alexnet_jit(reference_dir, arrays, facts):
    """alexnet's fit, evaluate and predict compiled (its AdaptiveAveragePooling2D
    must keep static sizes under jax.jit)."""
    import keras

    model = keras.saving.load_model(os.path.join(reference_dir, "alexnet.keras"))
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (8, 64, 64, 3)).astype("float32")
    y = rng.integers(0, 10, 8).astype("int32")
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy",
                  jit_compile=True if backend() != "torch" else "auto")
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    arrays["alexnet_jit/evaluate"] = np.asarray(model.evaluate(x, y, batch_size=4, verbose=0), np.float64)
    arrays["alexnet_jit/predict"] = np.asarray(model.predict(x, batch_size=4, verbose=0), np.float32)
    facts["alexnet_jit"] = {"fit_loss": history.history["loss"][-1], "jit_compile": str(model.jit_compile)}


def check_kcc_train(reference_dir, arrays, facts):
    """``kcc train lenet5`` on the embedded sample, from the TensorFlow-saved
    weights, one epoch; then ``--resume --epochs 2`` continues the run. The
    images come in their stored order (``--no-shuffle``): Keras's JAX and
    PyTorch trainers open one extra iterator of the dataset before the first
    step, which consumes one of tf.data's reshuffles, so a shuffled run would
    see another order there than on TensorFlow."""
    run_dir = os.path.join(os.environ["WORKER_OUT"], "kcc_run")
    command = [sys.executable, "-m", "keras_cv_course", "train", "lenet5", "--dataset", "fashion_mnist_sample",
               "--batch-size", "64", "--lr", "0.001", "--optimizer", "adam", "--schedule", "constant",
               "--finetune-from", os.path.join(reference_dir, "lenet5_start.keras"), "--run-dir", run_dir, "--quiet",
               "--no-shuffle"]
    facts["kcc_train"] = {"report": _kcc(command + ["--epochs", "1"], run_dir)}
    facts["kcc_train_resumed"] = {"report": _kcc(command + ["--epochs", "2", "--resume"], run_dir)}


def _kcc(command, run_dir):
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy())
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:])} failed on {backend()}:\n{done.stdout}\n{done.stderr}")
    with open(os.path.join(run_dir, "report.json")) as handle:
        return json.load(handle)


def check_moments(arrays, facts):
    """Issue 22's case: BatchNormalization statistics of x = [[3000.01], [3000.02]]."""
    import keras

    from keras_cv_course import backends

    x = np.array([[3000.01], [3000.02]], np.float32)
    backends.fix_torch_backend()
    mean, variance = keras.ops.moments(keras.ops.convert_to_tensor(x), axes=[0])
    layer = keras.layers.BatchNormalization()
    arrays["moments/variance"] = np.asarray(keras.ops.convert_to_numpy(variance), np.float64)
    arrays["moments/normalized"] = np.asarray(keras.ops.convert_to_numpy(layer(x, training=True)), np.float64)


def main(reference_dir, out_dir):
    os.environ["WORKER_OUT"] = out_dir
    if backend() == "tensorflow" and not os.path.exists(os.path.join(reference_dir, "reference.npz")):
        write_reference(reference_dir)
    arrays, facts = {}, {"backend": backend()}
    check_moments(arrays, facts)
    if backend() != "tensorflow":  # the reference itself is TensorFlow's
        check_models(reference_dir, arrays, facts)
    check_alexnet_jit(reference_dir, arrays, facts)
    check_kcc_train(reference_dir, arrays, facts)
    np.savez(os.path.join(out_dir, "results.npz"), **arrays)
    with open(os.path.join(out_dir, "results.json"), "w") as handle:
        json.dump(facts, handle, indent=1, default=str)


if __name__ == "__main__":
    if "--all" in sys.argv[3:]:
        MATRIX = whole_registry()
    main(sys.argv[1], sys.argv[2])
