"""Regenerate the pictures in docs/ from a convnet trained on real Fashion-MNIST.

    python docs/make_figures.py [--epochs 2] [--out docs] [--model PATH.keras]

Model: the registry's ``fashion_vgg`` (a small VGG-BN net, 3x3 convolutions,
widths 32-64-128; LeNet-5's 5x5 filters on 28x28 images make pictures too small
to read). Weights, in order: ``--model PATH`` (a saved ``.keras`` model);
the project's trained weights (``get_model("fashion_vgg", weights="fashion_mnist")``,
weights/manifest.json); else the script trains it here, from the Fashion-MNIST
files that ``keras_cv_course.data.load_arrays("fashion_mnist")`` finds (the
Debian files under /usr/share/datasets/fashion-mnist), ``--epochs`` epochs of Adam
with seed 0 — about 2 minutes an epoch on 2 CPU cores, ~89% test accuracy after 2.

Writes (each PNG well under 300 KB): fashion_filters.png, fashion_activations.png,
fashion_patterns.png, fashion_gradcam.png, fashion_saliency.png, fashion_training.png.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def load_model(path, epochs, log):
    import keras

    from keras_cv_course.data import load_arrays
    from keras_cv_course.models import get_model

    x_train, y_train = load_arrays("fashion_mnist", "train")
    x_test, y_test = load_arrays("fashion_mnist", "test")
    x_train, x_test = _unit(x_train), _unit(x_test)
    history = None
    if path:
        model = keras.saving.load_model(path)
        log(f"loaded {path}")
        if os.path.exists(path + ".history.json"):
            with open(path + ".history.json") as handle:
                history = json.load(handle)
    else:
        try:
            model = get_model("fashion_vgg", weights="fashion_mnist")
            log("using the project's trained fashion_vgg weights")
        except (ValueError, OSError) as error:
            log(f"no trained fashion_vgg weights ({error}); training {epochs} epoch(s) here")
            keras.utils.set_random_seed(0)
            model = get_model("fashion_vgg")
            model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            start = time.time()
            history = model.fit(x_train, y_train, batch_size=128, epochs=epochs, validation_data=(x_test, y_test), verbose=2).history
            log(f"trained in {time.time() - start:.0f} s")
    probabilities = model.predict(x_test, batch_size=512, verbose=0)
    log(f"test accuracy {np.mean(probabilities.argmax(-1) == y_test):.4f}")
    return model, x_test, y_test, probabilities, history


def _unit(images):
    images = np.asarray(images, np.float32) / 255.0
    return images[..., None] if images.ndim == 3 else images


def make_figures(model, x_test, y_test, probabilities, history, out):
    from keras_cv_course import visualize as V

    os.makedirs(out, exist_ok=True)
    written = []
    predicted = probabilities.argmax(-1)
    # one correctly classified example of each class, in class order
    examples = np.array([np.flatnonzero((y_test == c) & (predicted == c))[0] for c in range(10)])

    # 1. first-layer filters and the 3x3 filters of block2_conv1 (input channel 0)
    figure, axes = V.new_figure(1, 2, size=3.6)
    V.plot_filters(axes[0], V.filters(model, "block1_conv1"), cols=8, title="block1_conv1: 32 filters 3x3")
    V.plot_filters(axes[1], V.filters(model, "block2_conv1")[:32], cols=8, channel=0, title="block2_conv1 (input channel 0)")
    written.append(V.save_figure(figure, os.path.join(out, "fashion_filters.png")))

    # 2. the activation walk of one image: input, then every channel of four layers
    image = x_test[examples[9]]
    layer_names = ["block1_relu1", "block1_pool", "block2_relu2", "block3_relu1"]
    acts = V.activations(model, image, layer_names)
    figure, axes = V.new_figure(1, 5, size=3.2)
    axes[0].imshow(image[..., 0], cmap="gray")
    axes[0].set_axis_off()
    axes[0].set_title(f"input: {CLASSES[y_test[examples[9]]]}")
    for ax, name in zip(axes[1:], layer_names):
        V.plot_activation_grid(ax, acts[name], title=f"{name} {acts[name].shape[1]}x{acts[name].shape[2]}x{acts[name].shape[3]}")
    written.append(V.save_figure(figure, os.path.join(out, "fashion_activations.png")))

    # 3. pattern gallery: the inputs that maximize 16 units of three layers, read
    #    after BN + ReLU (the mean response of a purely linear conv is maximized by
    #    a flat image, so the raw block1_conv1 output would give gray squares)
    layers = ["block1_relu1", "block2_relu2", "block3_relu1"]
    figure, axes = V.new_figure(1, 3, size=4.0)
    for ax, name in zip(axes, layers):
        patterns = V.filter_patterns(model, name, range(16), size=48, steps=40, regularizers={"jitter": 1, "tv": 0.05})
        V.plot_pattern_gallery(ax, patterns, cols=4, title=name)
    written.append(V.save_figure(figure, os.path.join(out, "fashion_patterns.png")))

    # 4. Grad-CAM overlays, one image per class, on the predicted class
    batch = x_test[examples]
    cams = V.grad_cam(model, batch)
    figure, axes = V.new_figure(2, 10, size=1.6)
    for k in range(10):
        axes[0, k].imshow(batch[k, ..., 0], cmap="gray")
        axes[0, k].set_axis_off()
        axes[0, k].set_title(CLASSES[y_test[examples[k]]], fontsize=8)
        V.plot_heatmap_overlay(axes[1, k], batch[k], cams[k], title=f"{probabilities[examples[k]].max():.2f}")
    figure.suptitle("Grad-CAM on the last convolution unit (block3_relu1), predicted class and its probability")
    written.append(V.save_figure(figure, os.path.join(out, "fashion_gradcam.png")))

    # 5. gradient maps side by side, and the Adebayo et al. sanity check
    chosen = batch[[0, 1, 7, 8]]
    randomized = V.randomized_copy(model, seed=0)
    rows = [
        ("saliency", V.saliency(model, chosen, reduce="max_abs")),
        ("SmoothGrad", V.smoothgrad(model, chosen, samples=20, noise=0.15, reduce="max_abs")),
        ("guided backprop", V.guided_backprop(model, chosen, reduce="max_abs")),
        ("guided Grad-CAM", np.abs(V.guided_grad_cam(model, chosen)).max(-1)),
        ("occlusion", np.maximum(V.occlusion_sensitivity(model, chosen, patch=6, stride=2), 0)),
        ("Grad-CAM, random weights", V.grad_cam(randomized, chosen)),
    ]
    figure, axes = V.new_figure(len(chosen), len(rows) + 1, size=1.7)
    for i in range(len(chosen)):
        axes[i, 0].imshow(chosen[i, ..., 0], cmap="gray")
        axes[i, 0].set_axis_off()
        for j, (title, maps) in enumerate(rows, start=1):
            V.plot_heatmap(axes[i, j], V.normalize_maps(maps[i : i + 1])[0], cmap="inferno", title=title if i == 0 else None)
    for ax in axes[0]:
        ax.title.set_fontsize(8)
    written.append(V.save_figure(figure, os.path.join(out, "fashion_saliency.png")))

    # 6. training plots: history (when trained here), confusion matrix, one-vs-rest ROC
    matrix = np.zeros((10, 10), np.int64)
    np.add.at(matrix, (y_test, predicted), 1)
    panels = 4 if history else 2
    figure, axes = V.new_figure(1, panels, size=4.2)
    if history:
        V.plot_history(axes[0], history, metrics="loss")
        V.plot_history(axes[1], history, metrics="accuracy")
    V.plot_confusion_matrix(axes[-2], matrix, [c.split("/")[0] for c in CLASSES])
    fpr, tpr, auc = {}, {}, {}
    for c in (0, 6, 9):
        fpr[CLASSES[c]], tpr[CLASSES[c]], auc[CLASSES[c]] = _roc(y_test == c, probabilities[:, c])
    V.plot_roc(axes[-1], fpr, tpr, auc, title="ROC, one class vs rest")
    written.append(V.save_figure(figure, os.path.join(out, "fashion_training.png")))
    return written


def _roc(positive, score):
    order = np.argsort(-score, kind="stable")
    positive = positive[order].astype(np.float64)
    tpr = np.concatenate([[0.0], np.cumsum(positive) / positive.sum()])
    fpr = np.concatenate([[0.0], np.cumsum(1 - positive) / (1 - positive).sum()])
    return fpr, tpr, float(np.trapezoid(tpr, fpr))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--model", default=None, help="a saved .keras model to draw instead of training")
    parser.add_argument("--save-model", default=None, help="save the model used here (.keras; its history beside it)")
    args = parser.parse_args(argv)
    log = lambda text: print(f"[make_figures] {text}", flush=True)  # noqa: E731
    model, x_test, y_test, probabilities, history = load_model(args.model, args.epochs, log)
    if args.save_model:
        model.save(args.save_model)
        if history:
            with open(args.save_model + ".history.json", "w") as handle:
                json.dump({k: [float(v) for v in values] for k, values in history.items()}, handle)
    for path in make_figures(model, x_test, y_test, probabilities, history, args.out):
        log(f"wrote {path} ({os.path.getsize(path) // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
