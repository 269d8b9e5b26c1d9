"""Multi-scale feature extraction through the registry's feature taps.

``feature_extractor(model_or_name, levels)`` returns a ``keras.Model`` whose
outputs are a dict keyed by level (``{"P3": ..., "P4": ..., "P5": ...}``) or by a
named tap (``"pool4"``), so any backbone feeds any head (../shared/DESIGN.md §4).
"""

import keras

from keras_cv_course.models.registry import get_model, list_models, model_info


def feature_extractor(model_or_name, levels=("P3", "P4", "P5"), **build_kwargs):
    """A model mapping images to ``{level: feature map}``.

    ``model_or_name``: a registered name (built with ``include_top=False`` and
    ``build_kwargs``), or a built model — a registered backbone, or any model that
    contains one as a nested model (e.g. a conv_base inside a Sequential), in
    which case the extractor takes that backbone's input.
    """
    if isinstance(model_or_name, str):
        info = model_info(model_or_name)
        backbone = get_model(model_or_name, **{"include_top": False, **build_kwargs})
    else:
        backbone, info = find_backbone(model_or_name)
    taps = [info.tap(level) for level in _as_levels(levels)]
    outputs = {tap.key: _layer_named(backbone, tap.layer, info).output for tap in taps}
    return keras.Model(backbone.inputs, outputs, name=f"{backbone.name}_features")


def find_backbone(model):
    """The (model, ModelInfo) of the first registered backbone in ``model``:
    itself, or a nested model found depth-first."""
    registered = set(list_models())
    stack = [model]
    while stack:
        candidate = stack.pop(0)
        if candidate.name in registered and model_info(candidate.name).taps:
            return candidate, model_info(candidate.name)
        stack.extend(layer for layer in getattr(candidate, "layers", []) if isinstance(layer, keras.Model))
    raise ValueError(
        f"Model {model.name!r} is not a registered backbone with feature taps and contains none; "
        "build it with keras_cv_course.models.get_model (keeping its default name) or pass a registered name."
    )


def _as_levels(levels):
    if isinstance(levels, str):
        levels = (levels,)
    levels = tuple(levels)
    if not levels:
        raise ValueError("levels must name at least one feature level, e.g. ('P3', 'P4', 'P5')")
    return levels


def _layer_named(model, layer_name, info):
    try:
        return model.get_layer(layer_name)
    except ValueError as error:
        raise ValueError(
            f"Tap layer {layer_name!r} of {info.name!r} is missing from model {model.name!r}; "
            "was it built with a different architecture option?"
        ) from error
