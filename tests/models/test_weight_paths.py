"""What ``weights=`` means and how a weight file is checked (issue 19): a named
weight set always means the named weights (a folder of that name in the working
directory does not take its place), a path is checked against
``weights_sha256=``, every builder takes ``name=``, and a damaged weights
manifest names the bad entry without breaking the commands that do not need it."""

import inspect
import json
import os
import shutil

import keras
import pytest

from keras_cv_course import _files, models
from keras_cv_course.cli import main as kcc
from keras_cv_course.models import _common, trained_weights

MANIFEST_ENTRIES = trained_weights.read_manifest()["weights"]


def lenet5_file():
    entry = next(e for e in MANIFEST_ENTRIES if e["model"] == "lenet5")
    return os.path.join(trained_weights.weights_dir(), entry["file"]), entry["sha256"]


# ----------------------------------------------------------------------------- 3. a name is a name

def test_a_folder_named_like_the_weights_does_not_replace_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fashion_mnist").mkdir()
    model = models.get_model("lenet5", weights="fashion_mnist")
    path, _ = lenet5_file()
    expected = models.get_model("lenet5", weights=path)
    for mine, theirs in zip(model.get_weights(), expected.get_weights()):
        assert (mine == theirs).all()


def test_a_folder_named_imagenet_does_not_replace_the_imagenet_weights(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "imagenet").mkdir()
    fetched = []

    def fetch(self, model_name):
        fetched.append(self.fname)
        raise _common.WeightsUnavailableError("offline in this test")

    monkeypatch.setattr(_common.RemoteFile, "fetch", fetch)
    with pytest.raises(_common.WeightsUnavailableError, match="offline in this test"):
        models.get_model("vgg16", weights="imagenet", include_top=False, input_shape=(32, 32, 3))
    assert len(fetched) == 1 and "notop" in fetched[0]  # Keras's ImageNet file, not the folder


def test_an_explicit_path_is_a_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "imagenet").mkdir()
    with pytest.raises(ValueError, match=r"'\./imagenet' is a directory, not a weight file"):
        models.get_model("vgg11", weights="./imagenet", include_top=False, input_shape=(32, 32, 3))
    with pytest.raises(FileNotFoundError, match="missing.weights.h5"):
        models.get_model("lenet5", weights="missing.weights.h5")
    with pytest.raises(ValueError, match=r"weights='nowhere_named' for 'lenet5' is neither"):
        models.get_model("lenet5", weights="nowhere_named")  # not a name of lenet5, no such file
    (tmp_path / "copy.weights.h5").write_bytes(open(lenet5_file()[0], "rb").read())
    models.get_model("lenet5", weights=tmp_path / "copy.weights.h5")  # a PathLike


# ----------------------------------------------------------------------------- 5. name= for every model

def test_get_model_passes_name_to_the_builder():
    assert models.get_model("lenet5", name="my_lenet").name == "my_lenet"
    assert models.get_model("lenet5_classic", name="my_classic").name == "my_classic"  # a preset fixing its name


def test_every_registered_builder_takes_name():
    for name in models.list_models():
        parameters = inspect.signature(models.model_info(name).builder).parameters
        assert "name" in parameters and "weights_sha256" in parameters, name
    for wrapper in (models.CIFARResNet, models.WideResNet):  # unregistered, options first
        assert "weights_sha256" in inspect.signature(wrapper).parameters


def cheapest_per_family():
    chosen = {}
    for name in models.list_models():
        info = models.model_info(name)
        if info.family not in chosen or info.params < models.model_info(chosen[info.family]).params:
            chosen[info.family] = name
    return sorted(chosen.values())


@pytest.mark.parametrize("name", cheapest_per_family())
def test_each_family_builds_under_the_given_name(name):
    info = models.model_info(name)
    with keras.StatelessScope():
        model = models.get_model(name, name="renamed", include_top=False,
                                 input_shape=(info.min_size, info.min_size, info.input_shape[-1]))
    assert model.name == "renamed"


def test_an_unknown_builder_keyword_is_refused_naming_it_and_the_accepted_ones():
    with pytest.raises(TypeError) as error:
        models.get_model("lenet5", nmae="x")
    message = str(error.value)
    assert "'nmae'" in message and "name" in message and "weights_sha256" in message and "variant" in message


# ----------------------------------------------------------------------------- 7. weights_sha256

def test_a_weight_path_is_checked_against_the_given_sha256():
    path, digest = lenet5_file()
    models.get_model("lenet5", weights=path, weights_sha256=digest)
    wrong = "1" * 64
    with pytest.raises(_files.HashMismatchError) as error:
        models.get_model("lenet5", weights=path, weights_sha256=wrong)
    assert path in str(error.value) and wrong in str(error.value) and digest in str(error.value)
    with pytest.raises(_files.HashMismatchError):
        models.get_model("lenet5", weights="fashion_mnist", weights_sha256=wrong)  # named weights too


def test_a_malformed_or_pointless_sha256_is_refused():
    path, _ = lenet5_file()
    with pytest.raises(ValueError, match=r"64 hexadecimal characters.*'abc'"):
        models.get_model("lenet5", weights=path, weights_sha256="abc")
    with pytest.raises(ValueError, match="weights_sha256 .* weights=None"):
        models.get_model("lenet5", weights_sha256="1" * 64)


# ----------------------------------------------------------------------------- 6. a damaged manifest

@pytest.fixture
def weights_dir(tmp_path, monkeypatch):
    """A copy of weights/ in ``tmp_path`` (KCC_WEIGHTS_DIR) whose fashion_vgg entry has no ``file``."""
    source = trained_weights.weights_dir()
    for name in os.listdir(source):
        shutil.copy(os.path.join(source, name), tmp_path)
    manifest = json.load(open(tmp_path / trained_weights.MANIFEST))
    next(e for e in manifest["weights"] if e["model"] == "fashion_vgg").pop("file")
    (tmp_path / trained_weights.MANIFEST).write_text(json.dumps(manifest))
    monkeypatch.setenv("KCC_WEIGHTS_DIR", str(tmp_path))
    return tmp_path


def test_a_manifest_entry_without_file_is_named_when_it_is_needed(weights_dir):
    with pytest.raises(trained_weights.ManifestError) as error:
        models.get_model("fashion_vgg", weights="fashion_mnist")
    message = str(error.value)
    assert "'fashion_vgg'" in message and "'fashion_mnist'" in message and "'file'" in message
    assert str(weights_dir / trained_weights.MANIFEST) in message


def test_a_bad_manifest_entry_breaks_no_command_that_does_not_need_it(weights_dir, capsys):
    assert kcc(["list"]) == 0
    assert kcc(["info", "fashion_vgg"]) == 0
    assert "weights:        fashion_mnist" in capsys.readouterr().out  # listed, refused only when loaded
    assert models.get_model("lenet5", weights="fashion_mnist").name == "lenet5"
    assert kcc(["predict", "fashion_vgg", "x.png"]) == 2
    assert "has no 'file'" in capsys.readouterr().err


def test_a_truncated_manifest_is_named(weights_dir):
    path = weights_dir / trained_weights.MANIFEST
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(_files.CorruptFileError) as error:
        models.get_model("lenet5", weights="fashion_mnist")
    assert str(path) in str(error.value) and "truncated or corrupt" in str(error.value)
    models.get_model("lenet5", weights=lenet5_file()[0])  # a weight path does not read the manifest


TRAINED_DETECTORS = sorted({e["model"] for e in MANIFEST_ENTRIES} & {"overfeat_fashion", "yolov1_fashion",
                                                                       "ssd_fashion", "fcn8s_fashion"})


@pytest.mark.parametrize("name", TRAINED_DETECTORS)
def test_trained_weights_belong_to_the_default_build_only(name):
    """The manifest's weights of a CPU-sized net load into its default build (the
    network trained) and are refused, naming the weights, for another width."""
    weights = next(e["name"] for e in MANIFEST_ENTRIES if e["model"] == name)
    assert weights in models.model_info(name).weights
    with pytest.raises(ValueError, match=f"weights={weights!r} for {name!r} is neither a file nor a known weight"):
        models.get_model(name, weights=weights, width=8)


def test_the_default_build_hook_offers_the_manifest_for_the_defaults_only():
    hook = trained_weights.default_build_weights("overfeat_fashion", {"width": 32, "fc_units": 128})
    assert isinstance(hook(None), trained_weights.ManifestWeights) and hook(None).model_name == "overfeat_fashion"
    assert isinstance(hook({"width": 32, "fc_units": 128, "per_class_boxes": True}), trained_weights.ManifestWeights)
    assert hook({"width": 8, "fc_units": 128}) == {}
