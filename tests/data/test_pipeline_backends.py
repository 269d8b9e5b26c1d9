"""data.pipeline, the augment layers and preprocess_input on JAX and PyTorch.

Inside a tf.data map those backends' ops cannot take the graph's tf.Tensors, so
the layers compute with the TensorFlow backend there (as Keras's own
preprocessing layers do). One script (``SCRIPT``) runs the same seeded calls in
a subprocess per backend (TensorFlow's results are the reference) and saves
every result; the tests compare JAX and PyTorch with TensorFlow. The seeded draws
come from a TensorFlow twin of each layer's seed generator, so even the random
results must equal TensorFlow's; they are also checked on their own (shapes,
dtypes, ranges, boxes read back from painted pixels, other seeds differ).
"""

import inspect
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AUGMENT_SOURCE = os.path.join(REPO, "keras_cv_course", "data", "augment.py")
OTHER_BACKENDS = ("jax", "torch")
PRESETS = ("alexnet", "image_data_generator", "cifar", "fashion", "yolo")  # augment.PRESETS (checked below)
H, W = 16, 20

SCRIPT = r'''
import json, os, sys
import numpy as np
if os.environ["KERAS_BACKEND"] == "torch":
    try:
        import torchvision  # noqa: F401  (before TensorFlow: triton crashes when it loads after it)
    except ImportError:
        pass
import keras
import tensorflow as tf
from keras_cv_course import data
from keras_cv_course.data import augment
from keras_cv_course.preprocessing import MODES, preprocess_input

out_dir, saved_model = sys.argv[1], sys.argv[2]
H, W, N = 16, 20, 8
results, facts = {}, {"backend": keras.backend.backend()}


def put(key, value):
    if isinstance(value, dict):
        for name, item in value.items():
            put(f"{key}/{name}", item)
    elif isinstance(value, (tuple, list)):
        for i, item in enumerate(value):
            put(f"{key}/{i}", item)
    else:
        results[key] = keras.ops.convert_to_numpy(value) if not isinstance(value, tf.Tensor) else value.numpy()


def batches(ds, n=2):
    return [tf.nest.map_structure(lambda t: t.numpy(), b) for b in ds.take(n)]


rng = np.random.default_rng(0)
images = rng.integers(0, 256, (N, H, W, 3), dtype=np.uint8)
labels = (np.arange(N) % 3).astype(np.int32)
boxes = np.tile(np.array([[2, 3, 9, 11], [12, 1, 20, 7], [0, 0, 2, 2]], np.float32), (N, 1, 1))
classes = np.tile(np.arange(3, dtype=np.int32), (N, 1))
masks = rng.integers(0, 4, (N, H, W), dtype=np.uint8)
classes_ds = tf.data.Dataset.from_tensor_slices((images, labels))

# Painted: channel k is 255 inside box k, channel 3 everywhere (data/test_pipeline_targets.py's check).
painted = np.zeros((N, H, W, 4), np.uint8)
painted[..., 3] = 255
for k, (a, b, c, d) in enumerate(boxes[0].astype(int)):
    painted[:, b:d, a:c, k] = 255

# 1. data.pipeline: every preset, training (two seeds) and not; every preprocessing mode.
for name in augment.PRESETS:
    for training, seed in ((True, 5), (True, 6), (False, 5)):
        ds = data.pipeline(classes_ds, batch_size=4, training=training, augment=name, seed=seed,
                           image_size=(H, W), preprocess="none")
        put(f"preset/{name}/{training}/{seed}", batches(ds, 1))
for mode in MODES:
    put(f"mode/{mode}", batches(data.pipeline(classes_ds, batch_size=8, training=False, preprocess=mode), 1))
direct = tf.data.Dataset.from_tensors(images).map(lambda x: preprocess_input(x, "torch"))
put("mode_direct/torch", batches(direct, 1))


# 2. every custom layer with boxes and masks through the pipeline.
def target_layers(seed):
    return [augment.RandomCrop(H, W, padding=3, seed=seed),
            augment.RandomAffine(rotation_range=15, width_shift_range=0.1, height_shift_range=0.1, zoom_range=0.1,
                                 fill_mode="constant", seed=seed + 1),
            augment.PCALighting(augment.IMAGENET_EIGVAL, augment.IMAGENET_EIGVEC, seed=seed + 2),
            augment.RandomExposureSaturation(seed=seed + 3)]


target_ds = {"boxes": tf.data.Dataset.from_tensor_slices((images, {"boxes": boxes, "classes": classes})),
             "masks": tf.data.Dataset.from_tensor_slices((images, masks))}
for target, training, seed in (("boxes", True, 11), ("boxes", False, 11), ("masks", True, 11), ("masks", False, 11)):
    put(f"targets/{target}/{training}/{seed}",
        batches(data.pipeline(target_ds[target], batch_size=4, training=training, augment=target_layers(seed),
                              seed=seed, preprocess="none"), 1))
geometric = [augment.RandomCrop(H, W, padding=3, seed=31),
             augment.RandomAffine(width_shift_range=0.15, height_shift_range=0.15, zoom_range=0.15,
                                  fill_mode="constant", seed=32),
             keras.layers.RandomFlip("horizontal", seed=33)]
painted_ds = tf.data.Dataset.from_tensor_slices((painted, {"boxes": boxes, "classes": classes}))
put("painted", batches(data.pipeline(painted_ds, batch_size=8, training=True, augment=geometric, seed=3,
                                     preprocess="none"), 1))

# 3. each custom layer called inside a tf.data map, on Keras' dict or on images.
FIXED = np.array([[0.95, -0.17, 1.5], [0.2, 1.05, -0.7], [0.0, 0.0, 1.0]], np.float32)


class FixedAffine(augment.RandomAffine):
    """RandomAffine with one given matrix for every image (a deterministic resampling)."""

    def matrices(self, n, height, width):
        return np.broadcast_to(FIXED, (n, 3, 3))  # n: the static batch size


target_dict = {"images": images.astype(np.float32),
               "bounding_boxes": {"boxes": boxes, "labels": classes.astype(np.float32)},
               "segmentation_masks": masks[..., None].astype(np.int32)}
calls = {
    "crop": (lambda s: augment.RandomCrop(12, 14, padding=2, seed=s, bounding_box_format="xyxy"), target_dict),
    "affine": (lambda s: augment.RandomAffine(20, 0.1, 0.1, 5, 0.1, fill_mode="constant", seed=s,
                                              bounding_box_format="xyxy"), target_dict),
    "fixed_affine": (lambda s: FixedAffine(fill_mode="constant", bounding_box_format="xyxy"), target_dict),
    "pca": (lambda s: augment.PCALighting(seed=s), images.astype(np.float32)),
    "exposure": (lambda s: augment.RandomExposureSaturation(seed=s), images.astype(np.float32)),
}
weights = {}
for training, seed in ((True, 1), (True, 2), (False, 1)):  # all layers of one setting in one map
    made = {name: make(seed) for name, (make, _) in calls.items() if name != "fixed_affine" or seed == 1}
    inputs = {name: calls[name][1] for name in made}
    ds = tf.data.Dataset.from_tensors(inputs).repeat(2).map(
        lambda d: {name: layer(d[name], training=training) for name, layer in made.items()})
    for i, batch in enumerate(batches(ds, 2 if (training, seed) == (True, 1) else 1)):
        for name, value in batch.items():
            put(f"layer/{name}/{training}/{seed}/{i}", value)
    weights.update({f"{name}/{training}/{seed}": [v.path for v in layer.variables] for name, layer in made.items()})
facts["weights"] = weights



class Invert(keras.layers.Layer):
    """A user's layer computing with keras.ops (so with the backend's own ops)."""

    geometric = False

    def call(self, x, training=True):
        return 255.0 - keras.ops.convert_to_tensor(x)


try:
    data.pipeline(classes_ds, batch_size=4, training=True, augment=[Invert()])
    facts["user_layer"] = "ran"
except ValueError as error:
    facts["user_layer"] = str(error)

# 4. the layers inside a model (keras.ops of this backend), loaded from the .keras file the test saved.
loaded = keras.saving.load_model(saved_model)
put("loaded/train_shape", np.array(loaded(images.astype(np.float32), training=True).shape))
put("loaded/infer", loaded(images.astype(np.float32), training=False))
facts["loaded_weights"] = [v.path for v in loaded.variables]
facts["loaded_configs"] = [layer.get_config() for layer in loaded.layers[1:]]

# 5. two fit steps on the pipeline's batches: classes (augment "cifar") and masks (every custom layer).
def fit_losses(model, ds):
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model.fit(ds, epochs=2, steps_per_epoch=1, verbose=0).history["loss"]


classifier = keras.Sequential([keras.Input((H, W, 3)), keras.layers.Conv2D(4, 3), keras.layers.GlobalAveragePooling2D(),
                               keras.layers.Dense(3)])
put("fit/classes", fit_losses(classifier, data.pipeline(classes_ds, batch_size=4, training=True, augment="cifar", seed=1)))
segmenter = keras.Sequential([keras.Input((H, W, 3)), keras.layers.Conv2D(4, 3, padding="same")])
mask_train = data.pipeline(tf.data.Dataset.from_tensor_slices((images, masks)), batch_size=4, training=True,
                           augment=target_layers(51), seed=1)
put("fit/masks", fit_losses(segmenter, mask_train))

np.savez(os.path.join(out_dir, "results.npz"), **results)
with open(os.path.join(out_dir, "facts.json"), "w") as f:
    json.dump(facts, f)
'''

NO_TENSORFLOW = r'''
import sys


class NoTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ImportError(f"{name} is blocked in this test")


sys.meta_path.insert(0, NoTensorFlow())
import numpy as np
import keras_cv_course.data.augment as augment

x = np.arange(2 * 6 * 7 * 3, dtype="float32").reshape(2, 6, 7, 3)
train = np.asarray(augment.RandomCrop(4, 5, seed=0)(x, training=True))
infer = np.asarray(augment.RandomCrop(4, 5)(x, training=False))
assert "tensorflow" not in sys.modules
np.testing.assert_array_equal(infer, x[:, 1:5, 1:6])
assert train.shape == (2, 4, 5, 3)
print("no tensorflow: ok")
'''


def start(backend, script, *args):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": REPO}
    return subprocess.Popen([sys.executable, "-c", script, *args], env=env, cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(process, timeout=240):
    """Wait for a ``start``-ed run; its stdout (AssertionError with its output when it failed)."""
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    assert process.returncode == 0, f"{process.args[:1]} failed:\n{stdout[-3000:]}\n{stderr[-6000:]}"
    return stdout


def layer_model():
    """A model holding the four custom layers (a .keras file of them, saved here, is loaded by ``SCRIPT``)."""
    import keras

    from keras_cv_course.data import augment

    inputs = keras.Input((H, W, 3))
    x = augment.RandomCrop(H - 4, W - 4, padding=1, seed=41)(inputs)
    x = augment.RandomAffine(10, 0.1, 0.1, fill_mode="constant", seed=42)(x)
    x = augment.PCALighting(seed=43)(x)
    return keras.Model(inputs, augment.RandomExposureSaturation(seed=44)(x))


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """backend -> (arrays, facts) of ``SCRIPT`` run under each backend, side by side."""
    saved = tmp_path_factory.mktemp("saved") / "layers.keras"
    layer_model().save(saved)
    outs = {backend: tmp_path_factory.mktemp(backend) for backend in ("tensorflow",) + OTHER_BACKENDS}
    for process in [start(backend, SCRIPT, str(out), str(saved)) for backend, out in outs.items()]:
        finish(process)
    found = {}
    for backend, out in outs.items():
        with np.load(out / "results.npz") as arrays:
            found[backend] = (dict(arrays), json.loads((out / "facts.json").read_text()))
        assert found[backend][1]["backend"] == backend
    return found


def keys(arrays, prefix):
    chosen = [key for key in arrays if key.startswith(prefix)]
    assert chosen, f"no results under {prefix!r}"
    return chosen


def assert_like_tensorflow(results, backend, prefix, atol=1e-5):
    reference, arrays = results["tensorflow"][0], results[backend][0]
    assert keys(arrays, prefix) == keys(reference, prefix)
    for key in keys(reference, prefix):
        assert arrays[key].dtype == reference[key].dtype, key
        np.testing.assert_allclose(arrays[key], reference[key], atol=atol, rtol=0, err_msg=key)


def read_box(channel):
    rows, cols = np.nonzero(channel > 127.5)
    return None if len(rows) == 0 else np.array([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1], np.float32)


# ----------------------------------------------------------------------------- deterministic parts: equal


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_deterministic_parts_equal_tensorflow(results, backend):
    for prefix in ("mode/", "mode_direct/", "layer/fixed_affine/", "loaded/infer"):
        assert_like_tensorflow(results, backend, prefix)
    for preset in PRESETS:
        assert_like_tensorflow(results, backend, f"preset/{preset}/False/")
    for layer in ("crop", "affine", "pca", "exposure"):
        assert_like_tensorflow(results, backend, f"layer/{layer}/False/")
    for target in ("boxes", "masks"):
        assert_like_tensorflow(results, backend, f"targets/{target}/False/")


def test_the_modes_and_the_fixed_matrix_are_what_they_say(results):
    arrays = results["tensorflow"][0]
    images = np.random.default_rng(0).integers(0, 256, (8, H, W, 3), dtype=np.uint8).astype(np.float32)
    np.testing.assert_allclose(arrays["mode/tf/0/0"], images / 127.5 - 1.0, atol=1e-5)
    np.testing.assert_allclose(arrays["mode/caffe/0/0"], images[..., ::-1] - [103.939, 116.779, 123.68], atol=1e-4)
    torch_mode = (images / 255.0 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    np.testing.assert_allclose(arrays["mode_direct/torch/0"], torch_mode, atol=1e-5)
    np.testing.assert_allclose(arrays["mode/unit/0/0"], images / 255.0, atol=1e-6)
    np.testing.assert_array_equal(arrays["layer/crop/False/1/0/images"], np.pad(images, [(0, 0), (2, 2), (2, 2), (0, 0)])[:, 4:16, 5:19])
    fixed = arrays["layer/fixed_affine/True/1/0/images"]
    # Output pixel (x, y) samples input (0.95x - 0.17y + 1.5, 0.2x + 1.05y - 0.7): where that is a whole pixel, exactly it.
    x, y = 10, 6
    u, v = 0.95 * x - 0.17 * y + 1.5, 0.2 * x + 1.05 * y - 0.7
    u0, v0 = int(np.floor(u)), int(np.floor(v))
    a, b = u - u0, v - v0
    expected = ((1 - a) * (1 - b) * images[:, v0, u0] + a * (1 - b) * images[:, v0, u0 + 1]
                + (1 - a) * b * images[:, v0 + 1, u0] + a * b * images[:, v0 + 1, u0 + 1])
    np.testing.assert_allclose(fixed[:, y, x], expected, atol=1e-2)


# ----------------------------------------------------------------------------- random parts


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_seeded_random_parts_draw_what_tensorflow_draws(results, backend):
    for preset in PRESETS:
        assert_like_tensorflow(results, backend, f"preset/{preset}/True/", atol=1e-3)
    for layer in ("crop", "affine", "pca", "exposure"):
        assert_like_tensorflow(results, backend, f"layer/{layer}/True/", atol=1e-3)
    for target in ("boxes", "masks"):
        assert_like_tensorflow(results, backend, f"targets/{target}/True/", atol=1e-3)
    assert_like_tensorflow(results, backend, "painted", atol=1e-3)


@pytest.mark.parametrize("backend", ("tensorflow",) + OTHER_BACKENDS)
def test_random_parts_are_valid_and_seeds_differ(results, backend):
    arrays = results[backend][0]
    for name in ("crop", "affine", "pca", "exposure"):
        first, second = (arrays[f"layer/{name}/True/1/{i}" + ("/images" if name in ("crop", "affine") else "")]
                         for i in (0, 1))
        other = arrays[f"layer/{name}/True/2/0" + ("/images" if name in ("crop", "affine") else "")]
        assert first.dtype == np.float32 and np.isfinite(first).all()
        assert not np.allclose(first, other), f"{name}: seeds 1 and 2 drew the same"
        assert not np.allclose(first, second), f"{name}: the second batch repeated the first"
    assert arrays["layer/crop/True/1/0/images"].shape == (8, 12, 14, 3)
    assert arrays["layer/crop/True/1/0/segmentation_masks"].dtype == np.int32
    exposure = arrays["layer/exposure/True/1/0"]
    assert exposure.min() >= -1e-3 and exposure.max() <= 255.0 + 1e-3
    for preset in PRESETS:
        five, six = arrays[f"preset/{preset}/True/5/0/0"], arrays[f"preset/{preset}/True/6/0/0"]
        assert five.shape == (4, H, W, 3) and five.dtype == np.float32
        assert not np.allclose(five, six), preset
    assert arrays["loaded/train_shape"].tolist() == [8, H - 4, W - 4, 3]


@pytest.mark.parametrize("backend", ("tensorflow",) + OTHER_BACKENDS)
def test_boxes_follow_the_pixels_and_masks_keep_ids(results, backend):
    arrays = results[backend][0]
    images, boxes, classes = arrays["painted/0/0"], arrays["painted/0/1/boxes"], arrays["painted/0/1/classes"]
    assert boxes.shape == (8, 100, 4) and (classes[:, 3:] == -1).all()
    for n in range(8):
        for k in range(3):
            seen, box = read_box(images[n, ..., k]), boxes[n, k]
            if classes[n, k] < 0:
                assert seen is None, f"image {n} box {k} dropped but its pixels are at {seen}"
                np.testing.assert_array_equal(box, 0.0)
            elif seen is None:  # a sliver under a pixel
                assert min(box[2] - box[0], box[3] - box[1]) < 1.5, (n, k, box)
            else:
                np.testing.assert_allclose(box, seen, atol=1.0, err_msg=f"{backend} image {n} box {k}")
    assert (boxes[..., 0] >= 0).all() and (boxes[..., 2] <= W).all() and (boxes[..., 3] <= H).all()
    masks = arrays["targets/masks/True/11/0/1"]
    assert masks.dtype == np.int32 and masks.shape == (4, H, W) and set(np.unique(masks)) <= {0, 1, 2, 3}
    boxes, classes = arrays["targets/boxes/True/11/0/1/boxes"], arrays["targets/boxes/True/11/0/1/classes"]
    assert boxes.dtype == np.float32 and classes.dtype == np.int32 and ((classes >= 0) | (boxes == 0).all(-1)).all()
    assert (boxes[..., 0] >= 0).all() and (boxes[..., 2] <= W).all() and (boxes[..., 3] <= H).all()
    assert (classes[:, :3] >= 0).sum() >= 6  # most boxes survive the crop and the small affine map


# ----------------------------------------------------------------------------- models, files, fit


def unnumbered(facts):
    """Variable paths with their auto-numbers blanked (Keras's own layers number twins of their
    seed generators on JAX and PyTorch, which shifts the numbers of later ones)."""
    return json.loads(re.sub(r"_\d+/", "_#/", json.dumps(facts)))


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_layer_variables_and_saved_files_are_unchanged(results, backend):
    facts, reference = results[backend][1], results["tensorflow"][1]
    assert unnumbered(facts["weights"]) == unnumbered(reference["weights"])
    assert all(paths == ["seed_generator_#/seed_generator_state"] for paths in unnumbered(facts["weights"]).values())
    assert unnumbered(facts["loaded_weights"]) == unnumbered(reference["loaded_weights"])
    assert len(facts["loaded_weights"]) == 4
    assert facts["loaded_configs"] == reference["loaded_configs"]


@pytest.mark.parametrize("backend", ("tensorflow",) + OTHER_BACKENDS)
def test_a_layer_with_the_backends_own_ops_is_refused_by_name(results, backend):
    said = results[backend][1]["user_layer"]
    if backend == "tensorflow":
        assert said == "ran"
    else:
        assert f"cannot run Invert (layer 'invert') under the {backend} backend" in said and "tf.data" in said


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_pipeline_batches_feed_fit(results, backend):
    # Not compared with TensorFlow: Keras's JAX and PyTorch trainers first read a batch from an
    # iterator of their own to build the compiled loss (Trainer._symbolic_build), which runs the
    # augmentation of the batches it prefetches, so fit trains on later draws of the seeded pipeline.
    arrays = results[backend][0]
    for task in ("classes", "masks"):
        losses = np.array([arrays[f"fit/{task}/{step}"] for step in (0, 1)])
        assert np.isfinite(losses).all() and (losses > 0).all() and losses[0] != losses[1]


# ----------------------------------------------------------------------------- the pieces


def test_the_tensorflow_ops_used_have_keras_ops_signatures():
    import keras

    from keras_cv_course import _keras_compat

    source = open(AUGMENT_SOURCE, encoding="utf-8").read()
    tf_ops = _keras_compat.tensorflow_ops()
    flat = set(re.findall(r"\bops\.(\w+)\(", source)) - {"image"}
    image = set(re.findall(r"\bops\.image\.(\w+)\(", source))
    drawn = set(re.findall(r"\bk\.random\.(\w+)\(", source))
    assert {"stack", "cast", "where"} <= flat and image == {"affine_transform", "rgb_to_hsv", "hsv_to_rgb"}
    assert drawn == {"uniform", "normal"}
    pairs = ([(getattr(keras.ops, n), getattr(tf_ops, n)) for n in flat]
             + [(getattr(keras.ops.image, n), getattr(tf_ops.image, n)) for n in image]
             + [(getattr(keras.random, n), getattr(tf_ops.random, n)) for n in drawn])
    for public, backend_function in pairs:
        assert inspect.signature(public) == inspect.signature(backend_function), public.__name__
    with pytest.raises(AttributeError, match="no op 'no_such_op'"):
        tf_ops.no_such_op


def test_augment_imports_and_runs_without_tensorflow():
    assert "no tensorflow: ok" in finish(start("jax", NO_TENSORFLOW), timeout=120)


def test_the_presets_here_are_the_modules():
    from keras_cv_course.data import augment

    assert tuple(augment.PRESETS) == PRESETS
