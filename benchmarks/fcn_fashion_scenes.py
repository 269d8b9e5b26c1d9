"""FCN-32s vs FCN-16s vs FCN-8s (Shelhamer et al. 2016) trained the same way on fashion_scenes' semantic masks.

    python benchmarks/fcn_fashion_scenes.py --epochs 16 --batch-size 8 --learning-rate 1e-2 --augment fashion

Each variant (``fcn32s_fashion``, ``fcn16s_fashion``, ``fcn8s_fashion``: one
small VGG-like BatchNorm trunk, three heads) is built from the registry with the
same seed and trained through ``training.fit`` (what ``kcc train`` runs) on the
same batches (``data.pipeline``, masks carried along), with
``SegmentationTask``'s loss (pixel-wise softmax cross-entropy ignoring the void
label 255) and Adam on a cosine schedule with a linear warm-up. Each variant is
one run, ``<save-dir>/fcn{variant}_fashion`` (report, confusion matrix,
overlays, ``last.keras``; ``python -m keras_cv_course.training.export`` publishes
it), scored on the test split with ``SegmentationTask.evaluate`` (one confusion
matrix: mean IU, pixel accuracy, void pixels left out). Prints one table of
mean IU, pixel accuracy and training seconds per variant, with the command that
reproduced it, and writes it as JSON with ``--json``.

The defaults were sized with short FCN-8s runs on a shared 2-core CPU (4,000
training scenes for 2 epochs, 200 test scenes, peak learning rate 1e-2): test
mean IU 0.357 at batch 16, 0.425 at batch 8, 0.452 at batch 4 (10 % slower
than 8); at batch 16 the peak rate 3e-3 gave 0.11, 1e-2 0.21 and 3e-2 0.23 after
3,000 scenes. A training step of batch 16 costs about 0.33 CPU-seconds.
"""

import argparse
import json
import os
import sys
import time

VARIANTS = ("32s", "16s", "8s")


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--learning-rate", type=float, default=1e-2, help="peak Adam learning rate")
    p.add_argument("--train-scenes", type=int, default=None, help="default: the whole split (6,000)")
    p.add_argument("--test-scenes", type=int, default=None, help="default: the whole split (1,000)")
    p.add_argument("--source", choices=("auto", "full", "sample"), default="auto",
                   help="Fashion-MNIST items of the scenes (data.load's source)")
    p.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    p.add_argument("--width", type=int, default=16, help="the fashion trunk's first width")
    p.add_argument("--learnable-upsampling", action="store_true")
    p.add_argument("--augment", default=None, help="a data.pipeline augment preset (default none)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save-dir", default="runs/fcn_fashion_scenes",
                   help="one training.fit run per variant here, fcn{variant}_fashion/ (report, last.keras)")
    p.add_argument("--json", default=None, help="also write the results here")
    return p.parse_args(argv)


def datasets(args):
    """(train, test) for ``training.fit``: the dataset's name for whole splits
    (so each run records it and ``training.export`` can publish it), unbatched
    ``tf.data`` splits of the requested sizes otherwise."""
    from keras_cv_course import data

    if args.train_scenes is None and args.test_scenes is None and args.source == "auto":
        return "fashion_scenes_masks", None

    def load(split, count):
        return data.load("fashion_scenes_masks", split, source=args.source,
                         **({} if count is None else {"num_scenes": count}))

    return load("train", args.train_scenes), load("test", args.test_scenes)


def train_one(variant, train, test, args, command):
    """Build one variant, train it through ``training.fit`` into
    ``<save-dir>/fcn{variant}_fashion`` (a run with its report, confusion matrix
    and overlays) and return its row of the table from the run's test evaluation."""
    import keras

    from keras_cv_course import models
    from keras_cv_course.data import scenes
    from keras_cv_course.training import fit

    keras.utils.set_random_seed(args.seed)
    model = models.get_model(f"fcn{variant}_fashion", width=args.width, learnable_upsampling=args.learnable_upsampling)
    run_dir = os.path.join(args.save_dir, model.name)
    result = fit(model, train, test, task="segmentation", epochs=args.epochs, batch_size=args.batch_size,
                 optimizer="adam", learning_rate=args.learning_rate, schedule="cosine", augment=args.augment,
                 seed=args.seed, run_dir=run_dir, command=command, class_names=list(scenes.SEGMENTATION_CLASSES), verbose=2, progress_seconds=0)
    with open(os.path.join(run_dir, "report.json")) as handle:
        report = json.load(handle)
    summary, history = report["evaluation"], result.history
    return {"variant": f"FCN-{variant}", "model": model.name, "params": model.count_params(), "run_dir": run_dir,
            "test_mean_iou": round(summary["mean_iou"], 4), "test_pixel_accuracy": round(summary["pixel_accuracy"], 4),
            "train_seconds": round(report["config"]["train_seconds"], 1),
            "final_loss": round(float(history[-1]["loss"]), 4) if history else None,
            "per_class_iou": {k: None if v is None else round(v, 4) for k, v in summary["per_class_iou"].items()}}


def table(rows, command):
    """The results as Markdown lines."""
    lines = [f"command: {command}", "", "| variant | params | test mean IU | test pixel accuracy | train seconds |",
             "|---|---:|---:|---:|---:|"]
    lines += [f"| {r['variant']} | {r['params']:,} | {r['test_mean_iou']:.4f} | {r['test_pixel_accuracy']:.4f} | "
              f"{r['train_seconds']:.0f} |" for r in rows]
    return lines


def main(argv=None):
    args = parse(argv)
    command = "python " + " ".join([sys.argv[0], *(sys.argv[1:] if argv is None else argv)])
    train, test = datasets(args)
    rows = []
    for variant in args.variants:
        rows.append(train_one(variant, train, test, args, command))
        print(json.dumps(rows[-1]), flush=True)
    print("\n".join(table(rows, command)))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"command": command, "epochs": args.epochs, "rows": rows}, handle, indent=1)
    return rows


if __name__ == "__main__":
    main()
