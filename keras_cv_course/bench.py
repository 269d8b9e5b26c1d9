"""``kcc bench``: images/s of registered models on this machine, float32 against
bfloat16 (and XLA against none), with the share of the machine's peak FLOP/s.

    kcc bench                                   # lenet5 fashion_cnn resnet50 mobilenet_v2
    kcc bench resnet18 --image-size 128 --batch-size 8 --png bench.png
    kcc bench --write-choices                   # measure one model per family; write precision's cpu_choices.json

Each model is built at its registered default input size (``--image-size``
overrides it) once per configuration (precision × jit_compile); every
configuration gets one untimed call of each mode (tracing, compilation), then
the timed rounds alternate the configurations, their order rotated each round,
so slow phases of a shared machine hit all of them alike. Figures are medians
over the rounds:

- ``inference``: ``model.predict_on_batch`` (the compiled predict function);
- ``train``: ``model.train_on_batch`` of SGD on sparse cross-entropy (one step).

The share of peak is FLOPs per image (``models.complexity``: 2 × MACs for
inference, 3 × that for a training step: forward, and the two products of the
backward pass) × images/s over the machine's peak: the FLOP/s of a
2048×2048 matrix product in the same dtype, measured here (``peak_flops``).

``--write-choices`` writes the ratios that ``precision`` reads for "auto":
every combination of float32 / mixed_bfloat16 and XLA on / off against float32
without XLA, train and inference, per model, under this machine's key
(``precision.machine_key``); other machines' entries and models measured
before stay.
"""

import functools
import json
import os
import statistics
import time

DEFAULT_MODELS = ("lenet5", "fashion_cnn", "resnet50", "mobilenet_v2")
# One classifier per family the choices file speaks for (the detectors and
# segmenters take their backbone's figures only where a family matches).
CHOICE_MODELS = ("lenet5", "fashion_cnn", "fashion_cnn_wide", "alexnet", "vgg11", "nin", "googlenet", "inception_v3",
                 "resnet50", "densenet121", "squeezenet1_1", "mobilenet_v2", "efficientnet_b0")
CHOICE_SIZE = 128  # the ImageNet classifiers are timed at 128×128 for --write-choices (2 CPU cores)


def add_commands(subparsers):
    from keras_cv_course.cli import positive_int

    bench = subparsers.add_parser("bench", help="images/s of models here, float32 vs bfloat16, and share of peak FLOP/s")
    bench.add_argument("models", nargs="*", help=f"registered models (default: {' '.join(DEFAULT_MODELS)})")
    bench.add_argument("--precision", nargs="+", default=None,
                       help="policies to compare (default: float32 and the hardware's 16-bit one)")
    bench.add_argument("--jit-compile", nargs="+", choices=("true", "false"), default=["false"],
                       help="XLA settings to compare (default: false)")
    bench.add_argument("--batch-size", type=positive_int, default=None,
                       help="default 256 for 28×28 models, 8 for larger ones")
    bench.add_argument("--image-size", type=positive_int, default=None, help="square input side (default: the model's)")
    bench.add_argument("--rounds", type=positive_int, default=5)
    bench.add_argument("--steps", type=positive_int, default=None, help="calls of each mode per round (default: "
                                                                        "about a second's worth)")
    bench.add_argument("--png", default="bench.png", help="bar chart of the table ('' for none)")
    bench.add_argument("--json", default=None, help="write the figures as JSON")
    bench.add_argument("--write-choices", action="store_true",
                       help=f"measure {', '.join(CHOICE_MODELS)} (ImageNet nets at {CHOICE_SIZE}×{CHOICE_SIZE}) with "
                            "and without bfloat16 and XLA, and write keras_cv_course/cpu_choices.json")
    bench.set_defaults(func=run_bench)


@functools.cache
def peak_flops(dtype, size=2048, seconds=1.0):
    """Measured FLOP/s of a ``size``×``size`` matrix product in ``dtype`` (the best of about ``seconds``)."""
    import keras
    import numpy as np

    a = keras.ops.convert_to_tensor(np.random.default_rng(0).random((size, size)), dtype=dtype)
    def product():  # one element back to numpy (waits for the product; bfloat16 has no numpy type)
        return keras.ops.convert_to_numpy(keras.ops.cast(keras.ops.matmul(a, a)[0, 0], "float32"))

    product()
    best, spent = float("inf"), 0.0
    while spent < seconds:
        start = time.perf_counter()
        product()
        elapsed = time.perf_counter() - start
        best, spent = min(best, elapsed), spent + elapsed
    return 2 * size**3 / best


class Config:
    """One model built in one precision, compiled with one jit setting, and its timings."""

    def __init__(self, name, precision, jit_compile, *, image_size, batch_size):
        import keras
        import numpy as np

        from keras_cv_course import precision as precision_lib
        from keras_cv_course.models import get_model, model_info

        info = model_info(name)
        height, width, channels = info.input_shape
        if image_size:
            height = width = image_size
        with precision_lib.policy_scope(precision):
            self.model = get_model(name, weights=None, input_shape=(height, width, channels))
        self.model.compile(optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy",
                           jit_compile=jit_compile)
        self.name, self.precision, self.jit_compile = name, precision, jit_compile
        self.batch = batch_size or (256 if height <= 32 else 8)
        rng = np.random.default_rng(0)
        self.images = rng.random((self.batch, height, width, channels)).astype("float32")
        self.labels = rng.integers(0, self.model.output_shape[-1], self.batch)
        self.input_shape = (height, width, channels)
        self.timings = {"inference": [], "train": []}

    def warm_up(self):
        self.model.predict_on_batch(self.images)
        self.model.train_on_batch(self.images, self.labels)

    def time_round(self, steps):
        for mode, call in (("inference", lambda: self.model.predict_on_batch(self.images)),
                           ("train", lambda: self.model.train_on_batch(self.images, self.labels))):
            start = time.perf_counter()
            for _ in range(steps):
                call()
            self.timings[mode].append(steps * self.batch / (time.perf_counter() - start))

    def images_per_second(self, mode):
        return statistics.median(self.timings[mode])


def reduced_size(name, side):
    """``side`` for a model whose default input is larger than 32×32 (the
    ImageNet nets, timed smaller on a CPU), else None (its own size)."""
    from keras_cv_course.models import model_info

    return side if model_info(name).input_shape[0] > 32 else None


def flops_per_image(name, input_shape):
    """Inference FLOPs of one image of ``name`` at ``input_shape`` (``models.complexity``)."""
    from keras_cv_course.models import get_model
    from keras_cv_course.models.complexity import count_flops

    return count_flops(get_model(name, weights=None, input_shape=input_shape)).flops


def measure(names, precisions, jit_choices, *, image_size=None, batch_size=None, rounds=5, steps=None, log=print):
    """The ``Config`` of every model × precision × jit setting, timed over
    ``rounds`` alternating rounds (see the module docstring)."""
    configs = []
    for name in names:
        for precision in precisions:
            for jit in jit_choices:
                log(f"building {name} [{precision}, jit_compile={jit}]")
                config = Config(name, precision, jit, image_size=image_size, batch_size=batch_size)
                config.warm_up()
                configs.append(config)
    for config in configs:
        config.steps = steps or _steps_for_a_second(config)
    for round_index in range(rounds):
        shift = round_index % len(configs)
        for config in configs[shift:] + configs[:shift]:
            config.time_round(config.steps)
        log(f"round {round_index + 1}/{rounds} done")
    return configs


def _steps_for_a_second(config):
    start = time.perf_counter()
    config.model.train_on_batch(config.images, config.labels)
    return max(1, min(50, round(1.0 / max(time.perf_counter() - start, 1e-4))))


def rows(configs, peaks):
    """The table's rows: one per configuration, with images/s, the share of the
    peak of its compute dtype and the ratio to the model's float32 no-XLA row."""
    flops, table = {}, []
    for config in configs:
        key = (config.name, config.input_shape)
        if key not in flops:
            flops[key] = flops_per_image(config.name, config.input_shape)
        compute = _compute_dtype(config.precision)
        base = next((c for c in configs if c.name == config.name and c.precision == "float32" and not c.jit_compile),
                    None)
        row = {"model": config.name, "input": "×".join(map(str, config.input_shape)), "batch": config.batch,
               "precision": config.precision, "jit_compile": config.jit_compile, "gflops_per_image": flops[key] / 1e9}
        for mode, factor in (("inference", 1), ("train", 3)):
            speed = config.images_per_second(mode)
            row[f"{mode}_images_per_s"] = speed
            row[f"{mode}_peak_share"] = speed * factor * flops[key] / peaks[compute]
            row[f"{mode}_ratio"] = speed / base.images_per_second(mode) if base is not None else None
        table.append(row)
    return table


def format_rows(table, peaks):
    lines = ["peak (2048² matmul): " + ", ".join(f"{dtype} {value / 1e9:.0f} GFLOP/s" for dtype, value in peaks.items()),
             "| model | input | batch | precision | XLA | inference img/s | × | % peak | train img/s | × | % peak |",
             "|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|"]
    for row in table:
        cells = [row["model"], row["input"], str(row["batch"]), row["precision"], "on" if row["jit_compile"] else "off"]
        for mode in ("inference", "train"):
            ratio = row[f"{mode}_ratio"]
            cells += [f"{row[f'{mode}_images_per_s']:.1f}", "-" if ratio is None else f"{ratio:.2f}",
                      f"{100 * row[f'{mode}_peak_share']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(table, path):
    """Train and inference images/s of each configuration, bars per model (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    models = list(dict.fromkeys(row["model"] for row in table))
    variants = list(dict.fromkeys((row["precision"], row["jit_compile"]) for row in table))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.8 / len(variants)
    for axis, mode in zip(axes, ("train", "inference")):
        for index, variant in enumerate(variants):
            values = [next((r[f"{mode}_images_per_s"] for r in table if r["model"] == m
                            and (r["precision"], r["jit_compile"]) == variant), 0) for m in models]
            shares = [next((r[f"{mode}_peak_share"] for r in table if r["model"] == m
                            and (r["precision"], r["jit_compile"]) == variant), 0) for m in models]
            positions = np.arange(len(models)) + index * width
            bars = axis.bar(positions, values, width, label=f"{variant[0]}" + (" + XLA" if variant[1] else ""))
            for bar, share in zip(bars, shares):
                axis.annotate(f"{100 * share:.0f}%", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                              ha="center", va="bottom", fontsize=7)
        axis.set_xticks(np.arange(len(models)) + 0.4 - width / 2, models, rotation=20)
        axis.set_yscale("log")
        axis.set_title(f"{mode} images/s (label: % of peak FLOP/s)")
        axis.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def choices(table, cpu):
    """The ``precision.cpu_choices.json`` entry of a ``--write-choices`` table:
    per model, for train and inference, each measured combination's images/s
    over float32 without XLA."""
    from keras_cv_course import precision as precision_lib
    from keras_cv_course.models import model_info

    models = {}
    for name in dict.fromkeys(row["model"] for row in table):
        mine = [row for row in table if row["model"] == name]
        base = next(row for row in mine if row["precision"] == "float32" and not row["jit_compile"])
        models[name] = {"family": model_info(name).family}
        for mode in ("train", "inference"):
            models[name][mode] = {precision_lib.combination(row["precision"], row["jit_compile"]):
                                  round(row[f"{mode}_images_per_s"] / base[f"{mode}_images_per_s"], 3) for row in mine}
    return {"cpu": cpu, "cores": os.cpu_count(), "command": "kcc bench --write-choices", "models": models}


def _compute_dtype(precision):
    import keras

    return keras.dtype_policies.get(precision).compute_dtype


def run_bench(args):
    from keras_cv_course import precision as precision_lib

    native = precision_lib.hardware_precision()
    precisions = args.precision or (["float32"] + ([native] if native != "float32" else []))
    for name in precisions:
        precision_lib.check_precision(name)
    jit = [value == "true" for value in args.jit_compile]
    names, image_size = args.models or list(DEFAULT_MODELS), args.image_size
    if args.write_choices:
        import keras

        if keras.backend.backend() != "tensorflow":
            raise SystemExit(f"kcc bench --write-choices measures TensorFlow's choices (precision reads them only "
                             f"there); the Keras backend is {keras.backend.backend()!r}")
        names = args.models or list(CHOICE_MODELS)
        precisions, jit = ["float32", "mixed_bfloat16"], [False, True]
    table = []
    for name in names:  # one model at a time: its configurations alternate with each other
        size = image_size or (reduced_size(name, CHOICE_SIZE) if args.write_choices else None)
        configs = measure([name], precisions, jit, image_size=size, batch_size=args.batch_size, rounds=args.rounds,
                          steps=args.steps, log=lambda line: print(line, flush=True))
        table += rows(configs, _peaks(configs))
    peaks = {dtype: peak_flops(dtype) for dtype in sorted({_compute_dtype(row["precision"]) for row in table})}
    print(format_rows(table, peaks))
    if args.png:
        plot(table, args.png)
        print(f"chart: {args.png}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"peaks": peaks, "rows": table}, handle, indent=1)
    if args.write_choices:
        entry = choices(table, precision_lib.cpu_name())
        entry["models"] = {**precision_lib.measured_choices()["models"], **entry["models"]}
        precision_lib.write_choices(entry)
        print(f"wrote {precision_lib.machine_key()}'s figures into {precision_lib.CHOICES_FILE}")
    return 0


def _peaks(configs):
    """{compute dtype: peak FLOP/s} of the dtypes ``configs`` compute in."""
    dtypes = {_compute_dtype(config.precision) for config in configs}
    return {dtype: peak_flops(dtype) for dtype in sorted(dtypes)}
