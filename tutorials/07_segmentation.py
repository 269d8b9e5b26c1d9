"""Tutorial 7 — fully convolutional networks for semantic segmentation.

The course's segmentation lecture (EE-559 7.4) and FCN (Shelhamer, Long &
Darrell, "Fully Convolutional Networks for Semantic Segmentation", TPAMI 2016),
on real ``fashion_scenes_masks`` test scenes (128×128 canvases with 1–6 real
Fashion-MNIST items of 17–56 px; a class id per pixel: 0 background, 1–10 the
item classes, 255 void on the items' faint rims, left out of the loss and the
scores):

1. the bilinear up-sampling — FCN brings its coarse class scores back to the
   image with transposed convolutions initialised to bilinear interpolation and
   frozen (§3.3, §4.2): the closed-form kernel (``bilinear_kernel``, kernel 4 for
   2×: [.25, .75, .75, .25] per axis), and a ``BilinearUpsampling`` layer against
   ``keras.ops.image.resize(..., "bilinear")``: the same away from the border,
   where the transposed convolution sees zeros beyond the map;
2. the 1/32 coarse map against FCN-8s — FCN-32s (``fcn32s_fashion``) scores
   every class on fc7's map, 1/32 of the image (4×4 cells for a 128×128 scene),
   and up-samples it 32× at once: coarse blobs. FCN-8s (``fcn8s_fashion``, the
   same trunk) adds class scores of pool4 (1/16) and pool3 (1/8) to the 2×
   up-sampled fused scores before up-sampling 8×: the skips put the boundaries
   back (§4.2). The raw 4×4 map itself, FCN-8s' fused 1/8 map, both nets'
   masks next to the ground truth; pixel accuracy and mean IU (§5) of both on
   the test scenes and the accuracy on the pixels within 2 px of a ground-truth
   boundary, where the finer net wins;
3. the per-class IU table of both nets and their pixel confusion matrices.

The nets use the trained weights ``weights="fashion_scenes_masks"`` when
weights/manifest.json lists them for ``fcn32s_fashion`` / ``fcn8s_fashion``;
otherwise (and always with ``--fast``) both are trained here the same way, on the
same scenes, with the loss and optimizer of benchmarks/fcn_fashion_scenes.py
(pixel-wise softmax cross-entropy ignoring void, ``SegmentationTask``'s loss;
Adam on a cosine schedule after a short warm-up), in plain ``compile``/``fit``.

Run:  python tutorials/07_segmentation.py [--fast] [--out DIR]
(``--fast`` uses scenes made from the package's embedded item sample, trains
narrow nets (width 8) for 4 epochs on 256 scenes and scores 48 test scenes:
about a minute on two CPU cores, and weak nets — they find the items, FCN-8s
with sharper outlines, but name few of them, FCN-32s hardly any. Without it:
scenes of the full Fashion-MNIST when present, the shipped nets or the default
width trained here for 3 epochs on the 6,000 training scenes (some 25 minutes on
two CPU cores for both), scored on 500 test scenes. ``SETTINGS`` holds the
sizes.)
"""

import argparse
import sys

import numpy as np

VARIANTS = ("32s", "8s")
WEIGHTS = "fashion_scenes_masks"  # the manifest's name for weights trained on this dataset
BOUNDARY_RADIUS = 2  # pixels within this distance (Chebyshev) of a ground-truth boundary form the band
VOID = 255
# Per mode: where the scenes' items come from, how many test scenes are scored, and the nets
# trained when there are no shipped weights (same settings, same scenes, for both variants).
SETTINGS = {
    "fast": {"source": "sample", "test_scenes": 48,
             "train": {"width": 8, "scenes": 256, "epochs": 4, "batch_size": 8, "learning_rate": 3e-2}},
    "full": {"source": "auto", "test_scenes": 500,
             "train": {"width": 16, "scenes": 6000, "epochs": 3, "batch_size": 8, "learning_rate": 1e-2}},
}


def main(fast=False, out="tutorial_07_out"):
    import keras

    from keras_cv_course import data
    from keras_cv_course import visualize as V
    from keras_cv_course.segmentation import SegmentationConfusion

    writer = V.FigureWriter(out)
    results, save = {"files": writer.files}, writer.save

    settings = SETTINGS["fast" if fast else "full"]
    class_names = list(data.info("fashion_scenes_masks").class_names)
    num_classes = len(class_names)
    images, masks = _scenes("test", settings["test_scenes"], settings["source"])
    shown = slice(0, 3)  # the scenes drawn
    valid = masks != VOID
    background_share = float((masks[valid] == 0).mean())
    print(f"{len(images)} test scenes of {images.shape[1]}×{images.shape[2]}: {valid.sum():,} labelled pixels, "
          f"{background_share:.1%} of them background, {(~valid).mean():.1%} of all pixels void")
    results["background_share"], results["labelled_pixels"] = background_share, int(valid.sum())

    # ------------------------------------------------------------------ 1. bilinear up-sampling
    print("1. Bilinear up-sampling (FCN §3.3)")
    results.update(_bilinear_demo(images[0]))
    print(f"  bilinear_kernel(4), one axis: {np.round(results['kernel_axis'], 4).tolist()}; the 4×4 kernel sums to "
          f"{results['kernel_sum']:g} = 2², so each output pixel gets weights summing to 1")
    for factor, row in results["upsampling"].items():
        side, up = row["input"], row["output"]
        print(f"  BilinearUpsampling({factor}) on a {side}×{side} map → {up}×{up}; against ops.image.resize "
              f"bilinear: max |difference| {row['interior']:.2e} inside (≥ {factor // 2} px from the border), "
              f"{row['border']:.3f} on the border (zeros beyond the map)")
    print(f"  frozen: {results['upsampling_trainable_weights']} trainable weights "
          f"(the kernel is a non-trainable weight, Caffe's lr_mult: 0)")
    save(_bilinear_figure(results.pop("bilinear_arrays")), "bilinear_upsampling.png")

    # ------------------------------------------------------------------ 2. FCN-32s vs FCN-8s
    print("2. The 1/32 coarse map against FCN-8s (FCN §4.2)")
    nets = {}
    for variant in VARIANTS:
        keras.utils.set_random_seed(0)
        nets[variant] = _segmenter(variant, fast, settings)
    results["upsampling_frozen_max_change"] = max(_upsampling_change(model) for model in nets.values())
    print(f"  after training, the up-sampling kernels differ from bilinear by at most "
          f"{results['upsampling_frozen_max_change']:g}")

    probabilities = {v: _predict(model, images) for v, model in nets.items()}
    coarse = {"32s": ("score_fr", 32), "8s": ("fuse_pool3", 8)}  # the map each net up-samples last
    maps = {v: _layer_scores(nets[v], coarse[v][0], images[shown]) for v in VARIANTS}
    results["output_shapes"] = {v: p.shape for v, p in probabilities.items()}
    results["map_shapes"] = {v: m.shape for v, m in maps.items()}
    results["probability_range"] = {v: (float(p.min()), float(p.max()), float(np.abs(p.sum(-1) - 1).max()))
                                    for v, p in probabilities.items()}
    for v in VARIANTS:
        layer, stride = coarse[v]
        print(f"  FCN-{v}: {layer} {maps[v].shape[1]}×{maps[v].shape[2]} (1/{stride}) → masks "
              f"{probabilities[v].shape[1]}×{probabilities[v].shape[2]}×{probabilities[v].shape[3]} "
              f"(the input's size, softmax over background + 10 classes)")

    predicted = {v: p.argmax(-1) for v, p in probabilities.items()}
    band = _boundary_band(masks, BOUNDARY_RADIUS)
    summaries, results["scores"] = {}, {}
    baseline = SegmentationConfusion(num_classes).update(masks, np.zeros_like(masks)).summary(class_names)
    results["scores"]["background"] = _scores(baseline, masks, np.zeros_like(masks), np.zeros(masks.shape, bool), band)
    for v in VARIANTS:
        summaries[v] = SegmentationConfusion(num_classes).update(masks, predicted[v]).summary(class_names)
        objects = probabilities[v][..., 0] < 0.5  # "an item here", whatever its class
        results["scores"][v] = _scores(summaries[v], masks, predicted[v], objects, band)
    print(f"  {len(images)} test scenes; the band: {band.sum():,} labelled pixels within {BOUNDARY_RADIUS} px of a "
          f"ground-truth boundary ({band.sum() / valid.sum():.0%})")
    columns = (("pixel_accuracy", "pixel acc."), ("mean_iou", "mean IU"), ("object_iou", "object IU"),
               ("object_accuracy", "object acc."), ("band_accuracy", "band acc."),
               ("band_object_accuracy", "band object acc."))
    print(f"  {'':14s} " + " ".join(f"{label:>{len(label)}s}" for _, label in columns))
    for key, name in (("background", "all background"), ("32s", "FCN-32s"), ("8s", "FCN-8s")):
        row = results["scores"][key]
        print(f"  {name:14s} " + " ".join(f"{row[k]:{len(label)}.3f}" for k, label in columns))
    print("  (object: item or background, an item being background probability < 0.5, whatever the class; band: "
          f"within {BOUNDARY_RADIUS} px of a boundary, where FCN-32s' 32-px cells blur the outline)")
    items_named = {v: float((predicted[v][valid] > 0).mean()) for v in VARIANTS}
    if items_named["32s"] < 0.1 * (1 - background_share):
        print(f"  FCN-32s calls only {items_named['32s']:.2%} of the pixels an item (the truth: "
              f"{1 - background_share:.1%}): few 32-px cells are mostly item, and the item probability it "
              "finds is split among 10 classes, so background wins the arg-max; the object columns, which add "
              "the classes up, show what it found")
    results["items_named"] = items_named
    save(_maps_figure(images[shown], masks[shown], maps, probabilities, coarse, shown, class_names), "score_maps.png")
    save(_masks_figure(images[shown], masks[shown], {v: predicted[v][shown] for v in VARIANTS}, class_names),
         "predictions.png")

    # ------------------------------------------------------------------ 3. per class
    print("3. Per-class IU and the confusion matrices (FCN §5)")
    results["per_class_iou"] = {v: s["per_class_iou"] for v, s in summaries.items()}
    true_pixels = np.asarray(summaries["8s"]["confusion_matrix"]).sum(axis=1)
    print(f"  {'class':12s} {'pixels':>7s} {'FCN-32s IU':>10s} {'FCN-8s IU':>10s}")
    for name, pixels in zip(class_names, true_pixels):
        print(f"  {name:12s} {pixels / true_pixels.sum():7.1%} "
              + " ".join(f"{_fmt(results['per_class_iou'][v][name]):>10s}" for v in VARIANTS))
    print(f"  {'mean IU':12s} {'':7s} " + " ".join(f"{summaries[v]['mean_iou']:10.3f}" for v in VARIANTS))
    results["confusion"] = {v: np.asarray(s["confusion_matrix"]) for v, s in summaries.items()}
    save(_confusion_figure(results["confusion"], class_names), "confusion_matrices.png")
    return results


# ---------------------------------------------------------------------- data


def _scenes(split, count, source):
    """``count`` scenes of ``split``: float32 images (N, 128, 128, 1) in [0, 1]
    (the nets' "unit" preprocessing) and their uint8 masks (N, 128, 128)."""
    from keras_cv_course import data

    elements = list(data.load("fashion_scenes_masks", split, num_scenes=count, source=source).as_numpy_iterator())
    images = np.stack([image for image, _ in elements]).astype("float32") / 255.0
    return images, np.stack([mask for _, mask in elements])


def _fmt(value):
    return "—" if value is None else f"{value:.3f}"


# ---------------------------------------------------------------------- 1. bilinear up-sampling


def _bilinear_demo(image):
    """The bilinear kernel and ``BilinearUpsampling`` against ``ops.image.resize``
    on the scene ``image`` shrunk to 8×8 (2×) and 4×4 (32×, FCN-32s' factor)."""
    import keras

    from keras_cv_course.segmentation import BilinearUpsampling, bilinear_kernel

    kernel = bilinear_kernel(4)
    found = {"kernel_axis": np.sqrt(np.diag(kernel)), "kernel_sum": float(kernel.sum()), "upsampling": {}}
    arrays = {"kernel": kernel}
    for factor, side in ((2, 8), (32, 4)):
        small = np.asarray(keras.ops.image.resize(image[None], (side, side), interpolation="area"))
        layer = BilinearUpsampling(factor)
        up = np.asarray(layer(small))[0, ..., 0]
        resized = np.asarray(keras.ops.image.resize(small, (side * factor,) * 2, interpolation="bilinear"))[0, ..., 0]
        difference = np.abs(up - resized)
        inner = slice(factor // 2, side * factor - factor // 2)  # every output pixel between input cell centres
        border = np.ones(difference.shape, bool)
        border[inner, inner] = False
        found["upsampling"][factor] = {"input": side, "output": up.shape[0],
                                       "interior": float(difference[inner, inner].max()),
                                       "border": float(difference[border].max())}
        found["upsampling_trainable_weights"] = len(layer.trainable_weights)
        arrays[factor] = (small[0, ..., 0], up, resized)
    found["bilinear_arrays"] = arrays
    return found


def _bilinear_figure(arrays):
    """The 4×4 kernel, then per factor: the small map, the transposed convolution, the resize, their difference."""
    from keras_cv_course import visualize as V

    figure, axes = V.new_figure(2, 5, size=2.3)
    kernel = arrays["kernel"]
    axes[0, 0].imshow(kernel, cmap="viridis", interpolation="nearest")
    for (row, col), value in np.ndenumerate(kernel):
        axes[0, 0].text(col, row, f"{value:.3g}", ha="center", va="center", fontsize=7, color="white")
    axes[0, 0].set_title("bilinear_kernel(4)", fontsize=8)
    axes[1, 0].axis("off")
    for row, factor in enumerate((2, 32)):
        small, up, resized = arrays[factor]
        panels = ((small, f"{small.shape[0]}×{small.shape[0]} map"),
                  (up, f"BilinearUpsampling({factor})"), (resized, "ops.image.resize bilinear"))
        for col, (picture, title) in enumerate(panels, start=1):
            axes[row, col].imshow(picture, cmap="gray", vmin=0, vmax=max(1e-6, float(resized.max())),
                                  interpolation="nearest")
            axes[row, col].set_title(title, fontsize=8)
        image = axes[row, 4].imshow(np.abs(up - resized), cmap="magma", interpolation="nearest")
        figure.colorbar(image, ax=axes[row, 4], fraction=0.046, pad=0.04)
        axes[row, 4].set_title("|difference|: the border only", fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    return figure


# ---------------------------------------------------------------------- 2. the nets


def _segmenter(variant, fast, settings):
    """``fcn{variant}_fashion``: the shipped weights when the manifest has them
    (and not ``fast``), else trained here."""
    from keras_cv_course import models

    name = f"fcn{variant}_fashion"
    if not fast and WEIGHTS in models.model_info(name).weights:
        print(f'  FCN-{variant}: the shipped weights, get_model("{name}", weights="{WEIGHTS}")')
        return models.get_model(name, weights=WEIGHTS)
    reason = "--fast" if fast else f'no "{WEIGHTS}" weights of {name} in weights/manifest.json yet'
    print(f"  FCN-{variant} ({reason}): training {name} here")
    return _train(name, settings["source"], **settings["train"])


def _train(name, source, *, width, scenes, epochs, batch_size, learning_rate, warmup_epochs=0.25):
    """A fresh ``name`` of ``width`` trained on ``scenes`` training scenes with plain
    compile and fit (the task's loss, Adam, cosine schedule)."""
    import keras

    from keras_cv_course import data, models
    from keras_cv_course.tasks import SegmentationTask

    raw = data.load("fashion_scenes_masks", "train", num_scenes=scenes, source=source)
    train = data.pipeline(raw, batch_size=batch_size, training=True, preprocess="unit", seed=0)
    model = models.get_model(name, width=width)
    task = SegmentationTask().bind(model)
    steps = int(train.cardinality())
    warmup = int(steps * warmup_epochs)
    schedule = keras.optimizers.schedules.CosineDecay(0.0, max(1, steps * epochs - warmup), warmup_steps=warmup,
                                                      warmup_target=learning_rate)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=task.compile_kwargs(model)["loss"])
    history = model.fit(train, epochs=epochs, verbose=2)
    losses = history.history["loss"]
    print(f"    width {width}, {model.count_params():,} parameters, {scenes} scenes, {epochs} epochs: "
          f"loss {losses[0]:.3f} → {losses[-1]:.3f}")
    return model


def _upsampling_change(model):
    """The largest |kernel − bilinear| over ``model``'s BilinearUpsampling layers."""
    from keras_cv_course.segmentation import BilinearInitializer, BilinearUpsampling

    changes = [float(np.abs(np.asarray(layer.kernel) - np.asarray(BilinearInitializer()(layer.kernel.shape))).max())
               for layer in model.layers if isinstance(layer, BilinearUpsampling)]
    if not changes:
        raise ValueError(f"{model.name!r} has no BilinearUpsampling layer")
    return max(changes)


def _predict(model, images, batch_size=16):
    return np.concatenate([np.asarray(model(images[start:start + batch_size], training=False))
                           for start in range(0, len(images), batch_size)])


def _layer_scores(model, layer, images):
    """Softmax of the class scores (logits) of ``model``'s ``layer`` on ``images``."""
    import keras

    probe = keras.Model(model.input, model.get_layer(layer).output)
    return np.asarray(keras.ops.softmax(probe(images, training=False), axis=-1))


def _boundary_band(masks, radius):
    """(N, H, W) bool: the labelled pixels with a pixel of another label (void
    included) within ``radius`` (a (2r + 1)² window; the image border is no boundary)."""
    padded = np.pad(masks, ((0, 0), (radius, radius), (radius, radius)), mode="edge")
    height, width = masks.shape[1:]
    near = np.zeros(masks.shape, bool)
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            near |= padded[:, dy:dy + height, dx:dx + width] != masks
    return near & (masks != VOID)


def _scores(summary, masks, predicted, objects, band):
    """One row of the table: FCN's pixel accuracy and mean IU (``summary``), the
    IU of "an item" against background (``objects``: the pixels predicted as
    some item), and the class and item/background accuracies in ``band``."""
    valid = masks != VOID
    truth = (masks > 0) & valid
    union = ((objects | truth) & valid).sum()
    return {"pixel_accuracy": summary["pixel_accuracy"], "mean_iou": summary["mean_iou"],
            "object_iou": float((objects & truth).sum() / union) if union else 0.0,
            "object_accuracy": float((objects == truth)[valid].mean()),
            "band_accuracy": float((predicted == masks)[band].mean()),
            "band_object_accuracy": float((objects == truth)[band].mean())}


def _object_colors(probabilities):
    """(..., K) class probabilities → RGB: each pixel the colour of its best item
    class, as bright as 1 − P(background)."""
    from keras_cv_course.visualize.plots import segmentation_colors

    colors = segmentation_colors(probabilities.shape[-1])
    return colors[1 + probabilities[..., 1:].argmax(-1)] * (1.0 - probabilities[..., :1])


def _outline(ax, mask):
    """The ground-truth item outlines on ``ax``."""
    ax.contour((mask > 0) & (mask != VOID), levels=[0.5], colors="white", linewidths=0.7)


def _maps_figure(images, masks, maps, probabilities, coarse, shown, class_names):
    """Per scene: the scene; per net its last coarse map (cells on the image's pixels)
    and the up-sampled scores, coloured by best item class and 1 − P(background)."""
    from keras_cv_course import visualize as V

    figure, axes = V.new_figure(len(images), 1 + 2 * len(maps), size=2.3, squeeze=False)
    for row, (image, mask) in enumerate(zip(images, masks)):
        axes[row, 0].imshow(image[..., 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        _outline(axes[row, 0], mask)
        for k, (variant, scores) in enumerate(maps.items()):
            layer, stride = coarse[variant]
            side = image.shape[0]
            axes[row, 1 + 2 * k].imshow(_object_colors(scores[row]), extent=(-0.5, side - 0.5, side - 0.5, -0.5),
                                        interpolation="nearest")
            axes[row, 2 + 2 * k].imshow(_object_colors(probabilities[variant][shown][row]), interpolation="nearest")
            for col in (1 + 2 * k, 2 + 2 * k):
                _outline(axes[row, col], mask)
            if row == 0:
                cells = f"{scores.shape[1]}×{scores.shape[2]}"
                axes[row, 1 + 2 * k].set_title(f"FCN-{variant}: {layer} {cells} (1/{stride})", fontsize=8)
                axes[row, 2 + 2 * k].set_title(f"FCN-{variant}: ×{stride} up-sampled", fontsize=8)
    axes[0, 0].set_title("scene (ground-truth outlines)", fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    _class_legend(figure, class_names, first=1)
    return figure


def _masks_figure(images, masks, predicted, class_names):
    """Per scene: the ground-truth mask, then each net's arg-max mask, over the scene."""
    from keras_cv_course import visualize as V
    from keras_cv_course.visualize.plots import plot_segmentation

    figure, axes = V.new_figure(len(images), 1 + len(predicted), size=2.6, squeeze=False)
    for row, (image, mask) in enumerate(zip(images, masks)):
        columns = [("ground truth", mask)] + [(f"FCN-{v}", labels[row]) for v, labels in predicted.items()]
        for col, (title, labels) in enumerate(columns):
            plot_segmentation(axes[row, col], image, labels, len(class_names), alpha=0.6,
                              title=title if row == 0 else None)
            _outline(axes[row, col], mask)
    _class_legend(figure, class_names)
    return figure


def _class_legend(figure, class_names, first=0):
    """A legend of the classes' colours (from class ``first`` on) under the figure."""
    from matplotlib.patches import Patch

    from keras_cv_course.visualize.plots import segmentation_colors

    colors = segmentation_colors(len(class_names))
    handles = [Patch(color=colors[c], label=class_names[c]) for c in range(first, len(class_names))]
    figure.legend(handles=handles, loc="outside lower center", ncol=6, fontsize=8)


def _confusion_figure(confusions, class_names):
    """Each net's pixel confusion matrix, rows normalised."""
    from keras_cv_course import visualize as V

    figure, axes = V.new_figure(1, len(confusions), size=6.0, squeeze=False)
    for ax, (variant, matrix) in zip(axes[0], confusions.items()):
        V.plot_confusion_matrix(ax, matrix, class_names, normalize=True,
                                title=f"FCN-{variant} (pixels, rows normalised)")
    return figure


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Fully convolutional networks: FCN-32s against FCN-8s.")
    parser.add_argument("--fast", action="store_true", help="embedded item sample, small nets (about a minute)")
    parser.add_argument("--out", default="tutorial_07_out")
    arguments = parser.parse_args()
    main(fast=arguments.fast, out=arguments.out)
    sys.exit(0)
