"""Tutorial 8 — SSD: default boxes on several feature maps, matching, and NMS.

The course's detection lecture (EE-559 7.3) and SSD (Liu, Anguelov, Erhan,
Szegedy, Reed, Fu & Berg 2016, "SSD: Single Shot MultiBox Detector"), on real
``fashion_scenes`` test scenes (128×128 canvases with 1–6 real Fashion-MNIST
items and exact boxes), with the CPU-sized ``ssd_fashion``: box and class
convolutions on three feature maps, 16×16, 8×8 and 4×4 (strides 8, 16, 32), with
4, 6 and 4 default boxes per location — 1,472 priors, each with 4 box deltas and
C + 1 = 11 class logits (column 0 background).

1. the default boxes at each scale — per map its size, step, the box sizes of
   the paper's eq. 4 (``FASHION_PRIORS``: 19 px on the stride-8 map to 58 px on
   the stride-32 one) and aspect ratios, and the count (and SSD300's 8,732 from
   the ``SSDHead`` defaults, without building the network); all the boxes of two
   locations drawn per map on one scene: the centre one and the one that fits
   an item best;
2. the matched priors — ``SSDHead.encode`` on a batch of scenes: a prior is a
   positive for the ground truth it overlaps with IoU >= 0.5, and every item also
   gets its best prior (the bipartite matching, §2.2 "Matching strategy"), so an
   item with no prior above 0.5 still has one, *forced*. Small items match on the
   stride-8 map, large ones on the coarser maps. A scene has a dozen positives
   among its 1,472 priors: hard negative mining (§3) keeps only the 3 · positives
   background priors of highest loss;
3. detections before and after non-maximum suppression — every prior's decoded
   box and class scores (``decode_priors``) above a threshold, and what
   ``decode``'s per-class NMS keeps, drawn on the same scenes: several priors
   match each item in training, so several fire on it at test time;
4. the test mAP@0.5 (PASCAL VOC, ``evaluate_voc``) and the class-agnostic AP.

The detector uses the trained weights ``weights="fashion_scenes"`` when they are
in weights/manifest.json; otherwise (and always with ``--fast``) a small one is
trained here first (plain compile and fit, the head's ``encode`` mapped on the
pipeline, its MultiBox loss: ``loss=head.losses(), loss_weights=head.loss_weights()``).

Run:  python tutorials/08_ssd.py [--fast] [--out DIR]
(``--fast`` uses scenes made from the package's embedded item sample, trains a
narrow detector (width 8) for 5 epochs on 512 scenes and scores 64 test scenes:
under a minute on two CPU cores, and a weak detector — it places boxes on most
items (class-agnostic AP about 0.6) but often misnames them. Without it: scenes
of the full Fashion-MNIST when present, the shipped detector or a width-16 one
trained here for 5 epochs on the 6,000 training scenes (10–15 minutes on two
CPU cores), scored on 500 test scenes. ``SETTINGS`` holds the sizes.)
"""

import argparse
import sys

import numpy as np

SHOWN = 3  # scenes drawn in sections 2 and 3
SIZE_BINS = (("small", 0.0, 24.0), ("medium", 24.0, 40.0), ("large", 40.0, np.inf))  # √(w·h) of an item, px
# Per mode: where the scenes' items come from, how many test scenes are scored, the class score
# above which boxes are drawn and counted in section 3 (the mAP uses every detection of decode),
# and the detector trained when there are no shipped weights (the fast detector's class scores stay
# below about 0.7, so it gets a lower threshold).
SETTINGS = {
    "fast": {"source": "sample", "test_scenes": 64, "threshold": 0.2,
             "train": {"width": 8, "scenes": 512, "epochs": 5, "batch_size": 16, "learning_rate": 3e-3}},
    "full": {"source": "auto", "test_scenes": 500, "threshold": 0.4,
             "train": {"width": 16, "scenes": 6000, "epochs": 5, "batch_size": 16, "learning_rate": 3e-3}},
}


def main(fast=False, out="tutorial_08_out"):
    import keras

    from keras_cv_course import data
    from keras_cv_course import visualize as V
    from keras_cv_course.detection.ssd import SSDHead, match_priors

    writer = V.FigureWriter(out)
    results, save = {"files": writer.files}, writer.save

    settings = SETTINGS["fast" if fast else "full"]
    threshold = settings["threshold"]
    class_names = data.info("fashion_scenes").class_names
    images, truth = _scenes("test", settings["test_scenes"], settings["source"])
    items = sum(len(t["classes"]) for t in truth)
    results["items"] = items
    print(f"{len(images)} test scenes, {items} items")

    print("The detector: ssd_fashion")
    keras.utils.set_random_seed(0)
    model, head = _detector(fast, settings)
    print(f"  outputs \"boxes\" (B, {head.num_priors}, 4): each prior's deltas (SSD eq. 2, variances "
          f"{head.variances}); \"classes\" (B, {head.num_priors}, {head.num_classes + 1}): logits, column 0 "
          f"background")

    # ------------------------------------------------------------------ 1. default boxes
    print("1. Default boxes at each scale (SSD §2.2 'Choosing scales and aspect ratios')")
    maps = _map_table(head)
    results["prior_maps"] = [{key: m[key] for key in ("size", "step", "min_size", "max_size", "ratios", "boxes",
                                                      "count")} for m in maps]
    results["num_priors"] = head.num_priors
    results["layout_agrees"] = _layout_agrees(head, maps)
    for m in maps:
        (h, w), extra = m["size"], np.sqrt(m["min_size"] * m["max_size"])
        print(f"  map {m['index']}: {h}×{w}, step {m['step']} px, min size {m['min_size']:g} px, max size "
              f"{m['max_size']:g} px (extra ratio-1 box √(min·max) = {extra:.1f} px), ratios {m['ratios']} "
              f"(and their inverses) → {m['boxes']} boxes per location, {h}·{w}·{m['boxes']} = {m['count']:,} "
              f"priors")
    total = " + ".join(f"{m['count']:,}" for m in maps)
    print(f"  in all {total} = {head.num_priors:,} priors; each location's "
          f"boxes are centred on it, ((j + 0.5)·step, (i + 0.5)·step): "
          f"{'checked' if results['layout_agrees'] else 'NOT as expected'} on head.priors")
    ssd300 = SSDHead(num_classes=20)  # the paper's VOC default boxes; no network is built
    terms = [(h, k) for (h, _), k in zip(ssd300.feature_sizes, ssd300.boxes_per_location)]
    results["ssd300_terms"], results["ssd300_priors"] = terms, ssd300.num_priors
    print(f"  SSD300 (SSDHead defaults, the paper's VOC boxes of {ssd300.prior_config['min_sizes'][0]:g}–"
          f"{ssd300.prior_config['max_sizes'][-1]:g} px on a 300 px image): "
          f"{' + '.join(f'{h}²·{k}' for h, k in terms)} = {sum(h * h * k for h, k in terms):,} "
          f"(head.num_priors {ssd300.num_priors:,})")
    figure, results["location_boxes_drawn"] = _prior_figure(images[0], truth[0], head, maps, class_names)
    save(figure, "default_boxes.png")

    # ------------------------------------------------------------------ 2. matched priors
    print(f"2. Matched priors (SSD §2.2 'Matching strategy': IoU >= {head.iou_threshold:g}, and each item's best "
          f"prior)")
    gt_boxes, gt_classes = _padded(truth)
    targets = head.encode(images, {"boxes": gt_boxes, "classes": gt_classes})[1]
    flags = np.asarray(targets["boxes"])[..., 4] > 0  # (N, P) positive flag
    labels = np.asarray(targets["classes"])
    matched = np.asarray(match_priors(head.priors, gt_boxes, gt_classes, head.iou_threshold))  # (N, P) item or -1
    results["target_shapes"] = (tuple(np.shape(targets["boxes"])), tuple(np.shape(targets["classes"])))
    results["encode_agrees"] = _encode_agrees(flags, labels, matched, gt_classes)
    print(f"  encode: \"boxes\" {results['target_shapes'][0][1:]} per scene (4 deltas + the positive flag), "
          f"\"classes\" {results['target_shapes'][1][1:]} (0 background, k + 1 class k); its positives and "
          f"classes {'are' if results['encode_agrees'] else 'are NOT'} those of match_priors")
    per_item = _item_matches(truth, matched, head, maps)
    forced = [r for r in per_item if r["best_iou"] < head.iou_threshold]
    results["unmatched_items"] = sum(1 for r in per_item if r["count"] == 0)
    results["forced"] = len(forced)
    results["forced_single"] = sum(1 for r in forced if r["count"] == 1)
    results["forced_best"] = sum(1 for r in forced if r["count"] == 1 and r["matched_priors"][0] == r["best_prior"])
    shown = _matched_scenes(per_item, len(images))
    results["matched_scenes"] = shown
    for index in shown:
        print(f"  scene {index}: {_count(int(flags[index].sum()), 'positive')} of {head.num_priors:,} priors")
        for r in (r for r in per_item if r["scene"] == index):
            where = ", ".join(f"{n} on {maps[k]['size'][0]}×{maps[k]['size'][1]}" for k, n in
                              enumerate(r["per_map"]) if n)
            note = " — forced: no prior reaches 0.5, its best one alone" if r["best_iou"] < head.iou_threshold else ""
            print(f"    {class_names[r['cls']]:12s} {r['width']:4.0f}×{r['height']:<3.0f} px (√(w·h) "
                  f"{r['side']:4.1f}): {_count(r['count'], 'prior')} ({where or 'none'}), best IoU "
                  f"{r['best_iou']:.2f}{note}")
    results["map_share"] = {}
    print(f"  over the {items} items, by size √(w·h) — the share of their matched priors on each map:")
    for name, low, high in SIZE_BINS:
        group = [r for r in per_item if low <= r["side"] < high]
        total = np.sum([r["per_map"] for r in group], axis=0) if group else np.zeros(len(maps), int)
        share = total / max(int(total.sum()), 1)
        results["map_share"][name] = share.tolist()
        sizes = ", ".join(f"{maps[k]['size'][0]}×{maps[k]['size'][1]} {share[k]:.0%}" for k in range(len(maps)))
        print(f"    {name:6s} ({low:.0f}–{high:.0f} px) {len(group):4d} items, "
              f"{total.sum() / max(len(group), 1):4.1f} priors each: {sizes}".replace("–inf", "+"))
    if forced:
        print(f"  {len(forced)} of the {items} items ({len(forced) / items:.1%}) have no prior with IoU >= "
              f"{head.iou_threshold:g} (best IoU {np.mean([r['best_iou'] for r in forced]):.2f} on average, size "
              f"{np.mean([r['side'] for r in forced]):.0f} px): the bipartite matching gives each its best prior — "
              f"{results['forced_single']} have exactly one positive, {results['forced_best']} of them the "
              f"highest-IoU prior")
    print(f"  {results['unmatched_items']} items without any prior: every item is trained for")
    positives = flags.sum(1)
    results["positives"] = int(positives.sum())
    results["positives_per_scene"] = float(positives.mean())
    print(f"  {results['positives']} positives in the {len(images)} scenes: {positives.mean():.1f} per scene "
          f"(min {positives.min()}, max {positives.max()}) of {head.num_priors:,} priors — "
          f"{(head.num_priors - positives.mean()) / positives.mean():.0f} background priors per positive")
    outputs = {key: np.asarray(value) for key, value in model.predict(images, batch_size=64, verbose=0).items()}
    mining = _mining(head, labels, outputs["classes"])
    results.update(mining)
    print(f"  hard negative mining (§3, neg_pos_ratio {head.neg_pos_ratio:g}): the confidence loss keeps per scene "
          f"the {head.neg_pos_ratio:g} · positives background priors of highest loss −log p(background) — "
          f"{mining['mined_negatives']:,} of the {mining['negatives']:,} negatives here; with the detector above "
          f"their mean loss is {mining['mined_loss']:.2f}, that of all negatives {mining['negative_loss']:.3f}: "
          f"the rest, easy background, would swamp the {results['positives']} positives")
    save(_matched_figure(images, truth, per_item, head, shown), "matched_priors.png")

    # ------------------------------------------------------------------ 3. before and after NMS
    print("3. Detections before and after non-maximum suppression")
    prior_boxes, prior_scores = head.decode_priors(outputs, images.shape[1:3])
    found = head.decode(outputs, images.shape[1:3])
    kept = found["classes"] >= 0
    n = len(images)
    counts = {"before": int((prior_scores > head.score_threshold).sum()), "after": int(kept.sum()),
              "before_drawn": int((prior_scores > threshold).sum()),
              "after_drawn": int((kept & (found["scores"] > threshold)).sum())}
    results["nms_counts"] = counts
    results["decode_priors_shapes"] = (prior_boxes.shape, prior_scores.shape)
    results["max_score"] = float(prior_scores.max())
    at_cap = int((kept.sum(-1) >= head.max_detections).sum())
    print(f"  decode_priors: {prior_boxes.shape[1]:,} boxes per scene (every prior's deltas decoded), each with "
          f"{head.num_classes} class probabilities (the softmax without background; strongest "
          f"{results['max_score']:.2f})")
    print(f"  score > {head.score_threshold:g} (decode's threshold): {counts['before']:,} (prior, class) pairs "
          f"({counts['before'] / n:.0f} per scene) before NMS; decode keeps the top {head.top_k} per class, then "
          f"per-class NMS at IoU > {head.nms_iou:g} leaves {counts['after']:,} ({counts['after'] / n:.1f} per "
          f"scene; {at_cap} scenes at decode's cap of {head.max_detections})")
    print(f"  score > {threshold:g} (drawn): {counts['before_drawn']:,} ({counts['before_drawn'] / n:.1f} per scene) "
          f"before NMS, {counts['after_drawn']} ({counts['after_drawn'] / n:.1f}) after, for "
          f"{items / n:.1f} items per scene")
    unsuppressed = _without_nms(prior_boxes, prior_scores, head.score_threshold)
    results["map50_without_nms"] = _scores(truth, unsuppressed, head.num_classes, class_names)[0]
    map50, object_ap50, per_class = _scores(truth, found, head.num_classes, class_names)
    print(f"  mAP@0.5 of every pair > {head.score_threshold:g}, no NMS: {results['map50_without_nms']:.3f}; with "
          f"decode's NMS: {map50:.3f} — the many priors that fire on one item are all but one false positives")
    suppressed = [int((prior_scores[i] > threshold).sum()) - int((kept[i] & (found["scores"][i] > threshold)).sum())
                  for i in range(n)]
    nms_scenes = sorted(range(n), key=lambda i: (-suppressed[i], i))[:SHOWN]
    results["nms_scenes"] = nms_scenes
    print(f"  drawn: scenes {nms_scenes}, where NMS removes the most pairs scoring > {threshold:g} "
          f"({[suppressed[i] for i in nms_scenes]})")
    figure, results["boxes_drawn"] = _nms_figure(images[nms_scenes], [truth[i] for i in nms_scenes],
                                                 prior_boxes[nms_scenes], prior_scores[nms_scenes],
                                                 {k: v[nms_scenes] for k, v in found.items()}, threshold, class_names)
    save(figure, "before_after_nms.png")

    # ------------------------------------------------------------------ 4. mAP
    print("4. Test mAP@0.5 (PASCAL VOC, every detection of decode)")
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
    """``(model, head)``: the shipped ``ssd_fashion`` weights when the manifest
    has them (and not ``fast``), else a small detector trained here."""
    from keras_cv_course import models
    from keras_cv_course.detection import heads

    if not fast and "fashion_scenes" in models.model_info("ssd_fashion").weights:
        print('  the shipped weights: get_model("ssd_fashion", weights="fashion_scenes")')
        model = models.get_model("ssd_fashion", weights="fashion_scenes")
        return model, heads.head_for_model(model)
    reason = "--fast" if fast else 'no "fashion_scenes" weights of ssd_fashion in weights/manifest.json yet'
    print(f"  ({reason}: training a small detector here; its numbers are far below a trained one's)")
    return _train_detector(settings["source"], **settings["train"])


def _train_detector(source, *, width, scenes, epochs, batch_size, learning_rate):
    """A fresh ``ssd_fashion(width=width)`` trained on ``scenes`` training
    scenes: plain compile and fit, the targets from ``head.encode``, the MultiBox
    loss (L_conf + α L_loc) / N as Keras' sum of the head's two losses, Adam
    with a cosine schedule, no augmentation."""
    import keras

    from keras_cv_course import data
    from keras_cv_course.detection.ssd import ssd_fashion

    model, head = ssd_fashion(width=width)
    raw = data.load("fashion_scenes", "train", num_scenes=scenes, source=source)
    train = data.pipeline(raw, batch_size=batch_size, training=True, max_boxes=8, seed=0).map(head.encode)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, int(train.cardinality()) * epochs)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=head.losses(), loss_weights=head.loss_weights())
    history = model.fit(train, epochs=epochs, verbose=2)
    print(f"  width {width} ({model.count_params():,} parameters), {scenes} scenes, {epochs} epochs: MultiBox loss "
          f"{history.history['loss'][0]:.2f} → {history.history['loss'][-1]:.2f}")
    return model, head


def _count(number, noun):
    """"1 prior", "3 priors"."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _padded(truth, max_boxes=8):
    """The scenes' ground truth padded as ``data.pipeline`` pads it: boxes (N, M, 4), classes (N, M), -1 padding."""
    boxes = np.zeros((len(truth), max_boxes, 4), np.float32)
    classes = np.full((len(truth), max_boxes), -1, np.int32)
    for i, target in enumerate(truth):
        boxes[i, :len(target["boxes"])], classes[i, :len(target["classes"])] = target["boxes"], target["classes"]
    return boxes, classes


# ---------------------------------------------------------------------- 1. default boxes


def _map_table(head):
    """Per feature map: its index, (h, w), step, min / max size, ratios, boxes
    per location, prior count and the slice of ``head.priors`` it fills."""
    config, start, table = head.prior_config, 0, []
    for index, ((h, w), k) in enumerate(zip(head.feature_sizes, head.boxes_per_location)):
        step = config["steps"][index]
        count = h * w * k
        table.append({"index": index, "size": (h, w), "step": step[0] if step[0] == step[1] else step,
                      "min_size": float(config["min_sizes"][index]), "max_size": float(config["max_sizes"][index]),
                      "ratios": tuple(config["aspect_ratios"][index]), "boxes": k, "count": count,
                      "start": start, "stop": start + count})
        start += count
    return table


def _box_shapes(m):
    """The (width, height) of a location's boxes in ``default_boxes``' order, and their names."""
    low, high = m["min_size"], m["max_size"]
    sides, names = [(low, low), (np.sqrt(low * high),) * 2], ["1:1", "1:1 √(min·max)"]
    for r in m["ratios"]:
        sides += [(low * np.sqrt(r), low / np.sqrt(r)), (low / np.sqrt(r), low * np.sqrt(r))]
        names += [f"{r:g}:1 (w:h)", f"1:{r:g}"]
    return np.asarray(sides), names


def _layout_agrees(head, maps):
    """Whether ``head.priors`` is, map by map, row-major over the locations, each
    location's boxes centred on ((j + offset)·step, (i + offset)·step) with the
    widths and heights of ``_box_shapes``."""
    offset = head.prior_config["offset"]
    for m in maps:
        (h, w), k = m["size"], m["boxes"]
        step_y, step_x = head.prior_config["steps"][m["index"]]
        priors = head.priors[m["start"]:m["stop"]].reshape(h, w, k, 4)
        cy, cx = np.meshgrid((np.arange(h) + offset) * step_y, (np.arange(w) + offset) * step_x, indexing="ij")
        sides, _ = _box_shapes(m)
        if (len(sides) != k or not np.allclose(priors[..., 0], cx[..., None]) or
                not np.allclose(priors[..., 1], cy[..., None]) or
                not np.allclose(priors[..., 2:], np.broadcast_to(sides, priors[..., 2:].shape), rtol=1e-5)):
            return False
    return True


def _location_priors(head, m, row, col):
    """The ``k`` priors (xyxy) of location (row, col) of map ``m``."""
    first = m["start"] + (row * m["size"][1] + col) * m["boxes"]
    return head.priors_xyxy[first:first + m["boxes"]]


def _rectangle(ax, box, color, linewidth=1.0, linestyle="-", alpha=1.0):
    """An xyxy pixel box on imshow's grid (pixel i centred on i, as plot_boxes draws)."""
    from matplotlib.patches import Rectangle

    x1, y1, x2, y2 = (float(v) - 0.5 for v in box)
    ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=color, linewidth=linewidth,
                           linestyle=linestyle, alpha=alpha))


def _prior_figure(image, target, head, maps, class_names):
    """One panel per map: the scene, its items, the map's location centres and
    all the boxes of two locations — the centre one (dashed) and the one whose
    prior overlaps an item best (solid; the only one when it is the centre) —
    coloured by shape. Returns the figure and the boxes drawn per map."""
    from matplotlib.lines import Line2D

    from keras_cv_course import visualize as V
    from keras_cv_course.detection.boxes import pairwise_iou
    from keras_cv_course.visualize.plots import plot_boxes

    shape_colors = ["#ffffff", "#ffd400", "#00e5ff", "#ff4fd8", "#7CFC00", "#ff8c00"]
    side = image.shape[0]
    figure, axes = V.new_figure(1, len(maps), size=4.0, squeeze=False)
    drawn = []
    overlap = pairwise_iou(target["boxes"], head.priors_xyxy)  # (items, P)
    for ax, m in zip(axes[0], maps):
        (h, w), k = m["size"], m["boxes"]
        plot_boxes(ax, image, target["boxes"], target["classes"], class_names=class_names, fontsize=5, linewidth=0.8)
        step_y, step_x = head.prior_config["steps"][m["index"]]
        offset = head.prior_config["offset"]
        cy, cx = np.meshgrid((np.arange(h) + offset) * step_y, (np.arange(w) + offset) * step_x, indexing="ij")
        ax.plot(cx.ravel() - 0.5, cy.ravel() - 0.5, ".", color="gray", markersize=2)
        best = m["start"] + int(np.argmax(overlap[:, m["start"]:m["stop"]].max(0)))
        location = (best - m["start"]) // k
        item_location = (location // w, location % w)
        centre = (h // 2, w // 2)
        locations = ([(centre, "--")] if item_location != centre else []) + [(item_location, "-")]
        count = 0
        for (row, col), style in locations:
            for shape, box in enumerate(_location_priors(head, m, row, col)):
                _rectangle(ax, box, shape_colors[shape], linewidth=1.1, linestyle=style)
                count += 1
            ax.plot((col + offset) * step_x - 0.5, (row + offset) * step_y - 0.5, "o", color="red", markersize=3)
        drawn.append(count)
        ax.set_xlim(-0.5, side - 0.5)
        ax.set_ylim(side - 0.5, -0.5)
        ratios = ", ".join(f"{r:g}" for r in m["ratios"])
        note = "; centre fits best" if item_location == centre else ""
        ax.set_title(f"{h}×{w} map, step {m['step']} px: {k} boxes a location, {m['count']:,} priors\n(min "
                     f"{m['min_size']:g}, max {m['max_size']:g} px; ratios {ratios}{note})", fontsize=8)
    longest = max(maps, key=lambda m: m["boxes"])
    handles = [Line2D([], [], color=shape_colors[i], linewidth=2, label=name)
               for i, name in enumerate(_box_shapes(longest)[1])]
    figure.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=7, facecolor="#404040",
                  labelcolor="white")
    figure.suptitle("all the default boxes of two locations per map (red dots): the centre one (dashed) and the "
                    "one with the prior that best overlaps an item (solid)", fontsize=9)
    return figure, drawn


# ---------------------------------------------------------------------- 2. matched priors


def _encode_agrees(flags, labels, matched, gt_classes):
    """Whether encode's positives are match_priors' matched priors, each labelled
    with its item's class + 1, and every other prior background (0)."""
    if not np.array_equal(flags, matched >= 0):
        return False
    expected = np.where(matched >= 0, np.take_along_axis(gt_classes, np.maximum(matched, 0), axis=1) + 1, 0)
    return bool(np.array_equal(labels, expected))


def _item_matches(truth, matched, head, maps):
    """Per item ``{"scene", "item", "cls", "width", "height", "side" √(w·h),
    "count" (matched priors), "per_map" (count per map), "matched_priors",
    "best_iou", "best_prior"}`` (the IoU computed here, not by match_priors)."""
    from keras_cv_course.detection.boxes import pairwise_iou

    map_of = np.repeat(np.arange(len(maps)), [m["count"] for m in maps])
    rows = []
    for scene, target in enumerate(truth):
        overlap = pairwise_iou(target["boxes"], head.priors_xyxy)
        for item, (box, cls) in enumerate(zip(target["boxes"], target["classes"])):
            mine = np.flatnonzero(matched[scene] == item)
            width, height = float(box[2] - box[0]), float(box[3] - box[1])
            rows.append({"scene": scene, "item": item, "cls": int(cls), "width": width, "height": height,
                         "side": float(np.sqrt(width * height)), "count": len(mine),
                         "per_map": np.bincount(map_of[mine], minlength=len(maps)).tolist(),
                         "matched_priors": mine.tolist(), "best_iou": float(overlap[item].max()),
                         "best_prior": int(np.argmax(overlap[item]))})
    return rows


def _matched_scenes(per_item, count, shown=SHOWN):
    """The first ``shown`` scenes, the last swapped for the first scene with a
    forced item (no prior at IoU >= 0.5) when none of them has one."""
    chosen = list(range(min(shown, count)))
    forced = sorted({r["scene"] for r in per_item if r["best_iou"] < 0.5})
    if forced and not set(forced) & set(chosen):
        chosen[-1] = forced[0]
    return chosen


def _mining(head, labels, logits):
    """Hard negative mining of ``head``'s confidence loss on these targets and
    outputs: the negatives it keeps, and the mean background loss −log p₀ of
    those and of all negatives."""
    import tensorflow as tf

    terms = head.losses()["classes"].terms(labels, logits)
    mined = np.asarray(terms["mined"])
    background = np.asarray(tf.reduce_logsumexp(logits, axis=-1)) - logits[..., 0]
    negative = labels == 0
    return {"mined_negatives": int(mined.sum()), "negatives": int(negative.sum()),
            "mined_per_scene": np.asarray(terms["num_negatives"]).tolist(),
            "positives_per_image": np.asarray(terms["num_positives"]).tolist(),
            "mined_loss": float(background[mined].mean()), "negative_loss": float(background[negative].mean())}


def _matched_figure(images, truth, per_item, head, chosen):
    """Per chosen scene: each item (thick) and the priors matched to it (thin) in
    one colour per item; a forced item's box dashed."""
    from keras_cv_course import visualize as V
    from keras_cv_course.visualize.plots import box_colors, plot_boxes

    colors = box_colors(10)
    figure, axes = V.new_figure(1, len(chosen), size=3.6, squeeze=False)
    for ax, index in zip(axes[0], chosen):
        plot_boxes(ax, images[index], np.zeros((0, 4)), np.zeros(0, int))
        rows = [r for r in per_item if r["scene"] == index]
        for r in rows:
            color = colors[r["item"] % len(colors)]
            for prior in r["matched_priors"]:
                _rectangle(ax, head.priors_xyxy[prior], color, linewidth=0.7, alpha=0.9)
            forced = r["best_iou"] < head.iou_threshold
            _rectangle(ax, truth[index]["boxes"][r["item"]], color, linewidth=2.2, linestyle="--" if forced else "-")
        side = images.shape[1]
        ax.set_xlim(-0.5, side - 0.5)
        ax.set_ylim(side - 0.5, -0.5)
        positives = sum(r["count"] for r in rows)
        ax.set_title(f"scene {index}: {_count(len(rows), 'item')}, {_count(positives, 'positive')} of "
                     f"{head.num_priors:,}", fontsize=8)
    figure.suptitle(f"each item (thick) and its matched priors (thin), one colour per item; dashed: no prior at "
                    f"IoU >= {head.iou_threshold:g}, its best prior forced", fontsize=9)
    return figure


# ---------------------------------------------------------------------- 3. before and after NMS


def _without_nms(prior_boxes, prior_scores, score_threshold):
    """Every (prior, class) pair scoring above ``score_threshold``, in
    ``decode``'s padded format (class -1 padding) but with nothing suppressed."""
    n = len(prior_scores)
    image, prior, cls = np.nonzero(prior_scores > score_threshold)
    counts = np.bincount(image, minlength=n)
    slot = np.arange(len(image)) - np.repeat(np.cumsum(counts) - counts, counts)
    size = max(int(counts.max(initial=0)), 1)
    found = {"boxes": np.zeros((n, size, 4), np.float32), "scores": np.zeros((n, size), np.float32),
             "classes": np.full((n, size), -1, np.int32)}
    found["boxes"][image, slot] = prior_boxes[image, prior]
    found["scores"][image, slot] = prior_scores[image, prior, cls]
    found["classes"][image, slot] = cls
    return found


def _nms_figure(images, truth, prior_boxes, prior_scores, found, threshold, class_names):
    """Rows: the ground truth; every (prior's box, class) pair scoring above
    ``threshold`` (before NMS, unlabelled, in the class colour); the detections
    above it (after NMS). Returns the figure and the boxes drawn per row."""
    from keras_cv_course import visualize as V
    from keras_cv_course.visualize.plots import box_colors, plot_boxes

    colors = box_colors(len(class_names))
    figure, axes = V.new_figure(3, len(images), size=2.8, squeeze=False)
    drawn = {"before": 0, "after": 0}
    for col, (image, target) in enumerate(zip(images, truth)):
        plot_boxes(axes[0, col], image, target["boxes"], target["classes"], class_names=class_names, fontsize=6)
        box, cls = np.nonzero(prior_scores[col] > threshold)  # every (prior, class) pair NMS starts from
        drawn["before"] += len(box)
        plot_boxes(axes[1, col], image, np.zeros((0, 4)), np.zeros(0, int))
        for b, c in zip(box, cls):
            _rectangle(axes[1, col], prior_boxes[col][b], colors[c], linewidth=0.6, alpha=0.8)
        axes[1, col].set_title(f"before NMS: {len(box)} > {threshold:g} ({len(set(box))} priors)", fontsize=8)
        keep = np.flatnonzero((found["classes"][col] >= 0) & (found["scores"][col] > threshold))
        drawn["after"] += len(keep)
        plot_boxes(axes[2, col], image, found["boxes"][col][keep], found["classes"][col][keep],
                   found["scores"][col][keep], class_names=class_names, fontsize=5, linewidth=1.0)
        axes[2, col].set_title(f"after per-class NMS: {len(keep)}", fontsize=8)
    axes[0, 0].set_title("ground truth", fontsize=8)
    return figure, drawn


# ---------------------------------------------------------------------- 4. mAP


def _scores(truth, found, num_classes, class_names):
    """``(mAP@0.5, class-agnostic AP@0.5, per-class AP)`` of the detections ``found``."""
    from keras_cv_course.detection.evaluate import evaluate_voc

    summary = evaluate_voc(truth, found, class_names=list(class_names), num_classes=num_classes)
    agnostic_truth = [{"boxes": t["boxes"], "classes": np.zeros_like(t["classes"])} for t in truth]
    agnostic = {**found, "classes": np.where(found["classes"] >= 0, 0, -1)}
    object_ap = evaluate_voc(agnostic_truth, agnostic, num_classes=1)["map50"]
    return summary["map50"], object_ap, summary["per_class_ap"]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="SSD: default boxes on several maps, matching, and NMS.")
    parser.add_argument("--fast", action="store_true", help="embedded item sample, a small detector (under a minute)")
    parser.add_argument("--out", default="tutorial_08_out")
    arguments = parser.parse_args()
    main(fast=arguments.fast, out=arguments.out)
    sys.exit(0)
