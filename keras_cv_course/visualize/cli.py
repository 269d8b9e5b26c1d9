"""``kcc visualize MODEL_OR_RUN --image PATH --what ... --out DIR``: the pictures of
what a convnet learned, as PNG files.

MODEL_OR_RUN is a run directory (its best.keras/last.keras), a .keras file or a
registered model name with trained weights; the image is read, converted to the
model's channels, resized to its input size and preprocessed with the run's or
the weights' preprocessing mode. ``--what`` takes one or more of
activations, filters, patterns, gradcam, saliency.
"""

import os
import re
import sys

WHATS = ("activations", "filters", "patterns", "gradcam", "saliency")


def add_commands(subparsers):
    from keras_cv_course.cli import non_negative_int, positive_int

    parser = subparsers.add_parser("visualize", help="draw what a convnet learned (activations, filters, patterns, Grad-CAM, saliency)")
    parser.add_argument("model", metavar="MODEL_OR_RUN", help="run directory, .keras file or registered model with trained weights")
    parser.add_argument("--image", help="input image (needed for activations, gradcam, saliency)")
    parser.add_argument("--what", nargs="+", choices=WHATS, default=["gradcam"], help="what to draw (several allowed)")
    parser.add_argument("--out", default="visualize_out", help="folder for the PNGs (created)")
    parser.add_argument("--layer", action="append", default=None,
                        help="layer name/path/level (repeatable); default: every conv/pool layer for activations, "
                             "the first conv for filters, every conv for patterns, the last block's output for gradcam "
                             "(the last spatial map the output depends on entirely)")
    parser.add_argument("--class-index", type=non_negative_int, default=None, help="class for gradcam/saliency (default: the top one)")
    parser.add_argument("--filters", type=positive_int, default=16, help="patterns: how many filters of each layer")
    parser.add_argument("--steps", type=positive_int, default=40, help="patterns: gradient-ascent steps")
    parser.add_argument("--size", type=positive_int, default=None, help="patterns: side of the pattern (default: the model's input)")
    parser.add_argument("--preprocessing", default=None, help="override the preprocessing mode (unit, tf, caffe, torch, none)")
    parser.set_defaults(func=run_visualize)


def run_visualize(args):
    import numpy as np

    from keras_cv_course import visualize as V
    from keras_cv_course.preprocessing import preprocess_input
    from keras_cv_course.runs import load_any_model, read_image

    model, mode, _ = load_any_model(args.model)
    mode = args.mode = args.preprocessing or mode
    needs_image = {"activations", "gradcam", "saliency"} & set(args.what)
    if needs_image and not args.image:
        raise ValueError(f"--image is needed for {', '.join(sorted(needs_image))}")
    os.makedirs(args.out, exist_ok=True)
    image = batch = None
    if args.image:
        height, width, channels = model.input_shape[1:]
        if not (height and width):
            from PIL import Image

            with Image.open(args.image) as opened:
                width, height = opened.size
        size = (height, width)
        image = read_image(args.image, channels, size)
        batch = np.asarray(preprocess_input(image[None], mode))
    written = []
    for what in args.what:
        written += _DRAW[what](V, model, image, batch, args)
    for path in written:
        print(path)
    return 0


def _activations(V, model, image, batch, args):
    acts = V.activations(model, batch, args.layer)
    paths = []
    for key, value in acts.items():
        if value.ndim != 4:
            print(f"kcc visualize: skipping {key!r}: output shape {value.shape} is not a feature map", file=sys.stderr)
            continue
        figure, ax = V.new_figure(size=6)
        V.plot_activation_grid(ax, value, title=f"{key} {value.shape[1]}x{value.shape[2]}x{value.shape[3]}")
        paths.append(V.save_figure(figure, _png(args.out, "activations", key)))
    return paths


def _filters(V, model, image, batch, args):
    paths = []
    for layer in args.layer or [None]:
        tiles = V.filters(model, layer)
        name = layer if layer else _first_conv_name(V, model)
        figure, ax = V.new_figure(size=6)
        V.plot_filters(ax, tiles, title=f"{name}: {tiles.shape[0]} filters {tiles.shape[1]}x{tiles.shape[2]}")
        paths.append(V.save_figure(figure, _png(args.out, "filters", name)))
    return paths


def _first_conv_name(V, model):
    from keras_cv_course.visualize._graph import conv_layers

    return conv_layers(model)[0].name


def _patterns(V, model, image, batch, args):
    from keras_cv_course.visualize._graph import conv_layers, find_layer

    layers = [find_layer(model, name) for name in args.layer] if args.layer else conv_layers(model)
    paths = []
    for layer in layers:
        count = min(args.filters, getattr(layer, "filters", args.filters))
        # the run's (or the weights') preprocessing mode sets the range the pattern lives in;
        # progress lines go to stderr (stdout lists the PNGs written)
        patterns = V.filter_patterns(model, layer, range(count), steps=args.steps, size=args.size,
                                     preprocessing=args.mode, verbose=True)
        figure, ax = V.new_figure(size=6)
        V.plot_pattern_gallery(ax, patterns, title=f"{layer.name}: filters 0-{count - 1}")
        paths.append(V.save_figure(figure, _png(args.out, "patterns", layer.name)))
    return paths


def _gradcam(V, model, image, batch, args):
    layer = args.layer[0] if args.layer else None
    heatmap = V.grad_cam(model, batch, args.class_index, layer)[0]
    plus = V.grad_cam_plus_plus(model, batch, args.class_index, layer)[0]
    target = V.target_layer(model, layer).name
    figure, axes = V.new_figure(1, 3, size=3.5)
    axes[0].imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray" if image.shape[-1] == 1 else None)
    axes[0].set_axis_off()
    axes[0].set_title("input")
    V.plot_heatmap_overlay(axes[1], image, heatmap, title=f"Grad-CAM ({target})")
    V.plot_heatmap_overlay(axes[2], image, plus, title="Grad-CAM++")
    return [V.save_figure(figure, _png(args.out, "gradcam", target))]


def _saliency(V, model, image, batch, args):
    maps = [
        ("saliency", V.saliency(model, batch, args.class_index, reduce="max_abs")[0]),
        ("SmoothGrad", V.smoothgrad(model, batch, args.class_index, reduce="max_abs")[0]),
        ("guided backprop", V.guided_backprop(model, batch, args.class_index, reduce="max_abs")[0]),
        ("guided Grad-CAM", abs(V.guided_grad_cam(model, batch, args.class_index)[0]).max(-1)),
    ]
    figure, axes = V.new_figure(1, len(maps) + 1, size=3.0)
    axes[0].imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray" if image.shape[-1] == 1 else None)
    axes[0].set_axis_off()
    axes[0].set_title("input")
    for ax, (title, heatmap) in zip(axes[1:], maps):
        V.plot_heatmap(ax, V.normalize_maps(heatmap[None])[0], cmap="inferno", title=title)
    return [V.save_figure(figure, _png(args.out, "saliency", "input"))]


_DRAW = {"activations": _activations, "filters": _filters, "patterns": _patterns, "gradcam": _gradcam, "saliency": _saliency}


def _png(folder, what, key):
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(key)).strip("_") or "model"
    return os.path.join(folder, f"{what}_{safe}.png")
