"""The keras.applications-style tail shared by every classifier builder.

One place handles: input tensor / input shape resolution and validation, the
``include_top`` / ``pooling`` / ``classes`` / ``classifier_activation`` options,
and weight loading (named weights such as ``"imagenet"`` fetched through
``keras.utils.get_file``, or a weight file path, checked layer by layer before
it is loaded).
"""

import dataclasses
import os

import keras
from keras import layers

from keras_cv_course.models import weight_files


@dataclasses.dataclass(frozen=True)
class RemoteFile:
    """A weight file fetched through ``keras.utils.get_file`` into the Keras cache."""

    fname: str
    origin: str
    file_hash: str

    def fetch(self, model_name):
        cache_dir = keras_cache_dir()
        try:
            return keras.utils.get_file(
                self.fname, self.origin, cache_subdir="models", file_hash=self.file_hash, cache_dir=cache_dir
            )
        except Exception as error:  # get_file raises bare Exceptions on network failures
            local = os.path.join(cache_dir, "models", self.fname)
            raise WeightsUnavailableError(
                f"Could not get the weights of {model_name!r}: {self.fname} is not in the Keras cache "
                f"({local}, with md5/sha256 {self.file_hash}) and downloading {self.origin} failed: {error}. "
                f"Copy the file there, or pass weights=<path to a weight file>."
            ) from error


@dataclasses.dataclass(frozen=True)
class WeightSpec:
    """Named weights a model can load (``weights="imagenet"``).

    ``top`` is the file with the classifier, ``notop`` the one without (either may
    be None). ``classes`` is the number of classes the top was trained on;
    ``preprocessing`` the input mode the weights expect; ``input_size`` the side the
    top requires (None when the top does not depend on it).
    """

    name: str
    top: object
    notop: object
    classes: int = 1000
    preprocessing: str = "caffe"
    input_size: int = None
    dataset: str = "imagenet"

    def fetch(self, model_name, include_top):
        source = self.top if include_top else self.notop
        if source is None:
            variant = "with" if include_top else "without"
            raise ValueError(f"{model_name!r} has no {self.name!r} weights {variant} the top (include_top={include_top}).")
        return source.fetch(model_name)


class WeightsUnavailableError(OSError):
    """Named weights are neither cached locally nor downloadable."""


def keras_cache_dir():
    """The Keras cache root: ``$KERAS_HOME`` when set (read at call time), else ~/.keras."""
    return os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")


def resolve_input(
    *,
    model_name,
    input_tensor,
    input_shape,
    default_size,
    min_size,
    include_top,
    weights,
    weight_spec=None,
    channels=3,
    require_flatten=False,
):
    """Validate the requested input and return ``(image_tensor, model_inputs)``.

    As in keras.applications, the default input with a top is the model's default
    size, and without a top any size ``(None, None, channels)``.
    ``require_flatten``: the top flattens a fixed-size map (VGG, LeNet), so with
    ``include_top`` a user-given height and width must be known.
    """
    if input_tensor is not None and input_shape is None:
        input_shape = tuple(input_tensor.shape[1:])
    if input_shape is None:
        input_shape = (default_size, default_size, channels) if include_top else (None, None, channels)
    input_shape = _check_input_shape(model_name, input_shape, min_size, include_top and require_flatten)
    if weight_spec is not None and include_top and weight_spec.input_size is not None:
        expected = (weight_spec.input_size, weight_spec.input_size)
        if tuple(input_shape[:2]) != expected:
            raise ValueError(
                f"{model_name!r} with weights={weight_spec.name!r} and include_top=True needs input_shape "
                f"{expected + (channels,)}; got {input_shape}. Use include_top=False for other sizes."
            )
    if weight_spec is not None and input_shape[-1] != channels:
        raise ValueError(f"{weight_spec.name!r} weights of {model_name!r} need {channels} input channels; got {input_shape[-1]}.")
    if input_tensor is None:
        image = keras.Input(shape=input_shape, name="input")
        return image, image
    if not keras.backend.is_keras_tensor(input_tensor):
        image = keras.Input(tensor=input_tensor, shape=input_shape, name="input")
        return image, image
    return input_tensor, keras.utils.get_source_inputs(input_tensor)


def _check_input_shape(model_name, input_shape, min_size, require_static):
    shape = tuple(input_shape)
    if len(shape) != 3:
        raise ValueError(f"{model_name!r} expects input_shape (height, width, channels); got {input_shape!r}")
    height, width, channels = shape
    if channels is None or channels < 1:
        raise ValueError(f"{model_name!r} needs a known positive channel count; got input_shape {input_shape!r}")
    if require_static and (height is None or width is None):
        raise ValueError(
            f"{model_name!r} with include_top=True flattens its last feature map, so height and width "
            f"must be given; got input_shape {input_shape!r}"
        )
    for side in (height, width):
        if side is not None and side < min_size:
            raise ValueError(
                f"Input {height}x{width} is too small for {model_name!r}: it needs at least "
                f"{min_size}x{min_size} (its pooling/striding would shrink the map below 1 pixel)."
            )
    return shape


def check_top_options(*, model_name, include_top, weights, weight_spec, classes, classifier_activation, pooling):
    """keras.applications' argument checks, with messages that name the bad value."""
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"pooling must be None, 'avg' or 'max'; got {pooling!r}")
    if not isinstance(classes, int) or classes < 1:
        raise ValueError(f"classes must be a positive int; got {classes!r}")
    if weight_spec is not None and include_top:
        if classes != weight_spec.classes:
            raise ValueError(
                f"{model_name!r} with weights={weights!r} and include_top=True has {weight_spec.classes} classes; "
                f"got classes={classes}. Use include_top=False and add your own head for {classes} classes."
            )
        if classifier_activation not in (None, "softmax"):
            raise ValueError(
                f"With pretrained weights the classifier activation must be None or 'softmax'; got {classifier_activation!r}"
            )


def lookup_weight_spec(model_name, weights, available):
    """The ``WeightSpec`` named by ``weights``, None for None or a file path."""
    if weights is None:
        return None
    if isinstance(weights, os.PathLike) or (isinstance(weights, str) and os.path.exists(weights)):
        return None
    if isinstance(weights, str) and weights in available:
        return available[weights]
    names = ", ".join(repr(n) for n in available) or "none"
    raise ValueError(
        f"weights={weights!r} for {model_name!r} is neither a file nor a known weight name. "
        f"Expected None, a path to an existing weight file, or one of: {names}."
    )


def pool_features(x, pooling):
    """The ``pooling`` option of ``include_top=False`` models."""
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name="max_pool")(x)
    return x


def classifier(x, *, classes, classifier_activation, dropout=0.0, name="predictions"):
    """Global average pooling → optional dropout → Dense ``predictions``."""
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if dropout:
        x = layers.Dropout(dropout, name="top_dropout")(x)
    return layers.Dense(classes, activation=classifier_activation, name=name)(x)


def finish_model(inputs, outputs, *, name, weights, weight_spec, include_top):
    """Build the ``keras.Model`` and load ``weights`` (a name or a file)."""
    model = keras.Model(inputs, outputs, name=name)
    if weight_spec is not None:
        weight_files.load_checked(model, weight_spec.fetch(name, include_top))
    elif weights is not None:
        weight_files.load_checked(model, os.fspath(weights))
    return model


KERAS_WEIGHTS_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/"


def keras_weights(subdir, top_fname, top_hash, notop_fname, notop_hash, **spec):
    """A ``WeightSpec`` for keras.applications' files: Keras's own names and hashes."""
    base = f"{KERAS_WEIGHTS_BASE}{subdir}/"
    top = RemoteFile(top_fname, base + top_fname, top_hash) if top_fname else None
    notop = RemoteFile(notop_fname, base + notop_fname, notop_hash) if notop_fname else None
    return WeightSpec("imagenet", top, notop, **spec)


def prepare(
    model_name,
    *,
    include_top,
    weights,
    input_tensor,
    input_shape,
    pooling,
    classes,
    classifier_activation,
    default_size,
    min_size,
    available_weights=None,
    channels=3,
    require_flatten=False,
):
    """Every builder's first call: validate the options, resolve the input.

    Returns ``(image_tensor, model_inputs, weight_spec)``; ``weight_spec`` is the
    named weights requested (None for no weights or a weight file path).
    """
    available_weights = available_weights or {}
    weight_spec = lookup_weight_spec(model_name, weights, available_weights)
    check_top_options(
        model_name=model_name,
        include_top=include_top,
        weights=weights,
        weight_spec=weight_spec,
        classes=classes,
        classifier_activation=classifier_activation,
        pooling=pooling,
    )
    image, inputs = resolve_input(
        model_name=model_name,
        input_tensor=input_tensor,
        input_shape=input_shape,
        default_size=default_size,
        min_size=min_size,
        include_top=include_top,
        weights=weights,
        weight_spec=weight_spec,
        channels=channels,
        require_flatten=require_flatten,
    )
    return image, inputs, weight_spec


def application(generic, key, public_name, doc, **option_defaults):
    """A public builder with the keras.applications signature for one row of a
    family's table: ``public(include_top=True, weights=None, input_tensor=None,
    input_shape=None, pooling=None, classes=1000, classifier_activation="softmax",
    name=None, **options)`` calls ``generic(key, ...)``.

    ``option_defaults`` are the family options the builder accepts, with their
    defaults (``dropout=0.5``); any other keyword is refused by name.
    """
    module = getattr(generic, "func", generic).__module__  # functools.partial or function

    def builder(
        include_top=True,
        weights=None,
        input_tensor=None,
        input_shape=None,
        pooling=None,
        classes=1000,
        classifier_activation="softmax",
        name=None,
        **options,
    ):
        unknown = sorted(set(options) - set(option_defaults))
        if unknown:
            raise TypeError(f"{public_name}() got unexpected keyword arguments {unknown}; its options are {sorted(option_defaults)}")
        return generic(
            key,
            include_top=include_top,
            weights=weights,
            input_tensor=input_tensor,
            input_shape=input_shape,
            pooling=pooling,
            classes=classes,
            classifier_activation=classifier_activation,
            name=name,
            **{**option_defaults, **options},
        )

    builder.__name__ = builder.__qualname__ = public_name
    builder.__module__ = module
    builder.__doc__ = doc
    return builder
