"""Tutorial 6 — YOLOv1: detection as one regression over a grid.

The course's detection lecture (EE-559 7.3) and YOLOv1 (Redmon, Divvala,
Girshick & Farhadi 2016), on real ``fashion_scenes`` test scenes (128×128
canvases with 1–6 real Fashion-MNIST items and exact boxes), with the CPU-sized
``yolov1_fashion``: an 8×8 grid (S = 8, 16 px cells), B = 2 boxes per cell and
C = 10 classes, a (8, 8, 5B + C = 20) output.

1. the grid and the targets — each item belongs to the cell that holds its box
   centre; that cell alone must predict it (``YOLOv1Head.encode``). YOLOv1 keeps
   one object per cell: when several centres fall in one cell, the one nearest
   the cell's centre gets it and the others get no target at all;
2. the raw output — per cell, the best of its B predictors' confidence Ĉ
   (Pr(object) · IoU, §2) and the best class by the class-specific confidence
   score Pr(class | object) · Ĉ, as maps next to the scene;
3. boxes before and after non-maximum suppression — all S·S·B = 128 predicted
   boxes with a class score above the threshold (``decode_cells``), and what
   per-class NMS keeps of them (``decode``), drawn on the same scenes;
4. failure cases — the items the detector misses (no detection of their class
   with IoU > 0.5), sorted by cause: they share their cell with another item
   (the one-object-per-cell limit, §2.4), they are small (smaller than a cell),
   a box finds them but names the wrong class, or no box is placed well enough
   (localisation: best IoU ≤ 0.5), with a few scenes and their misses drawn;
5. the test mAP@0.5 (PASCAL VOC, ``evaluate_voc``).

The detector uses the trained weights ``weights="fashion_scenes"`` when they are
in weights/manifest.json; otherwise (and always with ``--fast``) a small one is
trained here first (plain compile and fit, the head's ``encode`` mapped on the
pipeline, its ``YOLOv1Loss``).

Run:  python tutorials/06_yolo.py [--fast] [--out DIR]
(``--fast`` uses scenes made from the package's embedded item sample, trains a
narrow detector (width 8) for 5 epochs on 512 scenes and scores 64 test scenes:
under a minute on two CPU cores, and a weak detector — it finds many items but
its confidences stay low and it often misnames them. Without it: scenes of the
full Fashion-MNIST when present, the shipped detector or a width-16 one trained
here for 5 epochs on the 6,000 training scenes (several minutes on two CPU
cores), scored on 500 test scenes. ``SETTINGS`` holds the sizes.)
"""

import argparse
import sys

import numpy as np

SHOWN = 3  # scenes drawn in sections 1-3
MISS_SCENES = 4  # scenes drawn in section 4
SMALL_SIDE = 16  # px: an item is "small" when its box is smaller than one cell, √(w·h) < 16
MATCH_IOU = 0.5  # an item is found by a detection of its class with IoU > 0.5 (VOC)
MISS_KINDS = ("collision", "small", "wrong class", "localisation")
# Per mode: where the scenes' items come from, how many test scenes are scored, the class score
# above which boxes are drawn and items count as found (sections 3-4; the mAP uses every
# detection), and the detector trained when there are no shipped weights (the fast detector's
# class scores stay below about 0.3, so it gets a lower threshold than darknet's 0.2).
SETTINGS = {
    "fast": {"source": "sample", "test_scenes": 64, "threshold": 0.05,
             "train": {"width": 8, "scenes": 512, "epochs": 5, "batch_size": 16, "learning_rate": 3e-3}},
    "full": {"source": "auto", "test_scenes": 500, "threshold": 0.2,
             "train": {"width": 16, "scenes": 6000, "epochs": 5, "batch_size": 16, "learning_rate": 3e-3}},
}


def main(fast=False, out="tutorial_06_out"):
    import keras

    from keras_cv_course import data
    from keras_cv_course import visualize as V

    writer = V.FigureWriter(out)
    results, save = {"files": writer.files}, writer.save

    settings = SETTINGS["fast" if fast else "full"]
    threshold = settings["threshold"]
    class_names = data.info("fashion_scenes").class_names
    images, truth = _scenes("test", settings["test_scenes"], settings["source"])
    items = sum(len(t["classes"]) for t in truth)
    print(f"{len(images)} test scenes, {items} items")

    print("The detector: yolov1_fashion")
    keras.utils.set_random_seed(0)
    model, head = _detector(fast, settings)
    s, b, stride = head.grid, head.boxes_per_cell, images.shape[1] // head.grid
    print(f"  output \"yolo\" ({s}, {s}, {head.depth}): S = {s} cells of {stride} px per side, "
          f"B = {b} boxes of (x, y, √w, √h, Ĉ) per cell, then C = {head.num_classes} class probabilities")

    # ------------------------------------------------------------------ 1. the grid and the targets
    print("1. The grid and the targets (YOLOv1 §2)")
    cells = [_cells(t["boxes"], stride, s) for t in truth]
    shared, dropped = zip(*(_collisions(t["boxes"], c, stride) for t, c in zip(truth, cells)))
    targets = _encode(head, images, truth)
    object_cells = int(targets[..., 0].sum())
    results["items"] = items
    results["shared_items"], results["dropped_items"] = int(sum(map(np.sum, shared))), int(sum(map(np.sum, dropped)))
    results["object_cells"] = object_cells
    results["targets_agree"] = _targets_agree(targets, truth, cells, dropped, images.shape[1])
    results["target_shape"] = targets.shape
    print(f"  encode: targets {targets.shape[1:]} per scene (1_obj, x, y, w, h, {head.num_classes} one-hot classes)")
    print(f"  {results['shared_items']} of the {items} items ({results['shared_items'] / items:.1%}) share their cell "
          f"with another item; {sum(1 for d in shared if d.any())} of the {len(images)} scenes hold such a cell")
    print(f"  one object per cell: encode gives the cell to the item whose centre is nearest the cell's centre "
          f"(exact ties: the first listed); the other {results['dropped_items']} items "
          f"({results['dropped_items'] / items:.1%}) get no target at all, never trained for")
    print(f"  {object_cells} of the {len(images) * s * s} cells hold an object "
          f"({items} items − {results['dropped_items']} without a target); encode's cells and classes "
          f"{'are' if results['targets_agree'] else 'are NOT'} those of the items kept here")
    grid_scenes = _grid_scenes(shared)
    print(f"  drawn: scenes {grid_scenes} (with a shared cell where the scored scenes have one)")
    save(_grid_figure(images, truth, cells, shared, dropped, grid_scenes, stride, s, class_names), "grid_targets.png")

    # ------------------------------------------------------------------ 2. the raw output
    print("2. The raw output: confidence and class-specific confidence per cell")
    outputs = np.asarray(model.predict(images, batch_size=64, verbose=0)["yolo"])
    confidence, class_scores = _cell_maps(outputs, b)
    results["output_shape"] = outputs.shape
    results["confidence_shape"], results["class_score_shape"] = confidence.shape, class_scores.shape
    results["confidence_range"] = (float(confidence.min()), float(confidence.max()))
    has_object = targets[..., 0] > 0
    results["confidence_object"] = float(confidence[has_object].mean())
    results["confidence_empty"] = float(confidence[~has_object].mean())
    cell_class = targets[..., 5:].argmax(-1)
    results["cell_class_accuracy"] = float((class_scores.argmax(-1) == cell_class)[has_object].mean())
    print(f"  best predictor's confidence Ĉ (clipped to [0, 1]): mean {results['confidence_object']:.2f} in the "
          f"{int(has_object.sum())} cells that hold an object, {results['confidence_empty']:.2f} in the "
          f"{int((~has_object).sum())} empty ones")
    print(f"  best class by Pr(class | object) · Ĉ right in {results['cell_class_accuracy']:.0%} of the object cells "
          f"(chance {1 / head.num_classes:.0%})")
    save(_maps_figure(images[:SHOWN], truth[:SHOWN], confidence[:SHOWN], class_scores[:SHOWN], stride, s,
                      class_names), "raw_output.png")

    # ------------------------------------------------------------------ 3. before and after NMS
    print("3. Boxes before and after non-maximum suppression")
    cell_boxes, cell_scores = head.decode_cells(outputs, images.shape[1:3])
    found = head.decode(outputs, images.shape[1:3])
    kept = found["classes"] >= 0
    n = len(images)
    counts = {"before": int((cell_scores > head.score_threshold).sum()), "after": int(kept.sum()),
              "before_drawn": int((cell_scores > threshold).sum()),
              "after_drawn": int((kept & (found["scores"] > threshold)).sum())}
    results["nms_counts"] = counts
    results["decode_cells_shapes"] = (cell_boxes.shape, cell_scores.shape)
    results["max_score"] = float(cell_scores.max())
    at_cap = int((kept.sum(-1) >= head.max_detections).sum())
    print(f"  decode_cells: {cell_boxes.shape[1]} boxes per scene (S·S·B = {s}·{s}·{b}), each with "
          f"{head.num_classes} class scores Pr(class | object) · Ĉ (strongest {results['max_score']:.2f})")
    print(f"  score > {head.score_threshold:g} (decode's threshold): {counts['before']} (box, class) pairs "
          f"({counts['before'] / n:.1f} per scene) before NMS, {counts['after']} ({counts['after'] / n:.1f}) after "
          f"per-class NMS at IoU > {head.iou_threshold:g} ({at_cap} scenes at decode's cap of "
          f"{head.max_detections})")
    print(f"  score > {threshold:g} (drawn): {counts['before_drawn']} ({counts['before_drawn'] / n:.1f} per scene) "
          f"before NMS, {counts['after_drawn']} ({counts['after_drawn'] / n:.1f}) after")
    print("  NMS is per class: one predictor's box may stay for two classes (VOC scores each)")
    unsuppressed = _without_nms(cell_boxes, cell_scores, head.score_threshold)
    results["map50_without_nms"] = _scores(truth, unsuppressed, head.num_classes, class_names)[0]
    map50, object_ap50, per_class = _scores(truth, found, head.num_classes, class_names)
    print(f"  mAP@0.5 of every pair > {head.score_threshold:g}, no NMS: {results['map50_without_nms']:.3f}; with "
          f"decode's NMS: {map50:.3f} (one cell, one object: few duplicates to remove — in the paper NMS adds "
          f"2-3 points of mAP, §2.3)")
    suppressed = [int((cell_scores[i] > threshold).sum()) - int((kept[i] & (found["scores"][i] > threshold)).sum())
                  for i in range(n)]
    nms_scenes = sorted(range(n), key=lambda i: (-suppressed[i], i))[:SHOWN]
    results["nms_scenes"] = nms_scenes
    print(f"  drawn: scenes {nms_scenes}, where NMS removes the most pairs scoring > {threshold:g} "
          f"({[suppressed[i] for i in nms_scenes]})")
    figure, results["boxes_drawn"] = _nms_figure(images[nms_scenes], [truth[i] for i in nms_scenes],
                                                 cell_boxes[nms_scenes], cell_scores[nms_scenes],
                                                 {k: v[nms_scenes] for k, v in found.items()}, threshold, class_names)
    save(figure, "before_after_nms.png")

    # ------------------------------------------------------------------ 4. failure cases
    print(f"4. Failure cases: items with no detection of their class at IoU > {MATCH_IOU:g} "
          f"(detections scoring > {threshold:g})")
    misses = _misses(truth, found, shared, threshold)
    results["misses"] = {kind: sum(1 for m in misses if m["kind"] == kind) for kind in MISS_KINDS}
    results["missed"] = len(misses)
    results["recall"] = 1.0 - len(misses) / items
    print(f"  found {items - len(misses)} of the {items} items (recall {results['recall']:.0%}); "
          f"{len(misses)} missed, each put in the first category that applies:")
    explained = {"collision": "shares its cell with another item",
                 "small": f"its box is smaller than a cell, √(w·h) < {SMALL_SIDE} px",
                 "wrong class": f"a detection of another class has IoU > {MATCH_IOU:g}",
                 "localisation": f"no detection has IoU > {MATCH_IOU:g}"}
    for kind in MISS_KINDS:
        print(f"    {kind:12s} {results['misses'][kind]:4d}  ({explained[kind]})")
    untargeted = sum(1 for m in misses if m["kind"] == "collision" and dropped[m["scene"]][m["item"]])
    print(f"  of the {results['misses']['collision']} collision misses, {untargeted} are items encode gave no target")
    localisation = [m["best_iou"] for m in misses if m["kind"] == "localisation"]
    if localisation:
        print(f"  localisation misses: best IoU of any detection {np.mean(localisation):.2f} on average, "
              f"{sum(1 for v in localisation if v == 0)} with no overlapping box at all")
    miss_scenes = _miss_scenes(misses)
    results["miss_scenes"] = miss_scenes
    print(f"  drawn: scenes {miss_scenes}")
    save(_misses_figure(images, truth, found, misses, miss_scenes, threshold, class_names), "failure_cases.png")

    # ------------------------------------------------------------------ 5. mAP
    print("5. Test mAP@0.5 (PASCAL VOC, every detection of decode)")
    results["map50"], results["object_ap50"] = map50, object_ap50
    print(f"  mAP@0.5 {map50:.3f} over {len(images)} test scenes; class-agnostic AP@0.5 {object_ap50:.3f} "
          f"(the boxes alone, whatever their class)")
    print("  per class: " + ", ".join(f"{name} {ap:.2f}" for name, ap in per_class.items() if ap is not None))
    return results


# ---------------------------------------------------------------------- data and detector


def _scenes(split, count, source):
    """``count`` scenes of ``split``: float32 images (N, 128, 128, 1) in [0, 1]
    (the "unit" preprocessing) and their ground truth, one dict per scene."""
    from keras_cv_course import data

    elements = list(data.load("fashion_scenes", split, num_scenes=count, source=source).as_numpy_iterator())
    images = np.stack([image for image, _ in elements]).astype("float32") / 255.0
    return images, [target for _, target in elements]


def _detector(fast, settings):
    """``(model, head)``: the shipped ``yolov1_fashion`` weights when the manifest
    has them (and not ``fast``), else a small detector trained here."""
    from keras_cv_course import models
    from keras_cv_course.detection.yolo import head_from_model

    if not fast and "fashion_scenes" in models.model_info("yolov1_fashion").weights:
        print('  the shipped weights: get_model("yolov1_fashion", weights="fashion_scenes")')
        model = models.get_model("yolov1_fashion", weights="fashion_scenes")
        return model, head_from_model(model)
    reason = "--fast" if fast else 'no "fashion_scenes" weights of yolov1_fashion in weights/manifest.json yet'
    print(f"  ({reason}: training a small detector here; its numbers are far below a trained one's)")
    return _train_detector(settings["source"], **settings["train"])


def _train_detector(source, *, width, scenes, epochs, batch_size, learning_rate):
    """A fresh ``yolov1_fashion(width=width)`` trained on ``scenes`` training
    scenes: plain compile and fit, the targets from ``head.encode``, Adam with a
    cosine schedule, no augmentation."""
    import keras

    from keras_cv_course import data
    from keras_cv_course.detection.yolo import yolov1_fashion

    model, head = yolov1_fashion(width=width)
    raw = data.load("fashion_scenes", "train", num_scenes=scenes, source=source)
    train = data.pipeline(raw, batch_size=batch_size, training=True, max_boxes=8, seed=0).map(head.encode)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, int(train.cardinality()) * epochs)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=head.losses(), loss_weights=head.loss_weights())
    history = model.fit(train, epochs=epochs, verbose=2)
    print(f"  width {width} ({model.count_params():,} parameters), {scenes} scenes, {epochs} epochs: YOLOv1 loss "
          f"{history.history['loss'][0]:.2f} → {history.history['loss'][-1]:.2f}")
    return model, head


# ---------------------------------------------------------------------- 1. the grid and the targets


def _cells(boxes, stride, grid):
    """(M, 2) int (row, col) of the cell holding each box's centre (clamped to the grid, as encode does)."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    centers = np.stack([(boxes[:, 1] + boxes[:, 3]) / 2, (boxes[:, 0] + boxes[:, 2]) / 2], -1)
    return np.clip(np.floor(centers / stride), 0, grid - 1).astype(int)


def _collisions(boxes, cells, stride):
    """``(shared, dropped)`` (M,) bool: the items whose cell holds another item,
    and those of them that get no target — every item of a cell but the one whose
    centre is nearest the cell's centre (the first listed on exact ties), as
    ``YOLOv1Head.encode`` decides."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    centers = np.stack([(boxes[:, 1] + boxes[:, 3]) / 2, (boxes[:, 0] + boxes[:, 2]) / 2], -1) / stride
    distance = ((centers - cells - 0.5) ** 2).sum(-1)
    shared, dropped = np.zeros(len(cells), bool), np.zeros(len(cells), bool)
    for cell in {tuple(c) for c in cells}:
        members = np.flatnonzero((cells == cell).all(-1))
        if len(members) > 1:
            shared[members] = True
            dropped[members] = True
            dropped[members[np.argmin(distance[members])]] = False  # argmin: the first on ties
    return shared, dropped


def _encode(head, images, truth, max_boxes=8):
    """``head.encode`` of the scenes' boxes, padded as ``data.pipeline`` pads them: (N, S, S, 5 + C)."""
    boxes = np.zeros((len(truth), max_boxes, 4), np.float32)
    classes = np.full((len(truth), max_boxes), -1, np.int32)
    for i, target in enumerate(truth):
        boxes[i, :len(target["boxes"])], classes[i, :len(target["classes"])] = target["boxes"], target["classes"]
    return np.asarray(head.encode(images, {"boxes": boxes, "classes": classes})[1]["yolo"])


def _targets_agree(targets, truth, cells, dropped, side):
    """Whether encode's object cells, their classes and box centres are exactly
    those of the items that keep their cell (the rule of ``_collisions``)."""
    stride = side / targets.shape[1]
    for target, encoded, scene_cells, lost in zip(truth, targets, cells, dropped):
        expected = np.zeros(encoded.shape[:2], bool)
        for (row, col), cls, box, gone in zip(scene_cells, target["classes"], target["boxes"], lost):
            if gone:
                continue
            expected[row, col] = True
            center = (np.array([col, row]) + encoded[row, col, 1:3]) * stride  # cell offsets → pixels
            if encoded[row, col, 5:].argmax() != cls or not np.allclose(center, [(box[0] + box[2]) / 2,
                                                                                 (box[1] + box[3]) / 2], atol=1e-3):
                return False
        if not np.array_equal(expected, encoded[..., 0] > 0):
            return False
    return True


def _grid_scenes(shared, count=SHOWN):
    """The first ``count`` scenes, the last of them swapped for the first scene
    with a shared cell when none of them has one (and one exists)."""
    chosen = list(range(min(count, len(shared))))
    if not any(shared[i].any() for i in chosen):
        with_shared = [i for i, flags in enumerate(shared) if flags.any()]
        if with_shared:
            chosen[-1] = with_shared[0]
    return chosen


def _draw_grid(ax, grid, stride, color="white"):
    """The S×S cell borders on an image's pixel axes (pixel i centred on i)."""
    for k in range(1, grid):
        ax.axhline(k * stride - 0.5, color=color, linewidth=0.5, alpha=0.6)
        ax.axvline(k * stride - 0.5, color=color, linewidth=0.5, alpha=0.6)


def _grid_figure(images, truth, cells, shared, dropped, chosen, stride, grid, class_names):
    """Per scene: its boxes, the grid, each item's centre and responsible cell
    (filled in its class colour); items without a target crossed out."""
    from matplotlib.patches import Rectangle

    from keras_cv_course import visualize as V
    from keras_cv_course.visualize.plots import box_colors, plot_boxes

    colors = box_colors(len(class_names))
    figure, axes = V.new_figure(1, len(chosen), size=3.4, squeeze=False)
    for ax, index in zip(axes[0], chosen):
        target = truth[index]
        plot_boxes(ax, images[index], target["boxes"], target["classes"], class_names=class_names, fontsize=6,
                   linewidth=1.0)
        _draw_grid(ax, grid, stride)
        for m, ((row, col), cls, box) in enumerate(zip(cells[index], target["classes"], target["boxes"])):
            ax.add_patch(Rectangle((col * stride - 0.5, row * stride - 0.5), stride, stride, facecolor=colors[cls],
                                   alpha=0.45, edgecolor="red" if shared[index][m] else colors[cls],
                                   linewidth=2.0 if shared[index][m] else 1.0))
            cx, cy = (box[0] + box[2]) / 2 - 0.5, (box[1] + box[3]) / 2 - 0.5
            ax.plot(cx, cy, marker="x" if dropped[index][m] else "o", color="red" if dropped[index][m] else "white",
                    markersize=6 if dropped[index][m] else 3)
        title = f"scene {index}: {len(target['classes'])} items"
        if shared[index].any():
            title += f", {int(dropped[index].sum())} without a target"
        ax.set_title(title, fontsize=8)
    figure.suptitle(f"{grid}×{grid} grid: an item's cell holds its box centre (red: a shared cell; "
                    f"×: the item that loses it)", fontsize=9)
    return figure


# ---------------------------------------------------------------------- 2. the raw output


def _cell_maps(outputs, boxes_per_cell):
    """``(confidence (N, S, S), class_scores (N, S, S, C))`` of raw outputs (N, S,
    S, 5B + C): the best predictor's confidence Ĉ and Pr(class | object) · Ĉ of
    that predictor, both clipped to [0, 1] as ``decode_cells`` clips them."""
    b = boxes_per_cell
    confidence = np.clip(outputs[..., 4:5 * b:5], 0, 1).max(-1)
    probabilities = np.clip(outputs[..., 5 * b:], 0, 1)
    return confidence, probabilities * confidence[..., None]


def _class_colors(scores):
    """(h, w, C) class scores → an RGB map: each cell the colour of its best class, as bright as its score."""
    from keras_cv_course.visualize.plots import box_colors

    return box_colors(scores.shape[-1])[scores.argmax(-1)] * scores.max(-1)[..., None]


def _show_map(ax, rgb, target, grid, stride, class_names, title):
    """An S×S map over the scene's pixel frame, with the grid and the ground-truth boxes."""
    from keras_cv_course.visualize.plots import plot_boxes

    side = grid * stride
    ax.imshow(np.clip(rgb, 0, 1), extent=(-0.5, side - 0.5, side - 0.5, -0.5), interpolation="nearest")
    _draw_grid(ax, grid, stride, color="gray")
    plot_boxes(ax, None, target["boxes"], target["classes"], class_names=class_names, fontsize=5, linewidth=0.8)
    ax.set_xlim(-0.5, side - 0.5)
    ax.set_ylim(side - 0.5, -0.5)
    ax.set_title(title, fontsize=8)


def _class_legend(figure, class_names):
    """A legend of the class colours under the figure."""
    from matplotlib.patches import Patch

    from keras_cv_course.visualize.plots import box_colors

    handles = [Patch(color=color, label=name) for color, name in zip(box_colors(len(class_names)), class_names)]
    figure.legend(handles=handles, loc="outside lower center", ncol=5, fontsize=8)


def _maps_figure(images, truth, confidence, class_scores, stride, grid, class_names):
    """Per scene: the scene with the grid, the confidence map (0 black, 1 white) and
    the best class per cell (its colour, as bright as its score relative to the
    strongest of the figure)."""
    from keras_cv_course import visualize as V
    from keras_cv_course.visualize.plots import plot_boxes

    figure, axes = V.new_figure(len(images), 3, size=2.8, squeeze=False)
    peak = max(float(class_scores.max()), 1e-6)  # the class map is drawn as bright as its strongest score
    for row, (image, target) in enumerate(zip(images, truth)):
        plot_boxes(axes[row, 0], image, target["boxes"], target["classes"], class_names=class_names, fontsize=5,
                   title="scene" if row == 0 else None)
        _draw_grid(axes[row, 0], grid, stride)
        _show_map(axes[row, 1], np.repeat(confidence[row][..., None], 3, -1), target, grid, stride, class_names,
                  "best predictor's confidence Ĉ" if row == 0 else "")
        _show_map(axes[row, 2], _class_colors(class_scores[row] / peak), target, grid, stride, class_names,
                  f"best class by Pr(class|object)·Ĉ\n(brightest {peak:.2f})" if row == 0 else "")
    _class_legend(figure, class_names)
    return figure


# ---------------------------------------------------------------------- 3. before and after NMS


def _without_nms(cell_boxes, cell_scores, score_threshold):
    """Every (box, class) pair scoring above ``score_threshold``, in ``decode``'s
    padded format but with nothing suppressed (``nms`` at IoU threshold 1, which
    no pair exceeds, and room for all S·S·B·C pairs)."""
    from keras_cv_course.detection.boxes import nms

    pairs = cell_scores.shape[1] * cell_scores.shape[2]
    found = nms(cell_boxes, cell_scores, iou_threshold=1.0, score_threshold=score_threshold, max_detections=pairs)
    return {key: np.asarray(value) for key, value in found.items()}


def _nms_figure(images, truth, cell_boxes, cell_scores, found, threshold, class_names):
    """Rows: the ground truth; every (predictor's box, class) pair scoring above
    ``threshold`` (before NMS); the detections above it (after NMS). Returns the
    figure and the boxes drawn per row."""
    from keras_cv_course import visualize as V
    from keras_cv_course.visualize.plots import plot_boxes

    figure, axes = V.new_figure(3, len(images), size=2.8, squeeze=False)
    drawn = {"before": 0, "after": 0}
    for col, (image, target) in enumerate(zip(images, truth)):
        plot_boxes(axes[0, col], image, target["boxes"], target["classes"], class_names=class_names, fontsize=6)
        box, cls = np.nonzero(cell_scores[col] > threshold)  # every (box, class) pair NMS starts from
        drawn["before"] += len(box)
        plot_boxes(axes[1, col], image, cell_boxes[col][box], cls, class_names=class_names, fontsize=4,
                   linewidth=0.7)
        axes[1, col].set_title(f"before NMS: {len(box)} > {threshold:g} ({len(set(box))} boxes)", fontsize=8)
        keep = np.flatnonzero((found["classes"][col] >= 0) & (found["scores"][col] > threshold))
        drawn["after"] += len(keep)
        plot_boxes(axes[2, col], image, found["boxes"][col][keep], found["classes"][col][keep],
                   found["scores"][col][keep], class_names=class_names, fontsize=5, linewidth=1.0)
        axes[2, col].set_title(f"after per-class NMS: {len(keep)}", fontsize=8)
    axes[0, 0].set_title("ground truth", fontsize=8)
    return figure, drawn


# ---------------------------------------------------------------------- 4. failure cases


def _misses(truth, found, shared, threshold):
    """The items with no detection (score > ``threshold``) of their class at IoU >
    ``MATCH_IOU``, each ``{"scene", "item", "kind", "best_iou"}``, ``kind`` the
    first of ``MISS_KINDS`` that applies."""
    from keras_cv_course.detection.boxes import pairwise_iou

    misses = []
    for index, target in enumerate(truth):
        keep = (found["classes"][index] >= 0) & (found["scores"][index] > threshold)
        boxes, classes = found["boxes"][index][keep], found["classes"][index][keep]
        overlap = pairwise_iou(target["boxes"], boxes) if len(boxes) else np.zeros((len(target["boxes"]), 0))
        for m, (box, cls) in enumerate(zip(target["boxes"], target["classes"])):
            same = classes == cls
            if (overlap[m][same] > MATCH_IOU).any():
                continue
            best = float(overlap[m].max(initial=0.0))
            if shared[index][m]:
                kind = "collision"
            elif np.sqrt((box[2] - box[0]) * (box[3] - box[1])) < SMALL_SIDE:
                kind = "small"
            elif best > MATCH_IOU:
                kind = "wrong class"
            else:
                kind = "localisation"
            misses.append({"scene": index, "item": m, "kind": kind, "best_iou": best})
    return misses


def _miss_scenes(misses, count=MISS_SCENES):
    """Up to ``count`` scenes with misses: first one per miss category (the first
    scene with a miss of it), then the scenes with the most misses."""
    chosen = []
    for kind in MISS_KINDS:
        scene = next((m["scene"] for m in misses if m["kind"] == kind and m["scene"] not in chosen), None)
        if scene is not None and len(chosen) < count:
            chosen.append(scene)
    per_scene = {}
    for m in misses:
        per_scene[m["scene"]] = per_scene.get(m["scene"], 0) + 1
    for scene in sorted(per_scene, key=lambda k: (-per_scene[k], k)):
        if len(chosen) >= count:
            break
        if scene not in chosen:
            chosen.append(scene)
    return chosen


def _misses_figure(images, truth, found, misses, chosen, threshold, class_names):
    """Per chosen scene: the detections above ``threshold`` and every missed item
    dashed in red with its category."""
    from matplotlib.patches import Rectangle

    from keras_cv_course import visualize as V
    from keras_cv_course.visualize.plots import plot_boxes

    figure, axes = V.new_figure(1, max(1, len(chosen)), size=3.4, squeeze=False)
    for ax, index in zip(axes[0], chosen):
        keep = (found["classes"][index] >= 0) & (found["scores"][index] > threshold)
        plot_boxes(ax, images[index], found["boxes"][index][keep], found["classes"][index][keep],
                   found["scores"][index][keep], class_names=class_names, fontsize=5, linewidth=0.8)
        scene_misses = [m for m in misses if m["scene"] == index]
        for m in scene_misses:
            x1, y1, x2, y2 = (float(v) - 0.5 for v in truth[index]["boxes"][m["item"]])
            ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor="red", linewidth=1.8,
                                   linestyle="--"))
            name = class_names[truth[index]["classes"][m["item"]]]
            ax.text(x1, y2, f"{name}: {m['kind']}", fontsize=5, color="white", va="top", ha="left", clip_on=True,
                    bbox={"facecolor": "red", "edgecolor": "none", "pad": 1.0, "alpha": 0.8})
        ax.set_title(f"scene {index}: {len(scene_misses)} of {len(truth[index]['classes'])} missed", fontsize=8)
    if not chosen:
        axes[0, 0].set_title("no missed item", fontsize=8)
        axes[0, 0].set_axis_off()
    figure.suptitle(f"detections > {threshold:g} and the missed items (red, dashed)", fontsize=9)
    return figure


# ---------------------------------------------------------------------- 5. mAP


def _scores(truth, found, num_classes, class_names):
    """``(mAP@0.5, class-agnostic AP@0.5, per-class AP)`` of the detections ``found``."""
    from keras_cv_course.detection.evaluate import evaluate_voc

    summary = evaluate_voc(truth, found, class_names=list(class_names), num_classes=num_classes)
    agnostic_truth = [{"boxes": t["boxes"], "classes": np.zeros_like(t["classes"])} for t in truth]
    agnostic = {**found, "classes": np.where(found["classes"] >= 0, 0, -1)}
    object_ap = evaluate_voc(agnostic_truth, agnostic, num_classes=1)["map50"]
    return summary["map50"], object_ap, summary["per_class_ap"]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="YOLOv1: detection as one regression over a grid.")
    parser.add_argument("--fast", action="store_true", help="embedded item sample, a small detector (under a minute)")
    parser.add_argument("--out", default="tutorial_06_out")
    arguments = parser.parse_args()
    main(fast=arguments.fast, out=arguments.out)
    sys.exit(0)
