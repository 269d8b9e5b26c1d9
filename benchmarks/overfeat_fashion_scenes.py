"""Train the OverFeat detector (Sermanet et al. 2014) on fashion_scenes and report test mAP@0.5.

    python benchmarks/overfeat_fashion_scenes.py --epochs 12 --batch-size 32

Trains with plain ``model.compile(loss=head.losses())`` + ``model.fit`` on
``data.pipeline(..., max_boxes=8)`` mapped through ``head.encode``, then decodes
the test split with ``head.decode`` and scores it with ``evaluate_voc``
(VOC2010+ AP, IoU > 0.5). Prints epochs, training seconds, images/s and mAP50.
"""

import argparse
import json
import sys
import time


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--train-scenes", type=int, default=None, help="default: the whole split (6,000)")
    p.add_argument("--test-scenes", type=int, default=None, help="default: the whole split (1,000)")
    p.add_argument("--learning-rate", type=float, default=3e-3)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--center-fraction", type=float, default=1.0)
    p.add_argument("--box-weight", type=float, default=2.0)
    p.add_argument("--score-threshold", type=float, default=0.01)
    p.add_argument("--save", default=None, help="save the trained model (.keras) here")
    p.add_argument("--merge", choices=("nms", "greedy"), default="nms")
    p.add_argument("--augment", default=None, help="a data.pipeline augment preset (default none)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def datasets(head, args):
    from keras_cv_course import data

    options = {} if args.train_scenes is None else {"num_scenes": args.train_scenes}
    raw = data.load("fashion_scenes", "train", **options)
    train = data.pipeline(raw, batch_size=args.batch_size,
                          training=True, max_boxes=8, augment=args.augment, seed=args.seed)
    options = {} if args.test_scenes is None else {"num_scenes": args.test_scenes}
    test = data.pipeline(data.load("fashion_scenes", "test", **options), batch_size=64, training=False,
                         max_boxes=8)
    return train.map(head.encode), test, int(raw.cardinality())


def evaluate(model, head, test):
    import numpy as np

    from keras_cv_course.detection.evaluate import evaluate_voc

    truth, found = [], []
    for images, targets in test:
        detections = head.decode(model.predict_on_batch(images), images.shape[1:3])
        truth.append({k: targets[k].numpy() for k in ("boxes", "classes")})
        found.append(detections)
    def stack(parts, keys):
        return {key: np.concatenate([np.asarray(part[key]) for part in parts]) for key in keys}

    return evaluate_voc(stack(truth, ("boxes", "classes")), stack(found, ("boxes", "scores", "classes")),
                        num_classes=head.num_classes)


def main(argv=None):
    args = parse(argv)
    import keras

    from keras_cv_course.detection.overfeat import OverFeatHead, overfeat_fashion

    keras.utils.set_random_seed(args.seed)
    model, head = overfeat_fashion(width=args.width, head=OverFeatHead(
        10, merge=args.merge, center_fraction=args.center_fraction, box_loss_weight=args.box_weight,
        score_threshold=args.score_threshold))
    train, test, num_train = datasets(head, args)
    steps = int(train.cardinality())
    schedule = keras.optimizers.schedules.CosineDecay(args.learning_rate, max(1, steps * args.epochs))
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=head.losses(), loss_weights=head.loss_weights())
    start = time.perf_counter()
    history = model.fit(train, epochs=args.epochs, verbose=2)
    seconds = time.perf_counter() - start
    images = num_train * args.epochs
    if args.save:
        model.save(args.save)
    summary = evaluate(model, head, test)
    report = {"command": "python " + " ".join(sys.argv), "epochs": args.epochs, "train_seconds": round(seconds, 1),
              "images_per_second": round(images / seconds, 1), "test_map50": summary["map50"],
              "final_loss": round(float(history.history["loss"][-1]), 4), "head": head.get_config()}
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
