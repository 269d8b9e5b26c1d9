"""Publish a run's trained model into the project's ``weights/`` folder.

    python -m keras_cv_course.training.export runs/bench/lenet5 --model lenet5 --name fashion_mnist

writes ``weights/lenet5_fashion_mnist.weights.h5`` (the run's *last* model — the
one its report evaluates on the test set), re-measures the test accuracy by
loading the file through ``get_model(model, weights=file)`` and evaluating it on
the full test split, and adds or replaces the entry in ``weights/manifest.json``
with the file's sha256, the dataset, the preprocessing, that accuracy and the
run's exact ``kcc train`` command. A detector's or segmenter's run records its
task and its headline figure instead of the accuracy (``test_map50``: VOC
mAP@0.5; ``test_mean_iou``), measured through the run's task on the test split:

    python -m keras_cv_course.training.export runs/overfeat --model overfeat_fashion --name fashion_scenes
"""

import argparse
import json
import os
import sys

import keras
import numpy as np


def measure_accuracy(model, dataset, split="test", preprocessing="unit", batch_size=512):
    """Top-1 accuracy of ``model`` on a dataset split (full pipeline, no augmentation)."""
    from keras_cv_course import data

    height, width, channels = model.input_shape[1:]
    ds = data.pipeline(data.load(dataset, split), image_size=(height, width), batch_size=batch_size,
                       training=False, preprocess=preprocessing, channels=channels)
    hits = total = 0
    for images, labels in ds:
        predicted = keras.ops.convert_to_numpy(model(images, training=False)).argmax(axis=1)
        hits += int((predicted == np.asarray(labels)).sum())
        total += len(predicted)
    return hits / total, total


HEADLINE_METRICS = {"detection": "map50", "segmentation": "mean_iou"}


def measure_task_metric(model, task_config, dataset, split="test", preprocessing="unit", batch_size=64,
                        **load_options):
    """``(metric name, value, images)`` of a detector or segmenter on a dataset
    split through its run's task (``task_config``: the recorded ``get_config``):
    ``map50`` for detection, ``mean_iou`` for segmentation. ``load_options`` go
    to ``data.load`` (``num_scenes``, ``source``)."""
    from keras_cv_course import data, tasks

    task = tasks.get_task(task_config).bind(model)
    height, width, channels = model.input_shape[1:]
    ds = data.pipeline(data.load(dataset, split, **load_options), image_size=(height, width), batch_size=batch_size,
                       training=False, preprocess=preprocessing, channels=channels)
    summary = task.evaluate(model, ds, data.info(dataset).class_names)
    images = sum(int(batch[0].shape[0]) for batch in ds)
    metric = HEADLINE_METRICS[task.name]
    return metric, float(summary[metric]), images


def _measure(model, config):
    """``(manifest key, value, images)`` of the exported model on the full test split."""
    task = config.get("task") or {"name": "classification"}
    if task.get("name") == "classification":
        accuracy, samples = measure_accuracy(model, config["dataset"], "test", config["preprocessing"])
        return "test_accuracy", accuracy, samples
    metric, value, samples = measure_task_metric(model, task, config["dataset"], "test", config["preprocessing"])
    return f"test_{metric}", value, samples


def _classes(trained, config):
    """Object classes of a detector (its task records them), else the output width."""
    recorded = (config.get("task") or {}).get("num_classes")
    return int(recorded) if recorded else int(trained.output_shape[-1])


def _any_size(model_name, channels, classes):
    """Whether ``model_name`` with its top builds for any input size (fully convolutional)."""
    import keras

    from keras_cv_course.models import get_model

    try:
        with keras.StatelessScope():
            get_model(model_name, input_shape=(None, None, channels), classes=classes)
    except ValueError:
        return False
    return True


def export_weights(run_dir, *, model_name, weights_name, directory=None):
    """Copy the run's last model into ``directory`` and record it in the manifest;
    returns the manifest entry."""
    import keras

    import keras_cv_course.training.schedules  # noqa: F401 - registered schedules inside the checkpoint
    from keras_cv_course.models import get_model, model_info
    from keras_cv_course.models import trained_weights

    directory = directory or trained_weights.weights_dir()
    with open(os.path.join(run_dir, "report.json")) as handle:
        config = json.load(handle)["config"]
    trained = keras.models.load_model(os.path.join(run_dir, "last.keras"))
    fname = f"{model_name}_{weights_name}.weights.h5"
    path = os.path.join(directory, fname)
    os.makedirs(directory, exist_ok=True)
    # Through an uncompiled twin, so the file holds the layers' weights only
    # (a compiled model's file also carries the optimizer's slots).
    classes = _classes(trained, config)
    clean = get_model(model_name, input_shape=tuple(trained.input_shape[1:]), classes=classes)
    clean.set_weights(trained.get_weights())
    clean.save_weights(path)
    rebuilt = get_model(model_name, weights=path, input_shape=tuple(trained.input_shape[1:]), classes=classes)
    metric, value, samples = _measure(rebuilt, config)
    entry = {
        "name": weights_name,
        "model": model_name,
        "file": fname,
        "sha256": trained_weights.sha256_of(path),
        "bytes": os.path.getsize(path),
        "dataset": config["dataset"],
        "train_samples": config["train_samples"],
        "input_shape": list(trained.input_shape[1:]),
        "classes": classes,
        "fixed_size": not _any_size(model_name, trained.input_shape[-1], classes),
        "task": (config.get("task") or {}).get("name", "classification"),
        "preprocessing": config["preprocessing"],
        metric: round(value, 4),
        "test_samples": samples,
        "train_seconds": config.get("train_seconds"),
        "params": model_info(model_name).params,
        "command": config["command"],
    }
    manifest_path = os.path.join(directory, trained_weights.MANIFEST)
    manifest = trained_weights.read_manifest(directory)
    manifest.setdefault("about", "Weights trained by this project; see keras_cv_course/models/trained_weights.py. "
                                 "test_accuracy is measured on the full test split by keras_cv_course.training.export.")
    manifest["weights"] = [e for e in manifest.get("weights", [])
                           if not (e.get("model") == model_name and e.get("name") == weights_name)] + [entry]
    with open(manifest_path, "w") as handle:
        json.dump(manifest, handle, indent=1)
        handle.write("\n")
    return entry


def main(argv=None):
    parser = argparse.ArgumentParser(description="publish a run's model into weights/ with a manifest entry")
    parser.add_argument("run_dir")
    parser.add_argument("--model", required=True, help="registered model name the weights are for")
    parser.add_argument("--name", default="fashion_mnist", help="weights name (get_model(..., weights=NAME))")
    parser.add_argument("--directory", default=None, help="default: the repository's weights/ folder")
    args = parser.parse_args(argv)
    entry = export_weights(args.run_dir, model_name=args.model, weights_name=args.name, directory=args.directory)
    print(json.dumps(entry, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
