"""The registry-wide sweep (../shared/DESIGN.md §7): every registered model builds
at its default input with the recorded parameter count, builds at a small input,
has no automatically named layer, survives a .keras round trip with
safe_mode=True, and its feature taps have the recorded channels and strides.

The sweep is task-aware (``info.task``): ``expected_output_shape`` and
``headless_kwargs`` say what a model of each task outputs and how it is built
without its top, and fail loudly for a task they do not know yet, so a new kind
of head is swept like the classifiers once its task is added there."""

import re
import types

import keras
import numpy as np
import pytest

from keras_cv_course import models
from keras_cv_course.models import registry

ALL_MODELS = models.list_models()


def all_layers(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from all_layers(layer)


def small_size(info):
    """A small input side that every stride of the network divides."""
    return max(64, -(-info.min_size // 32) * 32)


ANY = object()  # a dimension expected_output_shape cannot predict
SSD_FAMILIES = ("ssd", "ssd_detector")  # detectors whose outputs are per default box, not per cell


def expected_output_shape(info, input_shape, **build_kwargs):
    """The output shape (batch None) of ``get_model(info.name, input_shape=input_shape,
    **build_kwargs)``, from the registry facts and the task; ANY marks a dimension
    that is not predicted. An unknown task fails the test."""
    classes = build_kwargs.get("classes", info.classes)
    height, width = input_shape[:2]
    if info.task == "classification":
        if build_kwargs.get("include_top", True):
            return (None, classes)
        return (None, ANY) if build_kwargs.get("pooling") in ("avg", "max") else (None, ANY, ANY, ANY)
    if info.task == "segmentation":
        return (None, height, width, classes)
    if info.task == "detection":  # test_detector_outputs_are_named_after_its_head_and_decode checks the head
        if info.family in SSD_FAMILIES and build_kwargs.get("include_top", True):
            return (None, ANY, 4)  # SSD's "boxes": 4 deltas per default box of every map
        return (None, ANY, ANY, ANY)  # a dense map: the features, or a per-cell head output
    pytest.fail(f"{info.name}: the registry sweep has no expected output shape for task {info.task!r}; "
                "add it to expected_output_shape in tests/models/test_registry.py")


def headless_kwargs(info):
    """Builder keyword arguments that drop the model's top (only the part that
    must refuse a too-small input remains); an unknown task fails the test."""
    if info.task == "classification":
        return {"include_top": False}
    if info.task == "segmentation":
        return {}
    if info.task == "detection":
        return {"include_top": False}
    pytest.fail(f"{info.name}: the registry sweep does not know how to build a {info.task!r} model without its top; "
                "add it to headless_kwargs in tests/models/test_registry.py")


def assert_shape(actual, expected):
    """``actual`` equals ``expected`` where ``expected`` is not ANY."""
    actual = tuple(actual)
    assert len(actual) == len(expected) and all(e is ANY or a == e for a, e in zip(actual, expected)), (actual, expected)


def first_output_shape(model):
    return model.output_shape if not isinstance(model.output_shape, list) else model.output_shape[0]


def first_output(model, outputs):
    """The output ``first_output_shape`` describes, as numpy (a dict output: its first name)."""
    if isinstance(outputs, dict):
        outputs = outputs[model.output_names[0]]
    return keras.ops.convert_to_numpy(outputs)


def random_images(shape, batch=2):
    return np.random.default_rng(0).uniform(0, 1, (batch,) + tuple(shape)).astype("float32")


def test_registry_is_populated_and_sorted():
    assert len(ALL_MODELS) >= 15
    assert ALL_MODELS == sorted(ALL_MODELS)
    assert models.list_models("vgg1?") == ["vgg11", "vgg13", "vgg16", "vgg19"]
    assert all(re.match(r"^[a-z][a-z0-9_]*$", name) for name in ALL_MODELS)


def test_registry_refuses_duplicates_and_bad_names():
    with pytest.raises(ValueError, match="already registered"):
        registry.register("vgg16", models.VGG16, family="vgg", paper="", input_shape=(224, 224, 3),
                          min_size=32, params=0, preprocessing="caffe")
    with pytest.raises(ValueError, match="snake case"):
        registry.register("VGG-16", models.VGG16, family="vgg", paper="", input_shape=(224, 224, 3),
                          min_size=32, params=0, preprocessing="caffe")


def test_unknown_model_name_suggests_close_names():
    with pytest.raises(ValueError, match=r"Unknown model name 'vgg61'.*vgg16"):
        models.get_model("vgg61")


def test_named_taps_share_a_stride_with_the_primary_tap_and_must_be_unique():
    primary = models.FeatureTap("P4", "block5_conv3", 512, 16)
    named = models.FeatureTap("P4", "block4_pool", 512, 16, name="pool4")
    assert (primary.key, named.key) == ("P4", "pool4")
    info = registry.ModelInfo("m", None, "f", "", (64, 64, 3), 32, 0, "unit", taps=(primary, named))
    assert info.tap("pool4") is named and info.tap("P4") is primary
    with pytest.raises(ValueError, match=r"more than one feature tap called \['P4'\]"):
        registry.ModelInfo("m", None, "f", "", (64, 64, 3), 32, 0, "unit", taps=(primary, primary))
    with pytest.raises(ValueError, match="cannot be called like a level"):
        models.FeatureTap("P4", "x", 8, 16, name="P3")


def test_feature_tap_level_must_match_stride():
    with pytest.raises(ValueError, match="stride"):
        models.FeatureTap(level="P3", layer="x", channels=8, stride=16)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_default_build_matches_registry(name, flag_automatic_names):
    info = models.model_info(name)
    with keras.StatelessScope():  # shapes and names only: no weight is allocated
        model = models.get_model(name)
    assert model.count_params() == info.params
    assert model.input_shape[1:] == info.input_shape
    assert_shape(first_output_shape(model), expected_output_shape(info, info.input_shape))
    automatic = [layer.name for layer in all_layers(model) if layer.name.startswith(flag_automatic_names)]
    assert automatic == [], f"{name} has automatically named layers: {automatic[:10]}"
    assert info.preprocessing in models.preprocessing.MODES


@pytest.mark.parametrize("name", ALL_MODELS)
def test_small_input_build_taps_and_keras_file_round_trip(name, tmp_path):
    """One small build per model serves three checks: output shape, every feature
    tap's channels and spatial size (input / stride), and the .keras round trip."""
    info = models.model_info(name)
    size = small_size(info)
    shape = (size, size, info.input_shape[-1])
    model = models.get_model(name, input_shape=shape, classes=7)
    images = random_images(shape)
    expected = first_output(model, model(images, training=False))  # eager: no graph tracing
    assert_shape(first_output_shape(model), expected_output_shape(info, shape, classes=7))
    assert_shape(expected.shape, (2,) + expected_output_shape(info, shape, classes=7)[1:])
    assert np.all(np.isfinite(expected))
    if info.taps:
        extractor = models.feature_extractor(model, [tap.key for tap in info.taps])
        for tap in info.taps:
            assert extractor.output[tap.key].shape == (None, size // tap.stride, size // tap.stride, tap.channels), tap
    path = tmp_path / f"{name}.keras"
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(first_output(restored, restored(images, training=False)), expected, atol=1e-6)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_input_below_minimum_is_refused(name):
    info = models.model_info(name)
    too_small = info.min_size - 1
    with pytest.raises(ValueError, match=rf"too small.*at least {info.min_size}x{info.min_size}"):
        models.get_model(name, input_shape=(too_small, too_small, info.input_shape[-1]), **headless_kwargs(info))


@pytest.mark.parametrize("name", ALL_MODELS)
def test_task_is_known_and_backbone_is_registered(name):
    info = models.model_info(name)  # refuses a backbone that is not registered
    assert info.task in registry.TASKS
    assert info.backbone is None or info.backbone in ALL_MODELS


def test_registry_refuses_unknown_task_and_bad_backbone():
    facts = dict(family="test", paper="", input_shape=(32, 32, 3), min_size=32, params=0, preprocessing="unit")
    with pytest.raises(ValueError, match=r"task must be one of classification, detection, segmentation; got 'pose'"):
        registry.register("test_pose_head", models.VGG16, task="pose", **facts)
    for bad in ("VGG-16", 16, ""):
        with pytest.raises(ValueError, match="backbone must be a registered model's name"):
            registry.register("test_head", models.VGG16, task="segmentation", backbone=bad, **facts)
    assert "test_pose_head" not in registry._REGISTRY and "test_head" not in registry._REGISTRY


def test_backbone_is_checked_when_the_head_is_looked_up(monkeypatch):
    facts = dict(family="test", paper="", input_shape=(32, 32, 3), min_size=32, params=0, preprocessing="unit")
    head = registry.ModelInfo(name="test_head", builder=models.VGG16, task="segmentation", backbone="vgg61", **facts)
    monkeypatch.setitem(registry._REGISTRY, "test_head", head)
    with pytest.raises(ValueError, match=r"'test_head' is registered on backbone 'vgg61'.*vgg16"):
        models.model_info("test_head")


DETECTORS = [name for name in ALL_MODELS if models.model_info(name).task == "detection"]


@pytest.mark.parametrize("name", DETECTORS)
def test_detector_outputs_are_named_after_its_head_and_decode(name):
    """A registered detector names its head (``detection.heads.register_model_head``),
    its outputs are that head's loss keys, and the head decodes its outputs into
    padded detections of the evaluation format."""
    from keras_cv_course.detection import heads

    info = models.model_info(name)
    size = small_size(info)
    model = models.get_model(name, input_shape=(size, size, info.input_shape[-1]), classes=3)
    head = heads.head_for_model(model)
    assert head is not None and head.num_classes == 3
    assert sorted(head.losses()) == sorted(model.output_names)
    found = head.decode(model(random_images((size, size, info.input_shape[-1])), training=False), (size, size))
    assert set(found) == {"boxes", "scores", "classes"} and found["boxes"].shape[:1] == (2,)
    assert np.all(found["classes"] < 3)


def test_sweep_helpers_know_each_task_and_fail_loudly_on_others():
    info = types.SimpleNamespace(name="m", classes=5, task="classification")
    assert expected_output_shape(info, (32, 48, 3)) == (None, 5)
    assert expected_output_shape(info, (32, 48, 3), classes=7, include_top=False, pooling="avg") == (None, ANY)
    info.task = "segmentation"
    assert expected_output_shape(info, (32, 48, 3), classes=21) == (None, 32, 48, 21)
    info.task = "pose"
    with pytest.raises(pytest.fail.Exception, match="no expected output shape for task 'pose'"):
        expected_output_shape(info, (32, 48, 3))
    with pytest.raises(pytest.fail.Exception, match="without its top"):
        headless_kwargs(info)


def test_feature_extractor_finds_backbone_nested_in_sequential():
    base = models.VGG16(include_top=False, input_shape=(64, 64, 3))
    classifier = keras.Sequential([base, keras.layers.Flatten(name="flat"), keras.layers.Dense(2, name="out")])
    extractor = models.feature_extractor(classifier, ["P3", "P5"])
    features = extractor(random_images((64, 64, 3)))
    assert set(features) == {"P3", "P5"}
    assert tuple(features["P3"].shape) == (2, 8, 8, 512)
    np.testing.assert_allclose(
        features["P5"], base(random_images((64, 64, 3))), atol=1e-5
    )


def test_feature_extractor_lists_available_levels_on_bad_level():
    with pytest.raises(ValueError, match=r"no feature level 'P7'.*P1, P2, P3, P4, P5"):
        models.feature_extractor("vgg11", ["P3", "P7"], input_shape=(64, 64, 3))


def test_feature_extractor_refuses_unregistered_model():
    plain = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3, name="c")], name="mine")
    with pytest.raises(ValueError, match="not a registered backbone"):
        models.feature_extractor(plain, ["P3"])
