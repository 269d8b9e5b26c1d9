"""``kcc train``, ``kcc evaluate`` and ``kcc predict``.

    kcc train                                   # LeNet-5 on Fashion-MNIST, report in runs/
    kcc train fashion_vgg --dataset fashion_mnist --epochs 12 --schedule onecycle --augment fashion
    kcc train lenet5 --run-dir runs/x --resume  # continue a killed run
    kcc evaluate runs/x --dataset fashion_mnist [--ten-crop]
    kcc predict runs/x/best.keras shirt.png boot.png
"""

import json
import os
import shlex

DEFAULT_MODEL = "lenet5"
DEFAULT_DATASET = "fashion_mnist"
SAMPLE_DATASET = "fashion_mnist_sample"


def add_commands(subparsers):
    from keras_cv_course.training.fit import OPTIMIZERS
    from keras_cv_course.training.schedules import SCHEDULES
    from keras_cv_course.training.strategy import STRATEGIES

    train = subparsers.add_parser("train", help="train a registered model on a dataset and write a report")
    train.add_argument("model", nargs="?", default=DEFAULT_MODEL, help=f"registered model name (default {DEFAULT_MODEL})")
    train.add_argument("--dataset", default=None,
                       help=f"dataset name (default {DEFAULT_DATASET} when its files are present, else {SAMPLE_DATASET})")
    train.add_argument("--data-dir", default=None, help="folder with the data (see keras_cv_course.data.load)")
    train.add_argument("--epochs", type=int, default=12)
    train.add_argument("--batch-size", type=int, default=128, help="per replica; global = this × replicas")
    train.add_argument("--lr", type=float, default=None, help="(peak) learning rate; default 3e-3 for adam/adamw, 0.1 for sgd")
    train.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    train.add_argument("--weight-decay", type=float, default=None)
    train.add_argument("--schedule", choices=SCHEDULES, default="onecycle")
    train.add_argument("--augment", default=None, help="augmentation preset of keras_cv_course.data (alexnet, image_data_generator, cifar, fashion)")
    train.add_argument("--strategy", choices=STRATEGIES, default="auto")
    train.add_argument("--run-dir", default=None, help="default runs/MODEL-DATASET")
    train.add_argument("--resume", action="store_true", help="continue the run in --run-dir after its last completed epoch")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--finetune-from", default=None, help=".keras file or run directory to start from")
    train.add_argument("--freeze-until", default=None, help="freeze every layer before this one (e.g. block5_conv1)")
    train.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    train.set_defaults(func=run_train)

    evaluate = subparsers.add_parser("evaluate", help="evaluate a run directory or model file on a dataset's test split")
    evaluate.add_argument("model", help="run directory (its best.keras) or a .keras file")
    evaluate.add_argument("--dataset", default=None, help="default: the dataset the run was trained on")
    evaluate.add_argument("--data-dir", default=None)
    evaluate.add_argument("--split", default="test")
    evaluate.add_argument("--ten-crop", action="store_true", help="average the predictions of ten crops (corners, centre, mirrored)")
    evaluate.add_argument("--batch-size", type=int, default=256)
    evaluate.add_argument("--json", action="store_true", help="print the summary as JSON")
    evaluate.set_defaults(func=run_evaluate)

    predict = subparsers.add_parser("predict", help="top-k classes of images")
    predict.add_argument("model", help="a .keras file, a run directory, or a registered name with trained weights (lenet5)")
    predict.add_argument("images", nargs="+")
    predict.add_argument("--top", type=int, default=3)
    predict.add_argument("--dataset", default=None, help="dataset whose class names to print (default: the run's)")
    predict.set_defaults(func=run_predict)


def default_dataset(data_dir=None):
    """``fashion_mnist`` when a local copy exists (no download), else the embedded sample."""
    from keras_cv_course import data

    try:
        data.locate(DEFAULT_DATASET, "train", data_dir=data_dir, download=False)
        data.locate(DEFAULT_DATASET, "test", data_dir=data_dir, download=False)
        return DEFAULT_DATASET
    except FileNotFoundError:
        return SAMPLE_DATASET


def run_train(args):
    from keras_cv_course.training.fit import fit

    dataset = args.dataset
    if dataset is None:
        dataset = default_dataset(args.data_dir)
        if dataset == SAMPLE_DATASET:
            print(f"{DEFAULT_DATASET} is not available locally: training on the embedded sample {SAMPLE_DATASET} "
                  f"(2,000 train / 1,000 test images). Install dataset-fashion-mnist or pass --dataset/--data-dir for the full set.")
        else:
            print(f"training on the full {DEFAULT_DATASET} (no --dataset given)")
    lr = args.lr if args.lr is not None else (0.1 if args.optimizer == "sgd" else 3e-3)
    run_dir = args.run_dir or os.path.join("runs", f"{args.model}-{dataset}")
    result = fit(
        args.model, dataset, epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer,
        learning_rate=lr, schedule=args.schedule, augment=args.augment, strategy=args.strategy, run_dir=run_dir,
        resume=args.resume, seed=args.seed, weight_decay=args.weight_decay, finetune_from=args.finetune_from,
        freeze_until=args.freeze_until, data_dir=args.data_dir, verbose=not args.quiet,
        command=train_command(args, dataset, lr, run_dir),
    )
    return 0 if result.model is not None else 1


def train_command(args, dataset, lr, run_dir):
    """The ``kcc train`` command with every option spelled out (defaults resolved),
    so it reproduces the run wherever the defaults change."""
    parts = ["kcc", "train", args.model, "--dataset", dataset, "--epochs", str(args.epochs),
             "--batch-size", str(args.batch_size), "--lr", f"{lr:g}", "--optimizer", args.optimizer,
             "--schedule", args.schedule, "--strategy", args.strategy, "--seed", str(args.seed), "--run-dir", run_dir]
    for option, value in (("--augment", args.augment), ("--weight-decay", args.weight_decay), ("--data-dir", args.data_dir),
                          ("--finetune-from", args.finetune_from), ("--freeze-until", args.freeze_until)):
        if value is not None:
            parts += [option, str(value)]
    return " ".join(shlex.quote(part) for part in parts)


def _run_config(path):
    """The config a run directory recorded (report.json or state.json), or {}."""
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    for name in ("report.json", "state.json"):
        candidate = os.path.join(folder, name)
        if os.path.exists(candidate):
            with open(candidate) as handle:
                return json.load(handle).get("config", {})
    return {}


def load_any_model(spec):
    """``(model, preprocessing mode, dataset name)`` from a run directory, a .keras
    file or a registered name with trained weights."""
    import keras

    import keras_cv_course.metrics  # noqa: F401 - registers the custom metrics
    import keras_cv_course.training.schedules  # noqa: F401 - registers the schedules
    from keras_cv_course.training.fit import _model_path

    if os.path.exists(spec):
        path = _model_path(spec)
        config = _run_config(path)
        return keras.models.load_model(path), config.get("preprocessing", "unit"), config.get("dataset")
    from keras_cv_course.models import get_model, model_info

    info = model_info(spec)
    if not info.weights:
        raise ValueError(f"{spec!r} is neither a file nor a registered model with trained weights (it has none)")
    weights_name = next(iter(info.weights))
    weight_spec = info.weights[weights_name]
    model = get_model(spec, weights=weights_name)
    return model, getattr(weight_spec, "preprocessing", info.preprocessing), getattr(weight_spec, "dataset", None)


def run_evaluate(args):
    import numpy as np

    from keras_cv_course import data
    from keras_cv_course.metrics import classification_summary

    model, mode, trained_on = load_any_model(args.model)
    dataset = args.dataset or trained_on
    if dataset is None:
        raise ValueError("pass --dataset: the model does not say what it was trained on")
    height, width, channels = model.input_shape[1:]
    # Ten-crop: the crops are taken from the image enlarged by 8/7 (AlexNet's 256 -> 224).
    size = (round(height * 8 / 7), round(width * 8 / 7)) if args.ten_crop else (height, width)
    ds = data.pipeline(data.load(dataset, args.split, data_dir=args.data_dir), image_size=size,
                       batch_size=args.batch_size, training=False, preprocess=mode, channels=channels)
    labels, scores = [], []
    for images, batch_labels in ds:
        if args.ten_crop:
            scores.append(data.ten_crop_predict(model, images, (height, width)))
        else:
            scores.append(np.asarray(model(images, training=False)))
        labels.append(np.asarray(batch_labels))
    summary = classification_summary(np.concatenate(labels), np.concatenate(scores), list(data.info(dataset).class_names))
    if args.json:
        print(json.dumps(summary, indent=1))
        return 0
    crops = " (ten-crop)" if args.ten_crop else ""
    print(f"{args.model} on {dataset}/{args.split}{crops}: {summary['samples']:,} images")
    print(f"  top-1 accuracy       {summary['top1_accuracy']:.4f}   error rate {summary['error_rate']:.4f}")
    if summary["top5_accuracy"] is not None:
        print(f"  top-5 accuracy       {summary['top5_accuracy']:.4f}   top-5 error {summary['top5_error']:.4f}")
    print(f"  balanced error rate  {summary['balanced_error_rate']:.4f}")
    if "roc_auc" in summary:
        print(f"  ROC AUC              {summary['roc_auc']:.4f}")
    print("  per-class accuracy:")
    for name, value in summary["per_class_accuracy"].items():
        print(f"    {name:<14} {'–' if value is None else f'{value:.4f}'}")
    return 0


def read_image(path, channels, size):
    """An image file as a uint8 array (H, W, channels) resized to ``size``."""
    import numpy as np
    from PIL import Image

    image = Image.open(path)
    image = image.convert("L" if channels == 1 else "RGB").resize((size[1], size[0]), Image.BILINEAR)
    array = np.asarray(image, dtype=np.uint8)
    return array[..., None] if channels == 1 else array


def run_predict(args):
    import numpy as np

    from keras_cv_course import data
    from keras_cv_course.models import preprocess_input

    model, mode, trained_on = load_any_model(args.model)
    dataset = args.dataset or trained_on
    height, width, channels = model.input_shape[1:]
    names = list(data.info(dataset).class_names) if dataset else None
    batch = np.stack([read_image(path, channels, (height, width)) for path in args.images])
    probs = np.asarray(model(preprocess_input(batch, mode), training=False))
    k = min(args.top, probs.shape[1])
    for path, row in zip(args.images, probs):
        best = np.argsort(-row)[:k]
        shown = ", ".join(f"{names[i] if names else i} {row[i]:.3f}" for i in best)
        print(f"{path}: {shown}")
    return 0
