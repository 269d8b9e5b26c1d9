"""Pascal VOC on disk: fashion_scenes written in the VOCdevkit layout read back equal; every
malformed annotation is a clear error naming the file and the field, or a counted skip."""

import os
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_cv_course import data
from keras_cv_course.data import scenes, voc
from keras_cv_course.data.voc import AnnotationError

NAMES = scenes.FASHION_CLASSES


def make_devkit(base, count=4, year="2007", image_format="png"):
    """``(root holding VOCdevkit, VOC{year} folder, scenes)`` with ``count`` scenes as the train split."""
    made = scenes.generate("train", count, source="sample")
    voc_dir = os.path.join(base, "VOCdevkit", f"VOC{year}")
    voc.write_voc(made, voc_dir, "train", NAMES, image_format=image_format)
    return str(base), voc_dir, made


def elements(ds):
    return list(ds.as_numpy_iterator())


def edit_xml(voc_dir, image_id, change):
    path = os.path.join(voc_dir, "Annotations", f"{image_id}.xml")
    tree = ET.parse(path)
    change(tree.getroot())
    tree.write(path)
    return path


def test_scenes_written_as_voc_read_back_equal(tmp_path):
    root, voc_dir, made = make_devkit(tmp_path, 6)
    ds = voc.load_voc(root, "train", class_names=NAMES, channels=1)
    assert ds.report.num_images == 6 and ds.report.num_skipped == 0 and ds.report.num_objects == len(made.boxes)
    for i, (image, target) in enumerate(elements(ds)):
        boxes, classes = made.objects(i)
        np.testing.assert_array_equal(image, made.images[i])
        np.testing.assert_array_equal(target["boxes"], boxes)
        np.testing.assert_array_equal(target["classes"], classes)
    masks = voc.load_voc(voc_dir, "train", task="segmentation", class_names=NAMES, channels=1)
    assert masks.class_names == scenes.SEGMENTATION_CLASSES
    for i, (image, mask) in enumerate(elements(masks)):
        np.testing.assert_array_equal(mask, made.semantic_masks[i])
        np.testing.assert_array_equal(image, made.images[i])
    with Image.open(os.path.join(voc_dir, "SegmentationClass", "train_000000.png")) as im:
        assert im.mode == "P" and im.getpalette()[:9] == [0, 0, 0, 128, 0, 0, 0, 128, 0]
    instances = voc.read_mask(os.path.join(voc_dir, "SegmentationObject", "train_000000.png"))
    np.testing.assert_array_equal(instances, made.instance_masks[0])


def test_jpeg_images_keep_boxes_and_masks(tmp_path):
    root, voc_dir, made = make_devkit(tmp_path, 3, image_format="jpg")
    for i, (image, target) in enumerate(elements(voc.load_voc(root, "train", class_names=NAMES, channels=1))):
        assert np.abs(image.astype(int) - made.images[i]).mean() < 3
        np.testing.assert_array_equal(target["boxes"], made.objects(i)[0])
    for i, (image, mask) in enumerate(elements(voc.load_voc(root, "train", task="segmentation", class_names=NAMES))):
        assert image.shape == (128, 128, 3)  # channels=3 by default: VOC is RGB
        np.testing.assert_array_equal(mask, made.semantic_masks[i])


def test_one_based_corners_become_xyxy_pixels(tmp_path):
    _, voc_dir, made = make_devkit(tmp_path, 1)

    def one_pixel(root):
        for corners in ((1, 1, 1, 1), (5, 7, 128, 128)):
            obj = ET.SubElement(root, "object")
            ET.SubElement(obj, "name").text = "Bag"
            box = ET.SubElement(obj, "bndbox")
            for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), corners):
                ET.SubElement(box, tag).text = str(value)

    ann = voc.parse_annotation(edit_xml(voc_dir, "train_000000", one_pixel), NAMES)
    np.testing.assert_array_equal(ann.boxes[:-2], made.objects(0)[0])
    np.testing.assert_array_equal(ann.boxes[-2], [0, 0, 1, 1])  # pixel (0, 0): x in [0, 1)
    np.testing.assert_array_equal(ann.boxes[-1], [4, 6, 128, 128])  # reaches the right and bottom border
    assert ann.width == ann.height == 128 and ann.depth == 1 and ann.filename == "train_000000.png"
    np.testing.assert_array_equal(voc.voc_corners(ann.boxes[-2:], "x"), [[1, 1, 1, 1], [5, 7, 128, 128]])
    assert not ann.difficult[-1] and not ann.truncated[-1]  # absent flags read as 0


def test_difficult_objects_keep_drop_or_flag(tmp_path):
    root, voc_dir, made = make_devkit(tmp_path, 2)
    edit_xml(voc_dir, "train_000000", lambda r: setattr(r.find("object/difficult"), "text", "1"))
    n0 = made.counts[0]
    keep = elements(voc.load_voc(root, "train", class_names=NAMES, channels=1))
    assert len(keep[0][1]["boxes"]) == n0 and set(keep[0][1]) == {"boxes", "classes"}
    dropped = voc.load_voc(root, "train", class_names=NAMES, channels=1, difficult="drop")
    first = elements(dropped)[0][1]
    np.testing.assert_array_equal(first["boxes"], made.objects(0)[0][1:])
    assert dropped.report.difficult == 0
    flagged = voc.load_voc(root, "train", class_names=NAMES, channels=1, difficult="flag")
    assert flagged.report.difficult == 1
    np.testing.assert_array_equal(elements(flagged)[0][1]["difficult"], [True] + [False] * (n0 - 1))
    with pytest.raises(ValueError, match="difficult must be one of"):
        voc.load_voc(root, "train", class_names=NAMES, difficult="ignore")


def test_data_load_finds_the_devkit(tmp_path, empty_env):
    root, voc_dir, made = make_devkit(tmp_path / "user", 3, year="2012")
    with pytest.raises(TypeError, match="takes the options"):
        data.load("voc2012", "train", data_dir=root, class_names=NAMES)
    source = data.locate("voc2012", "train", data_dir=root)
    assert source.kind == "folder" and source.path == voc_dir
    source = data.locate("voc2012_segmentation", "train", data_dir=root)
    assert source.kind == "folder"
    cache = empty_env["keras_home"] / "datasets"
    make_devkit(cache, 2, year="2007")
    assert data.locate("voc/2007", "train").kind == "keras_cache"
    with pytest.raises(voc.AnnotationError, match="unknown class"):
        data.load("voc2007", "train")  # fashion names are not VOC classes: the loader says so
    ds = data.load("voc2007", "train", on_error="skip")
    assert ds.report.num_skipped == 2 and "unknown class" in str(ds.report)
    assert data.info("voc2007").num_classes == 20 and data.info("voc2012_segmentation").num_classes == 21


def test_not_found_names_the_places_and_tfds_dirs_are_found(tmp_path, empty_env):
    with pytest.raises(data.DatasetNotFoundError) as caught:
        data.locate("voc2007_segmentation", "train", data_dir=tmp_path, download=False)
    message = str(caught.value)
    assert str(tmp_path) in message and "host.robots.ox.ac.uk" in message and "fashion_scenes" in message
    assert data.locate("voc2007", "test").kind == "download"  # detection may come from a TFDS download
    prepared = empty_env["tfds"] / "voc" / "2007" / "5.0.0"
    prepared.mkdir(parents=True)
    (prepared / "dataset_info.json").write_text("{}")
    source = data.locate("voc2007", "trainval")
    assert source.kind == "tfds" and source.path == str(prepared)


def test_tfds_boxes_convert_to_the_same_pixels():
    # TFDS voc stores (ymin / H, xmin / W, ymax / H, xmax / W) of VOC's 1-based corners.
    height, width = 10, 20
    corners = np.array([[1, 1, 20, 10], [3, 2, 7, 9]], np.float32)  # xmin, ymin, xmax, ymax
    rel = np.stack([corners[:, 1] / height, corners[:, 0] / width, corners[:, 3] / height, corners[:, 2] / width], -1)
    example = {"image": np.zeros((height, width, 3), np.uint8),
               "objects": {"bbox": rel, "label": np.array([14, 3]), "is_difficult": np.array([False, True])}}
    ds = tf.data.Dataset.from_tensors(example)
    _, target = next(voc.tfds_to_detection(ds).as_numpy_iterator())
    np.testing.assert_allclose(target["boxes"], [[0, 0, 20, 10], [2, 1, 7, 9]], atol=1e-4)
    np.testing.assert_array_equal(target["classes"], [14, 3])
    _, target = next(voc.tfds_to_detection(ds, "drop").as_numpy_iterator())
    np.testing.assert_array_equal(target["classes"], [14])
    _, target = next(voc.tfds_to_detection(ds, "flag").as_numpy_iterator())
    np.testing.assert_array_equal(target["difficult"], [False, True])


def test_voc_elements_flow_through_the_pipeline(tmp_path):
    root, _, made = make_devkit(tmp_path, 4)
    ds = voc.load_voc(root, "train", class_names=NAMES, channels=3)
    images, targets = next(iter(data.pipeline(ds, batch_size=4, training=True, image_size=96, augment="fashion",
                                              max_boxes=8, seed=0)))
    assert images.shape == (4, 96, 96, 3)
    assert (targets["classes"].numpy() >= 0).sum() <= made.counts.sum()


def _set(path, value):
    def change(root):
        root.find(path).text = value
    return change


def _remove(parent, child):
    def change(root):
        node = root.find(parent) if parent else root
        node.remove(node.find(child))
    return change


def _swap_x(root):
    box = root.find("object/bndbox")
    box.find("xmin").text, box.find("xmax").text = box.find("xmax").text, box.find("xmin").text


XML_CASES = {
    "missing width": (_remove("size", "width"), "size/width", "missing"),
    "missing size": (_remove("", "size"), "size", "missing"),
    "missing name": (_remove("object", "name"), "object[0]/name", "missing"),
    "missing xmax": (_remove("object/bndbox", "xmax"), "bndbox/xmax", "missing"),
    "missing bndbox": (_remove("object", "bndbox"), "bndbox", "missing"),
    "coordinate not a number": (_set("object/bndbox/xmin", "left"), "bndbox/xmin", "not a number"),
    "box outside": (_set("object/bndbox/xmax", "129"), "bndbox", "outside the 128×128 image"),
    "zero coordinate": (_set("object/bndbox/ymin", "0"), "bndbox", "outside"),
    "xmin > xmax": (_swap_x, "bndbox", "xmin"),
    "unknown class": (_set("object/name", "Hat"), "object[0]/name", "unknown class 'Hat'"),
    "difficult not 0/1": (_set("object/difficult", "2"), "difficult", "not 0 or 1"),
    "size differs": (_set("size/width", "200"), "size", "says 200×128"),
}


@pytest.mark.parametrize("case", sorted(XML_CASES))
def test_malformed_annotations_name_the_file_and_field(tmp_path, case):
    root, voc_dir, _ = make_devkit(tmp_path, 3)
    change, field, problem = XML_CASES[case]
    path = edit_xml(voc_dir, "train_000001", change)
    with pytest.raises(AnnotationError) as caught:
        voc.load_voc(root, "train", class_names=NAMES)
    error = caught.value
    assert error.path == path and field in error.field and problem in str(error)
    assert os.path.basename(path) in str(error)


def test_broken_files_are_errors_naming_them(tmp_path):
    root, voc_dir, _ = make_devkit(tmp_path, 3)
    xml_path = os.path.join(voc_dir, "Annotations", "train_000002.xml")
    with open(xml_path, "w") as f:
        f.write("<annotation><size><width>128</width></size>")
    with pytest.raises(AnnotationError, match="train_000002.xml: xml: not well-formed"):
        voc.load_voc(root, "train", class_names=NAMES)
    os.remove(xml_path)
    with pytest.raises(AnnotationError, match="train_000002.xml: Annotations: .* no annotation file"):
        voc.load_voc(root, "train", class_names=NAMES)
    image = os.path.join(voc_dir, "JPEGImages", "train_000001.png")
    os.remove(image)
    with pytest.raises(AnnotationError) as caught:
        voc.load_voc(root, "train", class_names=NAMES, on_error="raise")
    assert caught.value.path == image and "does not exist" in str(caught.value)
    with pytest.raises(FileNotFoundError, match="ImageSets/Main/val.txt does not exist"):
        voc.load_voc(root, "val", class_names=NAMES)
    with pytest.raises(FileNotFoundError, match="No VOC2012 folder"):
        voc.find_voc_dir(tmp_path / "elsewhere", "2012")


def _save_mask(path, array, mode=None):
    picture = Image.fromarray(array) if mode is None else Image.fromarray(array).convert(mode)
    picture.save(path)


MASK_CASES = {
    "size differs": (lambda p: _save_mask(p, np.zeros((64, 128), np.uint8)), "size", "mask is 128×64"),
    "missing": (os.remove, "SegmentationClass", "has no mask"),
    "unknown ids": (lambda p: _save_mask(p, np.full((128, 128), 77, np.uint8)), "ids", "[77]"),
    "rgb": (lambda p: _save_mask(p, np.zeros((128, 128), np.uint8), "RGB"), "mode", "'RGB'"),
    "corrupt": (lambda p: open(p, "wb").write(b"not a png"), "SegmentationClass", "cannot read"),
}


@pytest.mark.parametrize("case", sorted(MASK_CASES))
def test_malformed_masks_name_the_file(tmp_path, case):
    root, voc_dir, _ = make_devkit(tmp_path, 2)
    change, field, problem = MASK_CASES[case]
    path = os.path.join(voc_dir, "SegmentationClass", "train_000001.png")
    change(path)
    with pytest.raises(AnnotationError) as caught:
        voc.load_voc(root, "train", task="segmentation", class_names=NAMES)
    assert caught.value.path == path and caught.value.field == field and problem in str(caught.value)


def test_lenient_loading_counts_and_reports_skips(tmp_path):
    root, voc_dir, made = make_devkit(tmp_path, 6)
    bad_class = edit_xml(voc_dir, "train_000001", _set("object/name", "Hat"))
    outside = edit_xml(voc_dir, "train_000003", _set("object/bndbox/xmax", "500"))
    missing = os.path.join(voc_dir, "JPEGImages", "train_000004.png")
    os.remove(missing)
    ds = voc.load_voc(root, "train", class_names=NAMES, channels=1, on_error="skip")
    report = ds.report
    assert report.num_images == 3 and report.num_skipped == 3
    assert [p for p, _ in report.skipped] == [bad_class, outside, missing]
    assert report.num_objects == sum(made.counts[i] for i in (0, 2, 5))
    assert "3 skipped" in str(report) and "unknown class 'Hat'" in str(report)
    got = elements(ds)
    assert len(got) == 3
    for (image, target), i in zip(got, (0, 2, 5)):
        np.testing.assert_array_equal(image, made.images[i])
        np.testing.assert_array_equal(target["boxes"], made.objects(i)[0])
    _save_mask(os.path.join(voc_dir, "SegmentationClass", "train_000002.png"), np.zeros((8, 8), np.uint8))
    masks = voc.load_voc(root, "train", task="segmentation", class_names=NAMES, on_error="skip")
    assert masks.report.num_images == 4 and masks.report.num_skipped == 2  # the missing image, the small mask
    assert len(elements(masks)) == 4


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<annotation><filename>&lol9;</filename><size><width>1</width><height>1</height></size></annotation>
"""


def test_billion_laughs_and_external_entities_are_refused_quickly(tmp_path):
    root, voc_dir, _ = make_devkit(tmp_path, 2)
    path = os.path.join(voc_dir, "Annotations", "train_000000.xml")
    with open(path, "w") as f:
        f.write(BILLION_LAUGHS)
    start = time.perf_counter()
    with pytest.raises(AnnotationError) as caught:
        voc.load_voc(root, "train", class_names=NAMES)
    assert time.perf_counter() - start < 2.0
    assert caught.value.path == path and caught.value.field == "DOCTYPE" and "refused" in str(caught.value)
    ds = voc.load_voc(root, "train", class_names=NAMES, on_error="skip")
    assert ds.report.num_skipped == 1 and ds.report.num_images == 1
    external = tmp_path / "external.xml"
    external.write_text('<?xml version="1.0"?><!doctype a [<!ENTITY x SYSTEM "file:///etc/passwd">]><annotation>&x;</annotation>')
    with pytest.raises(AnnotationError, match="DOCTYPE"):
        voc.parse_annotation(external)
    entity_only = tmp_path / "entity.xml"
    entity_only.write_text('<annotation><!ENTITY y "z"></annotation>')
    with pytest.raises(AnnotationError, match="ENTITY"):
        voc.parse_annotation(entity_only)
    utf16 = tmp_path / "utf16.xml"
    utf16.write_bytes("<annotation/>".encode("utf-16"))
    with pytest.raises(AnnotationError, match="UTF-16"):
        voc.parse_annotation(utf16)
