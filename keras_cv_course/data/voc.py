"""Pascal VOC (2007, 2012) from a VOCdevkit folder or a prepared TFDS ``voc`` directory, and ``write_voc``.

Layout read (``find_voc_dir`` accepts ``VOC{year}``, the ``VOCdevkit`` above it,
or the folder holding ``VOCdevkit``)::

    VOC2007/Annotations/{id}.xml          <size>, <object><name>, <bndbox>, <difficult>, <truncated>
            JPEGImages/{id}.jpg           (the XML's <filename>; .png works too)
            ImageSets/Main/{split}.txt    detection ids (train, val, trainval, test)
            ImageSets/Segmentation/{split}.txt
            SegmentationClass/{id}.png    palette (or 8-bit gray) ids, 0 background, 255 void

Elements (``load_voc``):

- ``task="detection"``: ``(uint8 image (H, W, channels), {"boxes": (N, 4)
  float32, "classes": (N,) int32})``. VOC's corners are 1-based and
  inclusive; the package's boxes are xyxy pixels with pixel ``i`` covering
  ``[i, i + 1)``, so ``(x1, y1, x2, y2) = (xmin - 1, ymin - 1, xmax, ymax)``
  exactly (a one-pixel object ``xmin == xmax`` gets width 1).
- ``task="segmentation"``: ``(image, uint8 mask (H, W))`` of class ids (1..20
  = ``VOC_CLASSES``, 0 background, 255 void), read as palette indices.

``difficult``: ``"keep"`` (default: difficult objects are ordinary targets, so
elements feed ``data.pipeline`` as they are), ``"drop"`` (left out, as
py-faster-rcnn and ssd.pytorch train) or ``"flag"`` (kept, with an extra
``"difficult"`` (N,) bool entry for VOC evaluation, DENSE.md; take it out of
the dict before ``data.pipeline``, which carries boxes and classes only).

Errors: malformed XML, a missing field, a box outside the image or with
``xmin > xmax``, an unknown class name, a listed image or mask that does not
exist, a mask whose size differs from its image: ``AnnotationError`` naming
the file and the field. With ``on_error="skip"`` the image is left out instead
and counted in the dataset's ``report`` (an ``AnnotationReport``). XML with a
DOCTYPE or ENTITY declaration is refused before parsing (entity expansion,
"billion laughs"); ElementTree never fetches external entities.

TFDS ``voc/2007`` and ``voc/2012`` (detection only, no masks) are read by
``load_tfds_voc``. TFDS stores ``(ymin / H, xmin / W, ymax / H, xmax / W)`` with
VOC's 1-based corners as they are, so the same boxes come out: ``x1 = xmin·W - 1``.

``write_voc`` writes ``fashion_scenes`` (or any detection elements) in this
layout, so the loader runs on real files.
"""

import dataclasses
import os
import re
import xml.etree.ElementTree as ET

import numpy as np

VOC_CLASSES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)
VOC_SPLITS = {
    ("2007", "detection"): {"train": 2_501, "val": 2_510, "trainval": 5_011, "test": 4_952},
    ("2012", "detection"): {"train": 5_717, "val": 5_823, "trainval": 11_540},
    ("2007", "segmentation"): {"train": 209, "val": 213, "trainval": 422, "test": 210},
    ("2012", "segmentation"): {"train": 1_464, "val": 1_449, "trainval": 2_913},
}
DIFFICULT = ("keep", "drop", "flag")
ON_ERROR = ("raise", "skip")
MAX_XML_BYTES = 4 << 20
VOID = 255
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class AnnotationError(ValueError):
    """A malformed annotation: ``path`` (the file) and ``field`` (what in it) are attributes."""

    def __init__(self, path, field, problem):
        super().__init__(f"{path}: {field}: {problem}")
        self.path, self.field, self.problem = os.fspath(path), field, problem


@dataclasses.dataclass
class AnnotationReport:
    """What reading annotations found: images and objects kept per class, images skipped (file, reason)."""

    path: str
    split: str
    class_names: tuple
    counts: dict = dataclasses.field(default_factory=dict)
    num_images: int = 0
    difficult: int = 0
    skipped: list = dataclasses.field(default_factory=list)

    @property
    def num_objects(self):
        """Objects kept, all classes."""
        return sum(self.counts.values())

    @property
    def num_skipped(self):
        """Images (or stray annotations) left out."""
        return len(self.skipped)

    def add(self, classes, difficult=0):
        """Count one image kept with objects of ``classes`` (``difficult`` of them difficult)."""
        self.num_images += 1
        self.difficult += int(difficult)
        for c in np.asarray(classes).tolist():
            self.counts[self.class_names[c]] = self.counts.get(self.class_names[c], 0) + 1

    def skip(self, error):
        """Record a skip: the file of ``error`` and its message."""
        self.skipped.append((getattr(error, "path", ""), str(error)))

    def __str__(self):
        hard = f" ({self.difficult} difficult)" if self.difficult else ""
        lines = [f"{self.path} [{self.split}]: {self.num_images} images, {self.num_objects} objects{hard}, "
                 f"{self.num_skipped} skipped"]
        lines += [f"  skipped {path}: {why}" for path, why in self.skipped]
        return "\n".join(lines)


def check_option(name, value, allowed):
    """Raise ValueError unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}; got {value!r}")


# ----------------------------------------------------------------------------- XML


def read_xml(path):
    """The root element of the XML file ``path``, refusing DOCTYPE/ENTITY declarations,
    non-UTF-8 encodings and files over ``MAX_XML_BYTES`` (``AnnotationError``)."""
    path = os.fspath(path)
    if os.path.getsize(path) > MAX_XML_BYTES:
        raise AnnotationError(path, "file", f"larger than {MAX_XML_BYTES} bytes; not a VOC annotation")
    with open(path, "rb") as f:
        data = f.read()
    if b"\x00" in data or data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise AnnotationError(path, "encoding", "UTF-16/32 XML is refused; VOC annotations are ASCII/UTF-8")
    found = _DECLARATION.search(data)
    if found:
        kind = found.group(1).decode().upper()
        raise AnnotationError(path, kind, f"XML with a <!{kind}> declaration is refused (entity expansion attacks)")
    try:
        return ET.fromstring(data)
    except ET.ParseError as error:
        raise AnnotationError(path, "xml", f"not well-formed XML ({error})") from None


def _text(node, tag, path, field):
    child = node.find(tag)
    if child is None or child.text is None or not child.text.strip():
        raise AnnotationError(path, field, "missing")
    return child.text.strip()


def _number(node, tag, path, field, default=None):
    if default is not None and (node.find(tag) is None or not (node.find(tag).text or "").strip()):
        return default
    text = _text(node, tag, path, field)
    try:
        value = float(text)
    except ValueError:
        raise AnnotationError(path, field, f"{text!r} is not a number") from None
    if not np.isfinite(value):
        raise AnnotationError(path, field, f"{text!r} is not finite")
    return value


@dataclasses.dataclass
class VOCAnnotation:
    """One parsed annotation file; ``boxes`` are the package's xyxy pixels (xmin - 1, ymin - 1, xmax, ymax)."""

    path: str
    filename: str
    width: int
    height: int
    depth: int
    boxes: np.ndarray
    classes: np.ndarray
    difficult: np.ndarray
    truncated: np.ndarray


def parse_annotation(path, class_names=VOC_CLASSES):
    """Parse one VOC ``Annotations/*.xml`` file into a ``VOCAnnotation`` (``AnnotationError`` naming the field)."""
    root = read_xml(path)
    if root.tag != "annotation":
        raise AnnotationError(path, "annotation", f"root element is <{root.tag}>, not <annotation>")
    size = root.find("size")
    if size is None:
        raise AnnotationError(path, "size", "missing")
    width, height = (_positive_int(size, tag, path) for tag in ("width", "height"))
    depth = int(_number(size, "depth", path, "size/depth", default=3))
    filename = root.findtext("filename", "").strip()
    parsed = [_parse_object(obj, i, path, class_names, width, height) for i, obj in enumerate(root.findall("object"))]
    boxes = np.asarray([p[0] for p in parsed], np.float32).reshape(-1, 4)
    columns = list(zip(*[p[1:] for p in parsed])) or [(), (), ()]
    return VOCAnnotation(
        os.fspath(path), filename, width, height, depth, boxes, np.asarray(columns[0], np.int32),
        np.asarray(columns[1], bool), np.asarray(columns[2], bool),
    )


def _positive_int(size, tag, path):
    value = _number(size, tag, path, f"size/{tag}")
    if value != int(value) or value < 1:
        raise AnnotationError(path, f"size/{tag}", f"{value} is not a positive integer")
    return int(value)


def _parse_object(obj, i, path, class_names, width, height):
    name = _text(obj, "name", path, f"object[{i}]/name")
    if name not in class_names:
        raise AnnotationError(path, f"object[{i}]/name", f"unknown class {name!r} (classes: {', '.join(class_names)})")
    where = f"object[{i}] ({name})"
    box = obj.find("bndbox")
    if box is None:
        raise AnnotationError(path, f"{where}/bndbox", "missing")
    xmin, ymin, xmax, ymax = (_number(box, t, path, f"{where}/bndbox/{t}") for t in ("xmin", "ymin", "xmax", "ymax"))
    if xmin > xmax or ymin > ymax:
        raise AnnotationError(path, f"{where}/bndbox", f"xmin {xmin:g} > xmax {xmax:g} or ymin {ymin:g} > ymax {ymax:g}")
    if xmin < 1 or ymin < 1 or xmax > width or ymax > height:
        raise AnnotationError(path, f"{where}/bndbox", f"({xmin:g}, {ymin:g}, {xmax:g}, {ymax:g}) lies outside the "
                                                       f"{width}×{height} image (1-based corners 1..width, 1..height)")
    flags = [_flag(obj, tag, path, f"{where}/{tag}") for tag in ("difficult", "truncated")]
    return (xmin - 1, ymin - 1, xmax, ymax), class_names.index(name), flags[0], flags[1]


def _flag(obj, tag, path, field):
    value = _number(obj, tag, path, field, default=0.0)
    if value not in (0.0, 1.0):
        raise AnnotationError(path, field, f"{value:g} is not 0 or 1")
    return bool(value)


# ----------------------------------------------------------------------------- the devkit folder


def find_voc_dir(root, year=None):
    """The ``VOC{year}`` folder under ``root`` (itself, ``root/VOC{year}``, ``root/VOCdevkit/VOC{year}``);
    ``FileNotFoundError`` naming the places looked in."""
    root = os.fspath(root)
    if os.path.isdir(os.path.join(root, "ImageSets")):
        return root
    names = [f"VOC{year}"] if year else None
    places = []
    for base in (root, os.path.join(root, "VOCdevkit")):
        found = sorted(d for d in (os.listdir(base) if os.path.isdir(base) else []) if re.fullmatch(r"VOC\d{4}", d))
        candidates = [d for d in found if names is None or d in names]
        places.append(base)
        if len(candidates) == 1:
            return os.path.join(base, candidates[0])
        if len(candidates) > 1:
            raise ValueError(f"{base} holds {candidates}; pass year= to choose one")
    wanted = f"VOC{year}" if year else "VOC<year>"
    raise FileNotFoundError(f"No {wanted} folder with ImageSets/ found; looked in {root} and " + ", ".join(places))


def read_image_set(voc_dir, split, task="detection"):
    """The image ids of ``ImageSets/{Main|Segmentation}/{split}.txt`` (first column)."""
    folder = "Main" if task == "detection" else "Segmentation"
    path = os.path.join(voc_dir, "ImageSets", folder, f"{split}.txt")
    if not os.path.isfile(path):
        there = os.path.dirname(path)
        have = sorted(f[:-4] for f in os.listdir(there) if f.endswith(".txt") and "_" not in f) if os.path.isdir(there) else []
        raise FileNotFoundError(f"{path} does not exist (image sets there: {have or 'none'})")
    with open(path, encoding="utf-8") as f:
        return [line.split()[0] for line in f if line.strip()]


def _image_size(path, field, annotation):
    """(width, height) from the image header (Pillow); AnnotationError when missing or unreadable."""
    from PIL import Image

    if not os.path.isfile(path):
        raise AnnotationError(path, field, f"the image listed by {annotation} does not exist")
    try:
        with Image.open(path) as im:
            return im.size
    except Exception as error:  # Pillow raises many types for bad files
        raise AnnotationError(path, field, f"cannot read the image ({type(error).__name__}: {error})") from None


def _image_path(voc_dir, image_id, filename=""):
    if filename:
        return os.path.join(voc_dir, "JPEGImages", filename)
    for ext in (".jpg", ".png", ".jpeg"):
        path = os.path.join(voc_dir, "JPEGImages", image_id + ext)
        if os.path.isfile(path):
            return path
    return os.path.join(voc_dir, "JPEGImages", image_id + ".jpg")


def detection_records(voc_dir, split, *, class_names=VOC_CLASSES, difficult="keep", on_error="raise", check_images=True):
    """``(records, report)``: one ``(image path, boxes, classes, difficult)`` per image of ``split``."""
    check_option("difficult", difficult, DIFFICULT)
    check_option("on_error", on_error, ON_ERROR)
    report = AnnotationReport(voc_dir, split, tuple(class_names))
    records = []
    for image_id in read_image_set(voc_dir, split, "detection"):
        try:
            records.append(_detection_record(voc_dir, image_id, class_names, difficult, check_images, report))
        except AnnotationError as error:
            if on_error == "raise":
                raise
            report.skip(error)
    return records, report


def _detection_record(voc_dir, image_id, class_names, difficult, check_images, report):
    xml_path = os.path.join(voc_dir, "Annotations", f"{image_id}.xml")
    if not os.path.isfile(xml_path):
        raise AnnotationError(xml_path, "Annotations", f"image {image_id!r} is listed in ImageSets but has no annotation file")
    ann = parse_annotation(xml_path, class_names)
    image = _image_path(voc_dir, image_id, ann.filename)
    size = _image_size(image, "filename", xml_path) if check_images else (ann.width, ann.height)
    if not check_images and not os.path.isfile(image):
        raise AnnotationError(image, "filename", f"the image listed by {xml_path} does not exist")
    if size != (ann.width, ann.height):
        raise AnnotationError(xml_path, "size", f"says {ann.width}×{ann.height} but {image} is {size[0]}×{size[1]}")
    keep = ~ann.difficult if difficult == "drop" else np.ones(len(ann.classes), bool)
    report.add(ann.classes[keep], ann.difficult[keep].sum())
    return image, ann.boxes[keep], ann.classes[keep], ann.difficult[keep]


def segmentation_records(voc_dir, split, *, num_classes=len(VOC_CLASSES), on_error="raise"):
    """``(records, report)``: one ``(image path, mask path)`` per image of ``split``, each mask checked
    (exists, palette or gray, the image's size, ids in 0..num_classes or 255)."""
    check_option("on_error", on_error, ON_ERROR)
    report = AnnotationReport(voc_dir, split, ("background",) + tuple(str(i) for i in range(1, num_classes + 1)))
    records = []
    for image_id in read_image_set(voc_dir, split, "segmentation"):
        try:
            records.append(_segmentation_record(voc_dir, image_id, num_classes))
            report.add([])
        except AnnotationError as error:
            if on_error == "raise":
                raise
            report.skip(error)
    return records, report


def read_mask(path):
    """A VOC mask PNG as (H, W) uint8 ids: palette indices (mode "P") or gray values (mode "L")."""
    from PIL import Image

    with Image.open(path) as im:
        if im.mode not in ("P", "L"):
            raise AnnotationError(path, "mode", f"mask mode {im.mode!r}; VOC masks are palette ('P') or 8-bit gray ('L')")
        return np.asarray(im, np.uint8)


def _segmentation_record(voc_dir, image_id, num_classes):
    mask_path = os.path.join(voc_dir, "SegmentationClass", f"{image_id}.png")
    image = _image_path(voc_dir, image_id)
    size = _image_size(image, "JPEGImages", os.path.join(voc_dir, "ImageSets", "Segmentation"))
    if not os.path.isfile(mask_path):
        raise AnnotationError(mask_path, "SegmentationClass", f"image {image_id!r} is listed but has no mask")
    try:
        mask = read_mask(mask_path)
    except AnnotationError:
        raise
    except Exception as error:  # Pillow raises many types for bad files
        raise AnnotationError(mask_path, "SegmentationClass", f"cannot read the mask ({type(error).__name__}: {error})") from None
    if mask.shape[::-1] != tuple(size):
        raise AnnotationError(mask_path, "size", f"mask is {mask.shape[1]}×{mask.shape[0]} but {image} is {size[0]}×{size[1]}")
    bad = np.setdiff1d(np.unique(mask), np.r_[np.arange(num_classes + 1), VOID])
    if bad.size:
        raise AnnotationError(mask_path, "ids", f"ids {bad.tolist()} are neither classes 0..{num_classes} nor void 255")
    return image, mask_path


# ----------------------------------------------------------------------------- datasets


def load_voc(root, split, *, year=None, task="detection", difficult="keep", class_names=VOC_CLASSES, channels=3,
             on_error="raise", check_images=True):
    """A ``tf.data.Dataset`` of ``split`` of the VOCdevkit under ``root`` (see the module docstring).

    root: ``VOC{year}``, ``VOCdevkit`` or the folder above it; year: "2007",
    "2012" (needed when several are there). task: "detection" or "segmentation".
    difficult: "keep", "drop" or "flag". class_names: the names in ``<name>``,
    in class-id order. channels: 3 (VOC's RGB) or 1 (gray images, e.g. written
    by ``write_voc``). on_error: "raise" or "skip" (images with a bad
    annotation left out, counted in ``ds.report``). check_images: open every
    image's header to compare its size with ``<size>``.

    The dataset carries ``report`` (``AnnotationReport``), ``class_names`` and ``file_paths``.
    """
    import tensorflow as tf

    check_option("task", task, ("detection", "segmentation"))
    voc_dir = find_voc_dir(root, year)
    if task == "detection":
        records, report = detection_records(voc_dir, split, class_names=class_names, difficult=difficult,
                                            on_error=on_error, check_images=check_images)
        ds = _detection_dataset(records, channels, "difficult" if difficult == "flag" else None)
    else:
        records, report = segmentation_records(voc_dir, split, num_classes=len(class_names), on_error=on_error)
        paths = tf.data.Dataset.from_tensor_slices(tuple(tf.constant([r[k] for r in records], tf.string) for k in (0, 1)))
        ds = paths.map(lambda image, mask: (_decode(image, channels), _read_mask_op(mask)), num_parallel_calls=tf.data.AUTOTUNE)
    ds.report, ds.file_paths = report, [r[0] for r in records]
    ds.class_names = tuple(class_names) if task == "detection" else ("background",) + tuple(class_names)
    return ds


def _decode(path, channels):
    import tensorflow as tf

    image = tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
    image.set_shape((None, None, channels))
    return image


def _read_mask_op(path):
    import tensorflow as tf

    mask = tf.numpy_function(lambda p: read_mask(p.decode()), [path], tf.uint8, stateful=False)
    mask.set_shape((None, None))
    return mask


def _detection_dataset(records, channels, flag_key=None):
    """Detection elements from ``(image path, boxes, classes, flag)`` records; ``flag_key`` names
    the per-object flag in the target dict (None leaves it out)."""
    import tensorflow as tf

    lengths = [len(r[2]) for r in records]
    ragged = [tf.RaggedTensor.from_row_lengths(np.concatenate([r[k] for r in records] or [empty]).astype(dtype), lengths)
              for k, empty, dtype in ((1, np.zeros((0, 4)), np.float32), (2, np.zeros(0), np.int32), (3, np.zeros(0), bool))]
    ds = tf.data.Dataset.from_tensor_slices((tf.constant([r[0] for r in records], tf.string), *ragged))

    def read(path, boxes, classes, difficult):
        target = {"boxes": boxes, "classes": classes}
        if flag_key:
            target[flag_key] = difficult
        return _decode(path, channels), target

    return ds.map(read, num_parallel_calls=tf.data.AUTOTUNE)


def tfds_voc_dir(year, data_dirs):
    """The prepared TFDS ``voc/{year}`` builder directory in ``data_dirs``, or None."""
    import glob

    for root in data_dirs:
        found = sorted(glob.glob(os.path.join(root, "voc", str(year), "*", "dataset_info.json")))
        if found:
            return os.path.dirname(found[-1])
    return None


TFDS_SPLITS = {"train": "train", "val": "validation", "trainval": "train+validation", "test": "test"}


def load_tfds_voc(builder_dir, split, *, difficult="keep"):
    """Detection elements of a prepared TFDS ``voc`` directory; ``split`` as in VOC (train, val, trainval, test)."""
    import tensorflow_datasets as tfds

    check_option("difficult", difficult, DIFFICULT)
    builder = tfds.builder_from_directory(builder_dir)
    ds = builder.as_dataset(split=TFDS_SPLITS.get(split, split), shuffle_files=False)
    return tfds_to_detection(ds, difficult)


def tfds_to_detection(ds, difficult="keep"):
    """Map TFDS ``voc`` examples to detection elements: rel (ymin, xmin, ymax, xmax) of 1-based
    corners → xyxy pixels ``(xmin·W - 1, ymin·H - 1, xmax·W, ymax·H)``, clipped to the image."""
    import tensorflow as tf

    def convert(example):
        image, objects = example["image"], example["objects"]
        size = tf.cast(tf.shape(image)[:2], tf.float32)
        ymin, xmin, ymax, xmax = tf.unstack(tf.reshape(objects["bbox"], (-1, 4)), 4, axis=-1)
        boxes = tf.stack([xmin * size[1] - 1, ymin * size[0] - 1, xmax * size[1], ymax * size[0]], axis=-1)
        boxes = tf.clip_by_value(boxes, 0.0, tf.concat([size[::-1], size[::-1]], 0))
        classes, hard = tf.cast(objects["label"], tf.int32), tf.cast(objects["is_difficult"], tf.bool)
        if difficult == "drop":
            boxes, classes, hard = (tf.boolean_mask(t, ~hard) for t in (boxes, classes, hard))
        target = {"boxes": boxes, "classes": classes}
        if difficult == "flag":
            target["difficult"] = hard
        return image, target

    return ds.map(convert, num_parallel_calls=tf.data.AUTOTUNE)


# ----------------------------------------------------------------------------- writing


def voc_palette(count=256):
    """(count, 3) uint8 VOC palette: the bits of the id spread over the high bits of R, G, B."""
    ids = np.arange(count)
    rgb = np.zeros((count, 3), np.int64)
    for level in range(8):
        for channel in range(3):
            rgb[:, channel] |= ((ids >> (3 * level + channel)) & 1) << (7 - level)
    return rgb.astype(np.uint8)


def _elements(data):
    """``(image (H, W, C) uint8, boxes, classes, semantic mask or None, instance mask or None)`` per element."""
    masks = getattr(data, "semantic_masks", None)
    if masks is not None:
        instances = data.instance_masks
        for i in range(len(data)):
            boxes, classes = data.objects(i)
            yield data.images[i], boxes, classes, masks[i], instances[i]
        return
    for image, target in (data.as_numpy_iterator() if hasattr(data, "as_numpy_iterator") else data):
        yield np.asarray(image), np.asarray(target["boxes"]), np.asarray(target["classes"]), None, None


def voc_corners(boxes, where):
    """xyxy pixel boxes → VOC's 1-based inclusive integer corners (xmin, ymin, xmax, ymax), rounded."""
    corners = np.rint(np.asarray(boxes, np.float64).reshape(-1, 4)).astype(np.int64) + (1, 1, 0, 0)
    bad = (corners[:, 0] > corners[:, 2]) | (corners[:, 1] > corners[:, 3])
    if bad.any():
        raise ValueError(f"{where}: boxes {np.asarray(boxes)[bad].tolist()} are less than a pixel wide or high; VOC cannot store them")
    return corners


def write_voc(data, root, split, class_names=None, *, image_format="png", quality=95, database="fashion_scenes"):
    """Write ``data`` as a VOC ``split`` under ``root`` (the ``VOC{year}`` folder, created) and return
    the image ids written.

    data: a ``scenes.Scenes`` (images, boxes, and semantic + instance masks:
    ``SegmentationClass`` / ``SegmentationObject`` palette PNGs and the
    Segmentation image set), or an iterable / tf.data Dataset of detection
    elements ``(image, {"boxes", "classes"})`` (detection only). Boxes become
    ``xmin = x1 + 1, ymin = y1 + 1, xmax = x2, ymax = y2`` (rounded to whole
    pixels). image_format: "png" (lossless: images read back equal) or "jpg".
    Image ids are ``{split}_{index:06d}``; the split's image-set files are
    rewritten.
    """
    check_option("image_format", image_format, ("png", "jpg"))
    class_names = tuple(class_names or getattr(data, "class_names", None) or ())
    if not class_names:
        raise ValueError("write_voc needs class_names (the <name> of each class id)")
    folders = {k: os.path.join(root, k) for k in ("Annotations", "JPEGImages", "SegmentationClass", "SegmentationObject")}
    for folder in list(folders.values()) + [os.path.join(root, "ImageSets", "Main")]:
        os.makedirs(folder, exist_ok=True)
    ids, with_masks = [], []
    for index, (image, boxes, classes, semantic, instances) in enumerate(_elements(data)):
        image_id = f"{split}_{index:06d}"
        filename = f"{image_id}.{image_format}"
        _save_image(image, os.path.join(folders["JPEGImages"], filename), quality)
        tree = _annotation_xml(image_id, filename, image.shape, boxes, classes, class_names, database, semantic is not None)
        tree.write(os.path.join(folders["Annotations"], f"{image_id}.xml"), encoding="utf-8", xml_declaration=False)
        if semantic is not None:
            _save_palette(semantic, os.path.join(folders["SegmentationClass"], f"{image_id}.png"))
            _save_palette(instances, os.path.join(folders["SegmentationObject"], f"{image_id}.png"))
            with_masks.append(image_id)
        ids.append(image_id)
    _write_set(os.path.join(root, "ImageSets", "Main", f"{split}.txt"), ids)
    if with_masks:
        os.makedirs(os.path.join(root, "ImageSets", "Segmentation"), exist_ok=True)
        _write_set(os.path.join(root, "ImageSets", "Segmentation", f"{split}.txt"), with_masks)
    return ids


def _save_image(image, path, quality):
    from PIL import Image

    image = np.asarray(image, np.uint8)
    picture = Image.fromarray(image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image)
    picture.save(path, **({"quality": quality} if path.endswith(".jpg") else {}))


def _save_palette(mask, path):
    from PIL import Image

    picture = Image.fromarray(np.asarray(mask, np.uint8))
    picture.putpalette(voc_palette().ravel().tolist())
    picture.save(path)


def _write_set(path, ids):
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(f"{i}\n" for i in ids))


def _annotation_xml(image_id, filename, shape, boxes, classes, class_names, database, segmented):
    root = ET.Element("annotation")
    _sub(root, "folder", "VOC")
    _sub(root, "filename", filename)
    _sub(ET.SubElement(root, "source"), "database", database)
    size = ET.SubElement(root, "size")
    for tag, value in zip(("width", "height", "depth"), (shape[1], shape[0], shape[2] if len(shape) == 3 else 1)):
        _sub(size, tag, value)
    _sub(root, "segmented", int(segmented))
    for cls, corners in zip(np.asarray(classes).tolist(), voc_corners(boxes, image_id)):
        obj = ET.SubElement(root, "object")
        _sub(obj, "name", class_names[cls])
        for tag, value in (("pose", "Unspecified"), ("truncated", 0), ("difficult", 0)):
            _sub(obj, tag, value)
        box = ET.SubElement(obj, "bndbox")
        for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), corners.tolist()):
            _sub(box, tag, value)
    ET.indent(root)
    return ET.ElementTree(root)


def _sub(parent, tag, value):
    ET.SubElement(parent, tag).text = str(value)


# ----------------------------------------------------------------------------- data.load


LOAD_OPTIONS = {"detection": ("difficult", "on_error", "channels", "check_images"),
                "segmentation": ("on_error", "channels")}


def locate_voc(dataset, split, *, data_dir=None, download=True, **options):
    """The ``datasets.Source`` of ``data.load("voc2007" | "voc2012" | "voc*_segmentation", split)``:
    a prepared TFDS ``voc/{year}`` (detection; only ``difficult`` applies), a VOCdevkit
    under ``data_dir`` or the Keras cache, else a TFDS download (detection, ``download=True``)."""
    from keras_cv_course.data import datasets

    year, task = dataset.name[3:7], "segmentation" if dataset.name.endswith("_segmentation") else "detection"
    unknown = sorted(set(options) - set(LOAD_OPTIONS[task]))
    if unknown:
        raise TypeError(f"{dataset.name} takes the options {LOAD_OPTIONS[task]}; got {unknown}")
    places = []
    if task == "detection":
        dirs = datasets.tfds_data_dirs(data_dir)
        places += [f"prepared TFDS data: {os.path.join(d, 'voc', year)}" for d in dirs]
        builder_dir = tfds_voc_dir(year, dirs)
        if builder_dir:
            difficult = options.get("difficult", "keep")
            return datasets.Source("tfds", builder_dir, lambda: load_tfds_voc(builder_dir, split, difficult=difficult))
    for kind, root in (("folder", data_dir), ("keras_cache", datasets.keras_datasets_dir())):
        if root is None:
            continue
        places.append(f"VOCdevkit folder: {os.fspath(root)}")
        try:
            voc_dir = find_voc_dir(root, year)
        except FileNotFoundError:
            continue
        return datasets.Source(kind, voc_dir, lambda: load_voc(voc_dir, split, year=year, task=task, **options))
    if download and task == "detection":
        target = datasets.tfds_data_dirs(data_dir)[0]
        return datasets.Source("download", target, lambda: _download_voc(dataset, year, split, target, places, options))
    raise datasets.DatasetNotFoundError(_voc_not_found(dataset, split, places, download, task), places)


def _download_voc(dataset, year, split, target, places, options):
    import tensorflow_datasets as tfds

    from keras_cv_course.data import datasets

    try:
        builder = tfds.builder(f"voc/{year}", data_dir=target)
        builder.download_and_prepare()
        ds = builder.as_dataset(split=TFDS_SPLITS.get(split, split), shuffle_files=False)
    except Exception as error:  # network, permissions, TFDS errors: all end the same way
        places = list(places) + [f"TFDS download into {target} (failed: {type(error).__name__}: {error})"]
        raise datasets.DatasetNotFoundError(_voc_not_found(dataset, split, places, True, "detection"), places) from error
    return tfds_to_detection(ds, options.get("difficult", "keep"))


def _voc_not_found(dataset, split, places, download, task):
    year = dataset.name[3:7]
    lines = [f"Could not find the {split!r} split of {dataset.name!r}. Looked in:"] + [f"  - {p}" for p in places]
    if task == "detection" and not download:
        lines.append("  - (download=False: no TFDS download was tried)")
    lines.append("To get the data, any one of:")
    lines.append(f"  * extract VOCtrainval (and VOCtest) of {year} from http://host.robots.ox.ac.uk/pascal/VOC/ and pass "
                 f"data_dir=<folder holding VOCdevkit/VOC{year}>, or extract it into the Keras cache")
    if task == "detection":
        lines.append(f"  * with network access: load({dataset.name!r}, {split!r}, download=True) prepares TFDS voc/{year} "
                     "(boxes only, no masks)")
    lines.append("  * for an offline demo with boxes and masks: load('fashion_scenes', split) / load('fashion_scenes_masks', split)")
    return "\n".join(lines)
