"""Drawing: every function draws on a matplotlib ``Axes`` it is given and returns
it; nothing here computes a model (../shared/DESIGN.md §2).

Pictures of what a convnet learned (``plot_activation_grid``, ``plot_filters``,
``plot_pattern_gallery``, ``plot_heatmap``, ``plot_heatmap_overlay``) and the
training plots (``plot_history``, ``plot_confusion_matrix``, ``plot_roc``,
``plot_precision_recall``) and segmentation masks (``plot_segmentation``,
``plot_segmentation_examples``, coloured by ``segmentation_colors``) and
detections (``plot_boxes``, coloured by ``box_colors``).
``new_figure`` and ``save_figure`` make and write PNGs without pyplot, so no
global matplotlib state is touched and no display is needed.
"""

import math
import os

import numpy as np

# ---------------------------------------------------------------- figures


def new_figure(rows=1, cols=1, *, size=4.0, figsize=None, squeeze=True, layout="constrained", **subplot_kw):
    """A ``(Figure, axes)`` pair drawn by the Agg canvas (no pyplot, no display).

    ``size`` is the side of one panel in inches; ``axes`` is one Axes when
    ``rows == cols == 1`` and ``squeeze`` (else a 2-D numpy array of Axes).
    ``layout="constrained"`` keeps labels and colorbars of panels apart.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize or (size * cols, size * rows), layout=layout)
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, cols, squeeze=squeeze, subplot_kw=subplot_kw or None)
    return figure, axes


def save_figure(figure, path, *, dpi=100):
    """Write ``figure`` to ``path`` (PNG by its extension), creating folders; returns the path."""
    path = os.fspath(path)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    figure.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


class FigureWriter:
    """Saves a walkthrough's figures into the folder ``out`` (created now):
    ``save(figure, name)`` writes ``out/name`` (``save_figure``), prints its path
    and appends it to ``files``, the list a tutorial returns."""

    def __init__(self, out):
        os.makedirs(out, exist_ok=True)
        self.out, self.files = out, []

    def save(self, figure, name):
        path = save_figure(figure, os.path.join(self.out, name))
        self.files.append(path)
        print(f"  wrote {path}")
        return path


# ---------------------------------------------------------------- mosaics


def tile_images(images, *, cols=None, margin=1, fill=1.0):
    """Arrange ``images`` (N, H, W[, C]) into one (rows·H, cols·W[, C]) array with
    ``margin`` pixels of ``fill`` between tiles; returns the mosaic."""
    images = np.asarray(images)
    if images.ndim not in (3, 4):
        raise ValueError(f"tile_images expects (N, H, W) or (N, H, W, C) images; got shape {images.shape}")
    count, height, width = images.shape[:3]
    if count == 0:
        raise ValueError("tile_images got no images")
    cols = cols or int(math.ceil(math.sqrt(count)))
    rows = int(math.ceil(count / cols))
    shape = (rows * height + (rows - 1) * margin, cols * width + (cols - 1) * margin) + images.shape[3:]
    mosaic = np.full(shape, fill, dtype=images.dtype if images.dtype == np.uint8 else np.float32)
    for index, image in enumerate(images):
        row, col = divmod(index, cols)
        top, left = row * (height + margin), col * (width + margin)
        mosaic[top : top + height, left : left + width] = image
    return mosaic


def _channel_display(channel):
    """The course's display recipe for one activation channel: standardize,
    scale by 64 around 128, clip — so dead channels show flat gray, not noise."""
    channel = np.asarray(channel, dtype=np.float32)
    std = channel.std()
    if not np.isfinite(std) or std < 1e-8:
        return np.full(channel.shape, 0.0 if channel.max(initial=0.0) <= 0 else 0.5, np.float32)
    return np.clip(((channel - channel.mean()) / std * 64.0 + 128.0) / 255.0, 0.0, 1.0)


def plot_activation_grid(ax, activation, *, cols=None, cmap="viridis", title=None, max_channels=None):
    """Every channel of one layer's activation (H, W, C) — the first image of a
    batch if given (1, H, W, C) — as a grid of small images, each standardized as
    in the course's walkthrough."""
    activation = np.asarray(activation)
    if activation.ndim == 4:
        activation = activation[0]
    if activation.ndim != 3:
        raise ValueError(f"plot_activation_grid expects an (H, W, C) activation; got shape {activation.shape}")
    channels = np.moveaxis(activation, -1, 0)
    if max_channels:
        channels = channels[:max_channels]
    tiles = np.stack([_channel_display(c) for c in channels])
    mosaic = tile_images(tiles, cols=cols or _default_cols(len(tiles)), margin=1, fill=np.nan)
    ax.imshow(np.ma.masked_invalid(mosaic), cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
    _image_axes(ax, title if title is not None else f"{activation.shape[-1]} channels")
    return ax


def plot_filters(ax, tiles, *, cols=None, channel=None, cmap="gray", title=None):
    """Filter weights as image tiles: ``tiles`` (N, kh, kw, C) in [0, 1] as
    returned by ``visualize.filters``. C == 3 draws RGB; otherwise input channel
    ``channel`` (default 0) is drawn in ``cmap``."""
    tiles = np.asarray(tiles, dtype=np.float32)
    if tiles.ndim != 4:
        raise ValueError(f"plot_filters expects (N, kh, kw, C) tiles; got shape {tiles.shape}")
    if tiles.shape[-1] == 3 and channel is None:
        images, kwargs, fill = tiles, {}, 1.0
    else:
        # NaN margins stay blank whatever the colour map (1.0 is white only in gray)
        images, kwargs, fill = tiles[..., channel or 0], {"cmap": cmap, "vmin": 0.0, "vmax": 1.0}, np.nan
    mosaic = tile_images(images, cols=cols or _default_cols(len(images)), margin=1, fill=fill)
    ax.imshow(mosaic, interpolation="nearest", **kwargs)
    _image_axes(ax, title if title is not None else f"{len(tiles)} filters {tiles.shape[1]}x{tiles.shape[2]}")
    return ax


def plot_pattern_gallery(ax, patterns, *, cols=None, margin=None, title=None, cmap="gray"):
    """A grid of filter patterns (N, H, W, C) uint8 (from ``filter_pattern``),
    separated by black margins as in the course's gallery."""
    patterns = np.asarray(patterns)
    if patterns.ndim != 4:
        raise ValueError(f"plot_pattern_gallery expects (N, H, W, C) patterns; got shape {patterns.shape}")
    margin = max(1, patterns.shape[1] // 16) if margin is None else margin
    images = patterns[..., 0] if patterns.shape[-1] == 1 else patterns
    mosaic = tile_images(images, cols=cols or _default_cols(len(images)), margin=margin, fill=0)
    if mosaic.ndim == 2:
        ax.imshow(mosaic, cmap=cmap, vmin=0, vmax=255 if mosaic.dtype == np.uint8 else 1.0, interpolation="nearest")
    else:
        ax.imshow(mosaic, interpolation="nearest")
    _image_axes(ax, title)
    return ax


def plot_heatmap(ax, heatmap, *, cmap="jet", title=None, colorbar=False):
    """A heatmap (H, W) on its own, values as given (maps of visualize are in [0, 1])."""
    heatmap = np.asarray(heatmap, dtype=np.float32)
    if heatmap.ndim == 3:
        heatmap = heatmap[0] if heatmap.shape[0] == 1 else heatmap.max(axis=-1)
    image = ax.imshow(heatmap, cmap=cmap, interpolation="nearest")
    if colorbar:
        ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    _image_axes(ax, title)
    return ax


def plot_heatmap_overlay(ax, image, heatmap, *, alpha=0.45, cmap="jet", title=None):
    """``heatmap`` (h, w), any size, resized to ``image`` (H, W[, C]) and laid
    over it — the course's Grad-CAM superimposition."""
    image = _display_image(image)
    heatmap = np.asarray(heatmap, dtype=np.float32)
    if heatmap.ndim == 3 and heatmap.shape[0] == 1:
        heatmap = heatmap[0]
    if heatmap.ndim != 2:
        raise ValueError(f"plot_heatmap_overlay expects an (H, W) heatmap; got shape {heatmap.shape}")
    heatmap = _resize(heatmap, image.shape[:2])
    if image.ndim == 2:
        ax.imshow(image, cmap="gray", vmin=0.0, vmax=1.0)
    else:
        ax.imshow(image)
    ax.imshow(heatmap, cmap=cmap, alpha=alpha, vmin=0.0, vmax=max(1.0, float(np.nanmax(heatmap, initial=0.0))))
    _image_axes(ax, title)
    return ax


# ---------------------------------------------------------------- training plots


def plot_history(ax, history_dict, metrics=None, *, title=None):
    """Training curves from ``History.history`` (or the History itself): each of
    ``metrics`` (default: "loss" if recorded, else every training metric) as a solid
    line with its ``val_`` twin dashed in the same color; x is the epoch (from 1)."""
    history = getattr(history_dict, "history", history_dict)
    if not isinstance(history, dict) or not history:
        raise ValueError("plot_history expects a non-empty dict of metric -> per-epoch values (History.history)")
    if metrics is None:
        metrics = ["loss"] if "loss" in history else [k for k in history if not k.startswith("val_")]
    elif isinstance(metrics, str):
        metrics = [metrics]
    for metric in metrics:
        names = [name for name in (metric, f"val_{metric}") if name in history]
        if not names:
            raise ValueError(f"Metric {metric!r} is not in the history; recorded: {sorted(history)}")
        color = None
        for name in names:
            values = np.asarray(history[name], dtype=np.float64)
            epochs = np.arange(1, len(values) + 1)
            label = ("validation " if name.startswith("val_") else "training ") + metric
            (line,) = ax.plot(epochs, values, "--" if name.startswith("val_") else "-", marker="o",
                              markersize=3, color=color, label=label)
            color = line.get_color()
    ax.set_xlabel("epoch")
    ax.set_ylabel(metrics[0] if len(metrics) == 1 else "value")
    ax.grid(True, alpha=0.3)
    ax.legend()
    ax.set_title(title if title is not None else ", ".join(metrics))
    return ax


def plot_confusion_matrix(ax, matrix, class_names=None, *, normalize=False, cmap="Blues", title=None, annotate=True):
    """A confusion matrix (rows: true class, columns: predicted), counts or, with
    ``normalize=True``, row fractions; cells annotated with their values."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"plot_confusion_matrix expects a square matrix; got shape {matrix.shape}")
    count = matrix.shape[0]
    class_names = list(class_names) if class_names is not None else [str(i) for i in range(count)]
    if len(class_names) != count:
        raise ValueError(f"{len(class_names)} class names for a {count}x{count} matrix")
    shown = matrix
    if normalize:
        totals = matrix.sum(axis=1, keepdims=True)
        shown = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    image = ax.imshow(shown, cmap=cmap, interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(count), class_names, rotation=45, ha="right")
    ax.set_yticks(range(count), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if annotate and count <= 30:
        threshold = shown.max() / 2.0 if shown.size else 0.0
        for (row, col), value in np.ndenumerate(shown):
            text = f"{value:.2f}" if normalize else (f"{int(value)}" if float(value).is_integer() else f"{value:.2f}")
            ax.text(col, row, text, ha="center", va="center", fontsize=7,
                    color="white" if value > threshold else "black")
    ax.set_title(title if title is not None else "confusion matrix" + (" (row-normalized)" if normalize else ""))
    return ax


def plot_roc(ax, fpr, tpr, auc=None, *, label=None, title=None):
    """ROC curve(s): ``fpr``/``tpr`` arrays with their ``auc`` — or dicts keyed by
    class name with ``auc`` a dict too — plus the chance diagonal."""
    _plot_curves(ax, fpr, tpr, auc, label, _roc_line)
    ax.plot([0, 1], [0, 1], ":", color="gray", label="chance")
    return _unit_square(ax, "false positive rate", "true positive rate", "lower right", title or "ROC")


def _plot_curves(ax, xs, ys, areas, label, draw_line):
    """One curve, or one per key when ``xs``/``ys`` (and ``areas``) are dicts."""
    if isinstance(xs, dict):
        for key in xs:
            area = areas.get(key) if isinstance(areas, dict) else None
            draw_line(ax, xs[key], ys[key], area, str(key))
    else:
        draw_line(ax, xs, ys, areas, label)


def _unit_square(ax, xlabel, ylabel, legend, title):
    """Axes of two rates in [0, 1], with a grid and a legend."""
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(loc=legend, fontsize=8)
    ax.set_title(title)
    return ax


def _roc_line(ax, fpr, tpr, auc, label):
    fpr, tpr = np.asarray(fpr, dtype=np.float64), np.asarray(tpr, dtype=np.float64)
    if fpr.shape != tpr.shape or fpr.ndim != 1:
        raise ValueError(f"fpr and tpr must be 1-D arrays of equal length; got {fpr.shape} and {tpr.shape}")
    text = label or "ROC"
    if auc is not None:
        text += f" (AUC = {float(auc):.3f})"
    ax.plot(fpr, tpr, label=text)


def plot_precision_recall(ax, precision, recall, ap=None, *, label=None, title=None):
    """Precision-recall curve(s) from ``metrics.precision_recall_curve`` — or dicts
    keyed by class name with ``ap`` a dict too — drawn as the step function whose
    area is the average precision Σ (R_n − R_{n−1}) P_n (each precision holds back
    to the previous recall). scikit-learn's arrays (recall descending) draw the same."""
    _plot_curves(ax, precision, recall, ap, label, _pr_line)
    return _unit_square(ax, "recall", "precision", "lower left", title or "precision-recall")


def _pr_line(ax, precision, recall, ap, label):
    precision, recall = np.asarray(precision, dtype=np.float64), np.asarray(recall, dtype=np.float64)
    if precision.shape != recall.shape or precision.ndim != 1 or not len(recall):
        raise ValueError(f"precision and recall must be 1-D arrays of equal length; got {precision.shape} "
                         f"and {recall.shape}")
    if recall[0] > recall[-1]:
        precision, recall = precision[::-1], recall[::-1]
    text = label or "PR"
    if ap is not None:
        text += f" (AP = {float(ap):.3f})"
    ax.plot(recall, precision, drawstyle="steps-pre", label=text)


def segmentation_colors(num_classes):
    """(num_classes, 3) RGB in [0, 1]: the PASCAL VOC palette, in which the bits of
    the class id are spread over the high bits of R, G, B (0 background black, 1
    (128, 0, 0), 2 (0, 128, 0), ..., 15 person (192, 128, 128)); fixed, so a class
    keeps its colour across figures, and distinct for every id below 2**24."""
    ids = np.arange(int(num_classes))
    rgb = np.zeros((len(ids), 3), np.int64)
    for level in range(8):
        for channel in range(3):
            rgb[:, channel] |= ((ids >> (3 * level + channel)) & 1) << (7 - level)
    return rgb / 255.0


def plot_segmentation(ax, image, mask, num_classes, *, alpha=0.5, ignore_index=255, class_names=None, title=None):
    """A label mask (H, W) — or (H, W, 1), or scores (H, W, num_classes), arg-maxed —
    in ``segmentation_colors``, laid over ``image`` (H, W[, C]) with opacity
    ``alpha``, or on its own (opaque) when ``image`` is None.

    Void pixels — ``ignore_index`` and any id outside [0, num_classes) — are
    transparent: the image (or the Axes background) shows through. With
    ``class_names``, a legend names the classes present in the mask.
    """
    labels = _mask_labels(mask, num_classes)
    valid = (labels >= 0) & (labels < num_classes)
    if ignore_index is not None:
        valid &= labels != ignore_index
    colors = segmentation_colors(num_classes)
    overlay = np.zeros(labels.shape + (4,), np.float32)
    overlay[..., :3] = colors[np.where(valid, labels, 0)]
    overlay[..., 3] = valid * (1.0 if image is None else float(alpha))
    if image is not None:
        image = _display_image(image)
        if image.shape[:2] != labels.shape:
            raise ValueError(f"mask {labels.shape} and image {image.shape[:2]} differ in size")
        _show_image(ax, image)
    ax.imshow(overlay, interpolation="nearest")
    if class_names is not None:
        from matplotlib.patches import Patch

        present = np.unique(labels[valid])
        handles = [Patch(color=colors[c], label=str(class_names[c])) for c in present]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7, frameon=False)
    _image_axes(ax, title)
    return ax


def plot_segmentation_examples(axes, images, true_masks, pred_masks, num_classes, *, alpha=0.5,
                               ignore_index=255, class_names=None):
    """One row per example on ``axes`` (rows, 3), e.g. ``new_figure(n, 3,
    squeeze=False)[1]``: the image, the image with the true mask, the image with
    the predicted mask (label maps or score maps). Returns the axes."""
    grid = np.asarray(axes, dtype=object).reshape(-1, 3)
    if not len(images) == len(true_masks) == len(pred_masks) == len(grid):
        raise ValueError(f"{len(grid)} rows of axes for {len(images)} images, {len(true_masks)} true masks "
                         f"and {len(pred_masks)} predicted masks")
    for row, (image, truth, predicted) in enumerate(zip(images, true_masks, pred_masks)):
        first = row == 0
        _show_image(grid[row, 0], _display_image(image))
        _image_axes(grid[row, 0], "image" if first else None)
        for col, mask, name in ((1, truth, "ground truth"), (2, predicted, "prediction")):
            plot_segmentation(grid[row, col], image, mask, num_classes, alpha=alpha, ignore_index=ignore_index,
                              class_names=class_names if col == 2 else None, title=name if first else None)
    return axes


def _show_image(ax, image):
    """A [0, 1] image from ``_display_image``: gray when 2-D, pixel for pixel."""
    if image.ndim == 2:
        ax.imshow(image, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(image, interpolation="nearest")


def _mask_labels(mask, num_classes):
    """An (H, W) int64 label map from labels (H, W) / (H, W, 1) or scores (H, W, num_classes)."""
    mask = np.asarray(mask)
    if mask.ndim == 3 and mask.shape[-1] == 1:
        mask = mask[..., 0]
    elif mask.ndim == 3 and mask.shape[-1] == num_classes:
        mask = mask.argmax(axis=-1)
    if mask.ndim != 2:
        raise ValueError(f"Expected an (H, W) mask or (H, W, {num_classes}) scores; got shape {mask.shape}")
    if mask.dtype.kind == "f" and not np.array_equal(mask, np.round(mask)):
        raise ValueError("A label mask must hold integer class ids; got non-integer values")
    return mask.astype(np.int64)


def box_colors(num_classes):
    """(num_classes, 3) RGB in [0, 1] for box classes 0..num_classes-1: matplotlib's
    "tab10" (up to 10 classes) or "tab20" (up to 20), bright enough to read over dark
    and light images alike; more classes take ``segmentation_colors`` of ``class + 1``."""
    from matplotlib import colormaps

    count = int(num_classes)
    if count <= 20:
        cmap = colormaps["tab10" if count <= 10 else "tab20"]
        return np.asarray([cmap(i)[:3] for i in range(count)], np.float64).reshape(-1, 3)
    return segmentation_colors(count + 1)[1:]


def plot_boxes(ax, image, boxes, classes, scores=None, class_names=None, *, num_classes=None, linewidth=1.5,
               fontsize=7, score_threshold=None, title=None):
    """``boxes`` (N, 4) xyxy pixels (pixel ``i`` covers ``[i, i + 1)``) drawn over ``image``
    (H, W[, C]; None draws on the Axes as it is), each labelled with its class name (or
    id) and, given ``scores`` (N,), its score. Boxes with class < 0 (padding) and, with
    ``score_threshold``, scores below it are left out. Colours: ``box_colors``
    (``num_classes`` defaults to ``len(class_names)``, else the largest class + 1)."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    classes = np.asarray(classes).reshape(-1).astype(np.int64)
    if len(classes) != len(boxes) or (scores is not None and len(np.asarray(scores).reshape(-1)) != len(boxes)):
        raise ValueError(f"{len(boxes)} boxes, {len(classes)} classes and "
                         f"{'no' if scores is None else len(np.asarray(scores).reshape(-1))} scores do not match")
    keep = classes >= 0
    if scores is not None:
        scores = np.asarray(scores, np.float32).reshape(-1)
        if score_threshold is not None:
            keep &= scores >= score_threshold
    if image is not None:
        _show_image(ax, _display_image(image))
    total = num_classes or (len(class_names) if class_names is not None else int(classes.max(initial=-1)) + 1)
    colors = box_colors(max(total, int(classes.max(initial=-1)) + 1, 1))
    for i in np.nonzero(keep)[0]:
        _draw_box(ax, boxes[i], colors[classes[i]], _box_label(classes[i], class_names, scores, i), linewidth, fontsize)
    _image_axes(ax, title)
    return ax


def _box_label(cls, class_names, scores, i):
    name = str(class_names[cls]) if class_names is not None and cls < len(class_names) else str(cls)
    return name if scores is None else f"{name} {scores[i]:.2f}"


def _draw_box(ax, box, color, label, linewidth, fontsize):
    """One box on imshow's pixel grid: pixel i is centred on i, so the edge x1 sits at x1 - 0.5."""
    from matplotlib.patches import Rectangle

    x1, y1, x2, y2 = (float(v) - 0.5 for v in box)
    ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=color, linewidth=linewidth))
    ax.text(x1, y1, label, fontsize=fontsize, color="white", va="bottom", ha="left", clip_on=True,
            bbox={"facecolor": color, "edgecolor": "none", "pad": 1.0, "alpha": 0.85})


# ---------------------------------------------------------------- helpers


def _default_cols(count):
    return min(16, max(1, int(math.ceil(math.sqrt(count)))))


def _image_axes(ax, title):
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)


def _display_image(image):
    """An image as float [0, 1] (H, W) or (H, W, 3) for imshow."""
    image = np.asarray(image)
    if image.ndim == 4 and image.shape[0] == 1:
        image = image[0]
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3):
        raise ValueError(f"Expected an (H, W) or (H, W, C) image; got shape {image.shape}")
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    image = image.astype(np.float32)
    low, high = float(np.nanmin(image)), float(np.nanmax(image))
    if low >= 0.0 and high <= 1.0:
        return image
    return (image - low) / (high - low) if high > low else np.zeros_like(image)


def _resize(array, shape):
    """Bilinear resize of a 2-D array to ``shape`` (pure numpy)."""
    array = np.asarray(array, dtype=np.float32)
    if array.shape == tuple(shape):
        return array
    rows = np.clip((np.arange(shape[0]) + 0.5) * array.shape[0] / shape[0] - 0.5, 0, array.shape[0] - 1)
    cols = np.clip((np.arange(shape[1]) + 0.5) * array.shape[1] / shape[1] - 0.5, 0, array.shape[1] - 1)
    r0, c0 = np.floor(rows).astype(int), np.floor(cols).astype(int)
    r1, c1 = np.minimum(r0 + 1, array.shape[0] - 1), np.minimum(c0 + 1, array.shape[1] - 1)
    fr, fc = (rows - r0)[:, None], (cols - c0)[None, :]
    top = array[r0][:, c0] * (1 - fc) + array[r0][:, c1] * fc
    bottom = array[r1][:, c0] * (1 - fc) + array[r1][:, c1] * fc
    return top * (1 - fr) + bottom * fr
