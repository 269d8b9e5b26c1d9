"""Helpers of the keras.applications parity tests (the twin sweep of
test_keras_applications_parity.py and the family tests)."""

import h5py
import keras
from keras.src.legacy.saving import legacy_h5_format


def layer_options(layer):
    """A layer's class and config without its name; channel axis 3 written as -1."""
    config = {k: v for k, v in layer.get_config().items() if k != "name"}
    if "axis" in config:
        axis = config["axis"]
        config["axis"] = [-1 if a == 3 else a for a in axis] if isinstance(axis, list) else (-1 if axis == 3 else axis)
    return type(layer).__name__, config


def randomize_batch_norm(model, rng):
    """Random BN statistics and affine terms, so copied weights are really tested."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.set_weights(
                [
                    rng.uniform(-0.2, 0.2, w.shape).astype("float32") if "mean" in w.path or "beta" in w.path
                    else rng.uniform(0.5, 1.5, w.shape).astype("float32")
                    for w in layer.weights
                ]
            )


def randomize_weights(model, seed, skip=()):
    """Random values for every weight (BN variances and gammas positive), so a
    copy is really tested; layers of the ``skip`` classes keep theirs."""
    import numpy as np

    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, skip) or not layer.weights:
            continue
        values = [rng.normal(0.0, 0.05, w.shape).astype("float32") for w in layer.weights]
        if isinstance(layer, keras.layers.BatchNormalization):
            values = [np.abs(v) + 0.5 if "variance" in w.path or "gamma" in w.path else v
                      for v, w in zip(values, layer.weights)]
        layer.set_weights(values)
    return model


def save_legacy_h5(model, path):
    """Write ``model``'s weights as keras.applications' ImageNet files are: legacy
    .h5, which Keras loads by the order of the weighted layers, not by name."""
    with h5py.File(path, "w") as handle:
        legacy_h5_format.save_weights_to_hdf5_group(handle, model)
    return path
