"""Layers that must see data before they are used: one protocol, by duck typing.

A layer needs data when it has a method ``adapt(images)`` and an attribute
``is_adapted``; ``is_adapted`` is False until ``adapt`` ran (or the layer's
state was given or loaded). ``blocks.PatchWhitening`` (patch statistics) and
``data.augment.PCALighting`` (the colour basis) follow it, as may any user
layer. Keras's own preprocessing layers (``Normalization``) have ``adapt`` but
no ``is_adapted``, so they are left as the user set them.

``training.fit`` adapts a fresh model's layers (``adapt_model``) and
``data.pipeline`` its training augmentation layers, without naming any layer
class.
"""

import keras
import numpy as np

from keras_cv_course import _keras_compat

ADAPT_IMAGES = 5000


def needs_adapting(layer):
    """Whether ``layer`` follows the protocol and has not been adapted yet."""
    return callable(getattr(layer, "adapt", None)) and getattr(layer, "is_adapted", True) is False


def adaptable_layers(model):
    """The layers of ``model`` that follow the protocol (adapted or not), nested
    models included, as (path, layer) pairs; ``path`` lists the nested models
    holding the layer, outermost first (empty for a layer of ``model`` itself)."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found.extend(((layer, *path), inner) for path, inner in adaptable_layers(layer))
        elif callable(getattr(layer, "adapt", None)) and hasattr(layer, "is_adapted"):
            found.append(((), layer))
    return found


def adapt_model(model, images, max_images=ADAPT_IMAGES):
    """Adapt every not yet adapted layer of ``model`` to the first
    ``max_images`` of ``images``: an array (N, H, W, C) or a dataset of image
    batches or (images, labels) batches, preprocessed as the model's input.
    Each layer sees its own input (the part of the model before it is run on
    the images). Returns the names of the layers it adapted."""
    pending = [(path, layer) for path, layer in adaptable_layers(model) if needs_adapting(layer)]
    if not pending:
        return []
    images = _first_images(images, max_images)
    for path, layer in pending:
        inputs, owner = images, model
        for nested in path:
            inputs, owner = _input_of(owner, nested, inputs), nested
        layer.adapt(_input_of(owner, layer, inputs))
    return [layer.name for _, layer in pending]


def _first_images(images, max_images):
    if isinstance(images, np.ndarray):
        return images[:max_images]
    batches, count = [], 0
    for batch in images:
        batch = batch[0] if isinstance(batch, (tuple, list)) else batch
        batches.append(np.asarray(batch))
        count += len(batches[-1])
        if count >= max_images:
            break
    if not batches:
        raise ValueError("adapt_model got an empty dataset; it needs images to adapt the layers to")
    return np.concatenate(batches)[:max_images]


def _input_of(model, layer, images):
    """What ``layer``, a layer of the functional ``model`` called once in it,
    receives for ``images`` (a nested model's call in ``model``, not its own Input)."""
    tensors = _keras_compat.inbound_input_tensors(layer)
    if len(tensors) != 1:
        raise ValueError(f"adapt_model can only feed {layer.name!r} inside {model.name!r} when it takes one input; "
                         f"it takes {len(tensors)}")
    tensor = tensors[0]
    if any(tensor is model_input for model_input in model.inputs):
        return images
    return keras.Model(model.inputs, tensor).predict(images, batch_size=256, verbose=0)
