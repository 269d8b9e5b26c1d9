"""detection.evaluate: COCO numbers against pycocotools' COCOeval on randomised
detections; VOC07/VOC10 AP against the devkit's voc_eval logic (written out
below as a loop) and hand-worked numbers; the evaluator and callback."""

import contextlib
import io

import keras
import numpy as np
import pytest

from keras_cv_course.detection import (DetectionEvaluator, MeanAveragePrecision, evaluate_coco, evaluate_voc,
                                       to_coco_json)
from keras_cv_course.detection.evaluate import plot_precision_recall

COCO_KEYS = ("map", "map50", "map75", "map_small", "map_medium", "map_large", "mar1", "mar10", "mar100", "mar_small",
             "mar_medium", "mar_large")


# --- pycocotools --------------------------------------------------------------------------------


def pycocotools_eval(ground_truth_dict, results):
    """COCOeval's 12 stats and its precision array. pycocotools' loadRes crashes on
    an empty results list (it reads results[0]); then every AP/AR is 0 where the
    area range has ground truth and -1 where it has none, which is returned instead."""
    pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = ground_truth_dict
        coco.createIndex()
        if not results:
            return _stats_without_detections(ground_truth_dict), None
        evaluator = COCOeval(coco, coco.loadRes(results), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return np.asarray(evaluator.stats), evaluator.eval["precision"]


def _stats_without_detections(ground_truth_dict):
    areas = np.array([a["area"] for a in ground_truth_dict["annotations"]])
    ranges = [(0, 1e10), (0, 1024), (1024, 9216), (9216, 1e10)]
    present = [bool(((areas >= lo) & (areas <= hi)).any()) for lo, hi in ranges]
    per_stat = [0, 0, 0, 1, 2, 3, 0, 0, 0, 1, 2, 3]
    return np.array([0.0 if present[r] else -1.0 for r in per_stat])


def random_images(rng, count, classes, ties=False):
    """Per-image ground truth and detections: jittered copies of objects (right or
    wrong class), random boxes, images without objects or without detections."""
    truth, found = [], []
    for _ in range(count):
        n = int(rng.integers(0, 7))
        corner = rng.uniform(0, 400, (n, 2))
        size = np.exp(rng.uniform(np.log(4), np.log(250), (n, 2)))  # small, medium and large
        boxes = np.concatenate([corner, corner + size], 1).astype("float32")
        labels = rng.integers(0, classes, n)
        truth.append({"boxes": boxes, "classes": labels})
        m = int(rng.integers(0, 25))
        source = rng.integers(0, max(n, 1), m)
        if n:
            jittered = boxes[source] + rng.normal(0, 0.15, (m, 4)) * np.tile(size[source], 2)
        else:
            jittered = rng.uniform(0, 400, (m, 4))
        jittered = np.concatenate([jittered[:, :2].clip(max=jittered[:, 2:]), jittered[:, 2:]], 1)
        label_d = np.where(rng.random(m) < 0.8, labels[source] if n else 0, rng.integers(0, classes, m))
        scores = rng.random(m).astype("float32")
        found.append({"boxes": jittered.astype("float32"),
                      "scores": np.round(scores, 1).astype("float32") if ties else scores, "classes": label_d})
    return truth, found


def _crowded_image(rng):
    """Duplicate objects (IoU ties) and 150 detections of one class (past maxDets 100)."""
    objects = np.array([[10, 10, 60, 60], [10, 10, 60, 60], [12, 12, 58, 61], [100, 100, 101, 130]], "float32")
    boxes = (np.tile(objects[:3], (50, 1)) + rng.normal(0, 3, (150, 4))).astype("float32")
    return ({"boxes": objects, "classes": np.zeros(4, int)},
            {"boxes": boxes, "scores": np.round(rng.random(150), 2).astype("float32"), "classes": np.zeros(150, int)})


@pytest.mark.parametrize("ties", [False, True])
def test_coco_matches_pycocotools(rng, ties):
    truth, found = random_images(rng, 300, 5, ties)
    truth[0], found[0] = _crowded_image(rng)
    truth[1]["classes"][:] = 4  # class 4 has objects ...
    for item in found:
        item["classes"] = np.where(item["classes"] == 4, 3, item["classes"])  # ... and no detections
    names = ["a", "b", "c", "d", "e", "f"]  # class 5: no objects, no detections
    ours = evaluate_coco(truth, found, names)
    reference, precision = pycocotools_eval(*to_coco_json(truth, found, names))
    np.testing.assert_allclose(ours["stats"], reference, rtol=0, atol=1e-6)
    assert [ours[key] for key in COCO_KEYS] == pytest.approx(reference.tolist(), abs=1e-6)
    for k, name in enumerate(names):
        values = precision[:, :, k, 0, 2]
        if values[0, 0] == -1:
            assert ours["per_class_ap"][name] is None and name not in ours["precision"]
        else:
            assert ours["per_class_ap"][name] == pytest.approx(values.mean(), abs=1e-12)
            assert ours["per_class_ap50"][name] == pytest.approx(values[0].mean(), abs=1e-12)
            np.testing.assert_allclose(ours["precision"][name], values[0], atol=1e-12)
    assert ours["per_class_ap"]["e"] == 0.0 and ours["per_class_ap"]["f"] is None


def test_coco_padded_batches_and_empty_detections(rng):
    truth, found = random_images(rng, 12, 3)
    width = max(len(item["classes"]) for item in truth + found)

    def pad(items, keys):
        out = {key: np.zeros((len(items), width) + (4,) * (key == "boxes"), "float32") for key in keys}
        out["classes"] = np.full((len(items), width), -1)
        for i, item in enumerate(items):
            for key in keys:
                out[key][i, : len(item[key])] = item[key]
        return out

    batched = evaluate_coco(pad(truth, ("boxes", "classes")), pad(found, ("boxes", "scores", "classes")), list("abc"))
    assert batched["stats"] == evaluate_coco(truth, found, list("abc"))["stats"]
    nothing = [{"boxes": np.zeros((0, 4)), "scores": np.zeros(0), "classes": np.zeros(0, int)} for _ in truth]
    ours = evaluate_coco(truth, nothing, list("abc"))
    reference, _ = pycocotools_eval(*to_coco_json(truth, nothing, list("abc")))
    np.testing.assert_array_equal(ours["stats"], reference)
    assert ours["map"] == 0.0


def test_coco_falls_back_to_the_next_object_and_annotation_id_zero():
    # Two overlapping cats; the second detection's best object (F) is taken, G (IoU 0.86) is free.
    truth = [{"boxes": np.array([[0, 0, 10, 10], [0, 1, 10, 11]], "float32"), "classes": np.array([0, 0])}]
    found = [{"boxes": np.array([[0, 0, 10, 10], [0, 0, 10, 10.5]], "float32"), "scores": np.array([0.95, 0.9]),
              "classes": np.array([0, 0])}]
    assert evaluate_coco(truth, found, ["cat"])["map50"] == 1.0  # COCO: falls back to G
    assert evaluate_voc(truth, found, ["cat"])["map50"] == 0.5  # VOC: a second hit on F, a false positive
    ground_truth_dict, results = to_coco_json(truth, found, ["cat"])
    assert [a["id"] for a in ground_truth_dict["annotations"]] == [1, 2]
    assert pycocotools_eval(ground_truth_dict, results)[0][1] == 1.0
    # pycocotools with an annotation id 0 counts that object's match as a false positive.
    ground_truth_dict["annotations"][0]["id"] = 0
    assert pycocotools_eval(ground_truth_dict, results)[0][1] < 1.0


# --- VOC ------------------------------------------------------------------------------------------


def devkit_voc_eval(truth, found, k, use_07_metric, offset=0.0):
    """The devkit's voc_eval for class k, as its loop: detections by score (stable),
    best-IoU object of the class, IoU > 0.5, difficult ignored, no fall-back."""
    records = []
    for t in truth:
        of_class = np.asarray(t["classes"]) == k
        difficult = np.asarray(t.get("difficult", np.zeros(len(of_class), bool)))
        records.append({"boxes": np.asarray(t["boxes"], np.float64)[of_class], "difficult": difficult[of_class]})
    for record in records:
        record["seen"] = np.zeros(len(record["boxes"]), bool)
    npos = sum(int((~r["difficult"]).sum()) for r in records)
    dets = [(float(s), i, np.asarray(b, np.float64)) for i, f in enumerate(found)
            for b, s, c in zip(f["boxes"], f["scores"], f["classes"]) if c == k]
    order = np.argsort([-s for s, _, _ in dets], kind="stable")
    tp, fp = np.zeros(len(dets)), np.zeros(len(dets))
    for rank, index in enumerate(order):
        _, image, box = dets[index]
        gt = records[image]["boxes"]
        ovmax, jmax = -np.inf, -1
        if len(gt):
            iw = np.maximum(np.minimum(gt[:, 2], box[2]) - np.maximum(gt[:, 0], box[0]) + offset, 0)
            ih = np.maximum(np.minimum(gt[:, 3], box[3]) - np.maximum(gt[:, 1], box[1]) + offset, 0)
            inter = iw * ih
            union = ((box[2] - box[0] + offset) * (box[3] - box[1] + offset)
                     + (gt[:, 2] - gt[:, 0] + offset) * (gt[:, 3] - gt[:, 1] + offset) - inter)
            overlaps = inter / union
            ovmax, jmax = overlaps.max(), int(overlaps.argmax())
        if ovmax > 0.5:
            if not records[image]["difficult"][jmax]:
                if not records[image]["seen"][jmax]:
                    tp[rank], records[image]["seen"][jmax] = 1, True
                else:
                    fp[rank] = 1
        else:
            fp[rank] = 1
    tp, fp = np.cumsum(tp), np.cumsum(fp)
    rec, prec = tp / npos, tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    if use_07_metric:
        return sum((prec[rec >= t].max() if (rec >= t).any() else 0.0) / 11 for t in np.arange(0.0, 1.1, 0.1))
    mrec, mpre = np.concatenate(([0.0], rec, [1.0])), np.concatenate(([0.0], prec, [0.0]))
    for i in range(len(mpre) - 1, 0, -1):
        mpre[i - 1] = max(mpre[i - 1], mpre[i])
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


# Hand-worked VOC case. Classes: cat 0, dog 1, bird 2, cow 3.
#   image 0: cat A (0,0,10,10); cat B (20,0,30,10) difficult; dog C (0,20,10,30)
#   image 1: no objects
#   image 2: cat D (0,0,10,10); bird E (50,50,60,60)
# Detections (cat):  d1 img0 (0,0,10,10) .9  -> A: TP
#                    d2 img0 (0,0,10,9)  .8  -> A again (IoU .9): duplicate, FP
#                    d3 img0 (20,0,30,10) .7 -> B, difficult: ignored
#                    d4 img1 (0,0,10,10) .6  -> image without objects: FP
#                    d5 img2 (0,0,10,10) .6  -> D: TP (tied with d4: image order puts d4 first)
#   cat: 2 positives; tp 1 1 1 1 2, fp 0 1 1 2 2 -> recall .5 .5 .5 .5 1, precision 1 .5 .5 1/3 .5
#        VOC10: .5·1 + .5·.5 = .75;  VOC07: 6 points (t <= .5) at 1, 5 at .5 -> 8.5/11
#   dog: d6 img0 (0,20,10,30) .5 -> C: AP 1.   bird: no detections: AP 0.   cow: a detection, no objects: None.
VOC_TRUTH = [
    {"boxes": np.array([[0, 0, 10, 10], [20, 0, 30, 10], [0, 20, 10, 30]], "float32"), "classes": np.array([0, 0, 1]),
     "difficult": np.array([False, True, False])},
    {"boxes": np.zeros((0, 4), "float32"), "classes": np.zeros(0, int)},
    {"boxes": np.array([[0, 0, 10, 10], [50, 50, 60, 60]], "float32"), "classes": np.array([0, 2])},
]
VOC_FOUND = [
    {"boxes": np.array([[0, 0, 10, 10], [0, 0, 10, 9], [20, 0, 30, 10], [0, 20, 10, 30], [5, 5, 9, 9]], "float32"),
     "scores": np.array([0.9, 0.8, 0.7, 0.5, 0.3], "float32"), "classes": np.array([0, 0, 0, 1, 3])},
    {"boxes": np.array([[0, 0, 10, 10]], "float32"), "scores": np.array([0.6], "float32"), "classes": np.array([0])},
    {"boxes": np.array([[0, 0, 10, 10]], "float32"), "scores": np.array([0.6], "float32"), "classes": np.array([0])},
]
VOC_NAMES = ["cat", "dog", "bird", "cow"]


@pytest.mark.parametrize("use_07_metric, cat_ap", [(False, 0.75), (True, 8.5 / 11)])
def test_voc_hand_worked(use_07_metric, cat_ap):
    summary = evaluate_voc(VOC_TRUTH, VOC_FOUND, VOC_NAMES, use_07_metric=use_07_metric)
    assert summary["protocol"] == ("voc2007" if use_07_metric else "voc2010")
    assert summary["per_class_ap"] == pytest.approx({"cat": cat_ap, "dog": 1.0, "bird": 0.0, "cow": None})
    assert summary["map50"] == pytest.approx((cat_ap + 1.0) / 3)
    for k, name in enumerate(VOC_NAMES[:3]):
        assert summary["per_class_ap"][name] == pytest.approx(devkit_voc_eval(VOC_TRUTH, VOC_FOUND, k, use_07_metric))
    np.testing.assert_allclose(summary["recall"]["cat"], [0.5, 0.5, 0.5, 0.5, 1.0])
    np.testing.assert_allclose(summary["precision"]["cat"], [1, 0.5, 0.5, 1 / 3, 0.5])
    assert summary["num_positives"] == {"cat": 2, "dog": 1, "bird": 1, "cow": 0}
    assert summary["num_detections"] == 7 and summary["num_images"] == 3
    assert len(summary["precision"]["bird"]) == 0


def test_voc_score_ties_follow_image_order():
    # Swap images 1 and 2: the tied TP (d5) now comes before the FP (d4):
    # precision at recall 1 is 2/3 -> VOC10 AP .5 + .5·2/3.
    truth = [VOC_TRUTH[0], VOC_TRUTH[2], VOC_TRUTH[1]]
    found = [VOC_FOUND[0], VOC_FOUND[2], VOC_FOUND[1]]
    assert evaluate_voc(truth, found, VOC_NAMES)["per_class_ap"]["cat"] == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert devkit_voc_eval(truth, found, 0, False) == pytest.approx(0.5 + 0.5 * 2 / 3)


def test_voc_pixel_offset():
    # Inclusive VOC pixels 1..10: the devkit's box is 10 px wide. Detection up to y 5.5:
    # +1: 10·5.5 / 100 = .55 > .5 (TP); continuous: 9·4.5 / 81 = .5, not > .5 (FP).
    truth = [{"boxes": np.array([[1, 1, 10, 10]], "float32"), "classes": np.array([0])}]
    found = [{"boxes": np.array([[1, 1, 10, 5.5]], "float32"), "scores": np.array([1.0]), "classes": np.array([0])}]
    assert evaluate_voc(truth, found, voc_pixel_offset=True)["map50"] == 1.0
    assert evaluate_voc(truth, found)["map50"] == 0.0
    assert devkit_voc_eval(truth, found, 0, False, offset=1.0) == 1.0


@pytest.mark.parametrize("use_07_metric", [False, True])
def test_voc_random_against_devkit_loop(rng, use_07_metric):
    truth, found = random_images(rng, 60, 3, ties=True)
    for item in truth:
        item["difficult"] = rng.random(len(item["classes"])) < 0.2
    summary = evaluate_voc(truth, found, list("abc"), use_07_metric=use_07_metric)
    for k, name in enumerate("abc"):
        expected = devkit_voc_eval(truth, found, k, use_07_metric)
        assert summary["per_class_ap"][name] == pytest.approx(expected, abs=1e-12)


# --- evaluator, callback, plot --------------------------------------------------------------------


def _padded(items, width, keys):
    out = {"boxes": np.zeros((len(items), width, 4), "float32"), "classes": np.full((len(items), width), -1)}
    if "scores" in keys:
        out["scores"] = np.zeros((len(items), width), "float32")
    if "difficult" in keys:
        out["difficult"] = np.zeros((len(items), width), bool)
    for i, item in enumerate(items):
        for key in out:
            if key in item:
                out[key][i, : len(item[key])] = item[key]
    return out


@pytest.mark.parametrize("protocol", ["voc2010", "voc2007", "coco"])
def test_evaluator_accumulates_padded_batches(protocol):
    evaluator = DetectionEvaluator(VOC_NAMES, protocol=protocol)
    for start in (0, 2):  # batches of 2 and 1 images
        batch = slice(start, start + 2)
        evaluator.update(_padded(VOC_TRUTH[batch], 5, ("difficult",)), _padded(VOC_FOUND[batch], 6, ("scores",)))
    summary = evaluator.result()
    if protocol == "coco":
        assert summary["stats"] == evaluate_coco(VOC_TRUTH, VOC_FOUND, VOC_NAMES)["stats"]
    else:
        expected = evaluate_voc(VOC_TRUTH, VOC_FOUND, VOC_NAMES, use_07_metric=protocol == "voc2007")
        assert summary["per_class_ap"] == expected["per_class_ap"] and summary["map50"] == expected["map50"]
    assert evaluator.reset().ground_truth == []
    with pytest.raises(ValueError, match="protocol"):
        DetectionEvaluator(protocol="voc2012")


def test_callback_writes_val_map50():
    truth = _padded(VOC_TRUTH, 5, ("difficult",))
    images = np.zeros((3, 4), "float32")
    perfect = {"boxes": truth["boxes"], "scores": np.ones((3, 5), "float32"), "classes": truth["classes"]}
    predictions = iter([perfect])
    callback = MeanAveragePrecision([(images, truth)], DetectionEvaluator(VOC_NAMES, protocol="coco"),
                                    predict=lambda batch: next(predictions))
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(images, np.zeros((3, 1)), epochs=1, verbose=0, callbacks=[callback])
    assert history.history["val_map50"] == [1.0] and history.history["val_map"] == [1.0]
    assert callback.summary["protocol"] == "coco"


def test_plot_precision_recall():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2)
    plot_precision_recall(axes[0], evaluate_voc(VOC_TRUTH, VOC_FOUND, VOC_NAMES))
    plot_precision_recall(axes[1], evaluate_coco(VOC_TRUTH, VOC_FOUND, VOC_NAMES))
    labels = [text.get_text() for text in axes[0].get_legend().get_texts()]
    assert labels == ["cat (AP = 0.750)", "dog (AP = 1.000)"]  # bird: no detections, cow: no objects
    assert len(axes[1].get_legend().get_texts()) == 3
    plt.close(figure)


def test_class_names_and_a_different_num_classes_are_refused():
    truth = [{"boxes": np.array([[0, 0, 10, 10]], "float32"), "classes": np.array([1])}]
    found = [{"boxes": np.array([[0, 0, 10, 10]], "float32"), "scores": np.array([0.9]), "classes": np.array([1])}]
    assert evaluate_voc(truth, found, ["a", "b"], num_classes=2)["class_names"] == ["a", "b"]
    with pytest.raises(ValueError, match="num_classes=3 but 2 class_names were given"):
        evaluate_voc(truth, found, ["a", "b"], num_classes=3)
