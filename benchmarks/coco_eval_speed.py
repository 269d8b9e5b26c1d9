"""Speed of ``detection.evaluate.evaluate_coco`` against pycocotools' COCOeval on
the same randomised detections, and a check that their numbers are identical.

    python benchmarks/coco_eval_speed.py                  # 5,000 images, ~20 detections each, 20 classes
    python benchmarks/coco_eval_speed.py --images 1000

Data (seeded): per image 0–9 ground-truth boxes (log-uniform sides 4–300 px, so
all three COCO area ranges occur) of random classes; ~20 detections (0–40),
most jittered copies of a ground truth with its class or another, the rest
anywhere, scores uniform in [0, 1) rounded to 3 decimals so ties occur.
pycocotools is timed from the in-memory dicts of ``to_coco_json`` (index, loadRes,
evaluate, accumulate, summarize; its printing goes to /dev/null); ours from the
per-image arrays. Needs pycocotools (the ``dev`` extra).
"""

import argparse
import contextlib
import io
import time

import numpy as np

from keras_cv_course.detection.evaluate import evaluate_coco, to_coco_json


def random_data(rng, images, classes, detections):
    """Lists of per-image ground truth and detections (xyxy float32 pixels)."""
    ground_truth, predicted = [], []
    for _ in range(images):
        count = int(rng.integers(0, 10))
        corner = rng.uniform(0, 500, (count, 2))
        size = np.exp(rng.uniform(np.log(4), np.log(300), (count, 2)))
        boxes = np.concatenate([corner, corner + size], 1).astype("float32")
        labels = rng.integers(0, classes, count)
        ground_truth.append({"boxes": boxes, "classes": labels})
        many = int(rng.integers(0, 2 * detections + 1))
        source = rng.integers(0, max(count, 1), many)
        near = (rng.random(many) < 0.7) & (count > 0)
        jitter = rng.normal(0, 0.12, (many, 4)) * np.tile(size[source] if count else np.ones((many, 2)), 2)
        anywhere = rng.uniform(0, 500, (many, 2))
        anywhere = np.concatenate([anywhere, anywhere + rng.uniform(4, 200, (many, 2))], 1)
        boxes_d = np.where(near[:, None], (boxes[source] if count else anywhere) + jitter, anywhere)
        low, high = np.minimum(boxes_d[:, :2], boxes_d[:, 2:]), np.maximum(boxes_d[:, :2], boxes_d[:, 2:])
        boxes_d = np.concatenate([low, high], 1)
        same_class = near & (rng.random(many) < 0.8)
        labels_d = np.where(same_class, labels[source] if count else 0, rng.integers(0, classes, many))
        scores = np.round(rng.random(many), 3).astype("float32")
        predicted.append({"boxes": boxes_d.astype("float32"), "scores": scores, "classes": labels_d})
    return ground_truth, predicted


def run_pycocotools(ground_truth_dict, results):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = ground_truth_dict
        coco.createIndex()
        evaluator = COCOeval(coco, coco.loadRes(results), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return np.asarray(evaluator.stats)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--classes", type=int, default=20)
    parser.add_argument("--detections", type=int, default=20, help="mean detections per image")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    ground_truth, predicted = random_data(rng, args.images, args.classes, args.detections)
    names = [f"class{c}" for c in range(args.classes)]
    boxes = sum(len(g["boxes"]) for g in ground_truth)
    found = sum(len(d["boxes"]) for d in predicted)
    print(f"{args.images} images, {args.classes} classes, {boxes} ground-truth boxes, {found} detections "
          f"({found / args.images:.1f} per image)")

    start = time.perf_counter()
    ours = evaluate_coco(ground_truth, predicted, names)
    ours_s = time.perf_counter() - start
    ground_truth_dict, results = to_coco_json(ground_truth, predicted, names)
    start = time.perf_counter()
    reference = run_pycocotools(ground_truth_dict, results)
    reference_s = time.perf_counter() - start

    keys = ("map", "map50", "map75", "map_small", "map_medium", "map_large", "mar1", "mar10", "mar100",
            "mar_small", "mar_medium", "mar_large")
    print(f"{'':12s}{'ours':>10s}{'pycocotools':>13s}")
    for key, a, b in zip(keys, ours["stats"], reference):
        print(f"{key:12s}{a:10.6f}{b:13.6f}")
    difference = float(np.max(np.abs(np.asarray(ours["stats"]) - reference)))
    print(f"time: ours {ours_s:.2f} s, pycocotools {reference_s:.2f} s (index, loadRes, evaluate, accumulate, "
          f"summarize from in-memory dicts), ratio {reference_s / ours_s:.1f}x")
    print(f"max |ours - pycocotools| over the 12 stats: {difference:.3g} "
          f"({'identical' if difference == 0 else 'DIFFERENT'})")
    return 0 if difference <= 1e-12 else 1


if __name__ == "__main__":
    raise SystemExit(main())
