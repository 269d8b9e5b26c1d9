"""Intermediate activations of any model, nested models included."""

import keras

from keras_cv_course.visualize import _gradients
from keras_cv_course.visualize._graph import Tracer, as_batch, find_layer, iter_layers, layer_path

_DEFAULT_TYPES = (
    keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D,
    keras.layers.MaxPooling2D, keras.layers.AveragePooling2D,
)


def activations(model, images, layers=None):
    """The outputs of ``layers`` for ``images``, as ``{key: numpy array}``.

    ``layers``: names (searched through nested models, e.g. the layers of a
    ``conv_base`` inside a Sequential), paths ``"conv_base/block1_conv1"``, feature
    levels ``"P3"`` of a registered backbone, Layer objects, or one of these alone.
    Keys are the names as given (a Layer's path for Layer objects). Default: every
    convolution and pooling layer, keyed by path — the course's activation walk.
    ``images``: (N, H, W, C) or one (H, W, C) image, already preprocessed as the
    model expects. The model runs in inference mode and stops after the last
    requested layer, so any input size its convolutional part accepts works.
    """
    if layers is None:
        specs = [layer for _, layer in iter_layers(model) if isinstance(layer, _DEFAULT_TYPES)]
        if not specs:
            raise ValueError(f"Model {model.name!r} has no convolution or pooling layer; pass layers=")
    elif isinstance(layers, (str, keras.layers.Layer)):
        specs = [layers]
    else:
        specs = list(layers)
    targets = [find_layer(model, spec) for spec in specs]
    keys = [spec if isinstance(spec, str) else layer_path(model, spec) for spec in specs]
    unique = list({id(t): t for t in targets}.values())
    tracer = Tracer(model, unique, stop=True)
    with _gradients.no_gradients():
        outputs = tracer.outputs(keras.ops.convert_to_tensor(as_batch(images, model)))
    recorded = dict(zip((id(t) for t in unique), _gradients.to_numpy(outputs)))
    return {key: recorded[id(target)] for key, target in zip(keys, targets)}
