"""What the filters of a convnet respond to: their weights as images, and the
input pattern that maximizes a filter's response (the course's
``generate_pattern``: gradient ascent in input space with normalized gradients)."""

import sys
import time

import keras
import numpy as np

from keras_cv_course import _keras_compat
from keras_cv_course.visualize import _gradients
from keras_cv_course.visualize._graph import Tracer, conv_layers, find_layer


def filters(model, layer=None, *, normalize="each"):
    """A convolution layer's kernels as image tiles, (filters, kh, kw, in_channels)
    in [0, 1]. ``layer`` defaults to the first convolution (nested models searched);
    the first layer of an RGB model gives RGB tiles. ``normalize``: ``"each"``
    scales every filter to [0, 1] on its own, ``"global"`` scales all together so
    relative magnitudes show, ``"signed"`` divides every filter by twice its
    largest absolute weight and adds 0.5, so a zero weight is 0.5 and the sign
    shows (draw with a diverging colour map). Depthwise layers give
    (in·multiplier, kh, kw, 1).
    """
    target = conv_layers(model)[0] if layer is None else find_layer(model, layer)
    kernel = getattr(target, "kernel", None)
    depthwise = getattr(target, "depthwise_kernel", None)
    if kernel is None and depthwise is None:
        raise ValueError(f"Layer {target.name!r} ({type(target).__name__}) has no convolution kernel")
    kernel = np.asarray(depthwise if depthwise is not None else kernel, dtype=np.float32)
    if kernel.ndim != 4:
        raise ValueError(f"Layer {target.name!r} has a {kernel.ndim}-D kernel; filters() shows 2-D convolutions")
    if depthwise is not None:
        kh, kw, cin, mult = kernel.shape
        tiles = kernel.reshape(kh, kw, cin * mult)[..., None]
        tiles = np.moveaxis(tiles, 2, 0)
    else:
        tiles = np.moveaxis(kernel, 3, 0)  # (out, kh, kw, in)
    if normalize == "signed":
        largest = np.abs(tiles).max(axis=(1, 2, 3), keepdims=True)
        return (0.5 + tiles / (2 * np.where(largest > 0, largest, 1.0))).astype(np.float32)
    if normalize == "global":
        low, high = tiles.min(), tiles.max()
    elif normalize == "each":
        low = tiles.min(axis=(1, 2, 3), keepdims=True)
        high = tiles.max(axis=(1, 2, 3), keepdims=True)
    else:
        raise ValueError(f"normalize must be 'each', 'global' or 'signed'; got {normalize!r}")
    span = np.where(high - low > 0, high - low, 1.0)
    return ((tiles - low) / span).astype(np.float32)


def total_variation(images):
    """Anisotropic total variation: the mean absolute difference between
    neighbouring pixels, vertically plus horizontally, of (N, H, W, C) or
    (H, W, C) images. 0 for a constant image. Works on numpy and on the backend's
    tensors (differentiable, with ``keras.ops``); returns a float for numpy input."""
    as_numpy = not keras.ops.is_tensor(images)
    x = keras.ops.cast(images, "float32")
    if len(x.shape) == 3:
        x = x[None]
    ops = keras.ops
    vertical = ops.mean(ops.abs(x[:, 1:] - x[:, :-1])) if x.shape[1] > 1 else 0.0
    horizontal = ops.mean(ops.abs(x[:, :, 1:] - x[:, :, :-1])) if x.shape[2] > 1 else 0.0
    value = vertical + horizontal
    return float(ops.convert_to_numpy(value)) if as_numpy else value


def deprocess_image(x):
    """The course's ``deprocess_image``: center, scale to std 0.1, shift to 0.5,
    clip to [0, 1] and convert to uint8 (so any input scale becomes viewable)."""
    x = np.asarray(x, dtype=np.float64)
    x = x - x.mean()
    x = x / (x.std() + 1e-5) * 0.1 + 0.5
    return (np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


def filter_pattern(
    model,
    layer,
    filter_index,
    *,
    steps=40,
    step_size=None,
    size=None,
    regularizers=None,
    value_range=None,
    preprocessing=None,
    start=None,
    seed=0,
    deprocess=True,
    return_objective=False,
    verbose=False,
    progress_seconds=10.0,
    print_fn=None,
):
    """The input that maximizes the mean activation of ``filter_index`` in ``layer``.

    Gradient ascent as in the course's ``generate_pattern``: start from the gray
    middle of the value range with a little noise (or ``start``), and ``steps``
    times step ``step_size`` (default 1% of the range's span) along the gradient
    divided by its RMS (not clipped; ``deprocess`` makes any scale viewable).
    The value range is where the model's inputs live: ``value_range`` (low, high)
    when given, else that of the preprocessing mode ``preprocessing`` ("caffe",
    "tf", "torch", "unit", "none"; ``keras_cv_course.preprocessing.value_range``),
    else that of the mode the model records (``input_preprocessing``: a registered
    model, or one built around a registered backbone; a caffe VGG16 gets about
    (-124, 151)), else [0, 1]. ``size``: an
    int or (H, W), default the model's input size (the model runs only up to
    ``layer``, so any size its convolutions accept works). ``regularizers``: a dict
    with any of ``"jitter"`` (max random shift in pixels before each step,
    Mordvintsev et al. 2015), ``"tv"`` (weight of the total-variation penalty) and
    ``"l2"`` (weight of an L2 penalty on the input's distance from gray). A filter
    silent everywhere at the start (a dead ReLU) climbs its pre-activation until it
    fires. Returns the pattern deprocessed to uint8 (H, W, C), or the raw input with
    ``deprocess=False``; with ``return_objective=True`` also the objective (mean
    activation, no penalties) before each step and after the last (steps + 1 values).
    ``verbose``: progress lines (the step, the mean objective, the seconds so far)
    at most every ``progress_seconds`` (0: every step) and one when done, through
    ``print_fn`` (default: printed to stderr), as ``training.fit`` reports long
    epochs.
    """
    patterns, objectives = _ascend(
        model, layer, [filter_index], steps=steps, step_size=step_size, size=size, regularizers=regularizers,
        value_range=value_range, preprocessing=preprocessing, start=start, seed=seed, verbose=verbose,
        progress_seconds=progress_seconds, print_fn=print_fn,
    )
    result = deprocess_image(patterns[0]) if deprocess else patterns[0]
    return (result, objectives[:, 0]) if return_objective else result


def filter_patterns(model, layer, filter_indices=None, *, deprocess=True, return_objective=False, **kwargs):
    """``filter_pattern`` for several filters of ``layer`` (default: all) at once —
    one batched ascent, each image climbing its own filter — stacked (N, H, W, C):
    a row of the course's pattern gallery. Keyword arguments as ``filter_pattern``
    (the value range defaults the same way; ``verbose=True`` shows the progress of
    a long gallery); the objectives come back as (steps + 1, N)."""
    target = find_layer(model, layer)
    if filter_indices is None:
        count = getattr(target, "filters", None)
        if count is None:
            raise ValueError(f"Pass filter_indices for layer {target.name!r}")
        filter_indices = range(count)
    patterns, objectives = _ascend(model, target, list(filter_indices), **kwargs)
    result = np.stack([deprocess_image(p) for p in patterns]) if deprocess else patterns
    return (result, objectives) if return_objective else result


def input_preprocessing(model):
    """The preprocessing mode the inputs of ``model`` are in, as the registry
    records it (``models.model_info(name).preprocessing``, what ``kcc visualize``
    uses for a registered model): that of ``model`` when its name is a registered
    model's, else that of a registered model nested as its first layer (the
    course's ``Sequential([conv_base, Flatten(), Dense(...)])``); None when
    neither is registered."""
    from keras_cv_course.models import list_models, model_info

    registered = set(list_models())
    seen = set()
    while model is not None and id(model) not in seen:
        seen.add(id(model))
        if model.name in registered:
            return model_info(model.name).preprocessing
        model = _first_nested_model(model)
    return None


def _first_nested_model(model):
    """The model nested in ``model`` that reads ``model``'s input directly, if any."""
    first = next((layer for layer in getattr(model, "layers", []) if not isinstance(layer, keras.layers.InputLayer)), None)
    if not isinstance(first, keras.Model):
        return None
    if isinstance(model, keras.Sequential):
        return first
    try:
        inputs = model.inputs
        calls = _keras_compat.layer_calls(first)
    except (AttributeError, ValueError):
        return None
    fed = any(t is i for call_inputs, _ in calls for t in call_inputs for i in inputs)
    return first if fed else None


def pattern_value_range(model, value_range=None, preprocessing=None):
    """``(low, high)``: ``value_range``, else the range of ``preprocessing``, else
    that of the mode ``model`` records (``input_preprocessing``), else (0, 1)."""
    if value_range is not None:
        low, high = (float(v) for v in value_range)
        if not high > low:
            raise ValueError(f"value_range must be (low, high) with high > low; got {value_range!r}")
        return low, high
    from keras_cv_course.preprocessing import value_range as mode_range

    mode = preprocessing or input_preprocessing(model)
    return mode_range(mode) if mode else (0.0, 1.0)


class _Progress:
    """Progress lines of a long ascent, at most every ``every_seconds``."""

    def __init__(self, label, steps, *, every_seconds, print_fn):
        self.label, self.steps, self.every_seconds = label, steps, every_seconds
        self.print_fn = print_fn or (lambda line: print(line, file=sys.stderr, flush=True))
        self.start = self.last = time.perf_counter()

    def step(self, done, objective):
        now = time.perf_counter()
        if done < self.steps and now - self.last < self.every_seconds:
            return
        self.last = now
        word = "done" if done >= self.steps else "step"
        self.print_fn(f"{self.label}: {word} {done}/{self.steps}, mean objective {float(np.mean(objective)):.4g}, "
                      f"{now - self.start:.1f}s")


def _describe_filters(indices):
    if len(indices) == 1:
        return f"filter {indices[0]}"
    if list(indices) == list(range(indices[0], indices[0] + len(indices))):
        return f"filters {indices[0]}-{indices[-1]}"
    return f"{len(indices)} filters"


def _ascend(model, layer, filter_indices, *, steps=40, step_size=None, size=None, regularizers=None,
            value_range=None, preprocessing=None, start=None, seed=0, verbose=False, progress_seconds=10.0,
            print_fn=None):
    target = find_layer(model, layer)
    tracer = Tracer(model, [target], stop=True, pre_activation=True)
    regularizers = dict(regularizers or {})
    unknown = set(regularizers) - {"jitter", "tv", "l2"}
    if unknown:
        raise ValueError(f"Unknown regularizers {sorted(unknown)}; use 'jitter', 'tv' and 'l2'")
    jitter, tv_weight, l2_weight = int(regularizers.get("jitter", 0)), regularizers.get("tv", 0.0), regularizers.get("l2", 0.0)
    low, high = pattern_value_range(model, value_range, preprocessing)
    span = high - low
    step_size = 0.01 * span if step_size is None else float(step_size)
    rng = np.random.default_rng(seed)
    count = len(filter_indices)
    if start is not None:
        x0 = np.asarray(start, dtype=np.float32)
        x0 = np.broadcast_to(x0 if x0.ndim == 4 else x0[None], (count,) + x0.shape[-3:])
    else:
        height, width = _pattern_size(model, size)
        channels = model.inputs[0].shape[-1]
        x0 = low + span * (0.5 + 0.08 * rng.random((count, height, width, channels)))
    x = np.array(x0, dtype=np.float32)
    middle = low + 0.5 * span
    ops = keras.ops
    depth = _channels(tracer, x, target, filter_indices)
    select = ops.convert_to_tensor(np.eye(depth, dtype=np.float32)[list(filter_indices)])  # one-hot rows

    def per_image(values):  # (N, ..., C) -> (N,): mean over positions of each image's own filter
        axes = tuple(range(1, len(values.shape) - 1))
        means = ops.mean(values, axis=axes) if axes else values
        return ops.sum(means * select, axis=-1)

    def objective_of(image):
        with _gradients.no_gradients():
            return _gradients.to_numpy(per_image(tracer.outputs(ops.convert_to_tensor(image))[0]))

    def climb(image, shift):
        """The objectives to climb (their sum over images, and that of the
        pre-activations) and the penalty, for the backward passes."""
        shifted = ops.roll(image, shift=shift, axis=(1, 2)) if shift else image
        objective = per_image(tracer.outputs(shifted)[0])
        scalars = [ops.sum(objective), ops.sum(per_image(tracer.pre_activations()[0]))]
        if tv_weight or l2_weight:
            penalty = ops.zeros(())
            if tv_weight:
                penalty += tv_weight * ops.sum(ops.stack([total_variation(image[i]) for i in range(count)]))
            if l2_weight:
                penalty += l2_weight * ops.sum(ops.mean(ops.square(image - middle), axis=(1, 2, 3)))
            scalars.append(penalty)
        return tuple(scalars), objective

    progress = _Progress(f"patterns {target.name} ({_describe_filters(filter_indices)})", steps,
                         every_seconds=progress_seconds, print_fn=print_fn) if verbose else None
    objectives = []
    for done in range(steps):
        shift = tuple(int(v) for v in rng.integers(-jitter, jitter + 1, size=2)) if jitter else None
        _, objective, gradient_of = _gradients.pullback(lambda image: climb(image, shift), [x])
        gradient = gradient_of(0)[0]
        dead = np.all(gradient == 0.0, axis=(1, 2, 3), keepdims=True)
        if dead.any():
            # a dead start (the filter's ReLU silent everywhere): climb its pre-activation
            gradient = np.where(dead, gradient_of(1)[0], gradient)
        if tv_weight or l2_weight:
            gradient = gradient - gradient_of(2)[0]
        objectives.append(objective if not jitter else objective_of(x))
        gradient = gradient / (np.sqrt(np.mean(np.square(gradient), axis=(1, 2, 3), keepdims=True)) + np.float32(1e-5))
        x = (x + np.float32(step_size) * gradient).astype(np.float32)
        if progress is not None and done + 1 < steps:
            progress.step(done + 1, objectives[-1])
    objectives.append(objective_of(x))
    if progress is not None:
        progress.step(steps, objectives[-1])
    return x, np.asarray(objectives, dtype=np.float64)


def _channels(tracer, x, target, filter_indices):
    with _gradients.no_gradients():
        channels = tracer.outputs(keras.ops.convert_to_tensor(x[:1]))[0].shape[-1]
    bad = [i for i in filter_indices if not 0 <= i < channels]
    if bad:
        raise ValueError(f"Layer {target.name!r} has {channels} filters; got filter indices {bad}")
    return channels


def _pattern_size(model, size):
    if size is None:
        shape = model.inputs[0].shape
        height, width = shape[1], shape[2]
        return (height or 64, width or 64)
    if isinstance(size, int):
        return (size, size)
    return tuple(int(s) for s in size)
