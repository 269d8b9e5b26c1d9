"""The detection-head protocol ``tasks.DetectionTask`` trains and evaluates through.

A detector is a ``keras.Model`` whose outputs are named after its loss keys
(``{"classes": ..., "boxes": ...}``). What turns data into its targets and its
outputs into boxes lives in a ``DetectionHead``:

- ``losses()``: ``{output name: keras.losses.Loss}`` (and ``loss_weights()``);
- ``encode(images, targets)``: per batch, in tf.data (TensorFlow ops), the
  pipeline's padded ground truth ``{"boxes": (B, M, 4) xyxy pixels, "classes":
  (B, M) int32, -1 = padding}`` → the dense targets the losses take;
- ``decode(outputs, image_shape)``: the model's outputs → padded detections
  ``{"boxes": (B, K, 4) xyxy pixels, "scores": (B, K), "classes": (B, K)}``
  (class -1 = padding), the format of ``detection.evaluate``;
- ``get_config()``: what a run records; ``get_head(config)`` rebuilds it.

Head kinds register with ``register_head(name)`` (a class decorator); a registered
detector model names its head with ``register_model_head(model_name, factory)``
so ``DetectionTask`` finds it from the model's name.
"""

_HEAD_KINDS = {}
_MODEL_HEADS = {}


class DetectionHead:
    """Base class of the protocol above; subclasses set ``kind`` and implement it."""

    kind = "head"

    def losses(self):
        raise NotImplementedError

    def loss_weights(self):
        return None

    def encode(self, images, targets):
        raise NotImplementedError

    def decode(self, outputs, image_shape):
        raise NotImplementedError

    def get_config(self):
        return {}


def register_head(kind):
    """Class decorator: make a ``DetectionHead`` subclass rebuildable from a run's record."""
    def decorate(cls):
        if kind in _HEAD_KINDS:
            raise ValueError(f"Detection head kind {kind!r} is already registered (by {_HEAD_KINDS[kind].__name__})")
        cls.kind = kind
        _HEAD_KINDS[kind] = cls
        return cls

    return decorate


def register_model_head(model_name, factory):
    """Say which head a registered detector model trains with (``factory(model)`` →
    head, so the head can read the built model's class count)."""
    _MODEL_HEADS[model_name] = factory


def head_config(head):
    """``{"kind": ..., **config}`` of ``head`` for the run's record."""
    return {"kind": head.kind, **head.get_config()}


def get_head(spec):
    """A head from a ``DetectionHead`` or a recorded ``head_config``."""
    if isinstance(spec, DetectionHead):
        return spec
    if isinstance(spec, dict):
        config = dict(spec)
        kind = config.pop("kind", None)
        if kind not in _HEAD_KINDS:
            raise ValueError(f"Unknown detection head kind {kind!r}; registered: {sorted(_HEAD_KINDS)}")
        return _HEAD_KINDS[kind](**config)
    raise TypeError(f"Expected a DetectionHead or a recorded head config; got {type(spec).__name__}")


def head_for_model(model):
    """The head the registered detector ``model`` (built, found by its name) trains with, or None."""
    factory = _MODEL_HEADS.get(model.name)
    return factory(model) if factory is not None else None
