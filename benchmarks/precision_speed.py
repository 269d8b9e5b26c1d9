"""float32 against mixed_bfloat16 on this machine, in one run:

1. train-step and inference images/s of LeNet-5, fashion_cnn (batch 256,
   28×28), ResNet-50 and MobileNetV2 (batch 8, 128×128 by default), both
   policies without and with XLA, timed in alternating rounds (``kcc bench``'s
   protocol, ``keras_cv_course.bench.measure``), with the bfloat16/float32 ratios;
2. the Fashion-MNIST test accuracy of fashion_cnn trained by ``training.fit``
   both ways with the same seed and epochs (each policy with the XLA setting
   ``precision`` finds fastest for it here), and the float32 seed-to-seed
   spread (``--seeds`` runs) the difference is judged against.

    python benchmarks/precision_speed.py                      # both parts
    python benchmarks/precision_speed.py --skip-training      # speeds only
    python benchmarks/precision_speed.py --seeds 0 1 2 --epochs 3

On a CPU without AVX-512 BF16 or AMX (``precision.hardware_precision()`` says
"float32"), TensorFlow computes bfloat16 without hardware support, and the
ratios show what that costs; ``precision``'s "auto" stays float32 there.
Mixed precision: Micikevicius et al. 2018; bfloat16 training: Kalamkar et al. 2019.
"""

import argparse
import csv
import os
import shutil
import sys

SPEED_MODELS = ("lenet5", "fashion_cnn", "resnet50", "mobilenet_v2")
POLICIES = ("float32", "mixed_bfloat16")
LARGE_SIZE = 128  # ResNet-50 and MobileNetV2 at 128×128 (2 CPU cores)


def speed_table(rounds, large_size, jit_choices):
    """{model: {"input", "batch", combination: {"train": img/s, "inference": img/s}}},
    a model's combinations (policy × XLA) timed in alternating rounds."""
    from keras_cv_course import bench, precision

    table = {}
    for name in SPEED_MODELS:
        configs = bench.measure([name], POLICIES, jit_choices, image_size=bench.reduced_size(name, large_size),
                                rounds=rounds,
                                log=lambda line: print("  " + line, flush=True))
        table[name] = {precision.combination(c.precision, c.jit_compile):
                       {mode: c.images_per_second(mode) for mode in ("train", "inference")} for c in configs}
        table[name].update(input="×".join(map(str, configs[0].input_shape)), batch=configs[0].batch)
    return table


def format_speeds(table, jit_choices):
    """A markdown table: per model and mode, float32 and bf16 images/s and their
    ratio, without XLA and (where timed) with it."""
    suffixes = ["+xla" if jit else "" for jit in jit_choices]
    columns = [(mode, suffix) for mode in ("train", "inference") for suffix in suffixes]
    header = "| model | input | batch | " + " | ".join(
        f"{mode}{' XLA' if suffix else ''} f32 | bf16 | ×" for mode, suffix in columns) + " |"
    lines = [header, "|---|---|---:|" + "---:|" * (3 * len(columns))]
    for name, row in table.items():
        cells = [name, row["input"], str(row["batch"])]
        for mode, suffix in columns:
            f32, bf16 = row["float32" + suffix][mode], row["mixed_bfloat16" + suffix][mode]
            cells += [f"{f32:.1f}", f"{bf16:.1f}", f"{bf16 / f32:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def train_fashion_cnn(policy, seed, epochs, root):
    """Test accuracy, training seconds and XLA setting of fashion_cnn trained in ``policy``."""
    from keras_cv_course import training

    run_dir = os.path.join(root, f"fashion_cnn-{policy}-seed{seed}")
    shutil.rmtree(run_dir, ignore_errors=True)
    result = training.fit("fashion_cnn", "fashion_mnist", epochs=epochs, batch_size=256, learning_rate=6e-3,
                          optimizer="adam", schedule="onecycle", seed=seed, run_dir=run_dir, precision=policy,
                          jit_compile="auto", verbose=0)
    with open(os.path.join(run_dir, "history.csv"), newline="") as handle:
        last = list(csv.DictReader(handle))[-1]
    return {"policy": policy, "seed": seed, "jit_compile": result.model.jit_compile,
            "test_accuracy": float(last["val_accuracy"]), "train_seconds": float(last["train_seconds"])}


def accuracy_lines(results):
    """The runs' table and the verdict: bf16 minus float32 at the same seed,
    against the float32 seeds' max - min."""
    lines = ["| policy | XLA | seed | test accuracy | train s |", "|---|---|---:|---:|---:|"]
    lines += [f"| {r['policy']} | {'on' if r['jit_compile'] is True else 'off'} | {r['seed']} | "
              f"{r['test_accuracy']:.4f} | {r['train_seconds']:.1f} |" for r in results]
    f32 = {r["seed"]: r["test_accuracy"] for r in results if r["policy"] == "float32"}
    bf16 = {r["seed"]: r["test_accuracy"] for r in results if r["policy"] == "mixed_bfloat16"}
    spread = max(f32.values()) - min(f32.values())
    for seed, accuracy in bf16.items():
        difference = accuracy - f32[seed]
        verdict = "within" if abs(difference) <= spread else "OUTSIDE"
        lines.append(f"seed {seed}: bfloat16 - float32 = {100 * difference:+.2f} points, {verdict} the float32 "
                     f"seed-to-seed spread of {100 * spread:.2f} points ({len(f32)} seeds)")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--large-size", type=int, default=LARGE_SIZE, help="input side of ResNet-50 and MobileNetV2")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="float32 seeds; bf16 trains the first")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--no-xla", action="store_true", help="time without XLA only")
    parser.add_argument("--runs", default=os.path.join("runs", "precision_speed"))
    args = parser.parse_args(argv)
    if not args.skip_training and len(set(args.seeds)) < 2:
        parser.error(f"--seeds needs two or more distinct seeds for a spread; got {args.seeds}")

    from keras_cv_course import precision

    print(f"CPU: {precision.machine_key()}; hardware 16-bit policy: {precision.hardware_precision()}", flush=True)
    print("images/s, float32 vs mixed_bfloat16, medians of alternating rounds:", flush=True)
    jit_choices = [False] if args.no_xla else [False, True]
    speeds = format_speeds(speed_table(args.rounds, args.large_size, jit_choices), jit_choices)
    if not args.skip_training:
        results = []
        for policy, seed in [("float32", s) for s in args.seeds] + [("mixed_bfloat16", args.seeds[0])]:
            print(f"training fashion_cnn [{policy}, seed {seed}, {args.epochs} epochs]", flush=True)
            results.append(train_fashion_cnn(policy, seed, args.epochs, args.runs))
            print(f"  test accuracy {results[-1]['test_accuracy']:.4f}, {results[-1]['train_seconds']:.1f} s", flush=True)
    print()
    print(speeds)
    if not args.skip_training:
        print()
        print(f"fashion_cnn on Fashion-MNIST, {args.epochs} epochs, batch 256, Adam 6e-3 one-cycle:")
        print("\n".join(accuracy_lines(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
