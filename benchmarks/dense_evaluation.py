"""Dense evaluation (OverFeat, Sermanet et al. 2013, 3.5; EE-559 7.3): scoring a
448×448 image at every window of the classifier's grid in one pass of the
convolutionized network, against running the classifier on each window.

    python benchmarks/dense_evaluation.py                 # zfnet at 224, then lenet5 at 28
    python benchmarks/dense_evaluation.py --model vgg11 --image 448

The grid's step is the network's total stride (``surgery.total_stride``): for
ZFNet 32, so a 448×448 image holds (1 + (448-224)/32)² = 8×8 = 64 windows. The
windowed run is batched (``--batch`` crops a call), so it is not handicapped by
Python overhead; the dense run shares the convolutions of overlapping windows.

The score grids are compared by their max abs difference. They are equal (up to
float rounding) only for a net without padding, such as LeNet-5, which is why
lenet5 runs too: a padded convolution of a crop sees zeros at the crop's border
where the dense pass sees the neighbouring pixels (Simonyan & Zisserman 2015,
3.2, "boundary conditions"), so ZFNet's grids differ at the borders; the head
slid over the dense feature map (the third figure) equals the dense grid exactly.
Weights are random (``keras.utils.set_random_seed(0)``); timing does not depend on them.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_cv_course import surgery  # noqa: E402
from keras_cv_course.models import get_model  # noqa: E402


def _timed(fn, repeats):
    fn()  # trace / warm up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def windows(image, side, stride):
    """Every ``side``×``side`` crop of ``image`` (1, H, W, C) on the stride grid, row by row."""
    rows = 1 + (image.shape[1] - side) // stride
    cols = 1 + (image.shape[2] - side) // stride
    crops = [image[0, stride * i:stride * i + side, stride * j:stride * j + side] for i in range(rows) for j in range(cols)]
    return np.stack(crops), (rows, cols)


def head_on_feature_windows(model, fcn, image):
    """The original Flatten → Dense head on every window of the dense feature map."""
    first_fc = next(l.name for l in model.layers if isinstance(l, keras.layers.Dense))
    features = keras.Model(fcn.input, fcn.get_layer(first_fc).input)
    head = keras.Model(model.get_layer("flatten").input, model.outputs)
    fmap = keras.ops.convert_to_numpy(features(image))
    mh, mw = head.input_shape[1:3]
    rows, cols = fmap.shape[1] - mh + 1, fmap.shape[2] - mw + 1
    crops = np.concatenate([fmap[:, i:i + mh, j:j + mw] for i in range(rows) for j in range(cols)])
    return keras.ops.convert_to_numpy(head.predict(crops, verbose=0)).reshape(rows, cols, -1)


def run(name, image_side, batch, repeats):
    keras.utils.set_random_seed(0)
    model = get_model(name, classifier_activation=None)  # logits: a stricter comparison than softmax
    side, channels = model.input_shape[1], model.input_shape[3]
    stride = surgery.total_stride(model)[0]
    fcn = surgery.convolutionize(model, input_shape=(image_side, image_side, channels))
    image = np.random.default_rng(0).uniform(0, 1, (1, image_side, image_side, channels)).astype("float32")
    crops, grid = windows(image, side, stride)

    dense_time, dense = _timed(lambda: keras.ops.convert_to_numpy(fcn.predict(image, verbose=0)), repeats)
    window_time, scores = _timed(lambda: model.predict(crops, batch_size=batch, verbose=0), repeats)
    dense = dense[0, :grid[0], :grid[1]]
    print(f"{name}: native {side}×{side}, total stride {stride}, image {image_side}×{image_side}, "
          f"{grid[0]}×{grid[1]} = {len(crops)} windows, dense map {fcn.output_shape[1:3]}")
    print(f"  dense (convolutionized), one pass : {dense_time:8.3f} s")
    print(f"  classifier on every window        : {window_time:8.3f} s  (batch {batch})")
    print(f"  ratio windows / dense             : {window_time / dense_time:8.1f}×")
    print(f"  max |dense - windows|  (logits)   : {np.abs(dense - scores.reshape(dense.shape)).max():.3g}"
          f"  (max |logit| {np.abs(scores).max():.3g}; top-1 agreement "
          f"{np.mean(dense.argmax(-1) == scores.reshape(dense.shape).argmax(-1)):.0%})")
    exact = head_on_feature_windows(model, fcn, image)
    print(f"  max |dense - head on feature windows| : {np.abs(dense - exact).max():.3g}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", help="registered classifier (repeatable); default zfnet, lenet5")
    parser.add_argument("--image", type=int, default=448)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for name in args.model or ["zfnet", "lenet5"]:
        run(name, args.image, args.batch, args.repeats)


if __name__ == "__main__":
    main()
