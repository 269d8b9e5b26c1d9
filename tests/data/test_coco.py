"""COCO-style JSON: fashion_scenes written as an instances file read back equal (and by pycocotools);
category ids become contiguous; every malformed annotation is a clear error or a counted skip."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from keras_cv_course import data
from keras_cv_course.data import coco, scenes
from keras_cv_course.data.voc import AnnotationError


@pytest.fixture
def written(tmp_path):
    """``(annotation file, image folder, scenes)`` of 5 scenes."""
    made = scenes.generate("test", 5, source="sample")
    path, images = str(tmp_path / "annotations" / "instances.json"), str(tmp_path / "images")
    coco.write_coco(made, path, images)
    return path, images, made


def rewrite(path, change):
    with open(path) as f:
        content = json.load(f)
    change(content)
    with open(path, "w") as f:
        json.dump(content, f)


def test_scenes_written_as_coco_read_back_equal(written):
    path, images, made = written
    ds = coco.load_coco(path, images, channels=1)
    assert ds.class_names == scenes.FASHION_CLASSES and ds.category_ids == tuple(range(1, 11))
    assert ds.report.num_images == 5 and ds.report.num_objects == len(made.boxes)
    for i, (image, target) in enumerate(ds.as_numpy_iterator()):
        boxes, classes = made.objects(i)
        np.testing.assert_array_equal(image, made.images[i])
        np.testing.assert_array_equal(target["boxes"], boxes)
        np.testing.assert_array_equal(target["classes"], classes)
    batch = next(iter(data.pipeline(ds, batch_size=5, training=False, image_size=64, max_boxes=8)))
    assert batch[1]["boxes"].shape == (5, 8, 4)


def test_pycocotools_reads_the_file_and_its_masks(written):
    pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO

    path, _, made = written
    ground_truth = COCO(path)
    assert min(ground_truth.getAnnIds()) == 1 and min(ground_truth.getImgIds()) == 1  # ids >= 1 (DENSE.md)
    for i in range(len(made)):
        anns = ground_truth.loadAnns(ground_truth.getAnnIds(imgIds=[i + 1]))
        for k, ann in enumerate(anns, start=1):
            np.testing.assert_array_equal(ground_truth.annToMask(ann).astype(bool), made.instance_masks[i] == k)
            assert ann["area"] == (made.instance_masks[i] == k).sum()


def test_sparse_category_ids_become_contiguous_with_names_kept(written):
    path, images, made = written
    sparse = {1: 90, 2: 5, 3: 17}

    def remap(content):
        content["categories"] = [c for c in content["categories"] if c["id"] in sparse]
        for c in content["categories"]:
            c["id"] = sparse[c["id"]]
        content["annotations"] = [a for a in content["annotations"] if a["category_id"] in sparse]
        for a in content["annotations"]:
            a["category_id"] = sparse[a["category_id"]]

    rewrite(path, remap)
    ds = coco.load_coco(path, images)
    assert ds.category_ids == (5, 17, 90)
    assert ds.class_names == (scenes.FASHION_CLASSES[1], scenes.FASHION_CLASSES[2], scenes.FASHION_CLASSES[0])
    expected = {0: 2, 1: 0, 2: 1}  # fashion class → contiguous id (by increasing COCO id)
    for i, (_, target) in enumerate(ds.as_numpy_iterator()):
        _, classes = made.objects(i)
        np.testing.assert_array_equal(target["classes"], [expected[c] for c in classes if c in expected])


def test_crowd_regions_are_dropped_kept_or_flagged(written):
    path, images, made = written
    rewrite(path, lambda c: c["annotations"][0].update(iscrowd=1))
    n0 = made.counts[0]
    first = next(coco.load_coco(path, images).as_numpy_iterator())[1]
    np.testing.assert_array_equal(first["boxes"], made.objects(0)[0][1:])
    assert len(next(coco.load_coco(path, images, crowd="keep").as_numpy_iterator())[1]["boxes"]) == n0
    flagged = next(coco.load_coco(path, images, crowd="flag").as_numpy_iterator())[1]
    np.testing.assert_array_equal(flagged["iscrowd"], [True] + [False] * (n0 - 1))


def test_small_overshoot_is_clipped(written):
    path, images, made = written
    rewrite(path, lambda c: c["annotations"][0].update(bbox=[-0.4, 2.0, 128.6, 10.0]))
    first = next(coco.load_coco(path, images).as_numpy_iterator())[1]
    np.testing.assert_allclose(first["boxes"][0], [0, 2, 128, 12])


def _ann(key, value):
    return lambda c: c["annotations"][1].update({key: value})


def _drop_ann_field(key):
    return lambda c: c["annotations"][1].pop(key)


CASES = {
    "bbox missing": (_drop_ann_field("bbox"), "annotations[1] (id 2).bbox", "missing"),
    "bbox not 4 numbers": (_ann("bbox", [1, 2, 3]), "annotations[1] (id 2).bbox", "not [x, y, w, h]"),
    "bbox outside": (_ann("bbox", [100.0, 10.0, 40.0, 10.0]), ".bbox", "outside the 128×128 image"),
    "negative width (xmin > xmax)": (_ann("bbox", [50.0, 10.0, -5.0, 10.0]), ".bbox", "must be > 0"),
    "unknown category": (_ann("category_id", 99), ".category_id", "unknown category 99"),
    "unknown image": (_ann("image_id", 42), ".image_id", "no image has id 42"),
    "category id missing": (_drop_ann_field("category_id"), ".category_id", "missing"),
    "image file_name missing": (lambda c: c["images"][0].pop("file_name"), "images[0].file_name", "missing"),
    "image width not an int": (lambda c: c["images"][0].update(width="128"), "images[0].width", "expected int, got '128'"),
    "duplicate image id": (lambda c: c["images"][1].update(id=1), "images[1].id", "duplicate image id 1"),
    "duplicate category id": (lambda c: c["categories"][1].update(id=1), "categories[1].id", "duplicate"),
    "no annotations list": (lambda c: c.pop("annotations"), "annotations", "missing"),
    "size differs": (lambda c: c["images"][0].update(width=300), "images[0].width/height", "says 300×128"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_annotations_name_the_file_and_field(written, case):
    path, images, _ = written
    change, field, problem = CASES[case]
    rewrite(path, change)
    with pytest.raises(AnnotationError) as caught:
        coco.load_coco(path, images)
    error = caught.value
    assert error.path == path and field in error.field and problem in str(error), str(error)


def test_malformed_json_and_missing_images(written):
    path, images, _ = written
    os.remove(os.path.join(images, "000002.png"))
    with pytest.raises(AnnotationError) as caught:
        coco.load_coco(path, images)
    assert caught.value.path == os.path.join(images, "000002.png") and "images[2].file_name" in caught.value.field
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text[:-10])
    with pytest.raises(AnnotationError, match=r"instances.json: json: malformed JSON at line 1, column \d+"):
        coco.load_coco(path, images)
    with open(path, "w") as f:
        f.write("[1, 2]")
    with pytest.raises(AnnotationError, match="the top level is a list"):
        coco.load_coco(path, images)


def test_lenient_loading_counts_and_reports_skips(written):
    path, images, made = written
    first_of = made.row_splits

    def damage(content):
        content["annotations"][first_of[1]]["bbox"] = [120.0, 0.0, 30.0, 5.0]  # image 2: outside
        content["annotations"][first_of[3]]["category_id"] = 77  # image 4: unknown category
        content["annotations"].append({"id": 999, "image_id": 123, "category_id": 1, "bbox": [0, 0, 1, 1]})

    rewrite(path, damage)
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(os.path.join(images, "000004.png"))  # image 5: wrong size
    ds = coco.load_coco(path, images, channels=1, on_error="skip")
    report = ds.report
    assert report.num_images == 2 and report.num_skipped == 4
    reasons = " | ".join(why for _, why in report.skipped)
    assert "no image has id 123" in reasons and "outside" in reasons and "unknown category 77" in reasons
    assert "says 128×128" in reasons and "4 skipped" in str(report)
    got = list(ds.as_numpy_iterator())
    assert len(got) == 2
    for (image, target), i in zip(got, (0, 2)):
        np.testing.assert_array_equal(image, made.images[i])
        np.testing.assert_array_equal(target["boxes"], made.objects(i)[0])
