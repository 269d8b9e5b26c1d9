"""``kcc train``, ``kcc evaluate`` and ``kcc predict``.

    kcc train                                   # LeNet-5 on Fashion-MNIST, report in runs/
    kcc train fashion_vgg --dataset fashion_mnist --epochs 12 --schedule onecycle --augment fashion
    kcc train lenet5 --run-dir runs/x --resume  # continue a killed or interrupted run with its recorded options
    kcc train lenet5 --run-dir runs/x --resume --epochs 20 --lr 1e-3  # ... changed from the next epoch on
    kcc train model.keras --dataset photos/train  # an image folder; photos/validation validates
    kcc train lenet5 --dataset photos --task binary --validation-split 0.2
    kcc evaluate runs/x --dataset fashion_mnist [--ten-crop]
    kcc predict runs/x/best.keras shirt.png boot.png
"""

import json
import os
import shlex
import sys

from keras_cv_course._files import check_sha256
from keras_cv_course.runs import load_run, model_path, read_image, recorded_model

DEFAULT_MODEL = "lenet5"
DEFAULT_DATASET = "fashion_mnist"
SAMPLE_DATASET = "fashion_mnist_sample"
NEW_RUN = {"epochs": 12, "batch_size": 128, "optimizer": "adam", "schedule": "onecycle"}  # defaults of a new run


def add_commands(subparsers):
    from keras_cv_course.cli import (fraction, non_negative_float, non_negative_int, positive_float, positive_int,
                                     sha256_digest)
    from keras_cv_course.tasks import TASK_NAMES
    from keras_cv_course.training.fit import OPTIMIZERS
    from keras_cv_course.training.schedules import SCHEDULES
    from keras_cv_course.training.strategy import STRATEGIES

    train = subparsers.add_parser("train", help="train a registered model on a dataset and write a report")
    train.add_argument("model", nargs="?", default=None,
                       help=f"registered model name or a .keras file (default: the registered model --finetune-from "
                            f"holds, else {DEFAULT_MODEL}); with --finetune-from it must name the model the file holds")
    train.add_argument("--dataset", default=None,
                       help=f"dataset name or image folder (one sub-folder per class; a sibling validation/ folder "
                            f"validates) (default {DEFAULT_DATASET} when its files are present, else {SAMPLE_DATASET})")
    train.add_argument("--task", choices=TASK_NAMES, default=None,
                       help="default: the model's registered task, else inferred from its output and the labels")
    train.add_argument("--validation-split", type=fraction, default=0.2,
                       help="share of an image folder held out for validation when no validation/ folder is beside it")
    train.add_argument("--data-dir", default=None, help="folder with the data (see keras_cv_course.data.load)")
    resumed = " (with --resume: the run's, unless given)"
    train.add_argument("--epochs", type=positive_int, default=None, help=f"default {NEW_RUN['epochs']}{resumed}")
    train.add_argument("--batch-size", type=positive_int, default=None,
                       help=f"per replica; global = this × replicas; default {NEW_RUN['batch_size']}{resumed}")
    train.add_argument("--lr", type=positive_float, default=None,
                       help=f"(peak) learning rate; default 3e-3 for adam/adamw, 0.1 for sgd{resumed}")
    train.add_argument("--optimizer", choices=OPTIMIZERS, default=None, help=f"default {NEW_RUN['optimizer']}{resumed}")
    train.add_argument("--weight-decay", type=non_negative_float, default=None, help=f"default: the optimizer's{resumed}")
    train.add_argument("--schedule", choices=SCHEDULES, default=None, help=f"default {NEW_RUN['schedule']}{resumed}")
    train.add_argument("--augment", default=None, help="augmentation preset of keras_cv_course.data (alexnet, "
                                                       f"image_data_generator, cifar, fashion) or none; default none{resumed}")
    train.add_argument("--strategy", choices=STRATEGIES, default="auto")
    train.add_argument("--run-dir", default=None, help="default runs/MODEL-DATASET")
    train.add_argument("--resume", action="store_true", help="continue the run in --run-dir after its last completed epoch")
    train.add_argument("--seed", type=non_negative_int, default=0)
    train.add_argument("--finetune-from", default=None, help=".keras file or run directory to start from")
    train.add_argument("--sha256", type=sha256_digest, default=None,
                       help="the sha256 the --finetune-from file (else a .keras MODEL) must have; checked before training")
    train.add_argument("--freeze-until", default=None, help="freeze every layer before this one (e.g. block5_conv1)")
    train.add_argument("--progress-seconds", type=non_negative_float, default=10.0,
                       help="a progress line inside an epoch at most this often (0: per-epoch lines only)")
    train.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    train.add_argument("--no-shuffle", action="store_true",
                       help="train on the images in their stored order (exact comparisons, e.g. across backends)")
    add_compute_flags(train, resumed)
    add_data_flags(train)
    train.set_defaults(func=run_train)

    evaluate = subparsers.add_parser("evaluate", help="evaluate a run directory or model file on a dataset's test split")
    evaluate.add_argument("model", help="run directory (its best.keras) or a .keras file")
    evaluate.add_argument("--dataset", default=None, help="default: the dataset the run was trained on")
    evaluate.add_argument("--data-dir", default=None)
    evaluate.add_argument("--split", default="test", help="test (an image folder without test/ uses its validation split)")
    evaluate.add_argument("--ten-crop", action="store_true", help="average the predictions of ten crops (corners, centre, mirrored)")
    evaluate.add_argument("--batch-size", type=positive_int, default=256)
    evaluate.add_argument("--json", action="store_true", help="print the summary as JSON")
    evaluate.add_argument("--sha256", type=sha256_digest, default=None, help="the sha256 the model file must have")
    add_precision_flag(evaluate)
    add_data_flags(evaluate)
    evaluate.set_defaults(func=run_evaluate)

    predict = subparsers.add_parser("predict", help="top-k classes (or labels above the threshold) of images")
    predict.add_argument("model", help="a .keras file, a run directory, or a registered name with trained weights (lenet5)")
    predict.add_argument("images", nargs="+")
    predict.add_argument("--top", type=positive_int, default=3)
    predict.add_argument("--dataset", default=None, help="dataset whose class names to print (default: the run's)")
    predict.add_argument("--out", default=None, help="segmentation: folder for the predicted masks (PNG, class ids)")
    predict.add_argument("--sha256", type=sha256_digest, default=None,
                         help="the sha256 the model file (or a registered model's weight file) must have")
    add_precision_flag(predict)
    predict.set_defaults(func=run_predict)


def add_precision_flag(parser, resumed=""):
    """``--precision``, shared by ``kcc train``/``evaluate``/``predict``/``bench``."""
    from keras_cv_course.precision import AUTO, PRECISIONS

    parser.add_argument("--precision", choices=(AUTO,) + PRECISIONS, default=None,
                        help="dtype policy (mixed: 16-bit compute, float32 variables and outputs); default auto, the "
                             f"fastest on this machine (keras_cv_course.precision){resumed}")


def add_compute_flags(parser, resumed):
    """``--precision`` and ``--jit-compile`` of ``kcc train``."""
    add_precision_flag(parser, resumed)
    parser.add_argument("--jit-compile", choices=("auto", "true", "false"), default=None,
                        help=f"XLA (torch.compile on PyTorch); default auto, the choice measured faster here{resumed}")


def add_data_flags(parser):
    """``--strict`` and ``--no-download``, shared by ``kcc train`` and ``kcc evaluate``."""
    parser.add_argument("--strict", action="store_true",
                        help="stop at unreadable images in an image folder, naming them "
                             "(default: skip and report them)")
    parser.add_argument("--no-download", action="store_true",
                        help="never download a dataset; fail at once naming where its files are looked for")


def data_options(args):
    """The ``data.load`` / ``fit`` keywords of ``--strict`` and ``--no-download``."""
    return {"download": not args.no_download, "on_error": "raise" if args.strict else "skip"}


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
    from keras_cv_course.training.callbacks import read_state
    from keras_cv_course.training.fit import fit

    from keras_cv_course import data

    check_model_file_digest(args)
    args.model = model_argument(args)
    dataset = data.check_dataset(args.dataset)
    if dataset is None:
        dataset = default_dataset(args.data_dir)
        if dataset == SAMPLE_DATASET:
            print(f"{DEFAULT_DATASET} is not available locally: training on the embedded sample {SAMPLE_DATASET} "
                  f"(2,000 train / 1,000 test images). Install dataset-fashion-mnist or pass --dataset/--data-dir for the full set.")
        else:
            print(f"training on the full {DEFAULT_DATASET} (no --dataset given)")
    run_dir = args.run_dir or os.path.join("runs", f"{_short_name(args.model)}-{_short_name(dataset)}")
    plan = planned_options(args, resuming=args.resume and read_state(run_dir) is not None)
    result = fit(
        args.model, dataset, task=args.task, epochs=plan["epochs"], batch_size=plan["batch_size"],
        optimizer=plan["optimizer"], learning_rate=plan["lr"], schedule=plan["schedule"], augment=args.augment,
        strategy=args.strategy, run_dir=run_dir, resume=args.resume, seed=args.seed, weight_decay=args.weight_decay,
        finetune_from=args.finetune_from, freeze_until=args.freeze_until, data_dir=args.data_dir,
        validation_split=args.validation_split, verbose=not args.quiet, progress_seconds=args.progress_seconds,
        shuffle=not args.no_shuffle, command=train_command(args, dataset, plan, run_dir), precision=args.precision,
        jit_compile=args.jit_compile, **data_options(args),
    )
    return 0 if result.model is not None else 1


class OptionError(ValueError):
    """Options that do not go together."""


def check_model_file_digest(args):
    """``--sha256``: the file training starts from (``--finetune-from``, else a
    .keras MODEL) must have that digest; checked before anything is written."""
    if args.sha256 is None:
        return
    spec = args.finetune_from or (args.model if str(args.model).endswith(".keras") else None)
    if spec is None:
        raise OptionError(f"--sha256 checks the model file training starts from, but {args.model or DEFAULT_MODEL!r} "
                         "is not a file: pass --finetune-from FILE or a .keras MODEL with it")
    check_sha256(model_path(spec), args.sha256)


def model_argument(args):
    """MODEL as given; left out, the registered model the ``--finetune-from``
    file holds (so the architecture that trains is the one the report names),
    else ``DEFAULT_MODEL``."""
    if args.model is not None or args.finetune_from is None:
        return args.model or DEFAULT_MODEL
    from keras_cv_course.models import list_models

    held = recorded_model(args.finetune_from)
    return held if held in list_models() else DEFAULT_MODEL


def planned_options(args, *, resuming):
    """``epochs``, ``batch_size``, ``optimizer``, ``lr`` and ``schedule`` as given;
    unset, the defaults of a new run (``NEW_RUN``; lr 0.1 for sgd, else 3e-3), or
    None when resuming a run, so ``fit`` keeps the values it recorded."""
    plan = {key: getattr(args, key) for key in ("epochs", "batch_size", "optimizer", "lr", "schedule")}
    if resuming:
        return plan
    plan = {key: NEW_RUN.get(key) if value is None else value for key, value in plan.items()}
    if plan["lr"] is None:
        plan["lr"] = 0.1 if plan["optimizer"] == "sgd" else 3e-3
    return plan


def _short_name(spec):
    """A model or dataset argument as a run-directory name part (a path's last
    folder, a .keras file's stem)."""
    spec = os.path.normpath(str(spec))
    base = os.path.basename(spec)
    if base in ("train", "training") and os.path.dirname(spec):
        base = os.path.basename(os.path.dirname(spec))
    return os.path.splitext(base)[0] if base.endswith(".keras") else base


def train_command(args, dataset, plan, run_dir):
    """The ``kcc train`` command with every option spelled out (``plan``: the
    defaults of a new run resolved, see ``planned_options``), so it reproduces the
    run wherever the defaults change; a resume spells out what it was given and
    ends with ``--resume``."""
    parts = ["kcc", "train", args.model, "--dataset", dataset]
    for option, value in (("--epochs", plan["epochs"]), ("--batch-size", plan["batch_size"]),
                          ("--lr", plan["lr"] if plan["lr"] is None else f"{plan['lr']:g}"),
                          ("--optimizer", plan["optimizer"]), ("--schedule", plan["schedule"]),
                          ("--strategy", args.strategy), ("--seed", args.seed), ("--run-dir", run_dir)):
        if value is not None:
            parts += [option, str(value)]
    if os.path.isdir(str(dataset)):
        parts += ["--validation-split", f"{args.validation_split:g}"]
    for option, value in (("--task", args.task), ("--augment", args.augment), ("--weight-decay", args.weight_decay),
                          ("--data-dir", args.data_dir), ("--finetune-from", args.finetune_from),
                          ("--sha256", args.sha256), ("--freeze-until", args.freeze_until),
                          ("--precision", args.precision), ("--jit-compile", args.jit_compile)):
        if value is not None:
            parts += [option, str(value)]
    if args.resume:
        parts.append("--resume")
    parts += [flag for flag, given in (("--strict", args.strict), ("--no-download", args.no_download),
                                       ("--no-shuffle", args.no_shuffle)) if given]
    return " ".join(shlex.quote(part) for part in parts)


def _class_names(loaded, dataset):
    """The class names for ``loaded``'s outputs: the run's, else the dataset's;
    a dataset of another number of classes than the model scores is refused."""
    names = _dataset_class_names(loaded, dataset)
    shape = loaded.model.output_shape
    outputs = shape[-1] if isinstance(shape, tuple) else None
    kind = (loaded.task or {}).get("kind")
    expected = 2 if kind == "binary" or outputs == 1 else outputs
    if (loaded.task or {}).get("name") == "detection":  # its outputs are grids of boxes: the task has the count
        expected = loaded.task.get("num_classes")
    if names is not None and expected is not None and len(names) != expected:
        raise ValueError(f"{dataset!r} has {len(names)} classes but the model scores {expected}; "
                         "pass the dataset the model was trained on")
    return names


def _dataset_class_names(loaded, dataset):
    from keras_cv_course import data

    if loaded.class_names and (dataset is None or dataset == loaded.dataset):
        return list(loaded.class_names)
    if _is_imagenet(dataset or loaded.dataset):  # ImageNet weights: the class index shipped with the package
        from keras_cv_course.applications.imagenet_utils import imagenet_classes

        return [name for _, name in imagenet_classes()]
    if dataset and not data.is_image_folder(dataset):
        return list(data.info(dataset).class_names)
    if dataset:
        return data.folders.class_folders(data.folder_roots(dataset)["train"])
    return None


def _is_imagenet(dataset):
    """Whether ``dataset`` names ImageNet (as ImageNet weights record it) rather than an image folder."""
    return isinstance(dataset, str) and dataset.lower() == "imagenet" and not os.path.isdir(dataset)


def _in_precision(loaded, args):
    """``loaded`` with its model in ``--precision`` (auto: the faster here for
    the model it holds); ``args.precision`` becomes the resolved name."""
    import dataclasses

    from keras_cv_course.precision import inference_model

    name = recorded_model(args.model) if os.path.exists(args.model) else args.model
    model, args.precision = inference_model(loaded.model, args.precision, name)
    return dataclasses.replace(loaded, model=model)


def _task_of(loaded):
    from keras_cv_course.tasks import get_task

    return get_task(loaded.task or "classification").bind(loaded.model)


def _evaluation_data(loaded, dataset, split, data_dir, *, download=True, on_error="skip"):
    """``(dataset, description)`` of the split to evaluate on; unreadable images
    an image folder skipped are printed as a warning."""
    from keras_cv_course import data

    if data.is_image_folder(dataset):
        part = data.folder_split(dataset, "validation" if split == "validation" else split,
                                 validation_split=loaded.validation_split, seed=loaded.seed, on_error=on_error)
        ds, described = part.dataset, part.source
    else:
        strict = {"on_error": on_error} if on_error != "skip" else {}  # VOC annotations keep their own default
        ds, described = data.load(dataset, split, data_dir=data_dir, download=download, **strict), f"{dataset}/{split}"
    skipped = data.folders.skipped_summary([getattr(ds, "report", None)])
    if skipped:
        print(f"warning: {skipped}", file=sys.stderr, flush=True)
    return ds, described


def run_evaluate(args):
    from keras_cv_course import data

    loaded = _in_precision(load_run(args.model, sha256=args.sha256), args)
    model, task = loaded.model, _task_of(loaded)
    dataset = data.check_dataset(args.dataset or loaded.dataset)
    if dataset is None:
        raise ValueError("pass --dataset: the model does not say what it was trained on")
    if args.ten_crop and task.name != "classification":
        raise ValueError(f"--ten-crop averages class scores; this is a {task.name} model")
    height, width, channels = model.input_shape[1:]
    # Ten-crop: the crops are taken from the image enlarged by 8/7 (AlexNet's 256 -> 224).
    size = (round(height * 8 / 7), round(width * 8 / 7)) if args.ten_crop else (height, width)
    source, described = _evaluation_data(loaded, dataset, args.split, args.data_dir, **data_options(args))
    ds = data.pipeline(source, image_size=size, batch_size=args.batch_size, training=False,
                       preprocess=loaded.preprocessing, channels=channels)
    if args.ten_crop:
        model = _TenCrop(model, (height, width))
    summary = task.evaluate(model, ds, _class_names(loaded, dataset))
    if args.json:
        print(json.dumps({k: v for k, v in summary.items() if not k.endswith("_curve") and k != "pr_curves"}, indent=1,
                         default=_json_value))
        return 0
    crops = " (ten-crop)" if args.ten_crop else ""
    print(f"{args.model} on {described}{crops} [{args.precision}]: {task.headline(summary)}")
    per_class = summary.get("per_class_accuracy") or summary.get("per_class") or {}
    for name, value in per_class.items():
        value = value.get("average_precision") if isinstance(value, dict) else value
        print(f"    {name:<14} {'–' if value is None else f'{value:.4f}'}")
    return 0


def _json_value(value):
    """numpy arrays and scalars of a summary (a detector's per-class precision and recall) as JSON values."""
    import numpy as np

    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class _TenCrop:
    """A callable model that averages its predictions over AlexNet's ten crops."""

    def __init__(self, model, crop_size):
        self.model, self.crop_size = model, crop_size

    def __call__(self, images, training=False):
        from keras_cv_course import data

        return data.ten_crop_predict(self.model, images, self.crop_size)


def run_predict(args):
    import keras
    import numpy as np

    from keras_cv_course.preprocessing import preprocess_input

    loaded = _in_precision(load_run(args.model, sha256=args.sha256), args)
    model, task = loaded.model, _task_of(loaded)
    height, width, channels = model.input_shape[1:]
    names = _class_names(loaded, args.dataset)
    batch = np.stack([read_image(path, channels, (height, width), loaded.resize_size, loaded.interpolation)
                      for path in args.images])
    images = preprocess_input(batch, loaded.preprocessing)
    if task.name == "detection":
        return _print_detections(args, task.head.decode(model(images, training=False), (height, width)), names)
    outputs = keras.ops.convert_to_numpy(model(images, training=False))
    if task.name == "segmentation":
        return _print_masks(args, outputs.argmax(axis=-1), names)
    probs = task.probabilities(outputs)
    for path, row in zip(args.images, probs):
        print(f"{path}: {_predicted_classes(task, row, names, args.top)}")
    return 0


def _predicted_classes(task, row, names, top):
    """One image's prediction as text: top-k classes, or the labels above the
    threshold for multi-label, or both classes' probabilities for binary."""
    import numpy as np

    def label(index):
        return names[index] if names else str(index)

    if task.kind == "binary":
        positive = float(row[0])
        ranked = sorted(((positive, 1), (1.0 - positive, 0)), reverse=True)
        return ", ".join(f"{label(i)} {p:.3f}" for p, i in ranked)
    if task.kind == "multilabel":
        chosen = [i for i in np.argsort(-row) if row[i] >= task.threshold]
        return ", ".join(f"{label(i)} {row[i]:.3f}" for i in chosen) or f"no label above {task.threshold:g}"
    best = np.argsort(-row)[: min(top, len(row))]
    return ", ".join(f"{label(i)} {row[i]:.3f}" for i in best)


def _print_detections(args, detections, names, score_threshold=0.3):
    """Print each image's detections above ``score_threshold``: class, score, xyxy box."""
    import numpy as np

    detections = {key: np.asarray(value) for key, value in detections.items()}
    for index, path in enumerate(args.images):
        keep = (detections["classes"][index] >= 0) & (detections["scores"][index] >= score_threshold)
        found = [f"{names[c] if names else c} {s:.3f} [{', '.join(f'{v:.0f}' for v in b)}]" for c, s, b in zip(
            detections["classes"][index][keep], detections["scores"][index][keep], detections["boxes"][index][keep])]
        print(f"{path}: " + ("; ".join(found[: args.top]) if found else f"no object above {score_threshold}"))
    return 0


def _print_masks(args, masks, names):
    """Write each predicted mask as a PNG of class ids and print its class shares."""
    import numpy as np
    from PIL import Image

    out = args.out or "."
    os.makedirs(out, exist_ok=True)
    for path, mask in zip(args.images, masks):
        target = os.path.join(out, os.path.splitext(os.path.basename(path))[0] + "_mask.png")
        Image.fromarray(mask.astype(np.uint8)).save(target)
        ids, counts = np.unique(mask, return_counts=True)
        shares = ", ".join(f"{names[i] if names else i} {c / mask.size:.1%}" for i, c in zip(ids, counts))
        print(f"{path}: {target} ({shares})")
    return 0
