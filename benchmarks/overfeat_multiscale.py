"""OverFeat's test-time choices on a trained detector (Sermanet et al. 2014):
single- vs multi-scale parsing (§3.3, §4.3), NMS vs the greedy merge (§4.3), and
the second stage of §4.2 (the box regressor retrained on frozen features).

    python benchmarks/overfeat_multiscale.py --model runs/overfeat/last.keras --box-stage-epochs 2

For each (scales, merge) row: test mAP@0.5 (VOC2010+ AP, IoU > 0.5) on the
fashion_scenes test split and images/s of the whole detection (resize, network
at every scale, decoding, merging), in one run on the same images. With
``--box-stage-epochs N`` the box branch (the layers that feed ``"boxes"`` and
not ``"classes"``) is then trained N epochs on the training split with every
other layer frozen, and the single-scale rows are measured again.
"""

import argparse
import json
import sys
import time

SCALE_SETS = {"1": (1.0,), "0.8-1.25": (0.8, 1.0, 1.25), "1-1.5": (1.0, 1.25, 1.5), "0.7-1.4": (0.7, 1.0, 1.4)}


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="a trained overfeat_fashion .keras file (or run directory)")
    p.add_argument("--test-scenes", type=int, default=None, help="default: the whole test split (1,000)")
    p.add_argument("--train-scenes", type=int, default=None, help="for --box-stage-epochs (default 6,000)")
    p.add_argument("--scales", nargs="+", default=list(SCALE_SETS), choices=list(SCALE_SETS))
    p.add_argument("--box-stage-epochs", type=int, default=0)
    p.add_argument("--box-stage-lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=32)
    return p.parse_args(argv)


def test_arrays(args):
    """The test scenes as [0, 1] float images and padded ground truth (numpy)."""
    import numpy as np

    from keras_cv_course import data

    options = {} if args.test_scenes is None else {"num_scenes": args.test_scenes}
    batches = data.pipeline(data.load("fashion_scenes", "test", **options), batch_size=100, training=False, max_boxes=8)
    images, boxes, classes = [], [], []
    for batch, targets in batches:
        images.append(np.asarray(batch))
        boxes.append(np.asarray(targets["boxes"]))
        classes.append(np.asarray(targets["classes"]))
    return np.concatenate(images), {"boxes": np.concatenate(boxes), "classes": np.concatenate(classes)}


def measure(model, head, images, truth, scales, batch_size=50):
    """``(map50, images per second)`` of ``detect_multiscale`` over ``images``."""
    from keras_cv_course.detection.evaluate import DetectionEvaluator
    from keras_cv_course.detection.overfeat import detect_multiscale

    evaluator = DetectionEvaluator(num_classes=head.num_classes)
    start = time.perf_counter()
    for first in range(0, len(images), batch_size):
        found = detect_multiscale(model, head, images[first:first + batch_size], scales)
        evaluator.update({key: value[first:first + batch_size] for key, value in truth.items()}, found)
    seconds = time.perf_counter() - start
    return evaluator.result()["map50"], len(images) / seconds


def table(model, head, images, truth, scale_names, merges=("nms", "greedy")):
    rows = []
    for name in scale_names:
        for merge in merges:
            head.merge = merge
            map50, rate = measure(model, head, images, truth, SCALE_SETS[name])
            rows.append({"scales": list(SCALE_SETS[name]), "merge": merge, "map50": round(map50, 4),
                         "images_per_second": round(rate, 1)})
            print(f"  scales {name:<9} merge {merge:<6} mAP@0.5 {map50:.4f}  {rate:7.1f} images/s", flush=True)
    head.merge = "nms"
    return rows


def box_stage(model, head, args):
    """Train the box branch on frozen features (§4.2); returns the seconds it took."""
    from keras_cv_course import data
    from keras_cv_course.detection.overfeat import train_box_head

    options = {} if args.train_scenes is None else {"num_scenes": args.train_scenes}
    train = data.pipeline(data.load("fashion_scenes", "train", **options), batch_size=args.batch_size,
                          training=True, max_boxes=8).map(head.encode)
    start = time.perf_counter()
    train_box_head(model, head, train, epochs=args.box_stage_epochs, learning_rate=args.box_stage_lr, verbose=2)
    return time.perf_counter() - start


def main(argv=None):
    args = parse(argv)
    import keras_cv_course  # noqa: F401 - registers the detector's objects for loading
    from keras_cv_course.detection import heads
    from keras_cv_course.runs import load_run

    model = load_run(args.model).model
    head = heads.head_for_model(model)
    images, truth = test_arrays(args)
    print(f"{args.model}: {len(images)} test scenes", flush=True)
    report = {"command": "python " + " ".join(sys.argv), "test_scenes": len(images),
              "rows": table(model, head, images, truth, args.scales)}
    if args.box_stage_epochs:
        print(f"second stage: the box branch for {args.box_stage_epochs} epochs on frozen features", flush=True)
        report["box_stage_seconds"] = round(box_stage(model, head, args), 1)
        report["after_box_stage"] = table(model, head, images, truth, args.scales)
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
