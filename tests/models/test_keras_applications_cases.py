"""keras.applications' own parametrized cases, run on our builders over the twin
table (``_keras_parity.TWINS``).

keras/src/applications/applications_test.py (Keras 3.15.1) checks every
application in both image data formats; here each of its cases runs for every
twin, in both formats (``keras.config.set_image_data_format``, restored after
each test), calling our builder by its keras.applications name
(``getattr(keras_cv_course.models, twin.builder)``):

- ``test_application_notop_variable_input_channels``: 1 and 4 channels,
  ``include_top=False``, ``input_shape=(None, None, c)`` (``(c, None, None)``):
  the output is ``(None, None, None, features)`` (``(None, features, None, None)``);
- ``test_application_notop_custom_input_shape``: 123×123; Keras checks the
  channels, here the whole output shape is keras.applications' (its
  channels_last model at the same size, transposed for channels_first);
- ``test_application_notop_custom_input_tensor``: a Conv2D(3, 2, strides=2)
  on a 4-channel 200×200 ``Input`` as ``input_tensor``; as above, and the
  model's input is that ``Input``;
- ``test_application_pooling``: ``pooling="max"`` gives ``(None, features)``;
- ``test_application_classifier_activation``: ``classifier_activation="softmax"``
  is the last layer's activation (Keras runs it in one format, here both).

keras.applications skips DenseNet in channels_first; here it runs. Then
``preprocess_input`` and ``decode_predictions`` of every
``keras_cv_course.applications.<module>`` (the twins' keras.applications
module names) give what ``keras.applications.<module>``'s do on the same random
input. Keras would download its ImageNet class index for
``decode_predictions``: it gets the one this package ships
(keras_cv_course/data/imagenet_class_index.json) through
``keras.src.applications.imagenet_utils.CLASS_INDEX``.

Not run, because they need downloads: ``test_application_base`` (the ImageNet
weights of every application, ``weights="imagenet"``, and Keras's elephant test
image: the top-3 prediction names "African_elephant", then a serialization
round trip). Models are built in ``_keras_parity.shapes_only()``: only shapes
matter, and no weight is allocated (EfficientNetB7 then builds in about a
quarter of the time).
"""

import contextlib
import functools
import importlib
import json
import os

import keras
import numpy as np
import pytest

from _keras_parity import TWINS, TWIN_IDS, shapes_only
from keras_cv_course import models

MODULES = list(dict.fromkeys(twin.module for twin in TWINS))  # the keras.applications modules, in table order


@contextlib.contextmanager
def image_data_format(data_format):
    """``keras.config.image_data_format()`` is ``data_format`` inside, what it was after."""
    before = keras.config.image_data_format()
    keras.config.set_image_data_format(data_format)
    try:
        yield data_format
    finally:
        keras.config.set_image_data_format(before)


@pytest.fixture(params=["channels_last", "channels_first"])
def data_format(request):
    with image_data_format(request.param):
        yield request.param


def build(twin, **kwargs):
    """Our ``twin`` built as keras.applications' test builds it (``weights=None``), shapes only."""
    with shapes_only():
        return getattr(models, twin.builder)(weights=None, **kwargs)


def image_shape(data_format, side, channels):
    return (channels, side, side) if data_format == "channels_first" else (side, side, channels)


@functools.lru_cache(maxsize=None)
def keras_notop_shape(builder, side):
    """keras.applications' ``include_top=False`` output shape at ``side``×``side``×3, channels_last."""
    with image_data_format("channels_last"), shapes_only():
        return tuple(getattr(keras.applications, builder)(weights=None, include_top=False,
                                                         input_shape=(side, side, 3)).output.shape)


def in_format(shape, data_format):
    """A channels_last ``(None, H, W, C)`` shape in ``data_format``."""
    return (shape[0], shape[3], shape[1], shape[2]) if data_format == "channels_first" else shape


@pytest.mark.parametrize("twin", TWINS, ids=TWIN_IDS)
def test_application_notop_variable_input_channels(twin, data_format):
    expected = in_format((None, None, None, twin.features), data_format)
    for channels in (1, 4):
        model = build(twin, include_top=False, input_shape=image_shape(data_format, None, channels))
        assert tuple(model.outputs[0].shape) == expected, channels


@pytest.mark.parametrize("twin", TWINS, ids=TWIN_IDS)
def test_application_notop_custom_input_shape(twin, data_format):
    model = build(twin, include_top=False, input_shape=image_shape(data_format, 123, 3))
    output_shape = tuple(model.outputs[0].shape)
    assert output_shape[1 if data_format == "channels_first" else -1] == twin.features
    assert output_shape == in_format(keras_notop_shape(twin.builder, 123), data_format)


@pytest.mark.parametrize("twin", TWINS, ids=TWIN_IDS)
def test_application_notop_custom_input_tensor(twin, data_format):
    with shapes_only():
        inputs_custom = keras.Input(shape=image_shape(data_format, 200, 4), name="custom_input")
        inputs_custom = keras.layers.Conv2D(3, (2, 2), padding="valid", strides=(2, 2))(inputs_custom)
    model = build(twin, include_top=False, input_tensor=inputs_custom)
    output_shape = tuple(model.outputs[0].shape)
    assert output_shape[1 if data_format == "channels_first" else -1] == twin.features
    assert output_shape == in_format(keras_notop_shape(twin.builder, 100), data_format)
    assert [x.name for x in model.inputs] == ["custom_input"]


@pytest.mark.parametrize("twin", TWINS, ids=TWIN_IDS)
def test_application_pooling(twin, data_format):
    model = build(twin, include_top=False, pooling="max")
    assert tuple(model.outputs[0].shape) == (None, twin.features)


@pytest.mark.parametrize("twin", TWINS, ids=TWIN_IDS)
def test_application_classifier_activation(twin, data_format):
    model = build(twin, include_top=True, classifier_activation="softmax")
    assert model.layers[-1].activation.__name__ == "softmax"


def test_the_table_is_keras_own():
    """The twins' feature channels are ``last_dim`` of Keras's test table; each
    module of ours carries the builders keras.applications' module of that name does."""
    keras_cases = pytest.importorskip("keras.src.applications.applications_test")
    last_dim = {app.__name__: dim for app, dim, _ in keras_cases.MODEL_LIST}
    assert {twin.builder: twin.features for twin in TWINS} == {twin.builder: last_dim[twin.builder] for twin in TWINS}
    for twin in TWINS:
        ours = importlib.import_module(f"keras_cv_course.applications.{twin.module}")
        assert hasattr(getattr(keras.applications, twin.module), twin.builder)
        assert getattr(ours, twin.builder) is getattr(models, twin.builder), twin


def both(module):
    """``(ours, theirs)``: keras_cv_course.applications.<module> and keras.applications.<module>."""
    return importlib.import_module(f"keras_cv_course.applications.{module}"), getattr(keras.applications, module)


def assert_same_result(got, expected):
    got, expected = keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(expected)
    assert (got.shape, got.dtype) == (expected.shape, expected.dtype)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-5)


PREPROCESS_CASES = ("batch", "batch_data_format", "one_image", "other_data_format", "uint8", "float64", "tensor")


def preprocess_input_case(case, data_format, seed):
    """``(x, kwargs)`` of one call: a float32 batch in the global format (``data_format=None``),
    the same with the format given, one 3D image, a batch in the other format given as
    ``data_format``, uint8 and float64 batches, a backend tensor."""
    rng = np.random.default_rng(seed)
    batch = rng.uniform(0, 255, (2,) + image_shape(data_format, 5, 3)).astype("float32")
    if case == "batch_data_format":
        return batch, {"data_format": data_format}
    if case == "one_image":
        return batch[0], {}
    if case == "other_data_format":
        if data_format == "channels_first":
            return np.moveaxis(batch, 1, -1), {"data_format": "channels_last"}
        return np.moveaxis(batch, -1, 1), {"data_format": "channels_first"}
    if case == "uint8":
        return rng.integers(0, 256, batch.shape).astype("uint8"), {}
    if case == "float64":
        return batch.astype("float64"), {}
    return batch, {}


@pytest.mark.parametrize("case", PREPROCESS_CASES)
@pytest.mark.parametrize("module", MODULES)
def test_preprocess_input_is_keras_own(module, case, data_format):
    ours, theirs = both(module)
    x, kwargs = preprocess_input_case(case, data_format, seed=len(module))
    if case == "tensor":
        got = ours.preprocess_input(keras.ops.convert_to_tensor(x), **kwargs)
        expected = theirs.preprocess_input(keras.ops.convert_to_tensor(x), **kwargs)
    else:  # Keras writes over a float NumPy input: each side gets its own copy
        got, expected = ours.preprocess_input(x.copy(), **kwargs), theirs.preprocess_input(x.copy(), **kwargs)
    assert isinstance(got, np.ndarray) == isinstance(expected, np.ndarray)
    assert_same_result(got, expected)


@pytest.fixture
def keras_class_index(monkeypatch):
    """Keras's decode_predictions reads the class index this package ships (instead of downloading its own)."""
    from keras.src.applications import imagenet_utils

    import keras_cv_course.data

    with open(os.path.join(os.path.dirname(keras_cv_course.data.__file__), "imagenet_class_index.json")) as handle:
        index = json.load(handle)
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX", index)
    return index


@pytest.mark.parametrize("module", MODULES)
def test_decode_predictions_is_keras_own(module, keras_class_index):
    ours, theirs = both(module)
    preds = np.random.default_rng(len(module)).dirichlet(np.ones(1000), size=3).astype("float32")
    assert len(keras_class_index) == 1000
    assert ours.decode_predictions(preds) == theirs.decode_predictions(preds)
    for top in (1, 3, 10):
        assert ours.decode_predictions(preds, top=top) == theirs.decode_predictions(preds, top=top)
    tensor = keras.ops.convert_to_tensor(preds)
    assert ours.decode_predictions(tensor, top=2) == theirs.decode_predictions(tensor, top=2)
    for bad in (preds[:, :10], preds[0]):
        with pytest.raises(ValueError, match="expects a batch of predictions"):
            theirs.decode_predictions(bad)
        with pytest.raises(ValueError):
            ours.decode_predictions(bad)
