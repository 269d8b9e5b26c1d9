"""fashion_scenes: made from real Fashion-MNIST items, deterministic, exact boxes and masks, and
carried by data.pipeline."""

import os

import numpy as np
import pytest
import tensorflow as tf

from keras_cv_course import data
from keras_cv_course.data import datasets, scenes
from tests.data.conftest import needs_debian

PLAIN = scenes.SceneConfig(background="plain", clutter=0)


@pytest.fixture
def fresh(monkeypatch):
    """No scenes or item pools kept from other tests."""
    monkeypatch.setattr(scenes, "_MEMORY", {})
    monkeypatch.setattr(scenes, "_POOLS", {})


def tight_box(region):
    rows, cols = np.nonzero(region)
    return np.array([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1], np.float32)


def test_loads_from_the_embedded_sample_without_other_copies(empty_env, fresh):
    source = data.locate("fashion_scenes", "train")
    assert source.kind == "generated" and "fashion_mnist_sample" in source.path
    ds = data.load("fashion_scenes", "train", num_scenes=30)
    image_spec, target_spec = ds.element_spec
    assert image_spec.shape == (128, 128, 1) and image_spec.dtype == tf.uint8
    assert target_spec["boxes"].shape.as_list() == [None, 4] and target_spec["classes"].dtype == tf.int32
    made = scenes.generate("train", 30)
    assert "fashion_mnist_sample" in made.origin
    with np.load(datasets.SAMPLE_FILE) as sample:
        labels = sample["y_train"]
    assert made.item_index.max() < len(labels)
    np.testing.assert_array_equal(made.classes, labels[made.item_index])  # each class is its item's label
    for (image, target), i in zip(ds.as_numpy_iterator(), range(30)):
        boxes, classes = made.objects(i)
        np.testing.assert_array_equal(image, made.images[i])
        np.testing.assert_array_equal(target["boxes"], boxes)
        np.testing.assert_array_equal(target["classes"], classes)


def test_test_split_takes_test_items(empty_env, fresh):
    made = scenes.generate("test", 20)
    with np.load(datasets.SAMPLE_FILE) as sample:
        np.testing.assert_array_equal(made.classes, sample["y_test"][made.item_index])
    assert not np.array_equal(made.images, scenes.generate("train", 20).images)


@needs_debian
def test_full_fashion_mnist_is_used_when_installed(fresh, monkeypatch):
    monkeypatch.delenv("KCC_DEBIAN_FASHION_MNIST", raising=False)
    made = scenes.generate("train", 40, source="full")
    assert "debian" in made.origin and made.item_index.max() >= 2_000


def test_deterministic_by_seed_and_independent_of_count(empty_env, fresh):
    first = scenes.generate("train", 12, seed=3)
    scenes._MEMORY.clear()
    again = scenes.generate("train", 12, seed=3)
    assert first is not again
    for name in ("images", "instance_masks", "boxes", "classes", "row_splits"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
    fewer = scenes.generate("train", 5, seed=3)
    np.testing.assert_array_equal(fewer.images, first.images[:5])
    np.testing.assert_array_equal(fewer.boxes, first.boxes[: fewer.row_splits[-1]])
    assert not np.array_equal(scenes.generate("train", 12, seed=4).images, first.images)


def test_boxes_are_tight_around_the_pasted_pixels(empty_env, fresh):
    made = scenes.generate("train", 60, config=PLAIN)
    threshold = PLAIN.threshold
    for i in range(len(made)):
        image, instances = made.images[i, ..., 0], made.instance_masks[i]
        boxes, _ = made.objects(i)
        objects = (instances >= 1) & (instances < scenes.VOID)
        # On a plain canvas the object pixels are exactly the bright pixels of the image.
        np.testing.assert_array_equal(image >= threshold, objects)
        assert set(np.unique(instances)) <= set(range(len(boxes) + 1)) | {scenes.VOID}
        for k, box in enumerate(boxes, start=1):
            np.testing.assert_array_equal(box, tight_box(instances == k))
        # the faint rim (void) is dim and borders objects
        assert (image[instances == scenes.VOID] < threshold).all()


def test_boxes_follow_the_instance_mask_with_texture_and_occlusion(empty_env, fresh):
    made = scenes.generate("train", 80)
    assert (made.visible < 1).any(), "some items should be partly hidden"
    assert (made.visible >= made.config.min_visible).all()
    for i in range(len(made)):
        boxes, _ = made.objects(i)
        for k, box in enumerate(boxes, start=1):
            np.testing.assert_array_equal(box, tight_box(made.instance_masks[i] == k))
    counts = made.counts
    assert counts.min() >= 1 and counts.max() <= 6


def test_semantic_mask_is_the_instance_mask_coloured_by_class(empty_env, fresh):
    made = scenes.generate("test", 25)
    semantic = made.semantic_masks
    for i in range(len(made)):
        instances = made.instance_masks[i]
        _, classes = made.objects(i)
        np.testing.assert_array_equal(semantic[i][instances == 0], 0)
        np.testing.assert_array_equal(semantic[i][instances == scenes.VOID], scenes.VOID)
        for k, cls in enumerate(classes, start=1):
            np.testing.assert_array_equal(semantic[i][instances == k], cls + 1)
    masks = data.load("fashion_scenes_masks", "test", num_scenes=25)
    for (image, mask), i in zip(masks.as_numpy_iterator(), range(25)):
        np.testing.assert_array_equal(mask, semantic[i])
        np.testing.assert_array_equal(image, made.images[i])
    for (_, target), i in zip(made.instance_dataset().as_numpy_iterator(), range(3)):
        np.testing.assert_array_equal(target["instance_mask"], made.instance_masks[i])
    assert data.info("fashion_scenes_masks").num_classes == 11 == len(scenes.SEGMENTATION_CLASSES)
    assert data.info("fashion_scenes").class_names == datasets.FASHION_CLASSES


def test_flows_through_the_pipeline_with_boxes_and_masks(empty_env, fresh):
    made = scenes.generate("train", 16)
    plain = data.pipeline(made.detection_dataset(), batch_size=8, training=False, image_size=256, max_boxes=8)
    images, targets = next(iter(plain))
    assert images.shape == (8, 256, 256, 1)
    valid = targets["classes"].numpy() >= 0
    np.testing.assert_array_equal(valid.sum(axis=1), made.counts[:8])
    for i in range(8):
        boxes, classes = made.objects(i)
        np.testing.assert_allclose(targets["boxes"].numpy()[i][valid[i]], boxes * 2, atol=1e-4)
        np.testing.assert_array_equal(targets["classes"].numpy()[i][valid[i]], classes)
    augmented = data.pipeline(made.detection_dataset(), batch_size=8, training=True, image_size=96, augment="fashion",
                              channels=3, max_boxes=8, seed=1)
    images, targets = next(iter(augmented))
    assert images.shape == (8, 96, 96, 3) and targets["boxes"].shape == (8, 8, 4)
    assert (targets["classes"].numpy() >= 0).sum() > 0
    masks = data.pipeline(made.segmentation_dataset(), batch_size=8, training=True, image_size=64,
                          augment=[tf.keras.layers.RandomFlip("horizontal", seed=2)], mask_fill=255, seed=2)
    images, labels = next(iter(masks))
    assert images.shape == (8, 64, 64, 1) and labels.shape == (8, 64, 64)
    assert set(np.unique(labels.numpy())) <= set(range(11)) | {255}


def test_cache_dir_keeps_the_scenes(empty_env, fresh, tmp_path, monkeypatch):
    cache = tmp_path / "scenes"
    made = scenes.generate("test", 6, cache_dir=cache)
    files = os.listdir(cache)
    assert len(files) == 1 and files[0].startswith("fashion_scenes-test-")
    scenes._MEMORY.clear()
    monkeypatch.setattr(scenes, "_draw_many", lambda *a: pytest.fail("the cached scenes were drawn again"))
    read = scenes.generate("test", 6, cache_dir=cache)
    assert read is not made and read.config == made.config and read.origin == made.origin
    for name in ("images", "instance_masks", "boxes", "classes", "row_splits", "visible"):
        np.testing.assert_array_equal(getattr(read, name), getattr(made, name))


def test_options_and_config_are_checked(empty_env, fresh):
    with pytest.raises(TypeError, match="takes the options"):
        data.load("fashion_scenes", "train", bogus=1)
    with pytest.raises(TypeError, match="takes no options"):
        data.load("fashion_mnist_sample", "train", seed=1)
    with pytest.raises(ValueError, match="splits"):
        data.load("fashion_scenes", "validation")
    with pytest.raises(ValueError, match="fit"):
        scenes.SceneConfig(image_size=40)
    with pytest.raises(data.DatasetNotFoundError):
        scenes.generate("train", 2, source="full")


def test_statistics_and_example_figure(empty_env, fresh, tmp_path):
    made = scenes.generate("train", 40)
    stats = scenes.scene_statistics(made)
    assert stats["objects"] == len(made.boxes) == made.counts.sum()
    assert sum(stats["objects_per_image"]["histogram"].values()) == 40
    assert sum(stats["class_counts"].values()) == stats["objects"]
    assert sum(stats["box_sqrt_area_histogram"].values()) == stats["objects"]
    assert abs(sum(stats["pixel_shares"].values()) - 1) < 1e-6
    text = scenes.format_statistics(stats)
    assert "objects per image" in text and "COCO area ranges" in text
    path = scenes.plot_examples(made, tmp_path / "examples.png", count=4, cols=2)
    with open(path, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


def test_plot_boxes_draws_real_boxes_on_the_pixel_grid():
    from matplotlib.patches import Rectangle

    from keras_cv_course.visualize import plots

    _, ax = plots.new_figure()
    boxes = np.array([[2, 3, 10, 8], [0, 0, 4, 4], [0, 0, 0, 0]], np.float32)
    plots.plot_boxes(ax, np.zeros((12, 12), np.uint8), boxes, [1, 0, -1], scores=[0.9, 0.2, 0.0],
                     class_names=["a", "b"], score_threshold=0.5)
    rectangles = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(rectangles) == 1  # padding (class -1) and the low score are left out
    assert rectangles[0].get_xy() == (1.5, 2.5) and rectangles[0].get_width() == 8 and rectangles[0].get_height() == 5
    assert [t.get_text() for t in ax.texts] == ["b 0.90"]
    np.testing.assert_allclose(rectangles[0].get_edgecolor()[:3], plots.box_colors(2)[1])
    with pytest.raises(ValueError, match="do not match"):
        plots.plot_boxes(ax, None, boxes, [0, 1])
