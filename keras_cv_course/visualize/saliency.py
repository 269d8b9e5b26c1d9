"""Gradient maps in input space: which pixels the class score is most sensitive to.

- ``saliency`` (Simonyan et al. 2014): the gradient of the class score
  (pre-softmax) with respect to the input.
- ``smoothgrad`` (Smilkov et al. 2017): that gradient averaged over noisy copies.
- ``guided_backprop`` (Springenberg et al. 2015): backward through each ReLU only
  where its input and the incoming gradient are both positive.
- ``deconvnet`` (Zeiler & Fergus 2014): backward through each ReLU as a ReLU of
  the incoming gradient.
- ``randomized_copy``: the model with re-initialized weights, for the sanity check
  of Adebayo et al. 2018 (a map that does not change is not explaining the model).

ReLUs are ``ReLU`` layers, ``Activation("relu")`` and ReLUs fused into Conv/Dense
layers; the rules apply to a private copy, never to the user's model. Results are
numpy arrays the shape of the input; ``reduce="max_abs"`` gives (N, H, W) maps
(max over channels of |g|), ``reduce="abs_mean"`` the channel mean of |g|.
"""

import keras
import numpy as np

from keras_cv_course.visualize import _gradients
from keras_cv_course.visualize._graph import Tracer, as_batch, class_scores, iter_layers, find_layer


def input_gradients(model, images, class_index=None, *, relu_rule=None):
    """``(d score / d input, class indices)`` for each image's ``class_index``
    (default its top class), the score taken before a final softmax/sigmoid."""
    tracer = Tracer(model, logits=True, relu_rule=relu_rule)

    def total_score(x):
        output, _ = tracer(x)
        scores, indices = class_scores(output, class_index)
        return keras.ops.sum(scores), indices

    _, (gradient,), indices = _gradients.value_and_gradients(total_score, [as_batch(images, model)])
    return gradient, np.asarray(indices, np.int32)


def saliency(model, images, class_index=None, *, reduce=None):
    """Vanilla gradient saliency, shaped like the input (or reduced; see module)."""
    return _reduce(input_gradients(model, images, class_index)[0], reduce)


def smoothgrad(model, images, class_index=None, *, samples=25, noise=0.15, seed=0, reduce=None):
    """SmoothGrad: the mean gradient over ``samples`` copies of each image with
    Gaussian noise of standard deviation ``noise`` × (max − min of the image). The
    class is fixed from the clean image. ``noise=0`` gives the plain gradient."""
    batch = as_batch(images, model)
    if class_index is None:
        class_index = input_gradients(model, batch, None)[1]
    rng = np.random.default_rng(seed)
    axes = tuple(range(1, batch.ndim))
    sigma = noise * (batch.max(axis=axes, keepdims=True) - batch.min(axis=axes, keepdims=True))
    total = np.zeros_like(batch)
    for _ in range(max(1, int(samples))):
        noisy = batch + sigma * rng.standard_normal(batch.shape).astype(np.float32)
        total += input_gradients(model, noisy, class_index)[0]
    return _reduce(total / max(1, int(samples)), reduce)


def guided_backprop(model, images, class_index=None, *, reduce=None):
    """Guided backpropagation: ReLUs pass gradient where input > 0 and gradient > 0."""
    return _reduce(input_gradients(model, images, class_index, relu_rule="guided")[0], reduce)


def deconvnet(model, images, class_index=None, *, reduce=None):
    """The deconvnet rule: ReLUs pass ReLU(gradient), whatever their input was."""
    return _reduce(input_gradients(model, images, class_index, relu_rule="deconvnet")[0], reduce)


def _reduce(gradient, reduce):
    if reduce is None:
        return gradient
    if reduce == "max_abs":
        return np.abs(gradient).max(axis=-1)
    if reduce == "abs_mean":
        return np.abs(gradient).mean(axis=-1)
    raise ValueError(f"reduce must be None, 'max_abs' or 'abs_mean'; got {reduce!r}")


def randomized_copy(model, layers=None, *, seed=0):
    """A copy of ``model`` whose ``layers`` (default: every layer with a kernel)
    have Glorot-uniform random kernels and zero biases; other weights are copied.
    The original is untouched. Passing the top layers only gives Adebayo et al.'s
    cascading randomization one step at a time."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    chosen = None if layers is None else {id(find_layer(copy, _path_in(model, spec))) for spec in _as_list(layers)}
    rng = np.random.default_rng(seed)
    for _, layer in iter_layers(copy):
        if isinstance(layer, keras.Model) or (chosen is not None and id(layer) not in chosen):
            continue
        for variable in layer.weights:
            name = variable.name.split("/")[-1].split(":")[0]
            shape = tuple(variable.shape)
            if name.endswith("kernel") and len(shape) >= 2:
                receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
                limit = np.sqrt(6.0 / ((shape[-2] + shape[-1]) * receptive))
                variable.assign(rng.uniform(-limit, limit, shape).astype(variable.dtype))
            elif name == "bias":
                variable.assign(np.zeros(shape, variable.dtype))
    return copy


def _as_list(layers):
    return [layers] if isinstance(layers, (str, keras.layers.Layer)) else list(layers)


def _path_in(model, spec):
    """A spec usable on the clone: Layers of the original become their paths."""
    if isinstance(spec, keras.layers.Layer):
        for path, layer in iter_layers(model):
            if layer is spec:
                return path
    return spec
