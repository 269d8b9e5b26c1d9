"""Publish a run's trained model into the project's ``weights/`` folder.

    python -m keras_cv_course.training.export runs/bench/lenet5 --model lenet5 --name fashion_mnist

writes ``weights/lenet5_fashion_mnist.weights.h5`` (the run's *last* model — the
one its report evaluates on the test set), re-measures the test accuracy by
loading the file through ``get_model(model, weights=file)`` and evaluating it on
the full test split, and adds or replaces the entry in ``weights/manifest.json``
with the file's sha256, the dataset, the preprocessing, that accuracy and the
run's exact ``kcc train`` command.
"""

import argparse
import json
import os
import sys

import numpy as np


def measure_accuracy(model, dataset, split="test", preprocessing="unit", batch_size=512):
    """Top-1 accuracy of ``model`` on a dataset split (full pipeline, no augmentation)."""
    from keras_cv_course import data

    height, width, channels = model.input_shape[1:]
    ds = data.pipeline(data.load(dataset, split), image_size=(height, width), batch_size=batch_size,
                       training=False, preprocess=preprocessing, channels=channels)
    hits = total = 0
    for images, labels in ds:
        predicted = np.asarray(model(images, training=False)).argmax(axis=1)
        hits += int((predicted == np.asarray(labels)).sum())
        total += len(predicted)
    return hits / total, total


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
    clean = get_model(model_name, input_shape=tuple(trained.input_shape[1:]), classes=int(trained.output_shape[-1]))
    clean.set_weights(trained.get_weights())
    clean.save_weights(path)
    rebuilt = get_model(model_name, weights=path, input_shape=tuple(trained.input_shape[1:]))
    accuracy, samples = measure_accuracy(rebuilt, config["dataset"], "test", config["preprocessing"])
    entry = {
        "name": weights_name,
        "model": model_name,
        "file": fname,
        "sha256": trained_weights.sha256_of(path),
        "bytes": os.path.getsize(path),
        "dataset": config["dataset"],
        "train_samples": config["train_samples"],
        "input_shape": list(trained.input_shape[1:]),
        "classes": int(trained.output_shape[-1]),
        "preprocessing": config["preprocessing"],
        "test_accuracy": round(accuracy, 4),
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
