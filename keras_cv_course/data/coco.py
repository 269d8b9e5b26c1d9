"""COCO-style detection annotations: an instances JSON file and an image folder; ``write_coco``.

The JSON holds ``images`` (``id``, ``file_name``, ``width``, ``height``),
``annotations`` (``image_id``, ``category_id``, ``bbox`` = ``[x, y, w, h]`` in
pixels, ``iscrowd``) and ``categories`` (``id``, ``name``). ``load_coco``
yields ``(uint8 image (H, W, channels), {"boxes": (N, 4) float32 xyxy pixels
(x, y, x + w, y + h), "classes": (N,) int32})``; category ids are mapped to
contiguous class ids 0..K-1 in increasing id order, the dataset keeping
``class_names`` and ``category_ids`` (class id → COCO id). Images without
annotations are kept (no boxes).

``crowd``: ``"drop"`` (default: crowd regions are not objects to train on, as
torchvision's COCO references do), ``"keep"``, or ``"flag"`` (an extra
``"iscrowd"`` (N,) bool entry, for COCO evaluation).

Errors (``AnnotationError`` naming the file and the field, e.g.
``annotations[12] (id 40).bbox``): malformed JSON, a missing field, a box
outside the image by more than ``box_tolerance`` pixels (within it, the box is
clipped: COCO's float boxes overshoot the border by rounding), a box with
``w <= 0`` or ``h <= 0``, an unknown ``category_id`` or ``image_id``, duplicate
ids, a listed image that does not exist or whose size differs from
``width``/``height``. With ``on_error="skip"`` the image concerned is left out
(an annotation naming no known image is dropped) and counted in ``ds.report``.
"""

import json
import os

import numpy as np

from keras_cv_course.data.voc import ON_ERROR, AnnotationError, AnnotationReport, _image_size, check_option

CROWD = ("drop", "keep", "flag")


def read_json(path):
    """The parsed JSON of ``path``; ``AnnotationError`` with the line and column when malformed."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as error:
        raise AnnotationError(path, "json", f"malformed JSON at line {error.lineno}, column {error.colno}: {error.msg}") from None
    except UnicodeDecodeError as error:
        raise AnnotationError(path, "json", f"not UTF-8 text ({error})") from None


def _field(record, key, path, where, kinds):
    if not isinstance(record, dict) or key not in record:
        raise AnnotationError(path, f"{where}.{key}", "missing")
    value = record[key]
    if not isinstance(value, kinds) or isinstance(value, bool):
        raise AnnotationError(path, f"{where}.{key}", f"expected {' or '.join(k.__name__ for k in kinds)}, got {value!r}")
    return value


def _table(data, key, path):
    if not isinstance(data, dict):
        raise AnnotationError(path, "json", f"the top level is a {type(data).__name__}, not an object")
    if not isinstance(data.get(key), list):
        raise AnnotationError(path, key, "missing (an instances file has images, annotations and categories lists)")
    return data[key]


def categories(data, path):
    """``(category ids sorted, names)`` of the ``categories`` table."""
    table = {}
    for i, cat in enumerate(_table(data, "categories", path)):
        cid = _field(cat, "id", path, f"categories[{i}]", (int,))
        if cid in table:
            raise AnnotationError(path, f"categories[{i}].id", f"duplicate category id {cid}")
        table[cid] = _field(cat, "name", path, f"categories[{i}]", (str,))
    ids = sorted(table)
    return tuple(ids), tuple(table[c] for c in ids)


def _images(data, path, image_dir):
    images = {}
    for i, record in enumerate(_table(data, "images", path)):
        where = f"images[{i}]"
        iid = _field(record, "id", path, where, (int,))
        if iid in images:
            raise AnnotationError(path, f"{where}.id", f"duplicate image id {iid}")
        name = _field(record, "file_name", path, where, (str,))
        size = tuple(_field(record, k, path, where, (int,)) for k in ("width", "height"))
        if min(size) < 1:
            raise AnnotationError(path, f"{where}.width/height", f"{size} is not a positive size")
        images[iid] = {"file": os.path.join(image_dir, name), "size": size, "where": where, "boxes": [], "classes": [],
                       "crowd": [], "error": None}
    return images


def _box(ann, path, where, size, tolerance):
    box = ann.get("bbox") if isinstance(ann, dict) else None
    if box is None:
        raise AnnotationError(path, f"{where}.bbox", "missing")
    if not (isinstance(box, list) and len(box) == 4 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in box)):
        raise AnnotationError(path, f"{where}.bbox", f"{box!r} is not [x, y, w, h] numbers")
    x, y, w, h = (float(v) for v in box)
    if not np.all(np.isfinite([x, y, w, h])):
        raise AnnotationError(path, f"{where}.bbox", f"{box!r} is not finite")
    if w <= 0 or h <= 0:
        raise AnnotationError(path, f"{where}.bbox", f"width {w:g} and height {h:g} must be > 0 (x2 = x + w must exceed x)")
    width, height = size
    if x < -tolerance or y < -tolerance or x + w > width + tolerance or y + h > height + tolerance:
        raise AnnotationError(path, f"{where}.bbox", f"[{x:g}, {y:g}, {w:g}, {h:g}] lies outside the {width}×{height} image "
                                                     f"(more than {tolerance:g} px)")
    return [max(x, 0.0), max(y, 0.0), min(x + w, width), min(y + h, height)]


def _add_annotation(ann, i, path, images, index_of, tolerance, crowd):
    where = f"annotations[{i}]" + (f" (id {ann['id']})" if isinstance(ann, dict) and "id" in ann else "")
    iid = _field(ann, "image_id", path, where, (int,))
    if iid not in images:
        raise AnnotationError(path, f"{where}.image_id", f"no image has id {iid}")
    image = images[iid]
    try:
        cid = _field(ann, "category_id", path, where, (int,))
        if cid not in index_of:
            raise AnnotationError(path, f"{where}.category_id", f"unknown category {cid} (known: {sorted(index_of)})")
        box = _box(ann, path, where, image["size"], tolerance)
        is_crowd = bool(ann.get("iscrowd", 0))
    except AnnotationError as error:
        image["error"] = image["error"] or error
        return
    if is_crowd and crowd == "drop":
        return
    image["boxes"].append(box)
    image["classes"].append(index_of[cid])
    image["crowd"].append(is_crowd)


def coco_records(annotation_file, image_dir, *, crowd="drop", on_error="raise", box_tolerance=1.0, check_images=True):
    """``(records, class_names, category_ids, report)``: one ``(image path, boxes, classes, iscrowd)`` per image."""
    check_option("crowd", crowd, CROWD)
    check_option("on_error", on_error, ON_ERROR)
    path = os.fspath(annotation_file)
    data = read_json(path)
    ids, names = categories(data, path)
    index_of = {cid: k for k, cid in enumerate(ids)}
    images = _images(data, path, os.fspath(image_dir))
    report = AnnotationReport(path, "instances", names)
    for i, ann in enumerate(_table(data, "annotations", path)):
        try:
            _add_annotation(ann, i, path, images, index_of, box_tolerance, crowd)
        except AnnotationError as error:  # no image to blame: the annotation itself is dropped
            _fail(error, on_error, report)
    records = []
    for image in images.values():
        try:
            records.append(_record(image, path, check_images))
            report.add(records[-1][2])
        except AnnotationError as error:
            _fail(error, on_error, report)
    return records, names, ids, report


def _fail(error, on_error, report):
    if on_error == "raise":
        raise error
    report.skip(error)


def _record(image, path, check_images):
    if image["error"] is not None:
        raise image["error"]
    if check_images:
        size = _image_size(image["file"], f"{image['where']}.file_name", path)
        if size != image["size"]:
            raise AnnotationError(path, f"{image['where']}.width/height",
                                  f"says {image['size'][0]}×{image['size'][1]} but {image['file']} is {size[0]}×{size[1]}")
    elif not os.path.isfile(image["file"]):
        raise AnnotationError(image["file"], f"{image['where']}.file_name", f"the image listed by {path} does not exist")
    boxes = np.asarray(image["boxes"], np.float32).reshape(-1, 4)
    return image["file"], boxes, np.asarray(image["classes"], np.int32), np.asarray(image["crowd"], bool)


def load_coco(annotation_file, image_dir, *, crowd="drop", channels=3, on_error="raise", box_tolerance=1.0,
              check_images=True):
    """A ``tf.data.Dataset`` of detection elements from a COCO instances file and its image folder
    (see the module docstring). channels: 3 or 1. check_images: open each image's header to
    compare its size with the JSON. The dataset carries ``report``, ``class_names``,
    ``category_ids`` and ``file_paths``."""
    from keras_cv_course.data.voc import _detection_dataset

    records, names, ids, report = coco_records(annotation_file, image_dir, crowd=crowd, on_error=on_error,
                                               box_tolerance=box_tolerance, check_images=check_images)
    ds = _detection_dataset(records, channels, "iscrowd" if crowd == "flag" else None)
    ds.report, ds.class_names, ds.category_ids, ds.file_paths = report, names, ids, [r[0] for r in records]
    return ds


def _rle(mask):
    """Uncompressed COCO RLE of a binary mask: run lengths in column-major order, starting with zeros."""
    flat = np.asarray(mask, bool).ravel(order="F")
    changes = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0] + counts
    return {"counts": counts, "size": list(mask.shape)}


def write_coco(data, annotation_file, image_dir, class_names=None, *, image_format="png", first_category_id=1):
    """Write ``data`` (a ``scenes.Scenes`` or detection elements, as ``voc.write_voc`` takes)
    as images in ``image_dir`` and a COCO instances file; returns the JSON dict written.

    Category ids are ``first_category_id + class``; image and annotation ids
    start at 1 (pycocotools counts id 0 as no match, DENSE.md). With scenes,
    each annotation has the visible pixel ``area`` and an uncompressed RLE
    ``segmentation`` of its instance; else ``area = w·h`` and no segmentation.
    """
    from keras_cv_course.data.voc import _elements, _save_image

    class_names = tuple(class_names or getattr(data, "class_names", None) or ())
    if not class_names:
        raise ValueError("write_coco needs class_names")
    os.makedirs(image_dir, exist_ok=True)
    out = {"images": [], "annotations": [],
           "categories": [{"id": first_category_id + k, "name": n} for k, n in enumerate(class_names)]}
    for index, (image, boxes, classes, _, instances) in enumerate(_elements(data)):
        name = f"{index:06d}.{image_format}"
        _save_image(image, os.path.join(image_dir, name), 95)
        out["images"].append({"id": index + 1, "file_name": name, "width": int(image.shape[1]), "height": int(image.shape[0])})
        for k, (box, cls) in enumerate(zip(np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(classes).tolist())):
            x, y, w, h = box[0], box[1], box[2] - box[0], box[3] - box[1]
            ann = {"id": len(out["annotations"]) + 1, "image_id": index + 1, "category_id": first_category_id + cls,
                   "bbox": [float(x), float(y), float(w), float(h)], "area": float(w * h), "iscrowd": 0}
            if instances is not None:
                ann["area"] = float((instances == k + 1).sum())
                ann["segmentation"] = _rle(instances == k + 1)
            out["annotations"].append(ann)
    folder = os.path.dirname(os.fspath(annotation_file))
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(annotation_file, "w", encoding="utf-8") as f:
        json.dump(out, f)
    return out
