"""The model registry: names → builders with the facts a user asks about.

``list_models(pattern)``, ``get_model(name, **kwargs)`` and ``model_info(name)``
(../shared/DESIGN.md §4). Family modules call ``register`` at import time; a
name can be registered once only.
"""

import dataclasses
import difflib
import fnmatch
import re

_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
_REGISTRY = {}
TASKS = ("classification", "detection", "segmentation")


@dataclasses.dataclass(frozen=True)
class FeatureTap:
    """A feature map a backbone exposes to heads.

    ``level`` is ``P{n}`` for stride ``2**n``; ``layer`` names the layer whose
    output is the map; ``channels`` its depth. A backbone has one primary tap per
    level (``name=None``) and may add named taps at any stride (``name="pool4"``:
    FCN's pool3/pool4, SSD's conv4_3), asked for by name. ``key`` is the name a
    head asks for: the tap's name, else its level.
    """

    level: str
    layer: str
    channels: int
    stride: int
    name: str = None

    def __post_init__(self):
        if self.level != f"P{self.stride.bit_length() - 1}" or self.stride & (self.stride - 1):
            raise ValueError(f"FeatureTap level {self.level!r} does not match stride {self.stride} (P{{n}} means stride 2**n)")
        if self.name is not None and re.match(r"^P\d+$", self.name):
            raise ValueError(f"A named FeatureTap cannot be called like a level; got name {self.name!r}")

    @property
    def key(self):
        return self.name or self.level


def _check_taps(model_name, taps):
    keys = [tap.key for tap in taps]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise ValueError(f"Model {model_name!r} has more than one feature tap called {repeated}: "
                         "one primary tap per level, extra taps need distinct names")


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about one model.

    ``params`` is ``model.count_params()`` of the default build (default input,
    default ``classes``, top included); the registry sweep test checks it.
    ``input_shape`` is the default (H, W, C) (a builder called under
    ``keras.config.image_data_format() == "channels_first"`` takes it as
    (C, H, W)); ``min_size`` the smallest H=W the
    network accepts; ``preprocessing`` one of the modes of
    ``keras_cv_course.models.preprocessing``. ``task`` is one of ``TASKS`` (what
    the model's output means, so training and the registry sweep know what to
    expect); ``backbone`` is, for a head, the registered model it is built on.
    """

    name: str
    builder: object
    family: str
    paper: str
    input_shape: tuple
    min_size: int
    params: int
    preprocessing: str
    taps: tuple = ()
    weights: dict = dataclasses.field(default_factory=dict)
    classes: int = 1000
    kwargs: dict = dataclasses.field(default_factory=dict)
    task: str = "classification"
    backbone: str = None

    def __post_init__(self):
        _check_taps(self.name, self.taps)
        if self.task not in TASKS:
            raise ValueError(f"Model {self.name!r}: task must be one of {', '.join(TASKS)}; got {self.task!r}")
        if self.backbone is not None and not (isinstance(self.backbone, str) and _NAME_PATTERN.match(self.backbone)):
            raise ValueError(f"Model {self.name!r}: backbone must be a registered model's name "
                             f"(lowercase snake case) or None; got {self.backbone!r}")
        if self.backbone == self.name:
            raise ValueError(f"Model {self.name!r} cannot be its own backbone")

    @property
    def builder_name(self):
        return getattr(self.builder, "__name__", repr(self.builder))

    def tap(self, key):
        """The FeatureTap called ``key`` (a level such as "P4", or a named tap such
        as "pool4"); a clear error listing the available ones."""
        for tap in self.taps:
            if tap.key == key:
                return tap
        available = ", ".join(t.key for t in self.taps) or "none"
        raise ValueError(f"Model {self.name!r} has no feature level {key!r}; available levels: {available}")


def register(name, builder, **facts):
    """Register ``builder`` under ``name`` with the facts of ``ModelInfo``.

    ``facts['kwargs']`` are fixed keyword arguments passed to the builder (so one
    generic builder can serve several names). ``task`` and ``backbone`` are
    checked here; that ``backbone`` is registered is checked by ``model_info``
    (families register in any order). Returns the ``ModelInfo``.
    """
    if not _NAME_PATTERN.match(name):
        raise ValueError(f"Model names are lowercase snake case; got {name!r}")
    if name in _REGISTRY:
        raise ValueError(f"Model {name!r} is already registered (by {_REGISTRY[name].builder_name})")
    info = ModelInfo(name=name, builder=builder, **facts)
    _REGISTRY[name] = info
    return info


def list_models(pattern="*"):
    """Sorted names of registered models matching the shell-style ``pattern``."""
    _ensure_families_loaded()
    return sorted(name for name in _REGISTRY if fnmatch.fnmatch(name, pattern.lower()))


def model_info(name):
    """The ``ModelInfo`` of ``name``; unknown names get close-match suggestions."""
    _ensure_families_loaded()
    key = name.lower() if isinstance(name, str) else name
    if key not in _REGISTRY:
        raise ValueError(_unknown_name_message(name))
    info = _REGISTRY[key]
    if info.backbone is not None and info.backbone not in _REGISTRY:
        raise ValueError(f"Model {key!r} is registered on backbone {info.backbone!r}, which is not a registered model. "
                         + _unknown_name_message(info.backbone))
    return info


def get_model(name, /, **kwargs):
    """Build the registered model ``name``; ``kwargs`` go to its builder
    (the keras.applications signature: include_top, weights, input_shape, ...,
    ``name=`` included, which names the built model)."""
    info = model_info(name)
    return info.builder(**{**info.kwargs, **kwargs})


def _unknown_name_message(name):
    close = difflib.get_close_matches(str(name).lower(), list(_REGISTRY), n=5, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return f"Unknown model name {name!r}.{hint} `kcc list` or keras_cv_course.models.list_models() shows all {len(_REGISTRY)} models."


def _ensure_families_loaded():
    # The families register themselves on import; importing the package does it.
    import keras_cv_course.models  # noqa: F401
