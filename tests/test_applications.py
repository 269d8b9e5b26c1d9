"""keras_cv_course.applications against keras.applications itself: every mode,
data format, rank and dtype of ``preprocess_input``; each family module against
Keras's module of the same name; ``decode_predictions`` against Keras's reading
the shipped class index (Keras checks its md5 itself); the shipped file; the
refusals; ``models.preprocess_input(x, model=...)``; ``kcc predict`` naming
ImageNet classes."""

import functools
import hashlib
import inspect
import json
import re
import shutil

import keras
import numpy as np
import pytest
from keras.src.applications import imagenet_utils as keras_imagenet_utils
from keras.src.utils import file_utils

from keras_cv_course import applications, cli, models
from keras_cv_course import preprocessing as leaf
from keras_cv_course.applications import imagenet_utils

KERAS_MODES = ("caffe", "tf", "torch")
SHAPES = {  # (rank, data_format) -> a non-square shape, so a wrong axis shows
    (3, "channels_last"): (5, 7, 3), (3, "channels_first"): (3, 5, 7),
    (4, "channels_last"): (2, 5, 7, 3), (4, "channels_first"): (2, 3, 5, 7),
}


def pixels(shape, dtype, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=shape).astype(dtype)


@pytest.fixture
def keras_decode(monkeypatch, tmp_path):
    """keras.applications' ``decode_predictions``, finding the shipped class index
    in a Keras cache (so no download) and checking its md5 itself."""
    (tmp_path / "models").mkdir()
    shutil.copy(imagenet_utils.CLASS_INDEX_PATH, tmp_path / "models" / "imagenet_class_index.json")
    monkeypatch.setattr(file_utils, "get_file", functools.partial(file_utils.get_file, cache_dir=str(tmp_path)))
    monkeypatch.setattr(keras_imagenet_utils, "CLASS_INDEX", None)
    return keras.applications.imagenet_utils.decode_predictions


# (a) imagenet_utils.preprocess_input is keras.applications.imagenet_utils.preprocess_input

@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("rank, data_format", sorted(SHAPES))
@pytest.mark.parametrize("mode", KERAS_MODES)
def test_preprocess_input_equals_keras_on_numpy(mode, rank, data_format, dtype):
    x = pixels(SHAPES[rank, data_format], dtype)
    before = x.copy()
    ours = imagenet_utils.preprocess_input(x, data_format=data_format, mode=mode)
    theirs = keras.applications.imagenet_utils.preprocess_input(x.copy(), data_format=data_format, mode=mode)
    assert isinstance(ours, np.ndarray) and ours.dtype == np.float32 and ours.shape == x.shape
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(x, before)  # Keras writes over float input; ours never does


@pytest.mark.parametrize("rank, data_format", sorted(SHAPES))
@pytest.mark.parametrize("mode", KERAS_MODES)
def test_preprocess_input_equals_keras_on_tensors(mode, rank, data_format):
    x = keras.ops.convert_to_tensor(pixels(SHAPES[rank, data_format], "float32"))
    ours = imagenet_utils.preprocess_input(x, data_format=data_format, mode=mode)
    theirs = keras.applications.imagenet_utils.preprocess_input(x, data_format=data_format, mode=mode)
    assert keras.ops.is_tensor(ours) and not isinstance(ours, np.ndarray) and ours.dtype == "float32"
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(ours), keras.ops.convert_to_numpy(theirs))


@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
def test_data_format_none_follows_the_keras_setting(data_format):
    x = pixels(SHAPES[4, data_format], "float32")
    saved = keras.config.image_data_format()
    keras.config.set_image_data_format(data_format)
    try:
        ours = imagenet_utils.preprocess_input(x, mode="caffe")
        theirs = keras.applications.imagenet_utils.preprocess_input(x.copy(), mode="caffe")
    finally:
        keras.config.set_image_data_format(saved)
    np.testing.assert_array_equal(ours, theirs)


def test_preprocess_input_works_on_symbolic_inputs_in_a_model():
    inputs = keras.Input((5, 7, 3))
    model = keras.Model(inputs, imagenet_utils.preprocess_input(inputs, mode="torch"))
    x = pixels((2, 5, 7, 3), "float32")
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               keras.applications.imagenet_utils.preprocess_input(x.copy(), mode="torch"), atol=1e-6)


# (b) each family module is keras.applications' module of the same name

@pytest.mark.parametrize("name", applications.KERAS_MODULES)
def test_family_module_preprocess_input_equals_keras(name):
    ours, theirs = getattr(applications, name), getattr(keras.applications, name)
    for data_format in ("channels_first", "channels_last"):
        for rank in (3, 4):
            x = pixels(SHAPES[rank, data_format], "float32", seed=rank)
            expected = np.asarray(theirs.preprocess_input(x.copy(), data_format=data_format), np.float32)
            got = ours.preprocess_input(x, data_format=data_format)
            assert isinstance(got, np.ndarray) and got.dtype == np.float32
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name", applications.KERAS_MODULES)
def test_family_module_has_kerass_builders_and_decodes_like_keras(name, keras_decode):
    ours, theirs = getattr(applications, name), getattr(keras.applications, name)
    builders = [n for n in dir(theirs) if n[0].isupper() and callable(getattr(theirs, n))]
    assert builders and all(getattr(ours, n) is getattr(models, n) for n in builders)
    assert ours.decode_predictions is imagenet_utils.decode_predictions
    preds = np.random.default_rng(1).random((2, 1000)).astype("float32")
    assert ours.decode_predictions(preds, top=3) == keras_decode(preds, top=3)


@pytest.mark.parametrize("name", applications.KERAS_MODULES + applications.OWN_MODULES)
def test_family_module_uses_the_mode_its_builders_record(name):
    """Every builder of the module, built as registered without fixed options,
    records the mode the module's preprocess_input applies."""
    module = getattr(applications, name)
    builders = [getattr(module, n) for n in module.__all__ if n[0].isupper()]
    recorded = {models.model_info(entry).preprocessing for entry in models.list_models()
                if models.model_info(entry).builder in builders and not models.model_info(entry).kwargs}
    assert recorded == {module.preprocess_input.mode}
    x = pixels((1, 5, 7, 3), "uint8")
    np.testing.assert_array_equal(module.preprocess_input(x, data_format="channels_last"),
                                  imagenet_utils.preprocess_input(x, "channels_last", module.preprocess_input.mode))
    assert module.preprocess_input.__doc__ and module.__doc__


# (c) decode_predictions is Keras's

@pytest.mark.parametrize("top", [1, 3, 5])
def test_decode_predictions_equals_keras(top, keras_decode):
    logits = np.random.default_rng(top).normal(size=(4, 1000)).astype("float32")
    for preds in (logits, keras.ops.softmax(logits), np.round(logits, 1)):  # tensors, and ties Keras orders its way
        ours, theirs = imagenet_utils.decode_predictions(preds, top=top), keras_decode(preds, top=top)
        assert ours == theirs and len(ours) == 4 and all(len(row) == top for row in ours)
        assert all(isinstance(entry, tuple) and len(entry) == 3 for row in ours for entry in row)


# (d) the shipped class index is Keras's file

def test_shipped_class_index_is_kerass_file():
    keras_hash = re.search(r'file_hash="([0-9a-f]{32})"', inspect.getsource(keras_imagenet_utils)).group(1)
    with open(imagenet_utils.CLASS_INDEX_PATH, "rb") as file:
        content = file.read()
    assert hashlib.md5(content).hexdigest() == keras_hash == imagenet_utils.CLASS_INDEX_MD5
    index = json.loads(content)
    classes = imagenet_utils.imagenet_classes()
    assert len(index) == len(classes) == 1000 and [list(c) for c in classes] == [index[str(i)] for i in range(1000)]
    assert classes[0] == ("n01440764", "tench") and classes[386][1] == "African_elephant"
    assert classes[999] == ("n15075141", "toilet_tissue") and len({wnid for wnid, _ in classes}) == 1000


def test_the_class_index_is_packaged():
    import tomllib

    with open(imagenet_utils.CLASS_INDEX_PATH.rsplit("keras_cv_course", 1)[0] + "pyproject.toml", "rb") as file:
        package_data = tomllib.load(file)["tool"]["setuptools"]["package-data"]["keras_cv_course"]
    assert "data/*.json" in package_data


# (e) refusals

@pytest.mark.parametrize("shape", [(1000,), (2, 10), (2, 1000, 1), (1, 1001)])
def test_decode_predictions_refuses_other_shapes(shape):
    with pytest.raises(ValueError, match=re.escape(f"got an array of shape {shape}")):
        imagenet_utils.decode_predictions(np.zeros(shape, "float32"))


def test_decode_predictions_refuses_a_bad_top():
    for top in (0, -1, 2.5):
        with pytest.raises(ValueError, match="top must be a positive integer"):
            imagenet_utils.decode_predictions(np.zeros((1, 1000)), top=top)


def test_unknown_mode_and_data_format_are_refused_naming_value_and_choices():
    x = pixels((4, 4, 3), "uint8")
    with pytest.raises(ValueError, match=r"Unknown preprocessing mode 'bgr'.*'caffe', 'tf', 'torch'"):
        imagenet_utils.preprocess_input(x, mode="bgr")
    with pytest.raises(ValueError, match=r"Unknown data_format 'nhwc'.*'channels_first', 'channels_last'"):
        imagenet_utils.preprocess_input(x, data_format="nhwc")
    with pytest.raises(ValueError, match=r"3-D image or a 4-D batch.*\(4, 4\)"):
        imagenet_utils.preprocess_input(x[..., 0])
    with pytest.raises(ValueError, match="needs 3 channels; got images with 4"):
        imagenet_utils.preprocess_input(pixels((2, 4, 4, 4), "uint8"), mode="caffe")


def test_a_corrupted_or_missing_class_index_is_refused(tmp_path, monkeypatch):
    tampered = tmp_path / "imagenet_class_index.json"
    text = open(imagenet_utils.CLASS_INDEX_PATH, encoding="utf-8").read()
    tampered.write_text(text.replace('"tench"', '"trout"'), encoding="utf-8")
    with pytest.raises(ValueError, match=r"corrupt or modified: its md5 is [0-9a-f]{32}, Keras's file has"):
        imagenet_utils.imagenet_classes(tampered)
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX_PATH", str(tampered))  # the shipped copy tampered with
    with pytest.raises(ValueError, match=re.escape(str(tampered))):
        imagenet_utils.decode_predictions(np.zeros((1, 1000)))
    with pytest.raises(FileNotFoundError, match="is missing"):
        imagenet_utils.imagenet_classes(tmp_path / "absent.json")


# (f) models.preprocess_input(x, model=...)

@pytest.mark.parametrize("name", ["vgg16", "resnet50_v2", "densenet121", "googlenet_paper", "lenet5", "efficientnet_b0"])
def test_models_preprocess_input_takes_a_model_name(name):
    x = pixels((2, 5, 7, 3), "uint8")
    mode = models.model_info(name).preprocessing
    got = np.asarray(models.preprocess_input(x, model=name))
    reference = (keras.applications.imagenet_utils.preprocess_input(x.astype("float32"), mode=mode)
                 if mode in KERAS_MODES else leaf.preprocess_input(x, mode))
    np.testing.assert_array_equal(got, np.asarray(reference))
    np.testing.assert_array_equal(got, np.asarray(models.preprocess_input(x, mode)))  # the old call


def test_models_preprocess_input_wants_exactly_one_of_mode_and_model():
    x = pixels((1, 4, 4, 3), "uint8")
    for kwargs in ({}, {"mode": "tf", "model": "vgg16"}):
        with pytest.raises(ValueError, match="exactly one of mode"):
            models.preprocess_input(x, **kwargs)
    with pytest.raises(ValueError, match="Unknown model name 'vgg61'"):
        models.preprocess_input(x, model="vgg61")


# (g) kcc predict names ImageNet classes

def tiny_imagenet_classifier(classes=1000):
    """An 8×8 RGB classifier: average pool → softmax over ``classes``, seeded weights."""
    inputs = keras.Input((8, 8, 3))
    outputs = keras.layers.Dense(classes, activation="softmax", name="predictions")(
        keras.layers.GlobalAveragePooling2D(name="avg_pool")(inputs))
    model = keras.Model(inputs, outputs, name="tiny_imagenet")
    kernel = np.random.default_rng(7).normal(0, 0.02, size=(3, classes)).astype("float32")
    model.get_layer("predictions").set_weights([kernel, np.zeros(classes, "float32")])
    return model


def image_file(tmp_path):
    from PIL import Image

    path = tmp_path / "x.png"
    Image.fromarray(pixels((8, 8, 3), "uint8", seed=3)).save(path)
    return path


def expected_answer(path, keras_decode, top=3):
    """What ``kcc predict`` must print, by keras.applications' own caffe preprocessing and decoding."""
    from PIL import Image

    image = np.asarray(Image.open(path).convert("RGB"), "float32")[None]
    probs = tiny_imagenet_classifier().predict(keras.applications.vgg16.preprocess_input(image), verbose=0)
    return f"{path}: " + ", ".join(f"{name} {float(score):.3f}" for _, name, score in keras_decode(probs, top=top)[0])


def test_predict_with_a_run_trained_on_imagenet_prints_class_names(tmp_path, capsys, keras_decode):
    run = tmp_path / "run"
    run.mkdir()
    tiny_imagenet_classifier().save(run / "best.keras")
    (run / "report.json").write_text(json.dumps({"config": {"dataset": "imagenet", "preprocessing": "caffe"}}))
    path = image_file(tmp_path)
    capsys.readouterr()
    assert cli.main(["predict", str(run), str(path)]) == 0
    assert capsys.readouterr().out.strip() == expected_answer(path, keras_decode)


def test_predict_with_a_registered_model_on_imagenet_weights_prints_class_names(tmp_path, capsys, monkeypatch,
                                                                                keras_decode):
    from keras_cv_course.models import _common, registry

    def builder(weights=None, weights_sha256=None, **kwargs):
        assert weights == "imagenet"
        return tiny_imagenet_classifier()

    info = registry.ModelInfo(name="tiny_imagenet", builder=builder, family="test", paper="", input_shape=(8, 8, 3),
                              min_size=8, params=3_000 + 1000, preprocessing="caffe",
                              weights={"imagenet": _common.WeightSpec("imagenet", None, None, preprocessing="caffe")})
    monkeypatch.setitem(registry._REGISTRY, "tiny_imagenet", info)
    path = image_file(tmp_path)
    capsys.readouterr()
    assert cli.main(["predict", "tiny_imagenet", str(path)]) == 0
    assert capsys.readouterr().out.strip() == expected_answer(path, keras_decode)


def test_predict_refuses_imagenet_names_for_a_model_of_another_class_count(tmp_path, capsys):
    tiny_imagenet_classifier(classes=10).save(tmp_path / "ten.keras")
    assert cli.main(["predict", str(tmp_path / "ten.keras"), str(image_file(tmp_path)), "--dataset", "imagenet"]) == 2
    assert "'imagenet' has 1000 classes but the model scores 10" in capsys.readouterr().err
