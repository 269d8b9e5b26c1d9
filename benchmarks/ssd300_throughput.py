"""Inference throughput of our SSD300 beside torchvision's ssd300_vgg16, in one run.

    python benchmarks/ssd300_throughput.py --batch 8 --steps 5 --repeats 3 --threads 2

Both networks are SSD300 on VGG-16 with 90 object classes + background (ours
``models.get_model("ssd300_vgg16", classes=90)``, torchvision's
``ssd300_vgg16(weights=None, weights_backbone=None, num_classes=91)``): the same
layout, 35,641,826 parameters each (checked; the run stops on a mismatch). No
download: torchvision's random initialisation is copied into ours layer by layer
(``--same-weights``, the default), so both compute the same numbers — the
network outputs are compared before timing — and the postprocessing of both
sees the same scores, hence the same amount of NMS work.

Two rows, each images/s (median of the repeats) of both and ours/torchvision:

- ``network``: the forward pass only, on the same preprocessed batch (B, 300,
  300, 3) (NCHW for torch). Ours: a ``tf.function`` of ``model(x,
  training=False)`` (``--keras-call function``, default) or the compiled Keras
  ``predict_on_batch`` (``--keras-call predict``). torchvision:
  ``model.head(list(model.backbone(x).values()))`` under
  ``torch.inference_mode()``: the raw head outputs, without its transform
  (normalisation, resize), anchor generation and postprocessing.
- ``end-to-end``: 0..255 RGB images in, detections out. Ours: ``preprocess_input(x,
  "caffe")`` and the network (in the same call as above), then
  ``head_for_model(model).decode(outputs)`` (softmax, box decoding, per-class top
  400, NMS at 0.45, 200 a picture; numpy + eager TensorFlow, as ``kcc predict``).
  torchvision: ``model.eval()(images)`` on a list of (3, 300, 300) [0, 1] tensors:
  its GeneralizedRCNNTransform (normalise, resize to 300), backbone, head,
  DefaultBoxGenerator and ``postprocess_detections`` (the same thresholds: score
  0.01, top 400 per class, NMS 0.45, 200 a picture). The mean number of
  detections a picture is printed for both: with random weights the scores are
  near uniform (about 1/91 > 0.01), so nearly every candidate passes the score
  threshold and the NMS work is far above a trained model's; ``--score-threshold``
  (both sides) gives a lighter load.

``--torch-memory-format contiguous channels_last`` times torchvision twice, as
it comes (NCHW) and converted to ``torch.channels_last`` (a copy of the same
model), as separate sides with a ratio each: oneDNN convolutions are often
faster in channels_last on CPU, and ours runs NHWC.

Fairness: both sides run in this process with the same intra-op thread count
(``--threads``: ``torch.set_num_threads``, TF's intra-op pool, ``OMP_NUM_THREADS``)
and inter-op pools (``--interop-threads``, default 1 as ``kcc`` sets it); all of
it is set before TensorFlow and torch start. CUDA is hidden from both
(``CUDA_VISIBLE_DEVICES=-1``): this is a CPU benchmark. After the warm-up, the
repeats alternate (ours, torchvision, torchvision, ours, ...) so that load on
the machine and going first hit both alike. torch and torchvision are imported
before TensorFlow (importing torchvision after TensorFlow crashed with a
segmentation fault, torch 2.14.1 / TF 2.21). torch and torchvision are the
``reference`` extra (``pip install -e ".[reference]"``); without them the script
times ours only and says so.

Use small settings on a busy CPU, e.g. ``--batch 2 --steps 1 --repeats 1 --warmup 1``;
the figures are only meaningful on a quiet machine.
"""

import argparse
import json
import os
import shlex
import statistics
import sys
import time

EXPECTED_PARAMS = 35_641_826  # torchvision's ssd300_vgg16(num_classes=91); ours at classes=90
NUM_CLASSES = 90  # object classes; torchvision's num_classes=91 counts the background
MODES = ("network", "end-to-end")
TORCH_FORMATS = ("contiguous", "channels_last")


def usable_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--size", type=int, default=300, help="input height and width (SSD300: 300)")
    p.add_argument("--steps", type=int, default=5, help="timed calls per repeat")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--warmup", type=int, default=2, help="untimed calls per side and mode")
    p.add_argument("--threads", type=int, default=usable_cpus(), help="intra-op threads of both (default: usable CPUs)")
    p.add_argument("--interop-threads", type=int, default=1, help="inter-op threads of both (default 1, as kcc)")
    p.add_argument("--keras-call", choices=("function", "predict"), default="function",
                   help="ours: a tf.function of model(x) or the compiled predict_on_batch")
    p.add_argument("--jit", choices=("off", "on"), default="off", help="XLA for ours (jit_compile)")
    p.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    p.add_argument("--torch-memory-format", nargs="+", choices=TORCH_FORMATS, default=["contiguous"],
                   help="torchvision as it comes (contiguous NCHW) and/or converted to channels_last, timed as "
                        "separate sides")
    p.add_argument("--score-threshold", type=float, default=0.01,
                   help="postprocessing score threshold of both (their default 0.01)")
    p.add_argument("--same-weights", action=argparse.BooleanOptionalAction, default=True,
                   help="copy torchvision's random weights into ours (same outputs, same NMS work)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, help="also write the results here")
    args = p.parse_args(argv)
    for name in ("batch", "size", "steps", "repeats", "threads", "interop_threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.warmup < 0:
        p.error("--warmup must be >= 0")
    return args


def set_threads_before_start(args):
    """Thread counts and CPU-only, in the environment both runtimes read at start."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(args.threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = str(args.interop_threads)


def import_torch(args):
    """(torch, None) with torch's thread counts set, or (None, why torch/torchvision is missing)."""
    try:
        import torch
        import torchvision  # noqa: F401
        from torchvision.models.detection import ssd300_vgg16  # noqa: F401
    except ImportError as error:
        return None, f"{error}; pip install -e '.[reference]' (torch, torchvision)"
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(args.interop_threads)
    return torch, None


# ----------------------------------------------------------------------------- the two models


def build_ours(args):
    import keras
    import tensorflow as tf

    from keras_cv_course import models
    from keras_cv_course.detection.heads import head_for_model
    from keras_cv_course.preprocessing import preprocess_input

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.interop_threads)
    keras.utils.set_random_seed(args.seed)
    model = models.get_model("ssd300_vgg16", classes=NUM_CLASSES, input_shape=(args.size, args.size, 3))
    head = head_for_model(model)
    head.score_threshold = float(args.score_threshold)
    jit = args.jit == "on"
    if args.keras_call == "predict":
        model.compile(jit_compile=jit)
        network = model.predict_on_batch
        end_to_end_net = lambda images: model.predict_on_batch(preprocess_input(images, "caffe"))  # noqa: E731
    else:
        network = tf.function(lambda x: model(x, training=False), jit_compile=jit)
        end_to_end_net = tf.function(lambda images: model(preprocess_input(images, "caffe"), training=False),
                                     jit_compile=jit)
    return model, head, network, end_to_end_net


def build_torchvision(torch, args):
    from torchvision.models.detection import ssd300_vgg16

    torch.manual_seed(args.seed)
    model = ssd300_vgg16(weights=None, weights_backbone=None, num_classes=NUM_CLASSES + 1,
                         score_thresh=args.score_threshold).eval()
    if args.size != 300:  # its transform resizes every picture to the fixed 300×300 otherwise
        model.transform.min_size, model.transform.max_size = (args.size,), args.size
        model.transform.fixed_size = (args.size, args.size)
    return model


def torch_sides(torch, tv_model, formats):
    """{side name: model} for each memory format (``Module.to`` converts in place: a copy each)."""
    import copy

    sides = {}
    for memory_format in formats:
        if memory_format == "contiguous":
            sides["torchvision"] = tv_model
        else:
            sides["torchvision_channels_last"] = copy.deepcopy(tv_model).to(memory_format=torch.channels_last)
    return sides


def torch_input(torch, array, memory_format):
    tensor = torch.from_numpy(array)
    return tensor.contiguous(memory_format=torch.channels_last) if memory_format == "channels_last" else tensor


def _torch_convs(module):
    import torch

    return [m for m in module.modules() if isinstance(m, torch.nn.Conv2d)]


# ours' backbone convolutions in torchvision's module order (backbone.features, then backbone.extra)
OUR_BACKBONE = (["block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2"]
                + [f"block{b}_conv{i}" for b in (3, 4, 5) for i in (1, 2, 3)]
                + ["fc6", "fc7"] + [f"conv{n}_{i}" for n in (8, 9, 10, 11) for i in (1, 2)])


def copy_torchvision_weights(tv_model, model):
    """torchvision's weights into ours, layer by layer (the layouts are the same;
    conv kernels (O, I, kh, kw) → (kh, kw, I, O)); raises on any shape mismatch."""
    def put(layer_name, conv):
        layer = model.get_layer(layer_name)
        kernel = conv.weight.detach().numpy().transpose(2, 3, 1, 0)
        bias = conv.bias.detach().numpy()
        expected = [tuple(w.shape) for w in layer.weights]
        if expected != [kernel.shape, bias.shape]:
            raise ValueError(f"{layer_name}: ours {expected}, torchvision {[kernel.shape, bias.shape]}")
        layer.set_weights([kernel, bias])

    convs = _torch_convs(tv_model.backbone)
    if len(convs) != len(OUR_BACKBONE):
        raise ValueError(f"torchvision's backbone has {len(convs)} convolutions; ours {len(OUR_BACKBONE)}")
    for name, conv in zip(OUR_BACKBONE, convs):
        put(name, conv)
    model.get_layer("conv4_3_norm").set_weights([tv_model.backbone.scale_weight.detach().numpy()])
    heads = {"classes": tv_model.head.classification_head.module_list, "boxes": tv_model.head.regression_head.module_list}
    for kind, modules in heads.items():
        for i, conv in enumerate(modules):
            put(f"ssd_{kind}_{i}_conv", conv)


# ----------------------------------------------------------------------------- timing


def finish(result):
    """Make sure ``result`` is computed (numpy)."""
    import numpy as np

    if isinstance(result, dict):
        return {k: np.asarray(v) for k, v in result.items()}
    if isinstance(result, (list, tuple)):
        return [finish(r) for r in result]
    if hasattr(result, "detach"):
        return result.detach().numpy()
    return np.asarray(result)


def time_calls(call, steps):
    start = time.perf_counter()
    for _ in range(steps):
        result = call()
    finish(result)
    return time.perf_counter() - start


def measure(calls, args):
    """images/s per side: warm-up, then alternating repeats."""
    for call in calls.values():
        if args.warmup:
            time_calls(call, args.warmup)
    rates = {which: [] for which in calls}
    sides = list(calls)
    for repeat in range(args.repeats):
        order = sides if repeat % 2 == 0 else sides[::-1]
        for which in order:
            rates[which].append(args.steps * args.batch / time_calls(calls[which], args.steps))
    return rates


def torch_detections(outputs):
    return sum(len(o["scores"]) for o in outputs) / len(outputs)


def our_detections(decoded):
    import numpy as np

    return float(np.mean(np.sum(decoded["classes"] >= 0, axis=1)))


# ----------------------------------------------------------------------------- main


def main(argv=None):
    args = parse(argv)
    command = "python " + " ".join([sys.argv[0], *map(shlex.quote, sys.argv[1:] if argv is None else argv)])
    set_threads_before_start(args)
    torch, missing = import_torch(args)  # before TensorFlow: torchvision imported after it crashed

    import keras
    import numpy as np
    import tensorflow as tf

    from keras_cv_course.preprocessing import preprocess_input

    model, head, network, end_to_end_net = build_ours(args)
    params = {"ours": int(model.count_params())}
    tv_model = None
    if torch is not None:
        tv_model = build_torchvision(torch, args)
        params["torchvision"] = int(sum(p.numel() for p in tv_model.parameters()))
    if any(v != EXPECTED_PARAMS for v in params.values()):
        raise SystemExit(f"ssd300_throughput: expected {EXPECTED_PARAMS:,} parameters on both sides; got {params}")
    if tv_model is not None and args.same_weights:
        copy_torchvision_weights(tv_model, model)
    tv_sides = {} if tv_model is None else torch_sides(torch, tv_model, args.torch_memory_format)

    rng = np.random.default_rng(args.seed)
    raw = rng.uniform(0, 255, (args.batch, args.size, args.size, 3)).astype("float32")  # RGB, 0..255
    x = np.asarray(preprocess_input(raw, "caffe"), np.float32)  # the network input of both
    ours_input = x if args.keras_call == "predict" else tf.constant(x)
    ours_raw = raw if args.keras_call == "predict" else tf.constant(raw)

    versions = {"keras": keras.__version__, "tensorflow": tf.__version__}
    threads = (f"TF {tf.config.threading.get_intra_op_parallelism_threads()} intra / "
               f"{tf.config.threading.get_inter_op_parallelism_threads()} inter-op")
    if torch is not None:
        import torchvision

        versions.update(torch=torch.__version__, torchvision=torchvision.__version__)
        threads += f", torch {torch.get_num_threads()} / {torch.get_num_interop_threads()}"
    weights = "torchvision's copied into ours" if tv_sides and args.same_weights else "each side its own random"
    print(command)
    print(", ".join(f"{k} {v}" for k, v in versions.items()) + f"; threads: {threads}; CPU only")
    print(f"batch {args.batch}, input {args.size}x{args.size}, {args.steps} steps x {args.repeats} repeats, "
          f"warm-up {args.warmup}; ours: {args.keras_call} (jit_compile={args.jit == 'on'}); torchvision: "
          f"{', '.join(args.torch_memory_format) if torch is not None else '-'}; score threshold "
          f"{args.score_threshold}; weights: {weights}")
    print("parameters: " + ", ".join(f"{k} {v:,}" for k, v in params.items()) + f" (expected {EXPECTED_PARAMS:,})")
    if torch is None:
        print(f"torchvision missing: timing ours only ({missing})")

    report = {"command": command, "versions": versions, "batch": args.batch, "size": args.size, "steps": args.steps,
              "repeats": args.repeats, "warmup": args.warmup, "threads": args.threads,
              "interop_threads": args.interop_threads, "keras_call": args.keras_call, "jit": args.jit,
              "torch_memory_format": args.torch_memory_format if tv_sides else None,
              "score_threshold": args.score_threshold, "same_weights": bool(tv_sides and args.same_weights),
              "parameters": params, "torchvision_missing": missing, "results": {}}
    calls = {}
    if "network" in args.modes:
        calls["network"] = {"ours": lambda: network(ours_input)}
        ours_out = finish(network(ours_input))
        check = {}
        for side, tv in tv_sides.items():
            memory_format = "channels_last" if side.endswith("channels_last") else "contiguous"
            x_torch = torch_input(torch, np.ascontiguousarray(x.transpose(0, 3, 1, 2)), memory_format)

            def tv_network(tv=tv, x_torch=x_torch):
                with torch.inference_mode():
                    return tv.head(list(tv.backbone(x_torch).values()))

            calls["network"][side] = tv_network
            tv_out = finish(tv_network())
            for ours_key, tv_key in (("boxes", "bbox_regression"), ("classes", "cls_logits")):
                if ours_out[ours_key].shape != tv_out[tv_key].shape:
                    raise SystemExit(f"ssd300_throughput: {ours_key} ours {ours_out[ours_key].shape}, {side} "
                                     f"{tv_key} {tv_out[tv_key].shape}")
                check[f"{side}.{ours_key}"] = {
                    "shape": list(ours_out[ours_key].shape),
                    "max_abs_diff": float(np.max(np.abs(ours_out[ours_key] - tv_out[tv_key]))),
                    "max_abs": float(np.max(np.abs(tv_out[tv_key])))}
        if check:
            report["output_check"] = check
        for side in tv_sides:
            print(f"network outputs, ours vs {side}" + ("" if args.same_weights else " (different weights)") + ": " +
                  ", ".join(f"{k} {tuple(check[f'{side}.{k}']['shape'])} max |diff| "
                            f"{check[f'{side}.{k}']['max_abs_diff']:.3g} (max |value| "
                            f"{check[f'{side}.{k}']['max_abs']:.3g})" for k in ("boxes", "classes")))
    if "end-to-end" in args.modes:
        calls["end-to-end"] = {"ours": lambda: head.decode(end_to_end_net(ours_raw), (args.size, args.size))}
        detections = {"ours": our_detections(calls["end-to-end"]["ours"]())}
        images = [np.ascontiguousarray(r.transpose(2, 0, 1) / 255.0) for r in raw]  # (3, H, W) RGB in [0, 1]
        for side, tv in tv_sides.items():
            tensors = [torch.from_numpy(image) for image in images]  # its transform batches them (contiguous)

            def tv_end_to_end(tv=tv, tensors=tensors):
                with torch.inference_mode():
                    return tv(tensors)

            calls["end-to-end"][side] = tv_end_to_end
            detections[side] = torch_detections(tv_end_to_end())
        report["detections_per_image"] = detections
        print("end-to-end detections a picture (at most 200): " +
              ", ".join(f"{k} {v:.1f}" for k, v in detections.items()))

    labels = {"network": "network only", "end-to-end": "preprocess + network + decode/NMS"}
    for mode, mode_calls in calls.items():
        rates = measure(mode_calls, args)
        row = {side: statistics.median(r) for side, r in rates.items()}
        result = {f"{side}_images_per_s": rate for side, rate in row.items()}
        line = f"{mode:10s}  ours {row['ours']:7.2f} img/s"
        for side in tv_sides:
            ratio = row["ours"] / row[side]
            result[f"ours_over_{side}"] = ratio
            line += f"   {side} {row[side]:7.2f} img/s   ours/{side} {ratio:.3f}"
        result["repeats"] = rates
        line += f"   ({labels[mode]}; repeats " + ", ".join(
            f"{k} {[round(r, 2) for r in v]}" for k, v in rates.items()) + ")"
        print(line, flush=True)
        report["results"][mode] = result
    print(json.dumps(report))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=1)


if __name__ == "__main__":
    main()
