"""``fashion_scenes``: a detection and segmentation dataset of real Fashion-MNIST items on a canvas.

Every scene is a gray 128×128 canvas (``SceneConfig.image_size``) with a smooth
background texture, a few dim clutter fragments (pieces of other items, part of
the background) and 1–6 Fashion-MNIST items pasted at random positions and
scales (0.6–2.0× the 28-pixel frame, aspect jitter ±15 %, random horizontal
flip). Later items occlude earlier ones; an item is placed only where every
earlier item keeps at least half of its pixels visible (else a new position is
drawn, up to 20 times, and then the item is left out). Items come from
Fashion-MNIST's own train/test images for the train/test split: the full
Fashion-MNIST when a local copy exists (``data.locate("fashion_mnist", split,
download=False)``: prepared TFDS, the Keras cache, the Debian files under
/usr/share/datasets/fashion-mnist), else the embedded ``fashion_mnist_sample``.
Scene ``i`` of a split is drawn from its own generator seeded by
``(seed, split, i)``, so scenes do not depend on how many are made, and the same
seed, config and item source give the same scenes.

Pixels and targets (all exact, nothing is resampled after pasting):

- an item pixel whose scaled value is ``>= SceneConfig.threshold`` (16) is an
  *object pixel*: pasted opaque over anything below. Its fainter rim
  (0 < value < 16, from the bilinear scaling) is blended with ``max`` and
  owned by no object.
- instance mask (H, W) uint8: ``k`` (1-based, paste order) on the visible
  object pixels of item ``k``, 255 (void) on rim pixels not covered by an
  object, 0 background (VOC's ``SegmentationObject`` convention).
- semantic mask (H, W) uint8: ``class + 1`` (1..10) on object pixels, 0
  background, 255 void on the rim (VOC's ``SegmentationClass`` convention; 11
  classes with background, ``SEGMENTATION_CLASSES``).
- boxes: xyxy float32 pixels (pixel ``i`` covers ``[i, i + 1)``), tight around
  the *visible* object pixels of each item (so an occluded item's box covers
  what is left of it); classes int32 0..9 (``FASHION_CLASSES``). No object is
  truncated by the image border.

Reaching the data:

- ``data.load("fashion_scenes", split)``: ``(uint8 image (128, 128, 1),
  {"boxes": (N, 4) float32, "classes": (N,) int32})``;
- ``data.load("fashion_scenes_masks", split)``: ``(image, uint8 semantic mask (128, 128))``;
- ``data.load(..., num_scenes=, seed=, source="auto"|"full"|"sample",
  config=SceneConfig(...), cache_dir=)`` changes what is made (defaults: 6,000
  train and 1,000 test scenes, seed 0);
- ``generate(split, ...)`` gives the ``Scenes`` arrays (images, instance masks,
  boxes, classes, semantic masks) and their datasets (``detection_dataset``,
  ``segmentation_dataset``, ``instance_dataset``); ``scene_statistics``
  summarises them (docs/fashion_scenes.md quotes it).

Generation takes well under a millisecond per scene after the items are read;
``generate`` keeps the last few results in memory, and ``cache_dir`` stores
them as ``.npz`` files reused by later runs.
"""

import dataclasses
import hashlib
import json
import os

import numpy as np

from keras_cv_course.data import datasets

FASHION_CLASSES = datasets.FASHION_CLASSES
SEGMENTATION_CLASSES = ("background",) + tuple(FASHION_CLASSES)
VOID = 255
SPLITS = dict(datasets.info("fashion_scenes").splits)  # default scenes per split
SOURCES = ("auto", "full", "sample")
_SPLIT_CODE = {"train": 0, "test": 1}
_FORMAT_VERSION = 1


@dataclasses.dataclass(frozen=True)
class SceneConfig:
    """How scenes are drawn; every field is part of what makes a scene.

    image_size: canvas side in pixels. min_objects, max_objects: items drawn per
    scene (uniform; an item with no free place is left out). scale_range: item
    frame size relative to 28 px. aspect_jitter: log-aspect drawn in
    ±aspect_jitter. threshold: scaled item values ``>=`` it are object pixels.
    min_visible: share of its object pixels every item keeps visible. tries:
    positions drawn per item. background: ``"texture"`` or ``"plain"`` (0).
    background_max: brightest background level. noise: standard deviation of
    the pixel noise. clutter: at most this many dim item fragments per scene.
    flip: mirror items at random.
    """

    image_size: int = 128
    min_objects: int = 1
    max_objects: int = 6
    scale_range: tuple = (0.6, 2.0)
    aspect_jitter: float = 0.15
    threshold: int = 16
    min_visible: float = 0.5
    tries: int = 20
    background: str = "texture"
    background_max: float = 48.0
    noise: float = 4.0
    clutter: int = 3
    flip: bool = True

    def __post_init__(self):
        object.__setattr__(self, "scale_range", tuple(float(s) for s in self.scale_range))
        if not 1 <= self.min_objects <= self.max_objects <= 254:
            raise ValueError(f"Need 1 <= min_objects <= max_objects <= 254; got {self.min_objects}, {self.max_objects}")
        if self.background not in ("texture", "plain"):
            raise ValueError(f"background must be 'texture' or 'plain'; got {self.background!r}")
        largest = int(np.ceil(28 * self.scale_range[1] * np.exp(self.aspect_jitter / 2)))
        if not 0 < self.scale_range[0] <= self.scale_range[1] or largest > self.image_size:
            raise ValueError(f"scale_range {self.scale_range} must be positive and fit the {self.image_size}-pixel canvas")
        if not 1 <= self.threshold <= 255 or not 0.0 <= self.min_visible <= 1.0:
            raise ValueError(f"threshold must lie in [1, 255] and min_visible in [0, 1]; got {self.threshold}, {self.min_visible}")


@dataclasses.dataclass
class Scenes:
    """Scenes as numpy arrays; objects of scene ``i`` are rows ``row_splits[i]:row_splits[i + 1]``.

    images (N, H, W, 1) uint8; instance_masks (N, H, W) uint8 (k = object k of
    its scene, 1-based; 0 background; 255 void rim); boxes (M, 4) float32 xyxy
    pixels; classes (M,) int32; visible (M,) float32 share of each item's
    object pixels left visible; item_index (M,) int64 index of the item in its
    Fashion-MNIST split; drawn (N,) items drawn per scene (placed or not).
    """

    images: np.ndarray
    instance_masks: np.ndarray
    boxes: np.ndarray
    classes: np.ndarray
    row_splits: np.ndarray
    visible: np.ndarray
    item_index: np.ndarray
    drawn: np.ndarray
    split: str = "train"
    seed: int = 0
    origin: str = ""
    config: SceneConfig = dataclasses.field(default_factory=SceneConfig)
    class_names: tuple = FASHION_CLASSES

    def __len__(self):
        return len(self.images)

    def objects(self, i):
        """``(boxes (n, 4), classes (n,))`` of scene ``i``."""
        lo, hi = self.row_splits[i], self.row_splits[i + 1]
        return self.boxes[lo:hi], self.classes[lo:hi]

    @property
    def counts(self):
        """Objects per scene, (N,) int64."""
        return np.diff(self.row_splits)

    def class_tables(self):
        """(N, 256) uint8 lookup tables instance id → semantic id (0 → 0, k → class + 1, 255 → 255)."""
        tables = np.zeros((len(self), 256), np.uint8)
        tables[:, VOID] = VOID
        scene = np.repeat(np.arange(len(self)), self.counts)
        rank = np.arange(len(self.classes)) - self.row_splits[scene]
        tables[scene, rank + 1] = self.classes + 1
        return tables

    @property
    def semantic_masks(self):
        """(N, H, W) uint8: class + 1 on object pixels, 0 background, 255 void."""
        flat = self.instance_masks.reshape(len(self), -1)
        return np.take_along_axis(self.class_tables(), flat.astype(np.intp), axis=1).reshape(self.instance_masks.shape)

    def detection_dataset(self):
        """``tf.data.Dataset`` of ``(image, {"boxes": (n, 4) float32, "classes": (n,) int32})``."""
        import tensorflow as tf

        boxes = tf.RaggedTensor.from_row_splits(self.boxes, self.row_splits)
        classes = tf.RaggedTensor.from_row_splits(self.classes, self.row_splits)
        ds = tf.data.Dataset.from_tensor_slices((self.images, boxes, classes))
        return ds.map(lambda x, b, c: (x, {"boxes": b, "classes": c}))

    def segmentation_dataset(self):
        """``tf.data.Dataset`` of ``(image, uint8 semantic mask (H, W))``."""
        import tensorflow as tf

        ds = tf.data.Dataset.from_tensor_slices((self.images, self.instance_masks, self.class_tables()))
        return ds.map(lambda x, m, table: (x, tf.gather(table, tf.cast(m, tf.int32))))

    def instance_dataset(self):
        """``tf.data.Dataset`` of ``(image, {"boxes", "classes", "instance_mask": (H, W) uint8})``."""
        import tensorflow as tf

        masks = tf.data.Dataset.from_tensor_slices(self.instance_masks)
        both = tf.data.Dataset.zip((self.detection_dataset(), masks))
        return both.map(lambda element, m: (element[0], {**element[1], "instance_mask": m}))

    def save(self, path):
        """Write the scenes to an ``.npz`` file (``Scenes.load`` reads it)."""
        meta = {"split": self.split, "seed": self.seed, "origin": self.origin, "version": _FORMAT_VERSION,
                "config": dataclasses.asdict(self.config), "class_names": list(self.class_names)}
        arrays = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if isinstance(getattr(self, f.name), np.ndarray)}
        tmp = f"{path}.tmp.npz"
        np.savez_compressed(tmp, meta=np.array(json.dumps(meta)), **arrays)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path):
        """Read scenes written by ``save``."""
        with np.load(path, allow_pickle=False) as f:
            meta = json.loads(str(f["meta"]))
            arrays = {k: f[k] for k in f.files if k != "meta"}
        config = meta["config"]
        config["scale_range"] = tuple(config["scale_range"])
        return cls(**arrays, split=meta["split"], seed=meta["seed"], origin=meta["origin"],
                   config=SceneConfig(**config), class_names=tuple(meta["class_names"]))


# ----------------------------------------------------------------------------- item source


def item_pool(split, source="auto", *, data_dir=None, debian_dir=None):
    """``(images (N, 28, 28) uint8, labels (N,) int32, origin)``: the Fashion-MNIST items of ``split``.

    ``source``: ``"full"`` (a local Fashion-MNIST, see the module docstring;
    ``DatasetNotFoundError`` when there is none), ``"sample"`` (the embedded
    sample) or ``"auto"`` (full when present, else the sample).
    """
    name, found = _pool_source(split, source, data_dir, debian_dir)
    key = (name, split, found.kind, found.path)
    if key not in _POOLS:
        _POOLS[key] = _read_pool(found, f"{name} {split} ({found.kind}: {found.path})")
    return _POOLS[key]


def _pool_source(split, source, data_dir, debian_dir):
    """``(dataset name, datasets.Source)`` of the items, without reading them."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}; got {source!r}")
    if split not in SPLITS:
        raise ValueError(f"fashion_scenes has splits {sorted(SPLITS)}; got split={split!r}")
    if source != "sample":
        try:
            return "fashion_mnist", datasets.locate("fashion_mnist", split, data_dir=data_dir, debian_dir=debian_dir,
                                                    download=False)
        except datasets.DatasetNotFoundError:
            if source == "full":
                raise
    return "fashion_mnist_sample", datasets.locate("fashion_mnist_sample", split)


_POOLS = {}  # (dataset, split, source kind, path) -> (items, labels, origin)


def _read_pool(found, origin):
    images, labels = [], []
    for x, y in found.read().batch(8192).as_numpy_iterator():
        images.append(x[..., 0] if x.ndim == 4 else x)
        labels.append(y)
    return np.concatenate(images), np.concatenate(labels).astype(np.int32), origin


# ----------------------------------------------------------------------------- drawing one scene


def _interpolation_matrix(size, knots):
    """(size, knots) linear interpolation weights from ``knots`` evenly spaced values to ``size`` pixels."""
    at = np.linspace(0, knots - 1, size)
    low = np.minimum(np.floor(at).astype(int), knots - 2)
    frac = at - low
    matrix = np.zeros((size, knots), np.float32)
    matrix[np.arange(size), low] = 1 - frac
    matrix[np.arange(size), low + 1] = frac
    return matrix


def _background(rng, config):
    """(H, W) float32 canvas: a smooth 5×5-knot texture plus pixel noise, in [0, background_max]."""
    size = config.image_size
    if config.background == "plain":
        return np.zeros((size, size), np.float32)
    matrix = _interpolation_matrix(size, 5)
    knots = rng.uniform(0, config.background_max, (5, 5)).astype(np.float32)
    texture = matrix @ knots @ matrix.T + rng.normal(0, config.noise, (size, size)).astype(np.float32)
    return np.clip(texture, 0, config.background_max)


def _add_clutter(canvas, rng, items, config):
    """Paste up to ``config.clutter`` dim 5–10 px fragments of random items (background, no object)."""
    for _ in range(rng.integers(0, config.clutter + 1)):
        item = items[rng.integers(len(items))]
        h, w = rng.integers(5, 11, 2)
        y, x = rng.integers(0, 28 - h + 1), rng.integers(0, 28 - w + 1)
        piece = item[y:y + h, x:x + w].astype(np.float32) * 0.5
        top, left = rng.integers(0, config.image_size - h + 1), rng.integers(0, config.image_size - w + 1)
        region = canvas[top:top + h, left:left + w]
        np.maximum(region, piece, out=region)


def _scaled_item(item, rng, config):
    """The item rescaled (bilinear), maybe mirrored, cropped to its nonzero pixels; None when it has no object pixel."""
    from PIL import Image

    scale = rng.uniform(*config.scale_range)
    aspect = np.exp(rng.uniform(-config.aspect_jitter, config.aspect_jitter))
    width = max(1, int(round(28 * scale * np.sqrt(aspect))))
    height = max(1, int(round(28 * scale / np.sqrt(aspect))))
    flip = config.flip and rng.random() < 0.5
    scaled = np.asarray(Image.fromarray(item).resize((width, height), Image.BILINEAR))
    if flip:
        scaled = scaled[:, ::-1]
    if not (scaled >= config.threshold).any():
        return None
    rows, cols = np.nonzero(scaled.any(axis=1))[0], np.nonzero(scaled.any(axis=0))[0]
    return scaled[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def _place(canvas, instances, patch, k, visible, placed, rng, config):
    """Paste ``patch`` as object ``k`` at a random position where every earlier object keeps
    ``min_visible`` of its pixels; updates ``visible`` counts; False when no position was found."""
    size = config.image_size
    ph, pw = patch.shape
    solid = patch >= config.threshold
    rim = (patch > 0) & ~solid
    for _ in range(config.tries):
        top, left = rng.integers(0, size - ph + 1), rng.integers(0, size - pw + 1)
        ids = instances[top:top + ph, left:left + pw]
        covered = np.bincount(ids[solid], minlength=256)[1:k]
        if np.all(visible[1:k] - covered >= config.min_visible * placed[1:k]):
            break
    else:
        return False
    area = canvas[top:top + ph, left:left + pw]
    visible[1:k] -= covered
    area[solid] = patch[solid]
    ids[solid] = k
    area[rim] = np.maximum(area[rim], patch[rim])
    ids[rim & (ids == 0)] = VOID
    visible[k] = placed[k] = int(solid.sum())
    return True


def _tight_boxes(instances, count):
    """(count, 4) float32 xyxy boxes of the pixels of ids 1..count."""
    boxes = np.zeros((count, 4), np.float32)
    for k in range(1, count + 1):
        rows, cols = np.nonzero(instances == k)
        boxes[k - 1] = (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
    return boxes


def draw_scene(items, labels, rng, config=SceneConfig()):
    """One scene from the item arrays with generator ``rng``: ``(image (H, W) uint8, instance mask
    (H, W) uint8, boxes (n, 4) float32, classes (n,) int32, visible (n,), item indices (n,), drawn)``."""
    canvas = _background(rng, config)
    _add_clutter(canvas, rng, items, config)
    instances = np.zeros(canvas.shape, np.uint8)
    visible, placed = np.zeros(256, np.int64), np.zeros(256, np.int64)
    chosen = []
    drawn = int(rng.integers(config.min_objects, config.max_objects + 1))
    for _ in range(drawn):
        index = int(rng.integers(len(items)))
        patch = _scaled_item(items[index], rng, config)
        if patch is not None and _place(canvas, instances, patch, len(chosen) + 1, visible, placed, rng, config):
            chosen.append(index)
    count = len(chosen)
    image = np.clip(np.round(canvas), 0, 255).astype(np.uint8)
    share = (visible[1:count + 1] / np.maximum(placed[1:count + 1], 1)).astype(np.float32)
    classes = labels[chosen].astype(np.int32) if count else np.zeros((0,), np.int32)
    return image, instances, _tight_boxes(instances, count), classes, share, np.asarray(chosen, np.int64), drawn


# ----------------------------------------------------------------------------- many scenes


def generate(split="train", num_scenes=None, *, seed=0, source="auto", config=None, data_dir=None,
             debian_dir=None, cache_dir=None):
    """``Scenes`` of ``split`` ("train" or "test"): ``num_scenes`` (default 6,000 / 1,000) drawn
    with ``seed`` from the items of ``item_pool(split, source)``, with ``config`` (a ``SceneConfig``
    or a dict of its fields).

    Results are kept in memory (the last 4); with ``cache_dir`` they are also
    written there as ``.npz`` and read back by later calls with the same arguments.
    """
    config = SceneConfig(**config) if isinstance(config, dict) else (config or SceneConfig())
    num_scenes = SPLITS.get(split) if num_scenes is None else int(num_scenes)
    items, labels, origin = item_pool(split, source, data_dir=data_dir, debian_dir=debian_dir)
    cache_dir = None if cache_dir is None else os.fspath(cache_dir)
    key = (split, num_scenes, int(seed), config, origin, cache_dir)
    if key not in _MEMORY:
        _MEMORY[key] = _generate_or_read(items, labels, *key)
        while len(_MEMORY) > 4:
            _MEMORY.pop(next(iter(_MEMORY)))
    return _MEMORY[key]


_MEMORY = {}  # the last scenes made, oldest first


def _generate_or_read(items, labels, split, num_scenes, seed, config, origin, cache_dir):
    path = None
    if cache_dir:
        key = json.dumps([split, num_scenes, seed, dataclasses.asdict(config), origin, _FORMAT_VERSION], sort_keys=True)
        path = os.path.join(cache_dir, f"fashion_scenes-{split}-{hashlib.sha1(key.encode()).hexdigest()[:16]}.npz")
        if os.path.isfile(path):
            return Scenes.load(path)
    scenes = _draw_many(items, labels, split, num_scenes, seed, config, origin)
    if path:
        os.makedirs(cache_dir, exist_ok=True)
        scenes.save(path)
    return scenes


def _draw_many(items, labels, split, num_scenes, seed, config, origin):
    """Draw scenes 0..num_scenes-1, each with ``default_rng([seed, split code, index])``."""
    size = config.image_size
    images = np.zeros((num_scenes, size, size, 1), np.uint8)
    masks = np.zeros((num_scenes, size, size), np.uint8)
    parts = {"boxes": [], "classes": [], "visible": [], "item_index": []}
    counts, drawn = np.zeros(num_scenes, np.int64), np.zeros(num_scenes, np.int64)
    for i in range(num_scenes):
        rng = np.random.default_rng([seed, _SPLIT_CODE[split], i])
        image, masks[i], boxes, classes, share, chosen, drawn[i] = draw_scene(items, labels, rng, config)
        images[i, ..., 0] = image
        counts[i] = len(classes)
        for key, value in zip(parts, (boxes, classes, share, chosen)):
            parts[key].append(value)
    flat = {key: np.concatenate(value) if value else np.zeros((0, 4) if key == "boxes" else (0,))
            for key, value in parts.items()}
    return Scenes(
        images, masks, flat["boxes"].astype(np.float32).reshape(-1, 4), flat["classes"].astype(np.int32),
        np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), flat["visible"].astype(np.float32),
        flat["item_index"].astype(np.int64), drawn, split=split, seed=seed, origin=origin, config=config,
    )


# ----------------------------------------------------------------------------- datasets for data.load

SCENE_OPTIONS = ("num_scenes", "seed", "source", "config", "cache_dir")


def dataset(name, split, *, data_dir=None, debian_dir=None, **options):
    """The tf.data Dataset ``data.load`` returns for ``"fashion_scenes"`` (detection elements)
    or ``"fashion_scenes_masks"`` (image, semantic mask); ``options``: ``SCENE_OPTIONS``."""
    unknown = sorted(set(options) - set(SCENE_OPTIONS))
    if unknown:
        raise TypeError(f"{name} takes the options {SCENE_OPTIONS}; got {unknown}")
    scenes = generate(split, data_dir=data_dir, debian_dir=debian_dir, **options)
    return scenes.segmentation_dataset() if name == "fashion_scenes_masks" else scenes.detection_dataset()


def describe_source(split, *, data_dir=None, debian_dir=None, **options):
    """What ``data.locate`` reports for the scenes: where their items come from and the seed."""
    name, found = _pool_source(split, options.get("source", "auto"), data_dir, debian_dir)
    return f"generated (seed {options.get('seed', 0)}) from {name} {split} ({found.kind}: {found.path})"


# ----------------------------------------------------------------------------- statistics and figures


def scene_statistics(scenes):
    """A dict summarising ``scenes``: objects per image, box sizes, occlusion, classes, mask pixels."""
    boxes = scenes.boxes
    width, height = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.sqrt(width * height)
    counts = scenes.counts
    semantic = scenes.semantic_masks
    quantiles = (0, 5, 25, 50, 75, 95, 100)
    return {
        "scenes": len(scenes),
        "image_size": scenes.config.image_size,
        "origin": scenes.origin,
        "seed": scenes.seed,
        "objects": int(counts.sum()),
        "objects_per_image": {"mean": float(counts.mean()), "histogram": {int(n): int((counts == n).sum()) for n in np.unique(counts)}},
        "items_left_out": int(scenes.drawn.sum() - counts.sum()),
        "box_width_percentiles": dict(zip(quantiles, np.percentile(width, quantiles).round(1).tolist())),
        "box_height_percentiles": dict(zip(quantiles, np.percentile(height, quantiles).round(1).tolist())),
        "box_sqrt_area_histogram": _histogram(side, (0, 16, 24, 32, 40, 48, 64, 129)),
        "coco_area_ranges": {"small (< 32²)": int((side < 32).sum()), "medium": int(((side >= 32) & (side < 96)).sum()),
                             "large (>= 96²)": int((side >= 96).sum())},
        "occluded_objects": int((scenes.visible < 1).sum()),
        "visible_share_percentiles": dict(zip(quantiles, np.percentile(scenes.visible, quantiles).round(3).tolist())),
        "class_counts": {name: int((scenes.classes == c).sum()) for c, name in enumerate(scenes.class_names)},
        "pixel_shares": {"background": float((semantic == 0).mean()), "objects": float(((semantic > 0) & (semantic < VOID)).mean()),
                         "void": float((semantic == VOID).mean())},
    }


def _histogram(values, edges):
    counts, _ = np.histogram(values, bins=edges)
    return {f"[{lo}, {hi})": int(c) for lo, hi, c in zip(edges[:-1], edges[1:], counts)}


def format_statistics(stats):
    """``scene_statistics`` output as Markdown lines (what docs/fashion_scenes.md quotes)."""
    lines = [f"- {stats['scenes']} scenes of {stats['image_size']}×{stats['image_size']}, seed {stats['seed']}, "
             f"items from {stats['origin']}",
             f"- {stats['objects']} objects, {stats['objects_per_image']['mean']:.2f} per image; "
             f"{stats['items_left_out']} drawn items left out (no place keeping the others half visible)"]
    for key in ("objects_per_image",):
        lines.append("- objects per image: " + ", ".join(f"{n}: {c}" for n, c in stats[key]["histogram"].items()))
    for key in ("box_width_percentiles", "box_height_percentiles", "visible_share_percentiles"):
        lines.append(f"- {key.replace('_', ' ')} (p0/5/25/50/75/95/100): " + " / ".join(str(v) for v in stats[key].values()))
    lines.append("- √(box area) in pixels: " + ", ".join(f"{k}: {v}" for k, v in stats["box_sqrt_area_histogram"].items()))
    lines.append("- COCO area ranges: " + ", ".join(f"{k}: {v}" for k, v in stats["coco_area_ranges"].items()))
    lines.append(f"- occluded objects (visible share < 1): {stats['occluded_objects']}")
    lines.append("- objects per class: " + ", ".join(f"{k}: {v}" for k, v in stats["class_counts"].items()))
    lines.append("- pixels: " + ", ".join(f"{k} {100 * v:.1f} %" for k, v in stats["pixel_shares"].items()))
    return "\n".join(lines)


def plot_examples(scenes, path, *, count=8, cols=4):
    """Save a figure of ``count`` scenes: each image with its boxes (``plots.plot_boxes``) above
    its semantic mask (``plots.plot_segmentation``). Returns the path."""
    from keras_cv_course.visualize import plots

    rows = 2 * int(np.ceil(count / cols))
    figure, axes = plots.new_figure(rows, cols, size=2.2, squeeze=False)
    semantic = scenes.semantic_masks
    for i in range(rows // 2 * cols):
        top, bottom = axes[2 * (i // cols), i % cols], axes[2 * (i // cols) + 1, i % cols]
        if i >= count:
            top.set_axis_off()
            bottom.set_axis_off()
            continue
        boxes, classes = scenes.objects(i)
        plots.plot_boxes(top, scenes.images[i], boxes, classes, class_names=scenes.class_names, fontsize=6)
        plots.plot_segmentation(bottom, scenes.images[i], semantic[i], len(SEGMENTATION_CLASSES), alpha=0.6)
    return plots.save_figure(figure, path, dpi=85)


def main(argv=None):
    """``python -m keras_cv_course.data.scenes [--out docs]``: print the statistics of the default
    train and test splits and write ``fashion_scenes_examples.png``."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--out", default="docs")
    parser.add_argument("--source", default="auto", choices=SOURCES)
    args = parser.parse_args(argv)
    for split in SPLITS:
        scenes = generate(split, source=args.source)
        print(f"## {split}\n{format_statistics(scene_statistics(scenes))}\n")
    print(plot_examples(generate("train", 6, source=args.source), os.path.join(args.out, "fashion_scenes_examples.png"),
                        count=6, cols=3))


if __name__ == "__main__":
    main()
