"""torchvision weights in Keras (models.torch_weights): output parity with
torchvision itself for AlexNet, VGG, GoogLeNet, ResNet/ResNeXt/Wide ResNet and
SqueezeNet at the default size and at a non-square one; ResNet-50's feature taps
equal torchvision's layer1–layer4; the torch hub cache, the hash check, the
download path, and the errors of bad files. (Inception-v3, DenseNet, MobileNetV2
and EfficientNet have their own modules: test_torchvision_*.py.)"""

import os

import numpy as np
import pytest

from _torch_parity import (  # noqa: I001 - imports torch before TensorFlow
    assert_close_at_scale, assert_torchvision_parity, converted, random_images, randomised, torch, torch_outputs,
    torchvision,
)

import keras  # noqa: E402

from keras_cv_course import _files  # noqa: E402
from keras_cv_course.models import feature_extractor, get_model, model_info  # noqa: E402
from keras_cv_course.models import torch_weights  # noqa: E402
from keras_cv_course.models.torch_weights import TorchWeightsError, load_torch_weights  # noqa: E402

tv = torchvision.models

# (registered name, torchvision constructor, non-square size the architecture accepts)
CLASSIFIERS = [
    ("alexnet", tv.alexnet, (160, 200)),
    ("resnet18", tv.resnet18, (96, 128)),
    ("resnet34", tv.resnet34, (96, 128)),
    ("resnet50_torchvision", tv.resnet50, (96, 128)),
    ("resnet101_torchvision", tv.resnet101, (96, 128)),
    ("resnet152_torchvision", tv.resnet152, (96, 128)),
    ("resnext50_32x4d", tv.resnext50_32x4d, (96, 128)),
    ("resnext101_32x8d", tv.resnext101_32x8d, (96, 128)),
    ("resnext101_64x4d", tv.resnext101_64x4d, (96, 128)),
    ("wide_resnet50_2", tv.wide_resnet50_2, (96, 128)),
    ("wide_resnet101_2", tv.wide_resnet101_2, (96, 128)),
    ("squeezenet1_0", tv.squeezenet1_0, (96, 128)),
    ("squeezenet1_1", tv.squeezenet1_1, (96, 128)),
    ("googlenet", lambda: tv.googlenet(aux_logits=False, init_weights=True), (96, 128)),
]
VGGS = ["vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"]
# Deeper and wider members of a family whose table the first member already exercises: run with -m exhaustive.
EXHAUSTIVE = {"resnet34", "resnet101_torchvision", "resnet152_torchvision", "resnext101_32x8d", "resnext101_64x4d",
              "wide_resnet101_2", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"}


def _sweep(cases, name_of=lambda case: case):
    return [pytest.param(*(case if isinstance(case, tuple) else (case,)), id=name_of(case),
                         marks=[pytest.mark.exhaustive] if name_of(case) in EXHAUSTIVE else []) for case in cases]


@pytest.mark.parametrize("name,make,other_size", _sweep(CLASSIFIERS, lambda case: case[0]))
def test_logits_equal_torchvision_at_default_and_non_square_size(name, make, other_size):
    torch.manual_seed(0)
    torch_model = make()
    default = model_info(name).input_shape[:2]
    for size in (default, other_size):
        assert_torchvision_parity(name, torch_model, size)


@pytest.mark.parametrize("name", _sweep(VGGS))
def test_vgg_logits_at_224_and_features_at_a_non_square_size(name):
    # The flattening top needs 224×224 (torchvision pools adaptively to 7×7 first: the identity there);
    # the convolutional part takes any size and equals torchvision's ``features``.
    torch.manual_seed(0)
    torch_model = getattr(tv, name)()
    assert_torchvision_parity(name, torch_model, (224, 224), batch=1)
    features = converted(name, torch_model, (96, 128), include_top=False)
    images = random_images((96, 128))
    assert_close_at_scale(keras.ops.convert_to_numpy(features(images)), torch_outputs(torch_model.features, images))


def test_googlenet_aux_heads_equal_torchvision():
    torch.manual_seed(0)
    torch_model = randomised(tv.googlenet(aux_logits=True, init_weights=True), (224, 224))
    model = converted("googlenet", torch_model, (224, 224), aux_logits=True, classifier_activation=None)
    images = random_images((224, 224))
    taken = {}
    hooks = [getattr(torch_model, f"inception4{k}").register_forward_hook(
        lambda module, args, out, k=k: taken.__setitem__(k, out)) for k in "ad"]
    main = torch_outputs(torch_model, images)
    for hook in hooks:
        hook.remove()
    with torch.no_grad():
        aux = [torch_model.aux1(taken["a"]).numpy(), torch_model.aux2(taken["d"]).numpy()]
    outputs = model(images, training=False)
    ours = [keras.ops.convert_to_numpy(o) for o in (outputs if isinstance(outputs, (list, tuple)) else outputs.values())]
    assert len(ours) == 3
    for actual, expected in zip(ours, [main, *aux]):
        np.testing.assert_allclose(actual, expected, atol=1e-4, rtol=1e-4)


def test_googlenet_transform_input_is_the_tf_mode():
    # torchvision's pretrained GoogLeNet sets transform_input=True: torch-normalised input is mapped to
    # (x/255 - 0.5)/0.5, which is "tf" preprocessing; the weights record that mode.
    from keras_cv_course.preprocessing import preprocess_input

    torch.manual_seed(0)
    plain = randomised(tv.googlenet(aux_logits=False, init_weights=True), (224, 224))
    transformed = tv.googlenet(aux_logits=False, init_weights=True, transform_input=True).eval()
    transformed.load_state_dict(plain.state_dict())
    model = converted("googlenet", plain, (224, 224), classifier_activation=None)
    pixels = np.random.default_rng(1).integers(0, 256, size=(2, 224, 224, 3)).astype("float32")
    expected = torch_outputs(transformed, keras.ops.convert_to_numpy(preprocess_input(pixels, "torch")))
    actual = keras.ops.convert_to_numpy(model(preprocess_input(pixels, "tf")))
    np.testing.assert_allclose(actual, expected, atol=1e-4, rtol=1e-4)
    assert model_info("googlenet").weights["torchvision"].preprocessing == "tf"


def test_resnet50_taps_equal_torchvision_layer1_to_layer4():
    torch.manual_seed(0)
    torch_model = randomised(tv.resnet50(), (128, 160))
    model = converted("resnet50_torchvision", torch_model, (128, 160))
    extractor = feature_extractor(model, ["P2", "P3", "P4", "P5"])
    images = random_images((128, 160))
    ours = extractor(images)
    x = torch.from_numpy(images.transpose(0, 3, 1, 2).copy())
    with torch.no_grad():
        x = torch_model.maxpool(torch_model.relu(torch_model.bn1(torch_model.conv1(x))))
        for level, stage in zip(("P2", "P3", "P4", "P5"), (torch_model.layer1, torch_model.layer2,
                                                          torch_model.layer3, torch_model.layer4)):
            x = stage(x)
            assert_close_at_scale(keras.ops.convert_to_numpy(ours[level]), x.numpy().transpose(0, 2, 3, 1), level)


# ----------------------------------------------------------------------------- files, cache and errors


@pytest.fixture(scope="module")
def resnet18_state():
    torch.manual_seed(0)
    return randomised(tv.resnet18(), (64, 64)).state_dict()


def _save(state, path):
    torch.save(state, path)
    return str(path)


def test_weights_path_pth_loads_and_include_top_false_skips_the_classifier(resnet18_state, tmp_path):
    path = _save(resnet18_state, tmp_path / "resnet18.pth")
    full = get_model("resnet18", weights=path, classifier_activation=None, input_shape=(64, 64, 3))
    headless = get_model("resnet18", weights=path, include_top=False, pooling="avg", input_shape=(64, 64, 3))
    images = random_images((64, 64))
    torch_model = tv.resnet18().eval()
    torch_model.load_state_dict(resnet18_state)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(full(images)), torch_outputs(torch_model, images),
                               atol=1e-4, rtol=1e-4)
    torch_model.fc = torch.nn.Identity()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(headless(images)), torch_outputs(torch_model, images),
                               atol=1e-4, rtol=1e-4)


def test_a_renamed_model_still_converts_through_its_registered_table(resnet18_state, tmp_path):
    path = _save(resnet18_state, tmp_path / "resnet18.pth")
    model = get_model("resnet18", weights=path, name="my_backbone")
    assert model.name == "my_backbone"
    np.testing.assert_array_equal(model.get_layer("conv1_conv").kernel.numpy(),
                                  resnet18_state["conv1.weight"].numpy().transpose(2, 3, 1, 0))


def test_npz_and_checkpoint_dicts_are_read(resnet18_state, tmp_path):
    arrays = {k: v.numpy() for k, v in resnet18_state.items()}
    np.savez(tmp_path / "r.npz", **arrays)
    assert set(torch_weights.read_state_dict(tmp_path / "r.npz")) == set(arrays)
    nested = _save({"epoch": 3, "state_dict": resnet18_state}, tmp_path / "checkpoint.pth")
    assert set(torch_weights.read_state_dict(nested)) == set(arrays)


def test_missing_tensor_is_named(resnet18_state):
    state = {k: v for k, v in resnet18_state.items() if k != "layer2.0.bn1.running_var"}
    model = get_model("resnet18")
    with pytest.raises(TorchWeightsError, match=r"no tensor 'layer2\.0\.bn1\.running_var'.*conv3_block1_1_bn"):
        load_torch_weights(model, state, "resnet18")


def test_wrong_shape_is_named_in_torch_layout(resnet18_state):
    state = dict(resnet18_state, **{"layer3.1.conv2.weight": torch.zeros(256, 256, 1, 1)})
    with pytest.raises(TorchWeightsError, match=r"'layer3\.1\.conv2\.weight' has shape \(256, 256, 1, 1\), but "
                                                r"layer 'conv4_block2_2_conv' .*needs \(256, 256, 3, 3\)"):
        load_torch_weights(get_model("resnet18"), state, "resnet18")


def test_nothing_is_assigned_when_a_later_tensor_is_bad(resnet18_state):
    model = get_model("resnet18")
    before = model.get_layer("conv1_conv").kernel.numpy().copy()
    state = dict(resnet18_state, **{"fc.weight": torch.zeros(10, 512)})
    with pytest.raises(TorchWeightsError, match=r"'fc\.weight' has shape \(10, 512\)"):
        load_torch_weights(model, state, "resnet18")
    np.testing.assert_array_equal(model.get_layer("conv1_conv").kernel.numpy(), before)


def test_a_file_of_another_family_names_the_first_mismatching_tensor(resnet18_state, tmp_path):
    path = _save(resnet18_state, tmp_path / "resnet18.pth")
    with pytest.raises(TorchWeightsError, match=r"resnet18\.pth: tensor 'layer1\.0\.conv1\.weight' has shape "
                                                r"\(64, 64, 3, 3\), but layer 'conv2_block1_1_conv' of "
                                                r"'resnet50_torchvision' needs \(64, 64, 1, 1\)"):
        get_model("resnet50_torchvision", weights=path)
    squeeze = _save(tv.squeezenet1_1().state_dict(), tmp_path / "squeezenet.pth")
    with pytest.raises(TorchWeightsError, match=r"no tensor 'conv1\.weight'.*start with 'features\.0\.weight'"):
        get_model("resnet18", weights=squeeze)


def test_extra_tensors_are_refused(resnet18_state):
    state = dict(resnet18_state, **{"layer5.0.conv1.weight": torch.zeros(1)})
    with pytest.raises(TorchWeightsError, match=r"1 tensors that 'resnet18' has no place for.*'layer5\.0\.conv1"):
        load_torch_weights(get_model("resnet18"), state, "resnet18")


def test_truncated_and_non_state_dict_files_name_the_file(resnet18_state, tmp_path):
    path = _save(resnet18_state, tmp_path / "resnet18.pth")
    data = open(path, "rb").read()
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(_files.CorruptFileError, match=r"truncated\.pth is not a readable torch state_dict"):
        get_model("resnet18", weights=str(truncated))
    listed = _save([1, 2, 3], tmp_path / "list.pth")
    with pytest.raises(TorchWeightsError, match=r"list\.pth holds a list, not a state_dict"):
        get_model("resnet18", weights=listed)
    with pytest.raises(FileNotFoundError, match=r"nowhere\.pth"):
        get_model("resnet18", weights=str(tmp_path / "nowhere.pth"))


def test_a_model_without_a_torchvision_layout_is_refused(resnet18_state, tmp_path):
    path = _save(resnet18_state, tmp_path / "resnet18.pth")
    with pytest.raises(TorchWeightsError, match=r"no torchvision name table for 'resnet50'.*resnet50_torchvision"):
        get_model("resnet50", weights=path)


def _cached_entry(monkeypatch, tmp_path, state, name="resnet18"):
    """Put ``state`` in a torch hub cache under ``tmp_path`` under a torchvision-style
    name carrying its own sha256 prefix, and point ``name``'s entry at it."""
    scratch = _save(state, tmp_path / "scratch.pth")
    prefix = _files.sha256_of(scratch)[:8]
    entry = torch_weights.TorchvisionFile(f"{name}-{prefix}.pth")
    checkpoints = tmp_path / "torch_home" / "hub" / "checkpoints"
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setitem(torch_weights.TORCHVISION_FILES, name, entry)
    return scratch, checkpoints / entry.fname


def test_weights_torchvision_reads_the_torch_hub_cache(resnet18_state, tmp_path, monkeypatch):
    scratch, cached = _cached_entry(monkeypatch, tmp_path, resnet18_state)
    cached.parent.mkdir(parents=True)
    os.replace(scratch, cached)
    model = get_model("resnet18", weights="torchvision")
    np.testing.assert_array_equal(model.get_layer("predictions").bias.numpy(), resnet18_state["fc.bias"].numpy())
    cached.write_bytes(cached.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(_files.HashMismatchError, match=r"its name says it starts with"):
        get_model("resnet18", weights="torchvision")


def test_a_missing_file_is_downloaded_into_the_cache(resnet18_state, tmp_path, monkeypatch):
    scratch, cached = _cached_entry(monkeypatch, tmp_path, resnet18_state)
    server = tmp_path / "server"
    server.mkdir()
    os.replace(scratch, server / cached.name)
    monkeypatch.setattr(torch_weights, "TORCHVISION_URL", server.as_uri() + "/")
    get_model("resnet18", weights="torchvision", include_top=False)
    assert cached.exists() and not [p for p in cached.parent.iterdir() if p.suffix == ".partial"]


def test_offline_without_the_file_names_the_cache_and_the_url(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch_weights, "TORCHVISION_URL", (tmp_path / "no_server").as_uri() + "/")
    with pytest.raises(OSError, match=r"resnet18-f37072fd\.pth is not in the torch hub cache .*hub/checkpoints"):
        get_model("resnet18", weights="torchvision")


def test_torch_home_follows_torch_hub_rules(monkeypatch, tmp_path):
    monkeypatch.delenv("TORCH_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert torch_weights.hub_checkpoints_dir() == str(tmp_path / "torch" / "hub" / "checkpoints")
    assert torch_weights.torch_home() == torch.hub.get_dir().removesuffix(os.sep + "hub")


def test_every_torchvision_file_has_a_registered_model_a_table_and_torchvision_s_name():
    import torchvision.models as models

    published = {}
    for enum in models.list_models():
        weights = models.get_model_weights(enum)
        if hasattr(weights, "IMAGENET1K_V1"):
            published[enum] = weights.IMAGENET1K_V1
    for name, entry in torch_weights.TORCHVISION_FILES.items():
        info = model_info(name)
        assert info.weights["torchvision"].preprocessing == entry.preprocessing
        arch = name.removesuffix("_torchvision")
        weights = published[arch]
        assert weights.url.rsplit("/", 1)[1] == entry.fname, name
        transforms = weights.transforms()
        assert (transforms.crop_size[0], transforms.resize_size[0]) == (entry.crop_size, entry.resize_size), name
        assert transforms.interpolation.value == entry.interpolation, name
        assert torch_weights.name_table(name, get_model(name, include_top=False)), name


# ----------------------------------------------------------------------------- kcc convert, kcc predict


def test_kcc_convert_writes_files_that_load_without_torch_and_predict_names_imagenet_classes(
        resnet18_state, tmp_path, monkeypatch, capsys):
    from PIL import Image

    from keras_cv_course import cli
    from keras_cv_course.applications.imagenet_utils import imagenet_classes

    scratch, cached = _cached_entry(monkeypatch, tmp_path, resnet18_state)
    cached.parent.mkdir(parents=True)
    os.replace(scratch, cached)
    out = tmp_path / "converted"
    assert cli.main(["convert", "resnet18", "--out", str(out)]) == 0
    report = __import__("json").loads((out / "report.json").read_text())["config"]
    assert report | {"source": None} == {
        "model": "resnet18", "dataset": "imagenet", "include_top": True, "preprocessing": "torch", "resize_size": 256,
        "crop_size": 224, "interpolation": "bilinear", "source": None, "source_sha256": _files.sha256_of(cached)}

    # the .weights.h5 loads through the ordinary Keras path and equals torchvision
    model = get_model("resnet18", weights=str(out / "model.weights.h5"), classifier_activation=None)
    torch_model = tv.resnet18().eval()
    torch_model.load_state_dict(resnet18_state)
    images = random_images((224, 224), batch=1)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(images)), torch_outputs(torch_model, images),
                               atol=1e-4, rtol=1e-4)

    # kcc predict on the folder: torchvision's resize 256 / crop 224 and "torch" preprocessing, ImageNet names
    picture = tmp_path / "photo.png"
    pixels = np.random.default_rng(3).integers(0, 256, size=(300, 400, 3)).astype(np.uint8)
    Image.fromarray(pixels).save(picture)
    capsys.readouterr()
    assert cli.main(["predict", str(out), str(picture), "--top", "1"]) == 0
    answer = capsys.readouterr().out
    transform = tv.ResNet18_Weights.IMAGENET1K_V1.transforms()
    with torch.no_grad():
        best = int(torch_model(transform(Image.open(picture)).unsqueeze(0)).argmax())
    assert answer.startswith(f"{picture}: {imagenet_classes()[best][1]} ")

    assert cli.main(["convert", "resnet18", "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err


@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic"])
def test_read_image_resize_and_crop_equal_torchvision_transforms(interpolation, tmp_path):
    from PIL import Image
    from torchvision.transforms import CenterCrop, InterpolationMode, Resize

    from keras_cv_course.runs import read_image

    path = tmp_path / "wide.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, size=(181, 317, 3)).astype(np.uint8)).save(path)
    mode = InterpolationMode(interpolation)
    expected = np.asarray(CenterCrop(224)(Resize(256, interpolation=mode)(Image.open(path))))
    np.testing.assert_array_equal(read_image(str(path), 3, (224, 224), 256, interpolation), expected)
