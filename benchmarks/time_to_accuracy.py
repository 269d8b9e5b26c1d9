"""Time-to-accuracy on the full Fashion-MNIST (60,000 train, 10,000 test images)
on this machine's CPU: seconds of training until the test accuracy first reaches
91%, 92%, 93% and 94%, and the final test accuracy, for

- ``plain_keras_lenet5``: a plain ``keras.Sequential`` LeNet-5 script (the same
  layers as ``lenet5``, Adam 1e-3, batch 128, numpy arrays into ``model.fit``);
- ``lenet5``, ``fashion_cnn`` (the small fast model), ``fashion_vgg`` and
  ``fashion_cnn_wide`` (the accuracy model) trained by ``kcc train`` (their
  commands are printed and are the ones weights/manifest.json records).

It ends with the targets, checked on these runs: >= 92% test accuracy within
60 s of training for a small model (<= 500k parameters); >= 94% for the deeper
model (``fashion_cnn_wide``); and for any model 93% within 60 s, 94% within
10 minutes, 95% within an hour (``TIME_TARGETS``). Seconds depend on the CPU:
the plain Keras LeNet-5 of the same run is the yardstick.

Training seconds exclude the per-epoch test evaluation (``train_seconds`` of
history.csv; the plain script measures the same way). Accuracy is checked once
per epoch, so "seconds to X%" is the training time at the end of the first epoch
whose test accuracy is >= X%.

    python benchmarks/time_to_accuracy.py                 # train all three, print the table
    python benchmarks/time_to_accuracy.py --reuse         # read finished runs in runs/bench/ instead
    python benchmarks/time_to_accuracy.py --only plain_keras_lenet5

Runs live in ``runs/bench/<name>``; ``kcc train`` runs resume there when
interrupted.
"""

import argparse
import csv
import os
import subprocess
import sys
import time

ROOT = os.path.join("runs", "bench")
KCC_RUNS = {
    "lenet5": "kcc train lenet5 --dataset fashion_mnist --epochs 10 --batch-size 128 --lr 3e-3 --optimizer adam "
              "--schedule onecycle --seed 0 --run-dir runs/bench/lenet5",
    "fashion_cnn": "kcc train fashion_cnn --dataset fashion_mnist --epochs 3 --batch-size 128 --lr 5e-3 --optimizer adam "
                   "--schedule onecycle --seed 0 --run-dir runs/bench/fashion_cnn",
    "fashion_vgg": "kcc train fashion_vgg --dataset fashion_mnist --epochs 15 --batch-size 128 --lr 0.003 --optimizer adam "
                   "--schedule onecycle --strategy auto --seed 0 --run-dir runs/bench/fashion_vgg --augment fashion",
    "fashion_cnn_wide": "kcc train fashion_cnn_wide --dataset fashion_mnist --epochs 36 --batch-size 128 --lr 3e-3 "
                        "--optimizer adam --schedule onecycle --seed 0 --augment fashion --run-dir runs/bench/fashion_cnn_wide",
}
PLAIN_EPOCHS = 10
THRESHOLDS = (0.91, 0.92, 0.93, 0.94)
SMALL_PARAMS = 500_000
SMALL_TARGET = (0.92, 60.0)  # accuracy within seconds of training
DEEP_MODEL, DEEP_TARGET = "fashion_cnn_wide", 0.94
# Any model, seconds of training: 93% in a minute, 94% in ten, 95% in an hour (the stretch).
TIME_TARGETS = ((0.93, 60.0), (0.94, 600.0), (0.95, 3600.0))


def plain_lenet5_model():
    """The plain script's network: a keras.Sequential LeNet-5 as the course writes it."""
    import keras

    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(6, 5, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(16, 5, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(120, activation="relu"),
        keras.layers.Dense(84, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])


def plain_keras_lenet5(run_dir, epochs=PLAIN_EPOCHS, batch_size=128):
    """The plain Keras script: Sequential LeNet-5 on numpy arrays."""
    import keras
    import numpy as np

    from keras_cv_course import data

    x_train, y_train = data.load_arrays("fashion_mnist", "train")
    x_test, y_test = data.load_arrays("fashion_mnist", "test")
    x_train, x_test = x_train.astype("float32") / 255.0, x_test.astype("float32") / 255.0
    keras.utils.set_random_seed(0)
    model = plain_lenet5_model()
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    rows, total = [], 0.0
    for epoch in range(epochs):
        start = time.perf_counter()
        model.fit(x_train, y_train, batch_size=batch_size, epochs=1, shuffle=True, verbose=0)
        total += time.perf_counter() - start
        _, accuracy = model.evaluate(x_test, y_test, batch_size=1024, verbose=0)
        rows.append({"epoch": epoch, "train_seconds": total, "val_accuracy": float(accuracy)})
        print(f"plain_keras_lenet5 epoch {epoch + 1}/{epochs}: test accuracy {accuracy:.4f}, {total:.1f}s", flush=True)
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, "history.csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["epoch", "train_seconds", "val_accuracy"])
        writer.writeheader()
        writer.writerows(rows)
    return rows, model.count_params()


def read_history(run_dir):
    with open(os.path.join(run_dir, "history.csv"), newline="") as handle:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(handle)]


def time_to(rows, threshold):
    for row in rows:
        if row["val_accuracy"] >= threshold:
            return row["train_seconds"]
    return None


def run_kcc(name, reuse):
    run_dir = os.path.join(ROOT, name)
    if not (reuse and os.path.exists(os.path.join(run_dir, "report.json"))):
        command = KCC_RUNS[name].split() + ["--resume"]
        print("$ " + " ".join(command), flush=True)
        subprocess.run([sys.executable, "-m", "keras_cv_course.cli"] + command[1:], check=True)
    return read_history(run_dir)


def params_of(name):
    from keras_cv_course.models import model_info

    return model_info(name).params


def table(results):
    header = ("model", "params", "epochs", "s/epoch", *(f"s to {t:.0%}" for t in THRESHOLDS), "final test acc", "best test acc")
    lines = [header]
    for name, (rows, params) in results.items():
        cells = [name, f"{params:,}", str(len(rows)), f"{rows[-1]['train_seconds'] / len(rows):.1f}"]
        for threshold in THRESHOLDS:
            seconds = time_to(rows, threshold)
            cells.append("not reached" if seconds is None else f"{seconds:.0f}")
        cells.append(f"{rows[-1]['val_accuracy']:.4f}")
        cells.append(f"{max(r['val_accuracy'] for r in rows):.4f}")
        lines.append(tuple(cells))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)) for line in lines]
    text.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(text)


def target_lines(results):
    """The issue's two targets, judged on ``results``: met or not, and by what."""
    accuracy, seconds = SMALL_TARGET
    small = {name: time_to(rows, accuracy) for name, (rows, params) in results.items() if params <= SMALL_PARAMS}
    reached = {name: t for name, t in small.items() if t is not None and t <= seconds}
    if reached:
        best = min(reached, key=reached.get)
        verdict = f"met by {best} ({reached[best]:.0f} s)"
    else:
        verdict = "NOT met (" + ", ".join(f"{n}: {'never' if t is None else f'{t:.0f} s'}" for n, t in small.items()) + ")"
    lines = [f"target >= {accuracy:.0%} within {seconds:.0f} s, model <= {SMALL_PARAMS:,} params: {verdict}"]
    if DEEP_MODEL in results:
        final = results[DEEP_MODEL][0][-1]["val_accuracy"]
        lines.append(f"target >= {DEEP_TARGET:.0%} for the deeper model: {'met' if final >= DEEP_TARGET else 'NOT met'} "
                     f"by {DEEP_MODEL} (final test accuracy {final:.4f})")
    return lines + [time_target_line(results, accuracy, seconds) for accuracy, seconds in TIME_TARGETS]


def time_target_line(results, accuracy, seconds):
    """Whether any model of ``results`` reaches ``accuracy`` within ``seconds`` of
    training; else which comes closest (soonest to it, or the best accuracy)."""
    reached = {name: time_to(rows, accuracy) for name, (rows, _) in results.items()}
    reached = {name: t for name, t in reached.items() if t is not None}
    head = f"target >= {accuracy:.0%} within {seconds:.0f} s, any model: "
    if reached:
        soonest = min(reached, key=reached.get)
        if reached[soonest] <= seconds:
            return head + f"met by {soonest} ({reached[soonest]:.0f} s)"
        return head + f"NOT met (soonest: {soonest} at {reached[soonest]:.0f} s)"
    best = max(results, key=lambda name: max(row["val_accuracy"] for row in results[name][0]))
    top = max(row["val_accuracy"] for row in results[best][0])
    return head + f"NOT met (never reached; best {best} at {top:.4f})"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse", action="store_true", help="read finished runs in runs/bench instead of training")
    parser.add_argument("--only", choices=["plain_keras_lenet5"] + list(KCC_RUNS), action="append")
    args = parser.parse_args(argv)
    names = args.only or ["plain_keras_lenet5"] + list(KCC_RUNS)
    results = {}
    for name in names:
        if name == "plain_keras_lenet5":
            run_dir = os.path.join(ROOT, name)
            if args.reuse and os.path.exists(os.path.join(run_dir, "history.csv")):
                from keras_cv_course.models import model_info

                results[name] = (read_history(run_dir), model_info("lenet5").params)
            else:
                results[name] = plain_keras_lenet5(run_dir)
        else:
            results[name] = (run_kcc(name, args.reuse), params_of(name))
    print()
    print(f"Time to accuracy on Fashion-MNIST (test set), {os.cpu_count()} CPU cores:")
    print(table(results))
    print()
    print("\n".join(target_lines(results)))
    for name in names:
        if name in KCC_RUNS:
            print(f"{name}: {KCC_RUNS[name]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
