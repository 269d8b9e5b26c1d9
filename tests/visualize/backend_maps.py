"""Every visualization of one tiny model, under one ``KERAS_BACKEND`` (a subprocess).

``python tests/visualize/backend_maps.py OUT.npz``

The model (Conv-ReLU, Conv, ReLU layer, MaxPool, Conv-ReLU, GAP, Dense-softmax)
takes its weights from a seeded numpy generator and the images are seeded numpy
too, so every backend computes the same functions of the same numbers. Writes
OUT.npz: one array per result, named after the call, plus ``meta`` (JSON): the
backend Keras ran on, the type of the arrays it computes with, and how often
each backend's gradient function and ReLU rule of ``_gradients`` ran.
"""

import json
import sys
import time

import numpy as np

SIZE, CLASSES = 12, 3


def build_model():
    """The tiny convnet, its weights drawn from ``default_rng(0)``."""
    import keras
    from keras import layers

    inputs = keras.Input((SIZE, SIZE, 3))
    x = layers.Conv2D(4, 3, padding="same", activation="relu", name="c1")(inputs)
    x = layers.Conv2D(6, 3, padding="same", name="c2")(x)
    x = layers.ReLU(name="relu")(x)
    x = layers.MaxPooling2D(name="pool")(x)
    x = layers.Conv2D(5, 3, padding="same", activation="relu", name="c3")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(CLASSES, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs, name="tiny")
    rng = np.random.default_rng(0)
    weights = []
    for w in model.get_weights():
        scale = 0.05 if w.ndim == 1 else np.sqrt(2.0 / np.prod(w.shape[:-1]))
        weights.append((scale * rng.standard_normal(w.shape) + (0.02 if w.ndim == 1 else 0.0)).astype(np.float32))
    model.set_weights(weights)
    return model


def images():
    """Two seeded (SIZE, SIZE, 3) images in [0, 1]: noise and a bright square."""
    rng = np.random.default_rng(1)
    batch = 0.3 * rng.random((2, SIZE, SIZE, 3)).astype(np.float32)
    batch[0, 2:6, 6:10, 0] += 0.7
    batch[1, 7:11, 1:5, 1] += 0.7
    return batch


def _count_calls(module, names, counts):
    """Wrap ``module.<name>`` for each name, counting its calls into ``counts``."""
    for name in names:
        original = getattr(module, name)
        counts[name] = 0

        def counted(*args, _original=original, _name=name, **kwargs):
            counts[_name] += 1
            return _original(*args, **kwargs)

        setattr(module, name, counted)


def compute():
    """``(results, meta)``: every visualization of the tiny model, as numpy."""
    import keras

    from keras_cv_course import visualize
    from keras_cv_course.visualize import _gradients

    counts = {}
    _count_calls(_gradients, ["_tf_pullback", "_jax_pullback", "_torch_pullback",
                              "_tf_rule", "_jax_rule", "_torch_rule"], counts)
    model, batch = build_model(), images()
    results, seconds = {}, {}

    def record(name, call):
        start = time.perf_counter()
        value = call()
        seconds[name] = time.perf_counter() - start
        if isinstance(value, dict):
            results.update({f"{name}/{key}": np.asarray(v) for key, v in value.items()})
        elif isinstance(value, tuple):
            results.update({f"{name}/{i}": np.asarray(v) for i, v in enumerate(value)})
        else:
            results[name] = np.asarray(value)

    record("outputs", lambda: keras.ops.convert_to_numpy(model(batch)))
    record("activations", lambda: visualize.activations(model, batch, ["c1", "relu", "c3", "gap"]))
    record("activations_and_gradients", lambda: visualize.activations_and_gradients(model, batch, layer="c2"))
    record("grad_cam", lambda: visualize.grad_cam(model, batch))
    record("grad_cam_raw", lambda: visualize.grad_cam(model, batch, class_index=[1, 2], normalize=False, upsample=False))
    record("grad_cam_plus_plus", lambda: visualize.grad_cam_plus_plus(model, batch, class_index=2))
    record("guided_grad_cam", lambda: visualize.guided_grad_cam(model, batch))
    record("saliency", lambda: visualize.saliency(model, batch))
    record("smoothgrad", lambda: visualize.smoothgrad(model, batch, samples=4, noise=0.2, seed=3))
    record("guided_backprop", lambda: visualize.guided_backprop(model, batch, class_index=1))
    record("deconvnet", lambda: visualize.deconvnet(model, batch, class_index=1))
    record("occlusion_sensitivity", lambda: visualize.occlusion_sensitivity(model, batch, patch=4, stride=2))
    record("filters", lambda: visualize.filters(model, "c2"))
    record("filter_pattern", lambda: visualize.filter_pattern(
        model, "c3", 1, steps=5, size=SIZE, deprocess=False, return_objective=True))
    record("filter_patterns", lambda: visualize.filter_patterns(
        model, "c2", [0, 3], steps=5, size=SIZE, regularizers={"jitter": 1, "tv": 0.05, "l2": 0.01},
        deprocess=False, return_objective=True))
    record("randomized_saliency", lambda: visualize.saliency(visualize.randomized_copy(model, seed=1), batch, 0))
    meta = {
        "backend": keras.backend.backend(),
        "tensor_type": type(keras.ops.convert_to_tensor(batch)).__module__,
        "calls": counts,
        "seconds": seconds,
    }
    return results, meta


def main(path):
    results, meta = compute()
    np.savez(path, meta=np.asarray(json.dumps(meta)), **results)


if __name__ == "__main__":
    main(sys.argv[1])
