"""What a plain ``import keras_cv_course`` does (and does not do), each checked in
a fresh interpreter: it imports every module that registers Keras serializable
objects, so a run's best.keras loads with ``keras.saving.load_model`` (safe
mode); it sets no environment variable and no global Keras state; it starts no
TensorFlow runtime, so ``TF_NUM_INTEROP_THREADS`` set after it
(``cli.use_one_inter_op_thread``) still sizes the inter-op pool."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Run by package_facts in a fresh interpreter; prints one JSON line.
FACTS_SCRIPT = r"""
import importlib, json, os, pkgutil, re, sys
import keras

def keras_state():
    return {"floatx": keras.config.floatx(), "image_data_format": keras.config.image_data_format(),
            "dtype_policy": keras.config.dtype_policy().name, "backend": keras.config.backend(),
            "custom_objects": sorted(keras.saving.get_custom_objects())}

def tf_compute_threads():  # TensorFlow names its inter-op pool's threads tf_Compute
    return sum(open(f"/proc/self/task/{t}/comm").read().strip() == "tf_Compute" for t in os.listdir("/proc/self/task"))

def registering_modules(path, prefix):
    # Every module of the package whose source registers a Keras object, found
    # on disk (nothing imported).
    for module in pkgutil.iter_modules(path, prefix):
        spec_path = os.path.join(path[0], module.name.rsplit(".", 1)[-1])
        if module.ispkg:
            yield from registering_modules([spec_path], module.name + ".")
            spec_path = os.path.join(spec_path, "__init__")
        with open(spec_path + ".py", encoding="utf-8") as source:
            if re.search(r"register_keras_serializable\s*\(", source.read()):
                yield module.name

environ, before = dict(os.environ), keras_state()
import keras_cv_course
from keras_cv_course import cli
cli.build_parser()  # what kcc does before use_one_inter_op_thread
after, environ_after = keras_state(), dict(os.environ)
modules = sorted(registering_modules(keras_cv_course.__path__, "keras_cv_course."))
not_imported = [name for name in modules if name not in sys.modules]
for name in modules:
    importlib.import_module(name)
threads_before_op = tf_compute_threads()
pool = os.cpu_count() + 1  # not TensorFlow's default size
os.environ["TF_NUM_INTEROP_THREADS"] = str(pool)
import tensorflow as tf
tf.constant([1.0]) + 1.0
print(json.dumps({
    "registering_modules": modules, "not_imported": not_imported,
    "registered_by_package": sorted(set(after["custom_objects"]) - set(before["custom_objects"])),
    "registered_only_later": sorted(set(keras_state()["custom_objects"]) - set(after["custom_objects"])),
    "keras_state_changed": {k: (before[k], after[k]) for k in before if k != "custom_objects" and before[k] != after[k]},
    "environ_changed": sorted(k for k in set(environ) | set(environ_after) if environ.get(k) != environ_after.get(k)),
    "threads_before_op": threads_before_op, "pool": pool, "threads_after_op": tf_compute_threads(),
}))
"""


def run_python(code, *args):
    """Run ``code`` in a fresh interpreter (repository root, this environment);
    returns its stdout, failing the test with its stderr on a non-zero exit."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_NUM_INTEROP_THREADS", "TF_CONFIG")}
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300, cwd=REPO, env=env)
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout


@pytest.fixture(scope="module")
def package_facts():
    return json.loads(run_python(FACTS_SCRIPT).strip().splitlines()[-1])


def test_package_import_imports_every_module_that_registers_keras_objects(package_facts):
    assert "keras_cv_course.training.schedules" in package_facts["registering_modules"]
    assert package_facts["not_imported"] == [], (
        "add these modules to keras_cv_course.SERIALIZABLE_MODULES (keras_cv_course/__init__.py)")
    assert package_facts["registered_only_later"] == []
    registered = package_facts["registered_by_package"]
    assert {"keras_cv_course>OneCycle", "keras_cv_course>PatchWhitening"} <= set(registered), registered
    assert all(name.startswith("keras_cv_course>") for name in registered), registered


def test_package_import_sets_no_environment_variable_or_keras_state(package_facts):
    assert package_facts["environ_changed"] == []
    assert package_facts["keras_state_changed"] == {}


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads through Linux /proc")
def test_inter_op_threads_set_after_package_import_still_size_the_pool(package_facts):
    assert package_facts["threads_before_op"] == 0  # no TensorFlow runtime yet
    assert package_facts["threads_after_op"] == package_facts["pool"]


SAVE_SCRIPT = textwrap.dedent("""
    import sys
    import keras, numpy as np
    from keras_cv_course import models
    from keras_cv_course.training import schedules

    path, arrays = sys.argv[1:]
    keras.utils.set_random_seed(0)
    model = models.get_model("fashion_cnn")
    optimizer = keras.optimizers.SGD(schedules.make_schedule("onecycle", 0.05, epochs=2, steps_per_epoch=3), momentum=0.9)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).uniform(0, 1, (6, 28, 28, 1)).astype("float32")
    model.fit(x, np.arange(6) % 10, batch_size=3, epochs=1, verbose=0)  # optimizer state, as in a run
    model.save(path)
    np.savez(arrays, x=x, y=model.predict(x, verbose=0))
""")

LOAD_SCRIPT = textwrap.dedent("""
    import json, sys
    import keras, keras_cv_course
    import numpy as np

    path, arrays, out = sys.argv[1:]
    model = keras.saving.load_model(path)
    saved = np.load(arrays)
    np.save(out, model.predict(saved["x"], verbose=0))
    layers = sorted({type(layer).__module__.split(".")[0] for layer in model.layers})
    print(json.dumps({"schedule": model.optimizer.get_config()["learning_rate"]["class_name"],
                      "iterations": int(model.optimizer.iterations), "layer_packages": layers}))
""")


def test_saved_model_loads_after_plain_package_import(tmp_path):
    path, arrays, out = str(tmp_path / "best.keras"), str(tmp_path / "arrays.npz"), str(tmp_path / "restored.npy")
    run_python(SAVE_SCRIPT, path, arrays)
    loaded = json.loads(run_python(LOAD_SCRIPT, path, arrays, out).strip().splitlines()[-1])
    assert loaded["schedule"] == "OneCycle"
    assert loaded["iterations"] == 2
    assert "keras_cv_course" in loaded["layer_packages"]  # a custom layer was restored
    np.testing.assert_allclose(np.load(out), np.load(arrays)["y"], atol=1e-6)
