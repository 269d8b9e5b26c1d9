"""data.pipeline with boxes, masks and label vectors: every geometric step is checked by painting
each box into the image (its own channel), transforming both, and reading the box back from the
output pixels; the mask is the painted region too and must match the output pixels."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_cv_course import data
from keras_cv_course.data import augment

H, W, N = 24, 32, 8  # non-square, so a mix-up of x and y shows
IDS = (5, 7, 9)  # mask ids of boxes 0, 1, 2 (their box classes are 0, 1, 2: class 0 is a real class)
BRIGHT = 127.5


def painted_boxes(n=N, seed=0):
    """(n, H, W, 4) uint8 images and (n, 3, 4) xyxy boxes: channel k is 255 inside box k, channel 3 is
    255 everywhere (after a transform its dark pixels are the ones from outside the image). Box 0
    lies inside, box 1 on the right border (it gets clipped), box 2 is a tiny box in the top-left
    corner (shifts push it out of the image)."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, H, W, 4), np.uint8)
    images[..., 3] = 255
    boxes = np.zeros((n, 3, 4), np.float32)
    for i in range(n):
        w0, h0 = rng.integers(5, 10, 2)
        x0, y0 = rng.integers(6, W - 6 - w0), rng.integers(4, H - 4 - h0)
        y1 = rng.integers(4, H - 9)
        boxes[i] = [[x0, y0, x0 + w0, y0 + h0], [W - 4, y1, W, y1 + 6], [0, 0, 2, 3]]
        for k, (a, b, c, d) in enumerate(boxes[i].astype(int)):
            images[i, b:d, a:c, k] = 255
    return images, boxes


def painted_masks(images, boxes):
    masks = np.zeros(images.shape[:3], np.uint8)
    for i, per_image in enumerate(boxes.astype(int)):
        for k, (a, b, c, d) in enumerate(per_image):
            masks[i, b:d, a:c] = IDS[k]
    return masks


@pytest.fixture(scope="module")
def painted():
    images, boxes = painted_boxes()
    box_ds = tf.data.Dataset.from_tensor_slices((images, {"boxes": boxes, "classes": np.tile(np.arange(3), (N, 1))}))
    mask_ds = tf.data.Dataset.from_tensor_slices((images, painted_masks(images, boxes)))
    return box_ds, mask_ds


def batches(ds):
    return [(x.numpy(), tf.nest.map_structure(lambda t: t.numpy(), y)) for x, y in ds]


def read_box(channel):
    """The xyxy box of the bright pixels (pixel i covers [i, i + 1)), None when there are none."""
    rows, cols = np.nonzero(channel > BRIGHT)
    if len(rows) == 0:
        return None
    return np.array([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1], np.float32)


def check_boxes(x, target, tol=1.0, rotated=False):
    """Every output box equals the box read back from its channel to within ``tol`` pixels, dropped
    boxes (class -1) have no pixels left, padding stays class -1 / box 0. ``rotated``: enclosing boxes
    of rotated rectangles; one that touches the border was clipped and only has to contain the
    pixels. Returns the number of boxes dropped."""
    boxes, classes = target["boxes"], target["classes"]
    assert boxes.dtype == np.float32 and classes.dtype == np.int32 and boxes.shape[:2] == classes.shape
    height, width = x.shape[1:3]
    dropped = 0
    for i in range(len(x)):
        assert (classes[i, 3:] == -1).all() and (boxes[i][classes[i] < 0] == 0).all()
        for k in range(3):
            seen, box = read_box(x[i, :, :, k]), boxes[i, k]
            if classes[i, k] < 0:
                dropped += 1
                assert seen is None, f"image {i} box {k} dropped but its pixels are at {seen}"
                continue
            assert classes[i, k] == k and 0 <= box[0] <= box[2] <= width and 0 <= box[1] <= box[3] <= height
            touches = box[0] <= 0 or box[1] <= 0 or box[2] >= width or box[3] >= height
            if seen is None:  # a sliver under a pixel, or (rotated) a clipped corner of an enclosing box
                assert min(box[2] - box[0], box[3] - box[1]) < 1.5 or (rotated and touches), (i, k, box)
            elif rotated and touches:
                assert (seen[:2] >= box[:2] - tol).all() and (seen[2:] <= box[2:] + tol).all(), (i, k, seen, box)
            else:
                np.testing.assert_allclose(seen, box, atol=tol, err_msg=f"image {i} box {k}")
    return dropped


def edge_pixels(labels):
    """Pixels whose 3x3 neighbourhood holds more than one value."""
    padded = np.pad(labels, ((0, 0), (1, 1), (1, 1)), mode="edge")
    shifted = [padded[:, 1 + dy: 1 + dy + labels.shape[1], 1 + dx: 1 + dx + labels.shape[2]]
               for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    return np.any([s != labels for s in shifted], axis=0)


def check_masks(x, masks, fill, exact):
    """The mask is the id of the bright channel, 0 inside the image elsewhere, ``fill`` outside it
    (channel 3 dark); ``exact`` False allows differences on region edges (nearest-neighbour mask
    against a bilinear / antialiased image)."""
    assert masks.dtype == np.int32 and masks.shape == x.shape[:3]
    assert set(np.unique(masks).tolist()) <= set(IDS) | {0, fill}
    expected = np.where(x[..., 3] > BRIGHT, 0, fill)
    for k, class_id in enumerate(IDS):
        expected = np.where(x[..., k] > BRIGHT, class_id, expected)
    wrong = masks != expected
    if not exact:  # where the mask or the thresholded image changes within a pixel
        wrong &= ~(edge_pixels(expected) | edge_pixels(masks))
    assert not wrong.any(), f"{wrong.sum()} mask pixels differ from the image, at {np.argwhere(wrong)[:5].tolist()}"


FOUR_CHANNEL_PCA = (np.full(4, 1.0, np.float32), np.eye(4, dtype=np.float32))


def layers(*make):
    """Pipeline arguments with fresh layers each run (a layer's seed generator advances with use)."""
    return lambda: {"augment": [m() for m in make]}


# name: (pipeline arguments, training, box tolerance, rotated, masks exact, some box must be dropped)
CASES = {
    "stretch_up": (dict(image_size=(36, 40)), False, 1.0, False, False, False),
    "stretch_down": (dict(image_size=(16, 20)), False, 1.0, False, False, False),
    "pad": (dict(image_size=(40, 36), resize="pad"), False, 1.0, False, False, False),
    "fashion": (dict(augment="fashion"), True, 0.0, False, True, False),
    "cifar": (dict(augment="cifar"), True, 0.0, False, True, True),
    "alexnet_train": (dict(augment="alexnet", image_size=(H, W), pca=FOUR_CHANNEL_PCA), True, 1.0, False, False, False),
    "alexnet_eval": (dict(augment="alexnet", image_size=(H, W)), False, 1.0, False, False, False),
    "affine_shift_zoom": (layers(lambda: augment.RandomAffine(0, 0.25, 0.25, 0, 0.3, fill_mode="constant", seed=4),
                                 lambda: keras.layers.RandomFlip("horizontal", seed=5)), True, 1.0, False, False, True),
    # Rotated rectangles: thresholding puts each edge within half a pixel, and at a corner the
    # outermost pixel center inside can sit up to one more pixel short of the corner: 1.5 pixels.
    "affine_rotation": (layers(lambda: augment.RandomAffine(30, fill_mode="constant", seed=6)), True, 1.5, True, False, False),
    "image_data_generator": (dict(augment="image_data_generator"), True, 1.5, True, False, True),
    "keras_shift_zoom_flip": (layers(lambda: keras.layers.RandomFlip("horizontal_and_vertical", seed=1),
                                     lambda: keras.layers.RandomTranslation(0.2, 0.25, fill_mode="constant", seed=2),
                                     lambda: keras.layers.RandomZoom(0.3, fill_mode="constant", seed=3)),
                              True, 1.0, False, False, True),
    "keras_rotation": (layers(lambda: keras.layers.RandomRotation(0.08, fill_mode="constant", seed=7)),
                       True, 1.5, True, False, False),
    "keras_resizing": (layers(lambda: keras.layers.Resizing(30, 30)), True, 1.0, False, False, False),
}
MASK_ONLY_CASES = {  # Keras misplaces boxes here (refused with boxes) but moves masks with the pixels
    "keras_resizing_pad": (layers(lambda: keras.layers.Resizing(30, 30, pad_to_aspect_ratio=True)),
                           True, 1.0, False, False, False),
    # a reflected border is image content: the mask is reflected with it (no fill)
    "keras_translation_reflect": (layers(lambda: keras.layers.RandomTranslation(0.25, 0.25, fill_mode="reflect", seed=8)),
                                  True, 1.0, False, False, False),
}


def run_case(ds, name, **extra):
    args, training = {**CASES, **MASK_ONLY_CASES}[name][:2]
    if callable(args):
        args = args()
    return batches(data.pipeline(ds, batch_size=4, training=training, preprocess="none", seed=3, **args, **extra))


@pytest.mark.parametrize("name", list(CASES))
def test_painted_boxes_come_back_from_the_pixels(painted, name):
    tol, rotated, _, must_drop = CASES[name][2:]
    dropped = sum(check_boxes(x, t, tol=tol, rotated=rotated) for x, t in run_case(painted[0], name, max_boxes=5))
    if must_drop:
        assert dropped > 0, "no box left the image: the check of dropping was not exercised"


@pytest.mark.parametrize("name", list(CASES) + list(MASK_ONLY_CASES))
def test_masks_keep_their_ids_and_match_the_pixels(painted, name):
    exact = {**CASES, **MASK_ONLY_CASES}[name][4]
    fill = 255 if name in ("pad", "cifar", "affine_shift_zoom", "keras_shift_zoom_flip") else 0
    out = run_case(painted[1], name, **({"mask_fill": fill} if fill else {}))
    for x, masks in out:
        check_masks(x, masks, fill, exact)
    if fill:
        assert any((m == fill).any() for _, m in out), "no pixel came from outside the image"


def test_box_formats_are_converted_and_the_input_is_not_changed(painted):
    images, boxes = painted_boxes(4)
    x1, y1, x2, y2 = np.moveaxis(boxes, -1, 0)
    rel_yxyx = np.stack([y1 / H, x1 / W, y2 / H, x2 / W], axis=-1)
    given = rel_yxyx.copy()
    classes = np.tile(np.arange(3), (4, 1))
    ds = tf.data.Dataset.from_tensor_slices((images, {"boxes": rel_yxyx, "classes": classes}))
    x, t = batches(data.pipeline(ds, batch_size=4, training=False, bounding_box_format="rel_yxyx", max_boxes=3))[0]
    np.testing.assert_allclose(t["boxes"], boxes, atol=1e-4)  # xyxy pixels out
    np.testing.assert_array_equal(rel_yxyx, given)


def test_label_vectors_pass_through_as_float32():
    images = np.zeros((6, 8, 8, 1), np.uint8)
    one_hot = np.eye(4, dtype=np.uint8)[[0, 1, 2, 3, 0, 1]]
    multi_hot = np.array([[1, 0, 1, 1]] * 6, np.int64)
    for labels in (one_hot, multi_hot):
        ds = tf.data.Dataset.from_tensor_slices((images, labels))
        (_, y), = batches(data.pipeline(ds, batch_size=6, training=True, augment="cifar", num_classes=4, seed=0,
                                        shuffle_buffer=1))
        assert y.dtype == np.float32 and y.shape == (6, 4)
        np.testing.assert_array_equal(y, labels)
    with pytest.raises(ValueError, match=r"Vector labels have length 4 but num_classes=10"):
        data.pipeline(tf.data.Dataset.from_tensor_slices((images, one_hot)), batch_size=2, training=False, num_classes=10)


def box_dataset(boxes, classes=None, image_shape=(H, W, 4)):
    boxes = np.asarray(boxes, np.float32)
    classes = np.zeros(boxes.shape[:2], np.int32) if classes is None else np.asarray(classes, np.int32)
    images = np.zeros((len(boxes),) + image_shape, np.uint8)
    return tf.data.Dataset.from_tensor_slices((images, {"boxes": boxes, "classes": classes}))


@pytest.mark.parametrize("boxes, classes, match", [
    ([[[10, 4, 6, 9]]], None, r"x1 <= x2 and y1 <= y2.*bad boxes.*\[10 4 6 9\]"),
    ([[[1, 2, 3, np.nan]]], None, r"finite.*bad boxes.*nan"),
    ([[[20, 5, 33, 9]]], None, r"inside their image.*height, width.*24.*32.*\[20 5 33 9\]"),
    ([[[1, 1, 2, 2]]], [[-2]], r"classes must lie in \[0, inf\).*-2"),
])
def test_malformed_boxes_raise_naming_the_bad_value(boxes, classes, match):
    with pytest.raises(tf.errors.InvalidArgumentError, match=match):
        batches(data.pipeline(box_dataset(boxes, classes), batch_size=1, training=False, max_boxes=2))


def test_boxes_vary_per_image_and_too_many_boxes_are_refused():
    counts = [0, 1, 3, 2]
    boxes = tf.ragged.constant([[[1.0, 2.0, 5.0, 6.0]] * n for n in counts], ragged_rank=1, inner_shape=(4,))
    classes = tf.ragged.constant([list(range(n)) for n in counts], dtype=tf.int64)
    ds = tf.data.Dataset.from_tensor_slices((np.zeros((4, H, W, 1), np.uint8), {"boxes": boxes, "classes": classes}))
    (_, t), = batches(data.pipeline(ds, batch_size=4, training=False, max_boxes=3))
    assert t["boxes"].shape == (4, 3, 4) and t["classes"].shape == (4, 3)
    np.testing.assert_array_equal(t["classes"], [[-1, -1, -1], [0, -1, -1], [0, 1, 2], [0, 1, -1]])
    np.testing.assert_array_equal(t["boxes"][3], [[1, 2, 5, 6], [1, 2, 5, 6], [0, 0, 0, 0]])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"more boxes than max_boxes=2.*count.*3"):
        batches(data.pipeline(ds, batch_size=4, training=False, max_boxes=2))
    with pytest.raises(ValueError, match=r"Every image has 3 boxes, more than max_boxes=2"):
        data.pipeline(box_dataset([[[1, 1, 2, 2]] * 3]), batch_size=1, training=False, max_boxes=2)


def test_box_classes_are_checked_against_num_classes():
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"classes must lie in \[0, 3\).*3"):
        batches(data.pipeline(box_dataset([[[1, 1, 2, 2]]], [[3]]), batch_size=1, training=False, num_classes=3))


def test_bad_box_dicts_and_masks_are_refused_when_the_pipeline_is_built():
    images = np.zeros((2, H, W, 1), np.uint8)
    make = lambda target: data.pipeline(tf.data.Dataset.from_tensor_slices((images, target)),  # noqa: E731
                                        batch_size=2, training=False)
    with pytest.raises(ValueError, match=r"keys 'boxes' \(N, 4\) and 'classes'.*\['bbox', 'classes'\]"):
        make({"bbox": np.zeros((2, 1, 4)), "classes": np.zeros((2, 1), np.int32)})
    with pytest.raises(ValueError, match=r"target\['boxes'\] must be \(N, 4\).*\(1, 5\)"):
        make({"boxes": np.zeros((2, 1, 5)), "classes": np.zeros((2, 1), np.int32)})
    with pytest.raises(ValueError, match=r"integer class ids; got float32 masks"):
        make(np.zeros((2, H, W), np.float32))
    with pytest.raises(ValueError, match=r"shape \(24, 32, 3\) is neither a class id"):
        make(np.zeros((2, H, W, 3), np.uint8))
    with pytest.raises(ValueError, match=r"images are \(24, 32\), masks \(12, 16\)"):
        make(np.zeros((2, H // 2, W // 2), np.uint8))
    encoded = [tf.io.encode_png(np.zeros((H, W, 1), np.uint8)).numpy()] * 2  # image sizes known only when decoded
    undecided = tf.data.Dataset.from_tensor_slices((encoded, np.zeros((2, H, W + 1), np.uint8)))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Masks must have the height and width of their image.*24 33"):
        batches(data.pipeline(undecided, batch_size=2, training=False, image_size=16))
    with pytest.raises(ValueError, match=r"bounding_box_format must be one of"):
        data.pipeline(box_dataset([[[1, 1, 2, 2]]]), batch_size=1, training=False, bounding_box_format="cxcywh")


class Sepia(keras.layers.Layer):
    """A user colour layer that says so."""

    geometric = False

    def call(self, images, training=True):
        return images * 0.9


@pytest.mark.parametrize("layer, match", [
    (keras.layers.RandomCrop(16, 16), r"RandomCrop.*other axis' offset.*augment.RandomCrop"),
    (keras.layers.MixUp(), r"MixUp.*\(B, 2N, 4\)"),
    (keras.layers.CenterCrop(30, 30), r"CenterCrop.*interpolates mask ids"),
    (keras.layers.RandomShear(0.2), r"RandomShear.*miss"),
    (keras.layers.RandomTranslation(0.1, 0.1), r"fill_mode='reflect'.*fill_mode='constant'"),
    (keras.layers.Resizing(30, 30, crop_to_aspect_ratio=True), r"Resizing.*off by up to half an input pixel"),
    (keras.layers.Lambda(lambda x: x[:, ::-1]), r"Lambda.*does not know whether the layer moves pixels"),
])
def test_layers_that_cannot_carry_boxes_are_refused(layer, match):
    with pytest.raises(ValueError, match=match):
        data.pipeline(box_dataset([[[1, 1, 2, 2]]]), batch_size=1, training=True, augment=[layer])
    images = np.zeros((2, H, W, 3), np.uint8)
    classified = tf.data.Dataset.from_tensor_slices((images, np.arange(2)))
    data.pipeline(classified, batch_size=2, training=True, augment=[layer])  # class labels: any layer goes


def test_colour_layers_leave_boxes_and_masks_alone(painted):
    layers = [keras.layers.RandomBrightness(0.1, value_range=(0, 255), seed=0), Sepia(), augment.PCALighting(*FOUR_CHANNEL_PCA)]
    # seed=0: without a seed the augmenting map may hand batches out of order (deterministic=False), and
    # under load it did (CI compared batch 2's masks with batch 1's).
    (x, t), _ = batches(data.pipeline(painted[0], batch_size=4, training=True, augment=layers, max_boxes=3,
                                      shuffle_buffer=1, seed=0))
    np.testing.assert_array_equal(t["boxes"], painted_boxes()[1][:4])
    (_, m), _ = batches(data.pipeline(painted[1], batch_size=4, training=True, augment=layers, shuffle_buffer=1,
                                      seed=0))
    np.testing.assert_array_equal(m, painted_masks(*painted_boxes())[:4])


def test_seeded_pipelines_with_boxes_repeat_and_other_seeds_differ(painted):
    make = lambda seed: batches(data.pipeline(  # noqa: E731
        painted[0], batch_size=4, training=True, augment="image_data_generator", seed=seed, max_boxes=4))
    a, b, c = make(11), make(11), make(12)
    for (xa, ta), (xb, tb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ta["boxes"], tb["boxes"])
        np.testing.assert_array_equal(ta["classes"], tb["classes"])
    assert not np.array_equal(a[0][1]["boxes"], c[0][1]["boxes"])


def test_own_layers_move_boxes_alone_and_keep_their_config():
    boxes = {"boxes": np.array([[[2, 3, 10, 12], [0, 0, 0, 0]]], np.float32), "labels": np.array([[4, -1]])}
    images = np.zeros((1, 16, 16, 1), np.float32)
    crop = augment.RandomCrop(12, 12, bounding_box_format="xyxy")
    out = crop({"images": images, "bounding_boxes": boxes}, training=False)  # center crop: offset (2, 2)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out["bounding_boxes"]["boxes"]), [[[0, 1, 8, 10], [0, 0, 0, 0]]])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(out["bounding_boxes"]["labels"]), [[4, -1]])
    for layer in (crop, augment.RandomAffine(10, fill_mode="constant", bounding_box_format="xywh")):
        config = layer.get_config()
        assert config["bounding_box_format"] == layer.bounding_box_format
        assert layer.__class__.from_config(config).get_config() == config
    with pytest.raises(ValueError, match="no bounding_box_format"):
        augment.RandomCrop(12, 12)({"images": images, "bounding_boxes": boxes})
