"""The keras.applications twin table and the one parity helper, shared by the
twin sweep (test_keras_applications_parity.py), keras.applications' own cases
(test_keras_applications_cases.py) and the family tests.

``TWINS``: every model both we and keras.applications have, as ``Twin(name,
builder, side, module, features)``: our registry name; the builder's name, the
same in ``keras_cv_course.models`` and ``keras.applications``; the side of a
small input both accept (fast to build and run); the keras.applications module
of its ``preprocess_input``/``decode_predictions`` (``keras_cv_course.applications``
has a module of that name); the channels of its ``include_top=False`` output
(``last_dim`` of keras.applications' own test table).

``assert_same_architecture(ours, theirs)``: the two models have the same
layers in the same order, each of the same class with the same options and
weight shapes; the same name wherever Keras names the layer itself, and the
same name or one that is not automatic where Keras's name looks automatic
(``automatically_named``); the same input and output shapes. It returns those
``(our name, Keras's name)`` pairs where Keras's looks automatic, input layers
left out, so a family test can say which they are.
"""

import collections
import re

import h5py
import keras
from keras.src.legacy.saving import legacy_h5_format
from keras.src.utils.naming import to_snake_case

from keras_cv_course import models
from keras_cv_course.blocks.mobile import ImageNormalization

Twin = collections.namedtuple("Twin", "name builder side module features")

EFFICIENTNET_FEATURES = (1280, 1280, 1408, 1536, 1792, 2048, 2304, 2560)
TWINS = (
    Twin("vgg16", "VGG16", 32, "vgg16", 512), Twin("vgg19", "VGG19", 32, "vgg19", 512),
    Twin("resnet50", "ResNet50", 64, "resnet50", 2048), Twin("resnet101", "ResNet101", 32, "resnet", 2048),
    Twin("resnet152", "ResNet152", 32, "resnet", 2048),
    Twin("resnet50_v2", "ResNet50V2", 64, "resnet_v2", 2048),
    Twin("resnet101_v2", "ResNet101V2", 32, "resnet_v2", 2048),
    Twin("resnet152_v2", "ResNet152V2", 32, "resnet_v2", 2048),
    Twin("densenet121", "DenseNet121", 64, "densenet", 1024),
    Twin("densenet169", "DenseNet169", 32, "densenet", 1664),
    Twin("densenet201", "DenseNet201", 32, "densenet", 1920),
    Twin("mobilenet", "MobileNet", 64, "mobilenet", 1024), Twin("mobilenet_v2", "MobileNetV2", 64, "mobilenet_v2", 1280),
    Twin("inception_v3", "InceptionV3", 75, "inception_v3", 2048),
) + tuple(Twin(f"efficientnet_b{i}", f"EfficientNetB{i}", 32, "efficientnet", features)
          for i, features in enumerate(EFFICIENTNET_FEATURES))
TWIN = {twin.name: twin for twin in TWINS}
TWIN_IDS = [twin.name for twin in TWINS]

# Input normalization: Keras's EfficientNet keeps ImageNet statistics in a
# Normalization layer; ours in ImageNormalization (the same weights, read at every call).
NORMALIZING = (keras.layers.Normalization, keras.layers.Rescaling, ImageNormalization)


def shapes_only():
    """A scope in which models build with shapes but no weight values: Keras's
    ``StatelessScope`` initializes every variable made in it when it ends, unless
    ``initialize_variables=False`` (the uninitialized variables are then dropped
    by the ``keras.backend.clear_session()`` that tests/conftest.py runs after
    each test). EfficientNetB7 builds in a quarter of the time."""
    return keras.StatelessScope(initialize_variables=False)


def twins(*names):
    """The rows of ``TWINS`` named (all of them without names), in table order."""
    missing = set(names) - set(TWIN)
    assert not missing, f"not in TWINS: {sorted(missing)}"
    return [twin for twin in TWINS if not names or twin.name in names]


def ours_of(twin):
    """Our builder of ``twin`` (a ``Twin`` or registry name)."""
    return getattr(models, (TWIN[twin] if isinstance(twin, str) else twin).builder)


def theirs_of(twin):
    """keras.applications' builder of ``twin`` (a ``Twin`` or registry name)."""
    return getattr(keras.applications, (TWIN[twin] if isinstance(twin, str) else twin).builder)


def build_twins(twin, **kwargs):
    """``(ours, theirs)`` built with the same arguments (``weights=None``)."""
    return ours_of(twin)(**kwargs), theirs_of(twin)(weights=None, **kwargs)


def layer_options(layer):
    """A layer's class and config without its name; channel axis 3 written as -1."""
    config = {k: v for k, v in layer.get_config().items() if k != "name"}
    if "axis" in config:
        axis = config["axis"]
        config["axis"] = [-1 if a == 3 else a for a in axis] if isinstance(axis, list) else (-1 if axis == 3 else axis)
    return type(layer).__name__, config


def automatically_named(layer):
    """Whether ``layer`` has the name Keras gives a layer built without one
    (its class in snake case, with a ``_<n>`` suffix after the first)."""
    return re.fullmatch(re.escape(to_snake_case(type(layer).__name__)) + r"(_\d+)?", layer.name) is not None


def _normalizing_pair(mine, keras_layer):
    return isinstance(mine, ImageNormalization) and isinstance(keras_layer, keras.layers.Normalization)


def assert_same_architecture(ours, theirs):
    """Assert that ``ours`` is ``theirs`` layer for layer (module docstring);
    return the ``(our name, Keras's name)`` pairs where Keras's looks automatic,
    input layers left out."""
    assert (ours.input_shape, ours.output_shape) == (theirs.input_shape, theirs.output_shape)
    assert len(ours.layers) == len(theirs.layers), (len(ours.layers), len(theirs.layers))
    renamed = []
    for mine, keras_layer in zip(ours.layers, theirs.layers):
        where = f"{mine.name} / {keras_layer.name}"
        if _normalizing_pair(mine, keras_layer):
            pass  # different classes of the same computation; the weight shapes below still agree
        elif isinstance(keras_layer, keras.layers.InputLayer):
            assert isinstance(mine, keras.layers.InputLayer), where
        else:
            assert layer_options(mine) == layer_options(keras_layer), where
        assert [tuple(w.shape) for w in mine.weights] == [tuple(w.shape) for w in keras_layer.weights], where
        if automatically_named(keras_layer):
            # Keras's name looks automatic (or is given explicitly as one, VGG's "flatten"):
            # ours is the same name or one of its own.
            assert mine.name == keras_layer.name or not automatically_named(mine), f"{where}: ours is automatic"
            if not isinstance(keras_layer, keras.layers.InputLayer):
                renamed.append((mine.name, keras_layer.name))
        else:
            assert mine.name == keras_layer.name, where
    return renamed


def randomize_batch_norm(model, rng):
    """Random BN statistics and affine terms, so copied weights are really tested;
    a Keras ``Normalization`` gets the ImageNet statistics (and its snapshot of them)."""
    import numpy as np

    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.set_weights(
                [
                    rng.uniform(-0.2, 0.2, w.shape).astype("float32") if "mean" in w.path or "beta" in w.path
                    else rng.uniform(0.5, 1.5, w.shape).astype("float32")
                    for w in layer.weights
                ]
            )
        elif isinstance(layer, keras.layers.Normalization):
            layer.set_weights([np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225]), np.array(0)])
            layer.finalize_state()  # Keras's Normalization keeps snapshots of its weights


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
