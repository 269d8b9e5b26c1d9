"""Train a registered detector on fashion_scenes through training.fit and report test mAP@0.5 and COCO AP.

    python benchmarks/detector_fashion_scenes.py --model yolov1_fashion --epochs 30 --batch-size 32 --lr 1e-3
    python benchmarks/detector_fashion_scenes.py --model ssd_fashion --epochs 24 --batch-size 32 --lr 2e-3

Trains ``--model`` (YOLOv1, Redmon et al. 2016: ``yolov1_fashion``; SSD, Liu et
al. 2016: ``ssd_fashion``; OverFeat: ``overfeat_fashion``) exactly as ``kcc
train MODEL --dataset fashion_scenes`` does (``training.fit``: the registry's
detection task, the model's head encoding the targets in the pipeline, per-epoch
``val_map50``, the run directory and its report), then decodes the test split
with the head and scores it with ``evaluate_voc`` (VOC2010+ AP, IoU > 0.5) and
``evaluate_coco`` (pycocotools' AP@[.5:.95]). Prints the equivalent ``kcc
train`` command, epochs, training seconds, images/s and both APs as JSON.
``--train-scenes`` / ``--test-scenes`` train and test on fewer scenes (short
sanity runs); the command printed is then the benchmark's own.
"""

import argparse
import json
import shlex
import sys


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="yolov1_fashion", help="a registered detector (task detection)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--schedule", default="cosine")
    p.add_argument("--augment", default=None, help="a data.pipeline augment preset (default none)")
    p.add_argument("--train-scenes", type=int, default=None, help="default: the whole split (6,000)")
    p.add_argument("--test-scenes", type=int, default=None, help="default: the whole split (1,000)")
    p.add_argument("--run-dir", default=None, help="default runs/MODEL-fashion_scenes")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    args.run_dir = args.run_dir or f"runs/{args.model}-fashion_scenes"
    return args


def kcc_command(args):
    """The ``kcc train`` command of this benchmark's run (whole splits only)."""
    parts = ["kcc", "train", args.model, "--dataset", "fashion_scenes", "--epochs", str(args.epochs),
             "--batch-size", str(args.batch_size), "--lr", f"{args.lr:g}", "--schedule", args.schedule,
             "--seed", str(args.seed), "--run-dir", args.run_dir]
    if args.augment:
        parts += ["--augment", args.augment]
    return " ".join(shlex.quote(part) for part in parts)


def splits(args):
    """The training and test data: the dataset's name for whole splits, else datasets of fewer scenes."""
    from keras_cv_course import data

    if args.train_scenes is None and args.test_scenes is None:
        return "fashion_scenes", None
    train = data.load("fashion_scenes", "train", **({"num_scenes": args.train_scenes} if args.train_scenes else {}))
    test = data.load("fashion_scenes", "test", **({"num_scenes": args.test_scenes} if args.test_scenes else {}))
    return train, test


def test_scores(model, head, test):
    """VOC2010+ mAP@0.5 and COCO AP of ``model`` on the batched test split."""
    import numpy as np

    from keras_cv_course.detection.evaluate import evaluate_coco, evaluate_voc

    truth, found = [], []
    for images, targets in test:
        found.append(head.decode(model.predict_on_batch(images), images.shape[1:3]))
        truth.append({k: np.asarray(targets[k]) for k in ("boxes", "classes")})

    def stack(parts, keys):
        return {key: np.concatenate([np.asarray(part[key]) for part in parts]) for key in keys}

    truth, found = stack(truth, ("boxes", "classes")), stack(found, ("boxes", "scores", "classes"))
    voc = evaluate_voc(truth, found, num_classes=head.num_classes)
    coco = evaluate_coco(truth, found, num_classes=head.num_classes)
    return voc["map50"], coco


def main(argv=None):
    args = parse(argv)
    from keras_cv_course import data
    from keras_cv_course.detection.heads import head_for_model
    from keras_cv_course.training import fit

    train, test = splits(args)
    command = kcc_command(args) if test is None else "python " + " ".join(map(shlex.quote, sys.argv))
    result = fit(args.model, train, test, epochs=args.epochs, batch_size=args.batch_size,
                 learning_rate=args.lr, schedule=args.schedule, augment=args.augment, run_dir=args.run_dir,
                 seed=args.seed, command=command)
    head = head_for_model(result.model)
    raw_test = test if test is not None else data.load("fashion_scenes", "test")
    batches = data.pipeline(raw_test, batch_size=64, training=False, max_boxes=8)
    map50, coco = test_scores(result.model, head, batches)
    seconds = result.history[-1]["train_seconds"]
    images = raw_count(train) * args.epochs
    report = {"command": command, "epochs": args.epochs, "train_seconds": round(seconds, 1),
              "images_per_second": round(images / seconds, 1), "test_map50": round(map50, 4),
              "test_coco_ap": round(coco["map"], 4), "test_coco_ap50": round(coco["map50"], 4),
              "val_map50_per_epoch": [round(row["val_map50"], 4) for row in result.history],
              "model": args.model, "params": result.model.count_params(), "head": head.get_config()}
    print(json.dumps(report, indent=1))
    return report


def raw_count(train):
    """Scenes per epoch of ``train`` (a dataset name or a dataset)."""
    from keras_cv_course import data

    if isinstance(train, str):
        return int(dict(data.info(train).splits)["train"])
    return int(train.cardinality())


if __name__ == "__main__":
    main()
