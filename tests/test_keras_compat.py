"""keras_cv_course._keras_compat owns every use of Keras internals: the package's
sources name them nowhere else, the tested range is pyproject's, an untested
Keras warns once at first use (never at import), and an internal that moved
fails with a message naming the module, the internal and the Keras version."""

import ast
import os
import re
import tomllib
import warnings

import keras
import numpy as np
import pytest

from keras_cv_course import _keras_compat
from keras_cv_course._keras_compat import KerasInternalsError

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "keras_cv_course")
PYPROJECT = os.path.join(os.path.dirname(PACKAGE), "pyproject.toml")
PRIVATE = re.compile(r"keras\.src|_inbound_nodes|_keras_history|_run_through_graph|_distribute_strategy|tf_trainer"
                     r"|reduce_per_replica|_collective_all_reduce")


def package_sources():
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                yield os.path.relpath(path, PACKAGE), open(path, encoding="utf-8").read()


def test_private_keras_names_appear_only_in_keras_compat():
    found = {path: sorted(set(PRIVATE.findall(text))) for path, text in package_sources()}
    assert len(found["_keras_compat.py"]) >= 6  # the pattern does find them
    assert {path: names for path, names in found.items() if names and path != "_keras_compat.py"} == {}


def test_the_tested_range_is_pyprojects_keras_dependency():
    with open(PYPROJECT, "rb") as handle:
        dependencies = tomllib.load(handle)["project"]["dependencies"]
    keras_dependency = [d for d in dependencies if re.match(r"^keras\b(?!-)", d)]
    assert keras_dependency == [f"keras{_keras_compat.TESTED_KERAS}"]


def test_untested_versions_get_a_message_naming_the_module_the_range_and_the_version():
    assert _keras_compat.untested_keras_message("3.15.1") is None
    for version in ("3.16.0", "3.14.2", "4.0.0rc1"):
        message = _keras_compat.untested_keras_message(version)
        assert "keras_cv_course._keras_compat" in message and version in message
        assert f"keras{_keras_compat.TESTED_KERAS}" in message


def test_an_untested_keras_warns_once_at_first_use(monkeypatch, two_calls_model):
    monkeypatch.setattr(keras, "__version__", "3.99.0")
    _keras_compat._warn_if_untested.cache_clear()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _keras_compat.layer_calls(two_calls_model.get_layer("inner").get_layer("shared"))
            _keras_compat.keras_history(two_calls_model.outputs[0])
        assert [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)] == [
            _keras_compat.untested_keras_message("3.99.0")]
    finally:
        _keras_compat._warn_if_untested.cache_clear()


def test_importing_the_module_does_nothing_but_define():
    tree = ast.parse(open(os.path.join(PACKAGE, "_keras_compat.py")).read())
    allowed = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
    for node in tree.body:
        constant = isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        assert isinstance(node, allowed) or constant or docstring, ast.dump(node)[:200]


@pytest.fixture
def two_calls_model():
    """A functional model whose Dense "shared" runs twice, inside a nested model."""
    shared = keras.layers.Dense(4, name="shared")
    inner_input = keras.Input((4,))
    inner = keras.Model(inner_input, shared(shared(inner_input)), name="inner")
    outer_input = keras.Input((4,))
    return keras.Model(outer_input, inner(outer_input), name="outer")


def test_the_accessors_read_a_real_graph(two_calls_model):
    inner = two_calls_model.get_layer("inner")
    shared = inner.get_layer("shared")
    calls = _keras_compat.layer_calls(shared)
    assert len(calls) == 2 and all(len(inputs) == 1 and len(outputs) == 1 for inputs, outputs in calls)
    assert _keras_compat.inbound_input_tensors(inner)[0] is two_calls_model.inputs[0]  # the call in outer, not inner's Input
    assert _keras_compat.keras_history(two_calls_model.outputs[0])[0] is inner
    assert _keras_compat.is_functional(two_calls_model) and not _keras_compat.is_functional(keras.layers.Dense(2))
    x = np.ones((2, 4), "float32")
    seen = []

    def operation_fn(op):
        seen.append(op.name)
        return op

    out = _keras_compat.run_through_graph(two_calls_model, [x], operation_fn)
    out = out[0] if isinstance(out, (list, tuple)) else out
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out), two_calls_model.predict(x, verbose=0), atol=1e-6)
    assert "inner" in seen


def check_clear_error(error, internal):
    message = str(error.value)
    assert message.startswith("keras_cv_course._keras_compat:") and internal in message
    assert f"Keras {keras.__version__}" in message and _keras_compat.TESTED_KERAS in message


def test_a_moved_graph_internal_is_a_clear_error(monkeypatch, two_calls_model):
    with pytest.raises(KerasInternalsError) as error:
        _keras_compat.layer_calls(object())
    check_clear_error(error, "_inbound_nodes")
    with pytest.raises(KerasInternalsError) as error:
        _keras_compat.keras_history(object())
    check_clear_error(error, "_keras_history")
    monkeypatch.delattr(keras.Function, "_run_through_graph")
    with pytest.raises(KerasInternalsError) as error:
        _keras_compat.run_through_graph(two_calls_model, [np.ones((1, 4), "float32")], lambda op: op)
    check_clear_error(error, "_run_through_graph")


def test_a_moved_internal_surfaces_as_the_clear_error_from_the_tools(monkeypatch):
    from keras_cv_course import visualize

    inputs = keras.Input((8, 8, 1))
    model = keras.Model(inputs, keras.layers.Conv2D(2, 3, name="conv")(inputs))
    monkeypatch.delattr(keras.Function, "_run_through_graph")
    with pytest.raises(KerasInternalsError, match="_run_through_graph"):
        visualize.activations(model, np.zeros((1, 8, 8, 1), "float32"), ["conv"])


def test_the_multi_worker_trainer_patch_is_scoped_and_checks_its_internals(monkeypatch):
    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer as tf_trainer

    original = tf_trainer.reduce_per_replica
    with _keras_compat._mean_logs_over_workers():
        assert tf_trainer.reduce_per_replica is not original
        value = tf.constant(2.0)
        assert float(tf_trainer.reduce_per_replica(value, tf.distribute.get_strategy(), "auto")) == 2.0
    assert tf_trainer.reduce_per_replica is original

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with _keras_compat.multi_worker_fit(model, tf.distribute.get_strategy()):
        pass  # other strategies: nothing to do
    strategy = tf.distribute.MultiWorkerMirroredStrategy.__new__(tf.distribute.MultiWorkerMirroredStrategy)
    with pytest.raises(KerasInternalsError) as error:
        with _keras_compat.multi_worker_fit(object(), strategy):
            pass
    check_clear_error(error, "_distribute_strategy")
    monkeypatch.delattr(tf_trainer, "reduce_per_replica")
    with pytest.raises(KerasInternalsError) as error:
        with _keras_compat._mean_logs_over_workers():
            pass
    check_clear_error(error, "reduce_per_replica")
