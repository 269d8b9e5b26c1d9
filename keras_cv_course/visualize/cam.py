"""Class-activation maps: where in the image the evidence for a class lies.

- ``grad_cam`` (Selvaraju et al. 2017): channel weights are the spatial mean of
  d score / d A for the target layer's activation A; the map is ReLU(Σ_k w_k A_k).
  The score is the class's pre-softmax value (a final softmax or sigmoid of the
  model is skipped, without changing the model).
- ``grad_cam_plus_plus`` (Chattopadhay et al. 2018): pixel-weighted gradients.
- ``guided_grad_cam``: guided backprop × the upsampled Grad-CAM map.
- ``occlusion_sensitivity`` (Zeiler & Fergus 2014): the drop of the class's
  output when a gray patch hides each region.

Maps are numpy (N, H, W): at the input's size (bilinear) unless ``upsample=False``
(then the target layer's size), and each divided by its maximum unless
``normalize=False``. A map that is zero everywhere stays zero (never NaN).
The target layer defaults to the output of the network's last block: the last
layer with a spatial (N, H, W, C) output that the model's output depends on
entirely (``_graph.default_cam_layer``; nested models searched) — ResNet50's
``conv5_block3_out``, InceptionV3's ``mixed10``, never a branch conv inside a
block. ``layer=`` overrides it.
"""

import keras
import numpy as np

from keras_cv_course.visualize import _gradients
from keras_cv_course.visualize._graph import Tracer, as_batch, class_scores, default_cam_layer, find_layer


def target_layer(model, layer=None):
    """The layer Grad-CAM reads: ``layer`` (name, path, level or Layer), or by
    default the last layer of ``model`` with a spatial output that the model's
    output depends on entirely — its last block's output (see
    ``_graph.default_cam_layer`` for the rule: joins of branches, shared layers,
    pooling, several outputs)."""
    return default_cam_layer(model) if layer is None else find_layer(model, layer)


def activations_and_gradients(model, images, class_index=None, layer=None):
    """``(A, dS/dA, class indices)`` as numpy: the target layer's activation for
    ``images``, the gradient of each image's class score (pre-softmax) with respect
    to it, and the classes used (``class_index`` or each image's top class)."""
    target = target_layer(model, layer)
    x = keras.ops.convert_to_tensor(as_batch(images, model))
    tracer = Tracer(model, [target], logits=True)

    def total_score(tap):
        # the target's output is tapped: the backward pass stops there, no
        # weight gradients (before or after the layer) are computed
        output, recorded = tracer(x, tap)
        scores, indices = class_scores(output, class_index)
        return keras.ops.sum(scores), (recorded[id(target)], indices)

    _, (gradient,), (activation, indices) = _gradients.value_and_gradients(total_score, [], tapped=True)
    activation, gradient, indices = np.asarray(activation), np.asarray(gradient), np.asarray(indices, np.int32)
    if activation.ndim != 4:
        raise ValueError(f"Layer {target.name!r} has output shape {activation.shape}; class-activation maps need (N, H, W, C)")
    return activation, gradient, indices


def grad_cam(model, images, class_index=None, layer=None, *, normalize=True, upsample=True):
    """Grad-CAM maps (N, H, W) of ``class_index`` (default: each image's top class)."""
    activation, gradient, _ = activations_and_gradients(model, images, class_index, layer)
    weights = gradient.mean(axis=(1, 2))
    cam = np.maximum(np.einsum("nhwc,nc->nhw", activation, weights), 0.0)
    return _finish(cam, images, model, normalize, upsample)


def grad_cam_plus_plus(model, images, class_index=None, layer=None, *, normalize=True, upsample=True):
    """Grad-CAM++ maps (N, H, W): channel weights Σ_ij α_ij ReLU(g_ij) with
    α = g² / (2g² + Σ_ab A_ab g³) (the paper's closed form for an exponential score)."""
    activation, gradient, _ = activations_and_gradients(model, images, class_index, layer)
    g2, g3 = gradient**2, gradient**3
    denominator = 2.0 * g2 + activation.sum(axis=(1, 2), keepdims=True) * g3
    alpha = np.divide(g2, denominator, out=np.zeros_like(g2), where=np.abs(denominator) > 1e-12)
    weights = (alpha * np.maximum(gradient, 0.0)).sum(axis=(1, 2))
    cam = np.maximum(np.einsum("nhwc,nc->nhw", activation, weights), 0.0)
    return _finish(cam, images, model, normalize, upsample)


def guided_grad_cam(model, images, class_index=None, layer=None):
    """Guided Grad-CAM (N, H, W, C): guided backprop times the Grad-CAM map
    upsampled to the input — sharp and class-discriminative."""
    from keras_cv_course.visualize.saliency import guided_backprop

    batch = as_batch(images, model)
    if class_index is None:
        _, _, class_index = activations_and_gradients(model, batch, None, layer)
    cam = grad_cam(model, batch, class_index, layer)
    return guided_backprop(model, batch, class_index) * cam[..., None]


def occlusion_sensitivity(model, images, class_index=None, *, patch=None, stride=None, fill=None, batch_size=64):
    """Zeiler & Fergus's occlusion experiment (N, H, W): for every position of a
    ``patch``×``patch`` square of ``fill`` (default: the image's mean), the drop of
    the model's output for the class (its probability for a softmax model), each
    pixel averaging the patches that cover it. Positive where hiding hurts the
    class. ``patch`` defaults to 1/7 of the image side, ``stride`` to patch // 2."""
    batch = as_batch(images, model)
    _, height, width, _ = batch.shape
    patch = patch or max(1, min(height, width) // 7)
    stride = stride or max(1, patch // 2)
    rows = list(range(0, max(height - patch, 0) + 1, stride))
    cols = list(range(0, max(width - patch, 0) + 1, stride))
    if rows[-1] + patch < height:
        rows.append(height - patch)
    if cols[-1] + patch < width:
        cols.append(width - patch)
    def predict(x):
        with _gradients.no_gradients():
            return keras.ops.convert_to_numpy(model(keras.ops.convert_to_tensor(x), training=False)).reshape(len(x), -1)

    base = predict(batch)
    indices = base.argmax(-1) if class_index is None else np.broadcast_to(np.asarray(class_index), (len(batch),))
    maps = np.zeros((len(batch), height, width), np.float32)
    for n, image in enumerate(batch):
        value = image.mean(axis=(0, 1)) if fill is None else fill
        positions = [(r, c) for r in rows for c in cols]
        drops = []
        for begin in range(0, len(positions), batch_size):
            chunk = positions[begin : begin + batch_size]
            occluded = np.repeat(image[None], len(chunk), axis=0)
            for k, (r, c) in enumerate(chunk):
                occluded[k, r : r + patch, c : c + patch] = value
            drops.extend(base[n, indices[n]] - predict(occluded)[:, indices[n]])
        total = np.zeros((height, width), np.float32)
        count = np.zeros((height, width), np.float32)
        for (r, c), drop in zip(positions, drops):
            total[r : r + patch, c : c + patch] += drop
            count[r : r + patch, c : c + patch] += 1
        maps[n] = total / np.maximum(count, 1)
    return maps


def normalize_maps(maps):
    """Divide each map by its largest absolute value; all-zero maps stay zero."""
    maps = np.asarray(maps, dtype=np.float32)
    peak = np.abs(maps).reshape(len(maps), -1).max(axis=1).reshape((-1,) + (1,) * (maps.ndim - 1))
    return np.divide(maps, peak, out=np.zeros_like(maps), where=peak > 0)


def upsample_maps(maps, size):
    """Bilinear resize of (N, h, w) maps to ``size`` (H, W), with pixel centres
    aligned (half-pixel sampling, edges clamped: ``tf.image.resize``'s
    ``"bilinear"``), computed in numpy so every backend gives the same maps."""
    maps = np.asarray(maps, dtype=np.float32)
    if maps.shape[1:] == tuple(size):
        return maps
    rows, row_weights = _bilinear_taps(maps.shape[1], size[0])
    cols, col_weights = _bilinear_taps(maps.shape[2], size[1])
    left, right = maps[:, :, cols[0]], maps[:, :, cols[1]]
    across = left + (right - left) * col_weights
    top, bottom = across[:, rows[0]], across[:, rows[1]]
    return top + (bottom - top) * row_weights[:, None]


def _bilinear_taps(source, target):
    """For each of ``target`` output positions: the two source indices it lies
    between and the weight of the second."""
    centres = (np.arange(target, dtype=np.float32) + np.float32(0.5)) * np.float32(source / target) - np.float32(0.5)
    centres = np.clip(centres, np.float32(0.0), np.float32(source - 1))
    low = np.floor(centres)
    high = np.minimum(low + 1, source - 1)
    return (low.astype(np.int64), high.astype(np.int64)), centres - low


def _finish(cam, images, model, normalize, upsample):
    cam = np.nan_to_num(cam.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    if upsample:
        cam = np.maximum(upsample_maps(cam, as_batch(images, model).shape[1:3]), 0.0)
    return normalize_maps(cam) if normalize else cam
