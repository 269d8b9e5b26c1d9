"""Tutorial 5 — from a classifier to a detector: OverFeat's dense evaluation.

The course's detection lecture (EE-559 7.2) and OverFeat (Sermanet et al. 2014),
on real ``fashion_scenes`` test scenes (128×128 canvases with 1–6 real
Fashion-MNIST items in 17–56 px frames, and exact boxes):

1. convolutionize — LeNet-5, trained on 28×28 Fashion-MNIST items (the shipped
   ``weights="fashion_mnist"``), has a Flatten → Dense head; as convolutions
   (§3.5, ``surgery.convolutionize``) it is the same classifier at 28×28 and
   slides over a bigger image for free, one class distribution per window, 4 px
   apart. On a scene resized so that its items come near 28 px it gives dense
   class score maps; offset max-pooling (§3.3, ``offset_pooled_scores``) makes
   the map twice as fine (windows 2 px apart) at the cost of 4 runs of the head;
2. the OverFeat detector — a fully convolutional net with a background class
   and a box per window (``overfeat_fashion``): its object-score map
   (1 − background) and best class per cell at several scales (§4.3, a bigger
   scale gives a finer map of the same scene), then the windows of every scale
   mapped back to the image and merged, by non-maximum suppression or by the
   paper's greedy merge (§4.3), drawn on the scenes with the ground truth, and
   the test mAP@0.5 of one scale against several.

The detector uses the trained weights ``weights="fashion_scenes"`` when they are
in weights/manifest.json; otherwise (and always with ``--fast``) a small one is
trained here first, as benchmarks/overfeat_fashion_scenes.py does.

Run:  python tutorials/05_detection.py [--fast] [--out DIR]
(``--fast`` uses scenes made from the package's embedded item sample, trains a
narrow detector for 4 epochs on 512 scenes and scores 48 test scenes: about half
a minute on two CPU cores, and a weak detector — it finds the items but mostly
misnames them. Without it: scenes of the full Fashion-MNIST when present, the
shipped detector or a wider one trained here for 5 epochs on the 6,000 training
scenes (about ten minutes on two CPU cores), scored on 500 test scenes.
``SETTINGS`` holds the sizes.)
"""

import argparse
import sys

import numpy as np

LENET_SCALES = (0.5, 0.75, 1.0)  # the scene's 128 px → 64, 96, 128: its 17–56 px items shrink towards LeNet's 28
DETECTOR_SCALES = (0.75, 1.0, 1.5)
DRAWN_BOXES = 6  # the strongest detections drawn per scene (a scene holds at most 6 items)
# Per mode: where the scenes' items come from, how many test scenes are scored, the detector
# trained when there are no shipped weights, and the greedy merge's share: it merges pair by
# pair in Python, so it gets fewer scenes and only the windows whose best class scores above
# greedy_threshold (the fast detector's classes stay below 0.2).
SETTINGS = {
    "fast": {"source": "sample", "test_scenes": 48, "greedy_scenes": 12, "greedy_threshold": 0.1,
             "train": {"width": 8, "scenes": 512, "epochs": 4}},
    "full": {"source": "auto", "test_scenes": 500, "greedy_scenes": 100, "greedy_threshold": 0.3,
             "train": {"width": 16, "scenes": 6000, "epochs": 5}},
}


def main(fast=False, out="tutorial_05_out"):
    import keras

    from keras_cv_course import data, models, surgery
    from keras_cv_course import visualize as V
    from keras_cv_course.detection.overfeat import detect_multiscale, offset_pooled_scores, score_maps

    writer = V.FigureWriter(out)
    results, save = {"files": writer.files}, writer.save

    settings = SETTINGS["fast" if fast else "full"]
    class_names = data.info("fashion_scenes").class_names
    images, truth = _scenes("test", settings["test_scenes"], settings["source"])
    shown = slice(0, 3)  # the scenes drawn
    print(f"{len(images)} test scenes, {sum(len(t['classes']) for t in truth)} items")

    # ------------------------------------------------------------------ 1. convolutionize
    print("1. Convolutionize LeNet-5 (EE-559 7.2, OverFeat §3.5)")
    classifier = models.get_model("lenet5", weights="fashion_mnist")
    fcn = surgery.convolutionize(classifier)
    stride = surgery.total_stride(classifier)[0]
    items = data.load_arrays("fashion_mnist_sample", "test")[0][:64].reshape(-1, 28, 28, 1) / np.float32(255)
    difference = float(np.abs(np.asarray(fcn(items))[:, 0, 0] - np.asarray(classifier(items))).max())
    print(f"  {[type(fcn.get_layer(n)).__name__ for n in ('fc1', 'fc2', 'predictions')]} for fc1, fc2, predictions; "
          f"total stride {stride}")
    print(f"  at 28×28 the fully convolutional net is the classifier: max |difference| {difference:.2e}")
    results["lenet_max_difference"] = difference
    lenet_maps = {scale: np.asarray(fcn(_resized(images[shown], scale, stride))) for scale in LENET_SCALES}
    results["lenet_map_shapes"] = {scale: m.shape for scale, m in lenet_maps.items()}
    results["lenet_center_accuracy"] = _lenet_center_accuracy(fcn, images, truth, stride)
    for scale, m in lenet_maps.items():
        print(f"  scale {scale}: {_side(scale, stride)} px scene → {m.shape[1]}×{m.shape[2]} windows; "
              f"best class right at the item's centre for {results['lenet_center_accuracy'][scale]:.0%} of the items")
    print("  a classifier has no 'nothing here' class: every window, background too, gets one of the 10 "
          "(the detector below adds a background class, OverFeat §5)")
    save(_lenet_figure(images[shown], truth[shown], lenet_maps, stride, class_names), "lenet_score_maps.png")

    print("  offset max-pooling (OverFeat §3.3): the last 2×2 pooling at its 4 offsets, interleaved")
    results["offset_shapes"] = {}
    for scale in LENET_SCALES:
        resized = _resized(images[shown], scale, stride)
        dense = offset_pooled_scores(fcn, resized)
        results["offset_shapes"][scale] = (lenet_maps[scale].shape, dense.shape)
        print(f"  scale {scale}: plain map {lenet_maps[scale].shape[1:3]} (windows {stride} px apart) → "
              f"offset-pooled {dense.shape[1:3]} ({stride // 2} px apart)")
    drawn_scale = LENET_SCALES[1]
    dense = offset_pooled_scores(fcn, _resized(images[:1], drawn_scale, stride))
    save(_offset_figure(images[0], truth[0], lenet_maps[drawn_scale][0], dense[0], drawn_scale, stride, class_names),
         "offset_pooling.png")

    # ------------------------------------------------------------------ 2. the detector
    print("2. The OverFeat detector")
    keras.utils.set_random_seed(0)
    model, head = _detector(fast, settings)
    maps = score_maps(model, images[shown], scales=DETECTOR_SCALES, stride=head.stride)
    results["score_map_shapes"] = {scale: m.shape for scale, m, _ in maps}
    for scale, m, size in maps:
        print(f"  scale {scale}: {size[0]}×{size[1]} px → {m.shape[1]}×{m.shape[2]} cells of "
              f"{m.shape[3]} scores (background + {m.shape[3] - 1} classes)")
    save(_score_map_figure(images[shown], truth[shown], maps, head.stride, class_names), "detector_score_maps.png")
    inside, outside = _objectness_inside_boxes(model, head, images, truth)
    print(f"  mean object score (1 − background) at scale 1 over the {len(images)} scenes: cells inside an item "
          f"{inside:.2f}, outside {outside:.2f}")
    results["objectness_inside"], results["objectness_outside"] = inside, outside

    print("  merging the windows of every scale (§4.3): non-maximum suppression and the greedy merge")
    greedy = _with(head, merge="greedy", score_threshold=max(head.score_threshold, settings["greedy_threshold"]))
    merges = {"nms": _with(head, merge="nms"), "greedy": greedy}
    results["scored_scenes"] = {"nms": len(images), "greedy": min(len(images), settings["greedy_scenes"])}
    found = {(name, scales): _batched(lambda batch: detect_multiscale(model, merge, batch, scales=scales),
                                      images[:results["scored_scenes"][name]])
             for name, merge in merges.items() for scales in ((1.0,), DETECTOR_SCALES)}
    results["map50"], results["object_ap50"] = _scores(found, truth, head.num_classes)
    for (name, scales), value in results["map50"].items():
        print(f"  {name:6s} scales {scales}: test mAP@0.5 {value:.3f}, class-agnostic AP@0.5 "
              f"{results['object_ap50'][(name, scales)]:.3f} ({results['scored_scenes'][name]} scenes)")
    if results["map50"][("nms", DETECTOR_SCALES)] < results["map50"][("nms", (1.0,))]:
        print("  more scales did not help: this detector saw only 128×128 scenes in training, all within reach "
              "of its ~140 px receptive field, borders included; a 192×192 scene is unlike them (see the ×1.5 maps)")
    results["max_score"] = {name: float(found[(name, DETECTOR_SCALES)]["scores"].max()) for name in merges}
    print(f"  strongest box: {results['max_score']['nms']:.2f} after NMS (a window's class probability), "
          f"{results['max_score']['greedy']:.2f} after the greedy merge (the sum over the merged windows)")
    drawn = {f"{name}, scales {scales}": found[(name, scales)] for name in merges for scales in ((1.0,), DETECTOR_SCALES)}
    figure, results["boxes_drawn"] = _detections_figure(images[shown], truth[shown], drawn, class_names)
    save(figure, "detections.png")
    return results


# ---------------------------------------------------------------------- data


def _scenes(split, count, source):
    """``count`` scenes of ``split``: float32 images (N, 128, 128, 1) in [0, 1]
    (the "unit" preprocessing) and their ground truth, one dict per scene."""
    from keras_cv_course import data

    elements = list(data.load("fashion_scenes", split, num_scenes=count, source=source).as_numpy_iterator())
    images = np.stack([image for image, _ in elements]).astype("float32") / 255.0
    return images, [target for _, target in elements]


def _side(scale, stride, side=128):
    """The scene's side at ``scale``, rounded to a multiple of ``stride``."""
    return max(stride, int(round(side * scale / stride)) * stride)


def _resized(images, scale, stride):
    """``images`` resized by ``scale`` (antialiased, so that shrinking does not alias)."""
    import keras

    side = _side(scale, stride, images.shape[1])
    return np.asarray(keras.ops.image.resize(images, (side, side), interpolation="bilinear", antialias=True))


# ---------------------------------------------------------------------- 1. LeNet-5


def _lenet_center_accuracy(fcn, images, truth, stride, window=28):
    """Per scale: the fraction of items whose nearest window (by centre) has the
    item's class as its best class."""
    accuracy = {}
    for scale in LENET_SCALES:
        best = np.asarray(fcn(_resized(images, scale, stride))).argmax(-1)
        hits = []
        for b, target in enumerate(truth):
            for (x1, y1, x2, y2), cls in zip(target["boxes"], target["classes"]):
                factor = _side(scale, stride) / images.shape[1]
                row, col = (_nearest_cell(center * factor, stride, window, best.shape[axis])
                            for axis, center in ((1, (y1 + y2) / 2), (2, (x1 + x2) / 2)))
                hits.append(best[b, row, col] == cls)
        accuracy[scale] = float(np.mean(hits))
    return accuracy


def _nearest_cell(center, stride, window, cells):
    """The index of the window (``stride`` apart, side ``window``) whose centre is nearest ``center``."""
    return int(np.clip(np.round((center - window / 2) / stride), 0, cells - 1))


def _class_colors(scores, brightness=None):
    """(h, w, K) class scores → an RGB map: each cell the colour of its best class,
    as bright as ``brightness`` (h, w) (default: that class's probability)."""
    from keras_cv_course.visualize.plots import box_colors

    colors = box_colors(scores.shape[-1])
    brightness = scores.max(-1) if brightness is None else brightness
    return colors[scores.argmax(-1)] * brightness[..., None]


def _window_extent(cells_h, cells_w, step, offset, factor):
    """imshow extent placing cell (i, j), centred at ``offset + step·(i, j)`` px of
    the scene resized by ``factor``, on the original scene's pixels."""
    start = (offset - step / 2) / factor
    return (start, start + cells_w * step / factor, start + cells_h * step / factor, start)


def _show_map(ax, rgb, extent, target, class_names, title):
    """``rgb`` on the scene's pixel frame with the ground-truth boxes outlined."""
    from keras_cv_course.visualize.plots import plot_boxes

    ax.set_facecolor("black")
    ax.imshow(np.clip(rgb, 0, 1), extent=extent, interpolation="nearest")
    plot_boxes(ax, None, target["boxes"], target["classes"], class_names=class_names, fontsize=5, linewidth=0.8)
    ax.set_xlim(-0.5, 127.5)
    ax.set_ylim(127.5, -0.5)
    ax.set_title(title, fontsize=8)


def _class_legend(figure, class_names):
    """A legend of the class colours under the figure."""
    from matplotlib.patches import Patch

    from keras_cv_course.visualize.plots import box_colors

    handles = [Patch(color=color, label=name) for color, name in zip(box_colors(len(class_names)), class_names)]
    figure.legend(handles=handles, loc="outside lower center", ncol=5, fontsize=8)


def _lenet_figure(images, truth, maps, stride, class_names, window=28):
    """Per scene: the scene with its boxes, then LeNet-5's best class per window at each scale."""
    from keras_cv_course import visualize as V
    from keras_cv_course.visualize.plots import plot_boxes

    figure, axes = V.new_figure(len(images), 1 + len(maps), size=2.6, squeeze=False)
    for row, (image, target) in enumerate(zip(images, truth)):
        plot_boxes(axes[row, 0], image, target["boxes"], target["classes"], class_names=class_names, fontsize=5,
                   title="scene" if row == 0 else None)
        for col, (scale, scores) in enumerate(maps.items(), start=1):
            extent = _window_extent(*scores.shape[1:3], stride, window / 2, _side(scale, stride) / 128)
            title = f"×{scale}: {scores.shape[1]}×{scores.shape[2]} windows" if row == 0 else ""
            _show_map(axes[row, col], _class_colors(scores[row]), extent, target, class_names, title)
    _class_legend(figure, class_names)
    return figure


def _offset_figure(image, target, plain, dense, scale, stride, class_names, window=28):
    """One scene: the plain map (windows ``stride`` px apart) and the offset-pooled one (``stride / 2``)."""
    from keras_cv_course import visualize as V
    from keras_cv_course.visualize.plots import plot_boxes

    figure, axes = V.new_figure(1, 3, size=3.2)
    plot_boxes(axes[0], image, target["boxes"], target["classes"], class_names=class_names, fontsize=6, title="scene")
    factor = _side(scale, stride) / 128
    for ax, scores, step, name in ((axes[1], plain, stride, "plain"), (axes[2], dense, stride / 2, "offset-pooled")):
        extent = _window_extent(*scores.shape[:2], step, window / 2, factor)
        _show_map(ax, _class_colors(scores), extent, target, class_names,
                  f"{name}: {scores.shape[0]}×{scores.shape[1]}, {step:g} px apart (×{scale})")
    _class_legend(figure, class_names)
    return figure


# ---------------------------------------------------------------------- 2. the detector


def _detector(fast, settings):
    """``(model, head)``: the shipped ``overfeat_fashion`` weights when the
    manifest has them (and not ``fast``), else a small detector trained here."""
    from keras_cv_course import models
    from keras_cv_course.detection import heads

    if not fast and "fashion_scenes" in models.model_info("overfeat_fashion").weights:
        print('  the shipped weights: get_model("overfeat_fashion", weights="fashion_scenes")')
        model = models.get_model("overfeat_fashion", weights="fashion_scenes", input_shape=(None, None, 1))
        return model, heads.head_for_model(model)
    reason = "--fast" if fast else 'no "fashion_scenes" weights of overfeat_fashion in weights/manifest.json yet'
    print(f"  ({reason}: training a small detector here; its numbers are far below a trained one's)")
    return _train_detector(settings["source"], **settings["train"])


def _train_detector(source, *, width, scenes, epochs, learning_rate=1e-2):
    """A fresh ``overfeat_fashion(width)`` trained on ``scenes`` training scenes
    (plain compile and fit, as benchmarks/overfeat_fashion_scenes.py does)."""
    import keras

    from keras_cv_course import data
    from keras_cv_course.detection.overfeat import overfeat_fashion

    model, head = overfeat_fashion(width=width, fc_units=4 * width, input_shape=(None, None, 1))
    raw = data.load("fashion_scenes", "train", num_scenes=scenes, source=source)
    train = data.pipeline(raw, batch_size=32, training=True, max_boxes=8, seed=0).map(head.encode)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, int(train.cardinality()) * epochs)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=head.losses(), loss_weights=head.loss_weights())
    history = model.fit(train, epochs=epochs, verbose=2)
    print(f"  width {width}, {scenes} scenes, {epochs} epochs: loss {history.history['loss'][0]:.2f} → "
          f"{history.history['loss'][-1]:.2f}")
    return model, head


def _batched(function, images, batch_size=64):
    """``function`` (images → dict of arrays) on ``images`` a batch at a time, the results joined."""
    parts = [function(images[start:start + batch_size]) for start in range(0, len(images), batch_size)]
    return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}


def _with(head, **changes):
    """A copy of ``head`` with some settings changed."""
    return type(head)(**{**head.get_config(), **changes})


def _objectness_inside_boxes(model, head, images, truth):
    """Mean object score (1 − background) at scale 1 of the cells whose centre
    lies in a ground-truth box, and of the others."""
    from keras_cv_course.detection.overfeat import score_maps

    scores = _batched(lambda batch: {"classes": score_maps(model, batch, stride=head.stride)[0][1]}, images)
    objectness = 1.0 - scores["classes"][..., 0]
    centers = head.cell_centers(*images.shape[1:3])  # (h, w, 2) (cx, cy)
    inside = np.zeros(objectness.shape, bool)
    for b, target in enumerate(truth):
        for x1, y1, x2, y2 in target["boxes"]:
            inside[b] |= ((centers[..., 0] >= x1) & (centers[..., 0] < x2) &
                          (centers[..., 1] >= y1) & (centers[..., 1] < y2))
    return float(objectness[inside].mean()), float(objectness[~inside].mean())


def _scores(found, truth, num_classes):
    """``(mAP@0.5, class-agnostic AP@0.5)`` per (merge, scales) of the detections
    ``found`` of the first scenes of ``truth``."""
    from keras_cv_course.detection.evaluate import evaluate_voc

    maps, object_aps = {}, {}
    for key, detections in found.items():
        scored = truth[:len(detections["scores"])]
        agnostic_truth = [{"boxes": t["boxes"], "classes": np.zeros_like(t["classes"])} for t in scored]
        maps[key] = evaluate_voc(scored, detections, num_classes=num_classes)["map50"]
        agnostic = {**detections, "classes": np.where(detections["classes"] >= 0, 0, -1)}
        object_aps[key] = evaluate_voc(agnostic_truth, agnostic, num_classes=1)["map50"]
    return maps, object_aps


def _score_map_figure(images, truth, maps, stride, class_names):
    """Per scene: the scene, then the object score and the best class per cell at each scale."""
    from keras_cv_course import visualize as V
    from keras_cv_course.visualize.plots import plot_boxes

    figure, axes = V.new_figure(len(images), 1 + 2 * len(maps), size=2.3, squeeze=False)
    for row, (image, target) in enumerate(zip(images, truth)):
        plot_boxes(axes[row, 0], image, target["boxes"], target["classes"], class_names=class_names, fontsize=5,
                   title="scene" if row == 0 else None)
        for k, (scale, scores, size) in enumerate(maps):
            extent = _window_extent(*scores.shape[1:3], stride, stride / 2, size[0] / image.shape[0])
            objectness = 1.0 - scores[row, ..., 0]
            best = _class_colors(scores[row, ..., 1:], brightness=objectness)
            _show_map(axes[row, 1 + 2 * k], np.repeat(objectness[..., None], 3, axis=-1), extent, target, class_names,
                      f"×{scale} object score" if row == 0 else "")
            _show_map(axes[row, 2 + 2 * k], best, extent, target, class_names,
                      f"×{scale} best class ({scores.shape[1]}×{scores.shape[2]})" if row == 0 else "")
    _class_legend(figure, class_names)
    return figure


def _detections_figure(images, truth, found, class_names):
    """Rows: the ground truth, then each ``found`` entry's (a merge at some scales)
    strongest ``DRAWN_BOXES`` boxes per scene. Returns the figure and the number of
    boxes drawn per entry."""
    from keras_cv_course import visualize as V
    from keras_cv_course.visualize.plots import plot_boxes

    figure, axes = V.new_figure(1 + len(found), len(images), size=2.8, squeeze=False)
    drawn = {name: 0 for name in found}
    for col, (image, target) in enumerate(zip(images, truth)):
        plot_boxes(axes[0, col], image, target["boxes"], target["classes"], class_names=class_names, fontsize=6,
                   title="ground truth" if col == 0 else None)
        for row, (name, detections) in enumerate(found.items(), start=1):
            keep = np.argsort(-detections["scores"][col], kind="stable")[:DRAWN_BOXES]
            keep = keep[detections["classes"][col][keep] >= 0]
            drawn[name] += len(keep)
            plot_boxes(axes[row, col], image, detections["boxes"][col][keep], detections["classes"][col][keep],
                       detections["scores"][col][keep], class_names=class_names, fontsize=6,
                       title=name if col == 0 else None)
    return figure, drawn


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="From a classifier to a detector: OverFeat's dense evaluation.")
    parser.add_argument("--fast", action="store_true", help="embedded item sample, a small detector (under a minute)")
    parser.add_argument("--out", default="tutorial_05_out")
    arguments = parser.parse_args()
    main(fast=arguments.fast, out=arguments.out)
    sys.exit(0)
