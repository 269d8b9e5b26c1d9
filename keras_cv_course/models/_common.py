"""The keras.applications-style tail shared by every classifier builder.

One place handles: input tensor / input shape resolution and validation, the
``include_top`` / ``pooling`` / ``classes`` / ``classifier_activation`` options,
and weight loading (named weights such as ``"imagenet"`` fetched through
``keras.utils.get_file``, or a weight file path, checked layer by layer before
it is loaded). A known weight name always means the named weights (a file or
folder of that name in the working directory does not take their place); a path
is anything else. ``weights_sha256`` checks the file loaded against a digest.

``keras.config.image_data_format()`` is honoured as keras.applications does:
under "channels_first" the model takes ``(channels, height, width)`` inputs
(``input_shape``, ``input_tensor`` and the default shapes) and a spatial output
(``include_top=False, pooling=None``) is ``(channels, height, width)`` too, while
the network inside is built channels-last (TensorFlow's CPU kernels have no NCHW
convolutions, so such a model runs everywhere): a ``Permute`` layer
``channels_first_to_last`` after the input and ``channels_last_to_first`` before
each spatial output, no weights, so weight files are the same in either format.
Every builder builds inside ``scoped_image_data_format("channels_last")``, which
restores the global setting afterwards, also when the build fails. Feature taps
(``models.feature_extractor``) stay channels-last.
"""

import collections.abc
import contextlib
import dataclasses
import os

import keras
from keras import layers

from keras_cv_course import _files, precision
from keras_cv_course.backends import fix_torch_backend
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
    crop_size: int = None  # the evaluation transform of the weights: resize the shorter side, centre-crop
    resize_size: int = None
    interpolation: str = "bilinear"

    def fetch(self, model_name, include_top):
        source = self.top if include_top else self.notop
        if source is None:
            variant = "with" if include_top else "without"
            raise ValueError(f"{model_name!r} has no {self.name!r} weights {variant} the top (include_top={include_top}).")
        return source.fetch(model_name)


class WeightsUnavailableError(OSError):
    """Named weights are neither cached locally nor downloadable."""


CHANNELS_LAST, CHANNELS_FIRST = "channels_last", "channels_first"
TO_CHANNELS_LAST, TO_CHANNELS_FIRST = "channels_first_to_last", "channels_last_to_first"  # the Permute layers


@contextlib.contextmanager
def scoped_image_data_format(data_format):
    """Set ``keras.config.image_data_format()`` to ``data_format`` for the block;
    the previous setting comes back on leaving it, also on an error. (The setting
    is process-global: a thread building meanwhile sees it too.)"""
    previous = keras.config.image_data_format()
    keras.config.set_image_data_format(data_format)
    try:
        yield
    finally:
        keras.config.set_image_data_format(previous)


def to_channels_last_shape(shape, data_format):
    """``shape`` (without the batch) in ``data_format`` as (height, width, channels)."""
    shape = tuple(shape)
    return shape[1:] + shape[:1] if data_format == CHANNELS_FIRST and len(shape) == 3 else shape


def from_channels_last_shape(shape, data_format):
    """(height, width, channels) as ``data_format`` orders it."""
    shape = tuple(shape)
    return shape[-1:] + shape[:-1] if data_format == CHANNELS_FIRST and len(shape) == 3 else shape


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
    data_format=CHANNELS_LAST,
):
    """Validate the requested input and return ``(image_tensor, model_inputs)``.

    As in keras.applications, the default input with a top is the model's default
    size, and without a top any size ``(None, None, channels)``.
    ``require_flatten``: the top flattens a fixed-size map (VGG, LeNet), so with
    ``include_top`` a user-given height and width must be known.
    ``data_format`` orders ``input_shape``, ``input_tensor`` and the default shape;
    ``image_tensor`` is channels-last either way (under "channels_first" the
    output of a ``Permute`` named ``channels_first_to_last``).
    """
    if input_tensor is not None and input_shape is None:
        input_shape = tuple(input_tensor.shape[1:])
    if input_shape is None:
        default = (default_size, default_size, channels) if include_top else (None, None, channels)
        input_shape = from_channels_last_shape(default, data_format)
    given = input_shape
    input_shape = _check_input_shape(model_name, input_shape, min_size, include_top and require_flatten, data_format)
    if weight_spec is not None and include_top and weight_spec.input_size is not None:
        expected = (weight_spec.input_size, weight_spec.input_size)
        if tuple(input_shape[:2]) != expected:
            raise ValueError(
                f"{model_name!r} with weights={weight_spec.name!r} and include_top=True needs input_shape "
                f"{from_channels_last_shape(expected + (channels,), data_format)}; got {tuple(given)}. "
                f"Use include_top=False for other sizes."
            )
    if weight_spec is not None and input_shape[-1] != channels:
        raise ValueError(f"{weight_spec.name!r} weights of {model_name!r} need {channels} input channels; got {input_shape[-1]}.")
    keras_shape = from_channels_last_shape(input_shape, data_format)  # the model's input, in the user's order
    if input_tensor is None:
        image = inputs = keras.Input(shape=keras_shape, name="input")
    elif not keras.backend.is_keras_tensor(input_tensor):
        image = inputs = keras.Input(tensor=input_tensor, shape=keras_shape, name="input")
    else:
        image, inputs = input_tensor, keras.utils.get_source_inputs(input_tensor)
    if data_format == CHANNELS_FIRST:
        image = layers.Permute((2, 3, 1), name=TO_CHANNELS_LAST)(image)
    return image, inputs


def _check_input_shape(model_name, input_shape, min_size, require_static, data_format=CHANNELS_LAST):
    """``input_shape`` (ordered as ``data_format``) checked, as (height, width, channels)."""
    shape = tuple(input_shape)
    if len(shape) != 3:
        order = "(channels, height, width)" if data_format == CHANNELS_FIRST else "(height, width, channels)"
        raise ValueError(f"{model_name!r} expects input_shape {order}{_format_note(data_format)}; got {input_shape!r}")
    height, width, channels = to_channels_last_shape(shape, data_format)
    if channels is None or channels < 1:
        raise ValueError(f"{model_name!r} needs a known positive channel count; got input_shape {input_shape!r}"
                         f"{_format_note(data_format)}")
    if require_static and (height is None or width is None):
        raise ValueError(
            f"{model_name!r} with include_top=True flattens its last feature map, so height and width "
            f"must be given; got input_shape {input_shape!r}{_format_note(data_format)}"
        )
    for side in (height, width):
        if side is not None and side < min_size:
            raise ValueError(
                f"Input {height}x{width} is too small for {model_name!r}: it needs at least "
                f"{min_size}x{min_size} (its pooling/striding would shrink the map below 1 pixel)."
                + (f" (input_shape {input_shape!r} read as (channels, height, width): "
                   f"keras.config.image_data_format() is 'channels_first')" if data_format == CHANNELS_FIRST else "")
            )
    return (height, width, channels)


def _format_note(data_format):
    return " (keras.config.image_data_format() is 'channels_first')" if data_format == CHANNELS_FIRST else ""


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


WEIGHT_FILE_SUFFIXES = (".h5", ".hdf5", ".keras", ".pth", ".pt")


def lookup_weight_spec(model_name, weights, available):
    """The ``WeightSpec`` named by ``weights``, None for None or a file path.

    A name of ``available`` means those weights even where a file or folder of
    that name exists; a ``PathLike``, a string with a directory separator or a
    weight-file suffix (never part of a weight name), or an existing file that
    is no weight name is a path (checked when loaded)."""
    if weights is None or isinstance(weights, os.PathLike):
        return None
    if isinstance(weights, str) and _files.looks_like_path(weights, WEIGHT_FILE_SUFFIXES):
        return None
    if isinstance(weights, str) and weights in available:
        return available[weights]
    if isinstance(weights, str) and os.path.exists(weights):
        return None
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


def finish_model(inputs, outputs, *, name, weights, weight_spec, include_top, weights_sha256=None, architecture=None):
    """Build the ``keras.Model`` and load ``weights`` (a name or a file), the
    file first checked against ``weights_sha256`` when given; ``architecture``
    is the registered name the model is built as (which name table a torch
    file goes through). Under a mixed global dtype policy the layers producing
    the outputs compute in float32 (``precision.float32_outputs``). On PyTorch it also corrects two faults of Keras's PyTorch backend
    (``keras_cv_course.backends.fix_torch_backend``)."""
    fix_torch_backend()
    model = precision.functional_model(inputs, outputs, name=name)
    if weight_spec is not None:
        path = weight_spec.fetch(name, include_top)
    elif weights is not None:
        path = os.fspath(weights)
    else:
        return model
    weight_files.load_checked(model, path, sha256=weights_sha256, architecture=architecture or name)
    return model


def check_weights_sha256(weights, weights_sha256):
    """``weights_sha256`` as a lowercase digest (None stays None); refused when
    malformed or when no weights are loaded."""
    if weights_sha256 is None:
        return None
    try:
        digest = _files.parse_sha256(weights_sha256)
    except ValueError as error:
        raise ValueError(f"weights_sha256: {error}") from None
    if weights is None:
        raise ValueError("weights_sha256 checks the weight file loaded, but weights=None loads none; "
                         "pass weights=<name or path> with it")
    return digest


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
    data_format=CHANNELS_LAST,
):
    """Every builder's first call: validate the options, resolve the input.

    Returns ``(image_tensor, model_inputs, weight_spec)``; ``weight_spec`` is the
    named weights requested (None for no weights or a weight file path).
    """
    available_weights = {} if available_weights is None else available_weights  # a lazy mapping stays unread
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
        data_format=data_format,
    )
    return image, inputs, weight_spec


# ----------------------------------------------------------------------------- the builder contract
#
# A family states each registered model once, as a ``Row``; ``define(rows, generic)``
# makes every row's public builder (the keras.applications signature, validated
# once into a ``Request``) and registers its ``ModelInfo``. The family's generic
# builder receives the ``Request`` and the row's options, builds the features and
# ends with ``request.finish(request.tail(features, head))``.

APPLICATION_ARGS = ("include_top", "weights", "input_tensor", "input_shape", "pooling", "classes",
                    "classifier_activation", "name")


@dataclasses.dataclass(frozen=True)
class InputRules:
    """What a build accepts: the default side with a top, the smallest side, the
    default channels, and whether the top flattens a fixed-size map."""

    default_size: int
    min_size: int
    channels: int = 3
    require_flatten: bool = False


@dataclasses.dataclass(frozen=True)
class Request:
    """The keras.applications arguments of one build, validated once by
    ``Request.resolve``: the model's name, the top options and the resolved input
    (``image`` to build on, ``inputs`` of the model, ``weight_spec`` of named
    weights or None)."""

    name: str
    include_top: bool
    weights: object
    pooling: object
    classes: int
    classifier_activation: object
    image: object
    inputs: object
    weight_spec: object
    weights_sha256: str = None
    data_format: str = CHANNELS_LAST
    architecture: str = None

    @classmethod
    def resolve(cls, name, rules, available_weights=None, weights_sha256=None, data_format=CHANNELS_LAST,
                architecture=None, **args):
        """Validate ``args`` (the keras.applications arguments) and
        ``weights_sha256`` against ``rules``; ``data_format`` is the order of
        the model's input and spatial outputs (``image`` is channels-last);
        ``architecture`` the registered name built (``name`` may be the user's)."""
        digest = check_weights_sha256(args["weights"], weights_sha256)
        image, inputs, spec = prepare(
            name, **{k: args[k] for k in APPLICATION_ARGS[:-1]}, default_size=rules.default_size,
            min_size=rules.min_size, available_weights=available_weights, channels=rules.channels,
            require_flatten=rules.require_flatten, data_format=data_format,
        )
        return cls(name, args["include_top"], args["weights"], args["pooling"], args["classes"],
                   args["classifier_activation"], image, inputs, spec, digest, data_format, architecture or name)

    def tail(self, features, head):
        """keras.applications' tail: ``head(features)`` with the top, else the
        ``pooling`` option (None, "avg", "max") on the features."""
        return head(features) if self.include_top else pool_features(features, self.pooling)

    def dense(self, x, *, name="predictions"):
        """The ``predictions`` layer: Dense(classes, classifier_activation)."""
        return layers.Dense(self.classes, activation=self.classifier_activation, name=name)(x)

    def gap_head(self, dropout=0.0):
        """The global-average-pooling head (→ dropout → ``predictions``) as a ``head``."""
        return lambda x: classifier(x, classes=self.classes, classifier_activation=self.classifier_activation,
                                    dropout=dropout)

    def finish(self, outputs):
        """The ``keras.Model`` with the requested weights loaded; under
        "channels_first" each spatial (rank-4) output transposed back to
        (channels, height, width)."""
        if self.data_format == CHANNELS_FIRST:
            outputs = to_channels_first(outputs)
        return finish_model(self.inputs, outputs, name=self.name, weights=self.weights, weight_spec=self.weight_spec,
                            include_top=self.include_top, weights_sha256=self.weights_sha256,
                            architecture=self.architecture)


def to_channels_first(outputs):
    """``outputs`` (a tensor or a structure of them) with every rank-4 channels-last
    map permuted to (channels, height, width) by a ``Permute`` named
    ``channels_last_to_first`` (``_1``, ``_2``, ... after the first)."""
    count = [0]

    def permute(x):
        if len(x.shape) != 4:
            return x
        name = TO_CHANNELS_FIRST if count[0] == 0 else f"{TO_CHANNELS_FIRST}_{count[0]}"
        count[0] += 1
        return layers.Permute((3, 1, 2), name=name)(x)

    return keras.tree.map_structure(permute, outputs)


@dataclasses.dataclass(frozen=True)
class Row:
    """One registered model, stated once.

    ``name`` is the registry key and the model's default name; ``public`` the
    public builder's name (``VGG16``), or None for a registered preset of another
    row's builder (``base``: that row's name) with ``fixed`` options. ``options``
    are the family options the builder passes to the generic builder (the row's
    table entry: ``depth=16``); ``user_options`` those a caller may change, with
    their defaults (``dropout=0.0``). ``params`` is the reference parameter count
    of the default build (Keras ``count_params``, 1000 classes or ``classes``),
    asserted by the registry sweep. ``weights`` maps names to ``WeightSpec`` or is
    a callable of the row's options and the chosen ones returning that map (read lazily, and per
    build when the weights depend on an option such as ``alpha``). ``rules`` turns the row's
    options and the chosen ones into ``InputRules`` when they depend on them;
    ``name_of`` into the model name when a user option changes it.
    """

    name: str
    public: str
    family: str
    paper: str
    params: int
    preprocessing: str
    input_shape: tuple
    min_size: int
    doc: str = ""
    options: dict = dataclasses.field(default_factory=dict)
    user_options: dict = dataclasses.field(default_factory=dict)
    classes: int = 1000
    require_flatten: bool = False
    taps: tuple = ()
    weights: object = None
    task: str = "classification"
    base: str = None
    fixed: dict = dataclasses.field(default_factory=dict)
    rules: object = None
    name_of: object = None

    def input_rules(self, options):
        if self.rules is not None:
            return self.rules({**self.options, **options})
        return InputRules(self.input_shape[0], self.min_size, self.input_shape[2], self.require_flatten)

    def available_weights(self, options=None):
        """The named weights a build with ``options`` (default: the row's own) can load."""
        chosen = {**self.options, **self.user_options, **self.fixed, **(options or {})}
        found = self.weights(chosen) if callable(self.weights) else self.weights
        found = {} if found is None else found  # a lazy mapping stays lazy: the manifest is read on use
        return with_torchvision(found, self.model_name({**self.user_options, **self.fixed, **(options or {})}))

    def model_name(self, options):
        return self.name_of({**self.options, **options}) if self.name_of is not None else self.name


def with_torchvision(weights, model_name):
    """``weights`` and, where torchvision publishes weights for the layout
    ``model_name``, ``"torchvision"`` (``models.torch_weights``)."""
    from keras_cv_course.models.torch_weights import torchvision_weight_spec

    spec = torchvision_weight_spec(model_name)
    if spec is None:
        return weights
    if isinstance(weights, dict):
        return {**weights, "torchvision": spec}
    return _Joined(weights, {"torchvision": spec})


class _Joined(collections.abc.Mapping):
    """Two weight maps read as one (the first stays lazy until it is read)."""

    def __init__(self, first, second):
        self.first, self.second = first, second

    def __getitem__(self, key):
        return self.second[key] if key in self.second else self.first[key]

    def __iter__(self):
        yield from self.first
        yield from (key for key in self.second if key not in self.first)

    def __len__(self):
        return len(set(self.first) | set(self.second))


def public_builder(row, generic):
    """The public builder of ``row``: the keras.applications signature, the
    row's ``user_options`` and ``weights_sha256`` (the digest the weight file
    loaded must have); any other keyword is refused by name.

    ``keras.config.image_data_format()`` at the call orders the input and the
    spatial outputs (see the module docstring); the network is built
    channels-last inside ``scoped_image_data_format``. Heads (a row whose task
    is not "classification") are channels-last only and refuse
    "channels_first"."""
    def builder(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None,
                classes=row.classes, classifier_activation="softmax", name=None, *, weights_sha256=None, **options):
        unknown = sorted(set(options) - set(row.user_options))
        if unknown:
            accepted = ", ".join([*APPLICATION_ARGS, *row.user_options, "weights_sha256"])
            raise TypeError(f"{row.public}() got unexpected keyword arguments {unknown}; it accepts {accepted}")
        data_format = keras.config.image_data_format()
        if data_format == CHANNELS_FIRST and row.task != "classification":
            raise ValueError(
                f"{row.public}() builds a {row.task} model, which is channels-last only, but "
                f"keras.config.image_data_format() is 'channels_first'. Build it after "
                f"keras.config.set_image_data_format('channels_last') and feed it (height, width, channels) "
                f"images; only the classifiers take channels-first inputs."
            )
        chosen = {**row.user_options, **options}
        with scoped_image_data_format(CHANNELS_LAST):
            request = Request.resolve(
                name or row.model_name(chosen), row.input_rules(chosen), row.available_weights(chosen),
                weights_sha256=weights_sha256, data_format=data_format, architecture=row.model_name(chosen),
                include_top=include_top, weights=weights,
                input_tensor=input_tensor, input_shape=input_shape, pooling=pooling, classes=classes,
                classifier_activation=classifier_activation,
            )
            return generic(request, **row.options, **chosen)

    builder.__name__ = builder.__qualname__ = row.public
    builder.__module__ = getattr(generic, "__module__", __name__)
    builder.__doc__ = row.doc or f"{row.public} ({row.paper})."
    builder.__signature__ = _signature(row)
    return builder


def _signature(row):
    """The keras.applications signature with the row's defaults, then its user
    options and ``weights_sha256`` as keyword-only parameters (what ``help()``
    and IDEs show)."""
    import inspect

    defaults = dict(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None,
                    classes=row.classes, classifier_activation="softmax", name=None)
    keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD
    parameters = [inspect.Parameter(arg, keyword, default=defaults[arg]) for arg in APPLICATION_ARGS]
    parameters += [inspect.Parameter(option, inspect.Parameter.KEYWORD_ONLY, default=value)
                   for option, value in row.user_options.items()]
    parameters.append(inspect.Parameter("weights_sha256", inspect.Parameter.KEYWORD_ONLY, default=None))
    return inspect.Signature(parameters)


def define(rows, generic):
    """Make and register every row's builder; returns ``{public name: builder}``
    (presets — rows without ``public`` — register their base row's builder with
    their ``fixed`` options)."""
    from keras_cv_course.models.registry import register

    builders, by_row = {}, {}
    for row in rows:
        if row.public is not None:
            builders[row.public] = by_row[row.name] = public_builder(row, generic)
    for row in rows:
        builder = by_row[row.base] if row.public is None else by_row[row.name]
        register(row.name, builder, family=row.family, paper=row.paper, input_shape=tuple(row.input_shape),
                 min_size=row.min_size, params=row.params, preprocessing=row.preprocessing, taps=tuple(row.taps),
                 weights=row.available_weights(), classes=row.classes, kwargs=dict(row.fixed), task=row.task)
    return builders
