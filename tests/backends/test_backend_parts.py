"""Pieces of issue 22 checked one by one: the TensorFlow side in this process,
the JAX and PyTorch sides in a subprocess each with ``KERAS_BACKEND`` set."""

import importlib
import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from keras_cv_course import backends, runs
from keras_cv_course.blocks.pooling import AdaptiveAveragePooling2D
from keras_cv_course.metrics import ConfusionMatrix
from keras_cv_course.training import strategy as strategy_lib

fit_lib = importlib.import_module("keras_cv_course.training.fit")  # the package exports the function ``fit`` too


def run_on(backend, code, **env):
    """``code`` run by Python on ``backend``; the JSON it prints last."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2", **env})
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def shout(preprocess):
    return preprocess


def test_a_preprocessing_callable_is_recorded_by_name_and_refused_on_loading(tmp_path):
    recorded = fit_lib.preprocessing_record(shout)
    assert recorded == f"callable:{__name__}.shout"
    json.dumps({"preprocessing": recorded})  # the run's JSON config takes it (a function did not)
    assert fit_lib.preprocessing_record("torch") == "torch"
    with pytest.raises(ValueError, match=r"preprocessing callable '.*\.shout'.*data\.pipeline"):
        runs._recorded_preprocessing({"preprocessing": recorded}, "run/best.keras")


def test_fit_with_a_preprocessing_callable_finishes_and_records_it(tmp_path):
    """Before: TypeError "Object of type function is not JSON serializable" after the first epoch."""
    result = fit_lib.fit("lenet5", "fashion_mnist_sample", epochs=2, batch_size=128, steps_per_epoch=2,
                         run_dir=str(tmp_path / "run"), verbose=0, preprocessing=lambda images: images / 255.0)
    with open(os.path.join(result.run_dir, "report.json")) as handle:
        config = json.load(handle)["config"]
    assert config["preprocessing"].startswith("callable:") and "<lambda>" in config["preprocessing"]
    assert config["backend"] == "tensorflow"
    assert len(result.history) == 2


def test_adaptive_pooling_keeps_static_sizes_python_ints():
    layer = AdaptiveAveragePooling2D(2)
    x = np.arange(2 * 5 * 3 * 1, dtype="float32").reshape(2, 5, 3, 1)
    got = keras.ops.convert_to_numpy(layer(x))
    # rows {0,1,2}, {2,3,4} (floor(i*5/2) .. ceil((i+1)*5/2)-1); columns {0,1}, {1,2}
    want = np.stack([np.stack([x[:, r0:r1, c0:c1].mean(axis=(1, 2)) for c0, c1 in ((0, 2), (1, 3))], axis=1)
                     for r0, r1 in ((0, 3), (2, 5))], axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_confusion_matrix_result_is_a_tensor_not_its_variable():
    metric = ConfusionMatrix(3)
    metric.update_state(np.array([0, 1, 2, 2]), np.eye(3)[[0, 2, 2, 1]])
    result = metric.result()
    assert not isinstance(result, keras.Variable)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(result), [[1, 0, 0], [0, 0, 1], [0, 1, 1]])
    metric.reset_state()
    assert keras.ops.convert_to_numpy(metric.result()).sum() == 0


def test_tensorflow_strategies_are_unchanged_and_data_parallel_is_refused_here():
    import tensorflow as tf

    assert isinstance(strategy_lib.get_strategy("default"), tf.distribute.Strategy)
    with pytest.raises(ValueError, match="'data_parallel' is keras.distribution's for the JAX backend"):
        strategy_lib.get_strategy("data_parallel")
    assert backends.fix_torch_backend() == ()


def test_jax_strategies_single_device_and_data_parallel_over_two_devices():
    got = run_on("jax", """
        import json, numpy as np, keras
        from keras_cv_course.training.strategy import get_strategy
        auto, default = get_strategy("auto"), get_strategy("default")
        try:
            get_strategy("mirrored"); refused = None
        except ValueError as error:
            refused = str(error)
        with auto.scope():
            model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
            model.compile("sgd", "mse")
            loss = model.train_on_batch(np.ones((4, 4), "float32"), np.zeros((4, 2), "float32"))
        print(json.dumps({"auto": type(auto).__name__, "replicas": auto.num_replicas_in_sync,
                          "default": type(default).__name__, "refused": refused, "loss": float(loss)}))
    """, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    assert got["auto"] == "DataParallel" and got["replicas"] == 2
    assert got["default"] == "SingleDevice"
    assert "needs KERAS_BACKEND=tensorflow" in got["refused"] and "'mirrored'" in got["refused"]
    assert np.isfinite(got["loss"])


def test_torch_fixes_batch_norm_variance_and_per_pixel_cross_entropy():
    got = run_on("torch", """
        import json, numpy as np, keras
        x = np.array([[3000.01], [3000.02]], np.float32)
        before = float(keras.ops.convert_to_numpy(keras.ops.moments(x, axes=[0])[1])[0])
        from keras_cv_course import backends
        fixed = backends.fix_torch_backend()
        again = backends.fix_torch_backend()
        after = float(keras.ops.convert_to_numpy(keras.ops.moments(x, axes=[0])[1])[0])
        rng = np.random.default_rng(0)
        probs = rng.dirichlet(np.ones(3), size=(2, 4, 4)).astype("float32")
        labels = rng.integers(0, 3, (2, 4, 4))
        loss = keras.losses.SparseCategoricalCrossentropy()
        inputs = keras.Input((4, 4, 3))
        model = keras.Model(inputs, keras.layers.Softmax()(keras.layers.Dense(3)(inputs)))
        model.compile("sgd", loss)
        trained = float(model.train_on_batch(rng.normal(size=(2, 4, 4, 3)).astype("float32"), labels))
        value = float(keras.ops.convert_to_numpy(loss(labels, probs)))
        print(json.dumps({"before": before, "after": after, "fixed": list(fixed), "again": list(again),
                          "trained": trained, "value": value}))
    """)
    assert got["before"] < 0  # Keras 3.15's E[x^2] - E[x]^2 in float32: the reason for the fix
    x = np.array([3000.01, 3000.02], np.float32).astype(np.float64)
    assert got["after"] == pytest.approx(np.var(x), rel=0.02)
    assert got["fixed"] == got["again"] == ["moments", "sparse_categorical_crossentropy"]
    assert np.isfinite(got["trained"])
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(3), size=(2, 4, 4))
    labels = rng.integers(0, 3, (2, 4, 4))
    expected = -np.log(np.take_along_axis(probs, labels[..., None], axis=-1)).mean()
    assert got["value"] == pytest.approx(expected, rel=1e-5)
