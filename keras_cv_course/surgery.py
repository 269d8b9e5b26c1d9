"""Model surgery for transfer learning and fine-tuning.

The course's recipe (Chollet, *Deep Learning with Python*, 5.3): put a classifier
on a pretrained convolutional base, train the classifier with the base frozen,
then unfreeze the top block (``block5_conv1`` onwards in VGG16) and fine-tune it
with a small learning rate::

    conv_base = get_model("vgg16", include_top=False, weights="imagenet", input_shape=(150, 150, 3))
    model = transfer_classifier(conv_base, hidden=256, classes=1)   # 16,812,353 parameters
    freeze(conv_base)                                               # step 1: train the head
    ...
    freeze(conv_base, until="block5_conv1")                         # step 2: fine-tune block 5
    model.compile(...)                                              # recompile after changing trainable

Keras 3 runs a ``BatchNormalization`` layer whose ``trainable`` is False in
inference mode (moving statistics, no updates), so a frozen BN stays frozen even
inside a fine-tuned network; ``freeze`` relies on that and ``frozen_batchnorm``
lists the BN layers it froze so a test can check it.
"""

import keras
from keras import layers

__all__ = ["freeze", "unfreeze_from", "flat_layers", "transfer_classifier", "trainable_summary"]


def _is_container(layer):
    return isinstance(layer, keras.Model) or (hasattr(layer, "layers") and isinstance(getattr(layer, "layers"), list))


def flat_layers(model):
    """Every leaf layer of ``model`` in order, descending into nested models
    (a Sequential with a ``conv_base`` lists conv_base's layers in place)."""
    result = []
    for layer in model.layers:
        if _is_container(layer) and layer.layers:
            result.extend(flat_layers(layer))
        else:
            result.append(layer)
    return result


def _set_containers_trainable(model):
    # A nested model with trainable=False would hide its layers' flags; setting a
    # container's flag sets every layer inside it, so the leaves' flags are restored.
    flags = [(layer, layer.trainable) for layer in flat_layers(model)]
    model.trainable = True
    for layer, flag in flags:
        layer.trainable = flag


def _index_of(leaves, name, model):
    for index, layer in enumerate(leaves):
        if layer.name == name:
            return index
    raise ValueError(f"{model.name!r} has no layer named {name!r}; its layers include: {', '.join(l.name for l in leaves[:40])}")


def freeze(model, until=None):
    """Freeze the layers of ``model`` before the layer named ``until``; that layer
    and every later one become trainable. ``until=None`` freezes everything.

    Returns ``model``. Recompile afterwards: ``trainable`` is read at compile time.
    """
    _set_containers_trainable(model)
    leaves = flat_layers(model)
    stop = len(leaves) if until is None else _index_of(leaves, until, model)
    for index, layer in enumerate(leaves):
        layer.trainable = index >= stop
    if until is None:
        model.trainable = False
    return model


def unfreeze_from(model, name):
    """Make the layer ``name`` and every later layer trainable, leaving the flags
    of earlier layers as they are (``freeze(model, until=name)`` also freezes them)."""
    _set_containers_trainable(model)
    leaves = flat_layers(model)
    start = _index_of(leaves, name, model)
    for layer in leaves[start:]:
        layer.trainable = True
    return model


def frozen_batchnorm(model):
    """Names of the BatchNormalization layers of ``model`` that are frozen
    (``trainable=False``, hence run in inference mode by Keras 3)."""
    return [l.name for l in flat_layers(model) if isinstance(l, layers.BatchNormalization) and not l.trainable]


def transfer_classifier(conv_base, *, hidden=256, classes=1, dropout=0.0, name=None):
    """The course's transfer model: ``conv_base`` → Flatten → Dense(hidden, relu)
    → [Dropout] → Dense(classes) (sigmoid for one output, softmax otherwise).

    With VGG16's base at 150×150 and ``hidden=256, classes=1`` it has 16,812,353
    parameters, as in the book.
    """
    activation = "sigmoid" if classes == 1 else "softmax"
    head = [layers.Flatten(name="flatten"), layers.Dense(hidden, activation="relu", name="fc")]
    if dropout:
        head.append(layers.Dropout(dropout, name="fc_dropout"))
    head.append(layers.Dense(classes, activation=activation, name="predictions"))
    inputs = keras.Input(shape=conv_base.input_shape[1:], name="input_layer")
    x = conv_base(inputs)
    for layer in head:
        x = layer(x)
    return keras.Model(inputs, x, name=name or f"{conv_base.name}_transfer")


def trainable_summary(model):
    """``(trainable, non-trainable)`` parameter counts."""
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    total = model.count_params()
    return trainable, total - trainable
