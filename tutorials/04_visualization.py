"""Tutorial 4 — visualizing what convnets learn.

The course's walkthrough (Chollet, Deep Learning with Python, §5.4), on a small
VGG-style convnet trained on real Fashion-MNIST instead of cats and dogs and
ImageNet VGG16:

1. intermediate activations — what each layer does to one image;
2. convnet filters — the first layer's weights, and the input pattern each
   filter responds to most (gradient ascent in input space);
3. heatmaps of class activation — Grad-CAM, where in the image the class is seen,
   and the gradient maps (saliency, SmoothGrad, guided backprop);
4. a sanity check: the maps must change when the weights are randomized.

The model is the course's first convnet (§5.1: Conv 32 → pool → Conv 64 → pool →
Conv 64, 3×3 kernels, ReLU), built the course's way as a convolutional base
(``conv_base``) nested inside a Sequential with a classifier head; every tool of
``keras_cv_course.visualize`` looks inside it. (docs/make_figures.py draws the
same pictures for the registry's deeper ``fashion_vgg``.)

Run:  python tutorials/04_visualization.py [--fast] [--out DIR]
(``--fast`` trains on the 2,000-image sample shipped with the package for one
epoch and shrinks every loop, so it finishes in seconds; the pictures are then
rough. Without it: three epochs on the 60,000 training images, a few minutes.)
"""

import argparse
import sys

import numpy as np


def main(fast=False, out="tutorial_04_out"):
    import keras

    from keras_cv_course import visualize as V
    from keras_cv_course.data import info, load_arrays

    writer = V.FigureWriter(out)
    results, save = {"files": writer.files}, writer.save

    # ------------------------------------------------------------------ 0. a trained convnet
    print("0. Train a small convnet on Fashion-MNIST")
    dataset = "fashion_mnist_sample" if fast else "fashion_mnist"
    class_names = info(dataset).class_names
    x_train, y_train = load_arrays(dataset, "train")
    x_test, y_test = load_arrays(dataset, "test")
    x_train = x_train.astype("float32") / 255.0  # the model's "unit" preprocessing
    x_test = x_test.astype("float32") / 255.0
    x_train, x_test = x_train.reshape(-1, 28, 28, 1), x_test.reshape(-1, 28, 28, 1)

    keras.utils.set_random_seed(0)
    layers = keras.layers
    conv_base = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu", name="conv1"),
            layers.MaxPooling2D(2, name="pool1"),
            layers.Conv2D(64, 3, activation="relu", name="conv2"),
            layers.MaxPooling2D(2, name="pool2"),
            layers.Conv2D(64, 3, activation="relu", name="conv3"),
        ],
        name="conv_base",
    )
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            conv_base,
            layers.Flatten(name="flatten"),
            layers.Dense(64, activation="relu", name="fc1"),
            layers.Dense(10, activation="softmax", name="predictions"),
        ],
        name="classifier",
    )
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=64, epochs=2 if fast else 5,
                        validation_data=(x_test, y_test), verbose=0 if fast else 2)
    results["accuracy"] = float(history.history["val_accuracy"][-1])
    print(f"  test accuracy {results['accuracy']:.3f}")
    figure, ax = V.new_figure()
    V.plot_history(ax, history.history, metrics="accuracy")
    save(figure, "history.png")

    # ------------------------------------------------------------------ 1. activations
    print("1. Intermediate activations of one test image")
    # The course builds Model(inputs=model.input, outputs=[l.output for l in layers[:8]]).
    # With a nested conv_base that model cannot be built directly; activations()
    # runs the model layer by layer and reaches inside conv_base.
    image = x_test[0]
    acts = V.activations(model, image)  # every conv and pool layer, keyed by path
    for key, value in acts.items():
        print(f"  {key:32s} {value.shape}")
    figure, axes = V.new_figure(1, 3, size=3.5)
    axes[0].imshow(image[..., 0], cmap="gray")
    axes[0].set_title(f"input: {class_names[y_test[0]]}")
    axes[0].set_axis_off()
    first = acts["conv_base/conv1"]
    axes[1].imshow(first[0, :, :, 4], cmap="viridis")  # one channel, as in the course
    axes[1].set_title("conv1, channel 4")
    axes[1].set_axis_off()
    axes[2].imshow(first[0, :, :, 7], cmap="viridis")
    axes[2].set_title("conv1, channel 7")
    axes[2].set_axis_off()
    save(figure, "activation_channels.png")
    # every channel of every layer
    figure, axes = V.new_figure(1, len(acts), size=4)
    for ax, (key, value) in zip(axes, acts.items()):
        V.plot_activation_grid(ax, value, title=key.split("/")[-1])
    save(figure, "activation_grids.png")
    # deeper layers: fewer pixels, more abstract, sparser (more blank channels)
    sparsity = {key: float(np.mean(value.max(axis=(0, 1, 2)) <= 0)) for key, value in acts.items()}
    print("  fraction of channels silent on this image:", {k: round(v, 2) for k, v in sparsity.items()})
    results["sparsity"] = sparsity
    results["activation_keys"] = list(acts)

    # ------------------------------------------------------------------ 2. filters
    print("2. Filters: first-layer weights, and the patterns each filter responds to")
    figure, ax = V.new_figure()
    V.plot_filters(ax, V.filters(model), cols=8, title="conv1 weights")  # first conv, found inside conv_base
    save(figure, "filters.png")
    # generate_pattern: gradient ascent on the mean activation of one filter
    steps = 8 if fast else 40
    pattern, objective = V.filter_pattern(model, "conv2", 0, steps=steps, size=48, return_objective=True)
    print(f"  conv2 filter 0: mean activation {objective[0]:.3f} -> {objective[-1]:.3f} in {steps} steps")
    results["pattern_objective"] = objective
    # the gallery: a grid of patterns per layer (jitter and total variation smooth them)
    count = 4 if fast else 16
    figure, axes = V.new_figure(1, 3, size=4)
    for ax, name in zip(axes, ["conv1", "conv2", "conv3"]):
        patterns = V.filter_patterns(model, name, range(count), steps=steps, size=48,
                                     regularizers={"jitter": 1, "tv": 0.02})
        V.plot_pattern_gallery(ax, patterns, cols=int(np.sqrt(count)), title=name)
    save(figure, "patterns.png")

    # ------------------------------------------------------------------ 3. class activation
    print("3. Heatmaps of class activation (Grad-CAM) and gradient maps")
    batch = x_test[:6]
    probabilities = model.predict(batch, verbose=0)
    heatmaps = V.grad_cam(model, batch)  # top class, conv_base's last block output, pre-softmax score
    print(f"  Grad-CAM target layer: {V.target_layer(model).name}")
    figure, axes = V.new_figure(2, len(batch), size=2)
    for k in range(len(batch)):
        axes[0, k].imshow(batch[k, ..., 0], cmap="gray")
        axes[0, k].set_title(class_names[probabilities[k].argmax()], fontsize=8)
        axes[0, k].set_axis_off()
        V.plot_heatmap_overlay(axes[1, k], batch[k], heatmaps[k])
    save(figure, "gradcam.png")
    results["gradcam"] = heatmaps
    samples = 4 if fast else 25
    maps = {
        "saliency": V.saliency(model, batch[:3], reduce="max_abs"),
        "SmoothGrad": V.smoothgrad(model, batch[:3], samples=samples, reduce="max_abs"),
        "guided backprop": V.guided_backprop(model, batch[:3], reduce="max_abs"),
        "guided Grad-CAM": np.abs(V.guided_grad_cam(model, batch[:3])).max(-1),
    }
    figure, axes = V.new_figure(3, len(maps), size=2)
    for j, (title, values) in enumerate(maps.items()):
        for i in range(3):
            V.plot_heatmap(axes[i, j], V.normalize_maps(values[i : i + 1])[0], cmap="inferno", title=title if i == 0 else None)
    save(figure, "gradient_maps.png")

    # ------------------------------------------------------------------ 4. sanity check
    print("4. Sanity check (Adebayo et al. 2018): randomize the weights, the maps must change")
    randomized = V.randomized_copy(model, seed=0)
    random_maps = V.grad_cam(randomized, batch)
    correlation = float(np.corrcoef(heatmaps.ravel(), random_maps.ravel())[0, 1])
    print(f"  correlation of Grad-CAM maps, trained vs random weights: {correlation:.2f}")
    results["randomized_correlation"] = correlation
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Visualizing what convnets learn (course walkthrough).")
    parser.add_argument("--fast", action="store_true", help="tiny data and loops (seconds)")
    parser.add_argument("--out", default="tutorial_04_out")
    arguments = parser.parse_args()
    main(fast=arguments.fast, out=arguments.out)
    sys.exit(0)
