"""Adding an architecture is one row: a model defined the way README.md's
"Adding an architecture" section says — a generic builder and a ``Row`` in a
(temporary) family — is built, registered, swept by the registry tests and
listed in ``kcc list`` and the README table with no other edit."""

import pytest
from keras import layers

import test_registry as sweep
from keras_cv_course.blocks import conv_bn_act
from keras_cv_course.cli import main as kcc
from keras_cv_course.models import FeatureTap, _common, catalog, get_model, list_models, model_info, registry

WIDTHS = (8, 16)


def tiny_family(request, *, widths, dropout=0.0):
    """conv-BN-ReLU 3×3 + 2×2 max-pool per width, then the GAP head."""
    x = request.image
    for stage, width in enumerate(widths, start=1):
        x = conv_bn_act(x, width, 3, name=f"block{stage}")
        x = layers.MaxPooling2D(2, name=f"block{stage}_pool")(x)
    return request.finish(request.tail(x, request.gap_head(dropout)))


# conv 3·3·3·8 (no bias before BN) + BN 4·8, conv 3·3·8·16 + BN 4·16, Dense 16·10 + 10.
TINY_PARAMS = 3 * 3 * 3 * 8 + 4 * 8 + 3 * 3 * 8 * 16 + 4 * 16 + 16 * 10 + 10
ROW = _common.Row(
    "tiny_net", "TinyNet", "tiny", "A two-stage test family", TINY_PARAMS, "unit", (32, 32, 3), 4,
    options={"widths": WIDTHS}, user_options={"dropout": 0.0}, classes=10,
    taps=(FeatureTap("P0", "block1_relu", 8, 1), FeatureTap("P1", "block2_relu", 16, 2),
          FeatureTap("P2", "block2_pool", 16, 4, name="pool2")),
)


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    return _common.define([ROW], tiny_family)["TinyNet"]


def test_a_row_is_built_registered_swept_and_listed(tiny, tmp_path, flag_automatic_names, capsys):
    assert list_models("tiny*") == ["tiny_net"]
    info = model_info("tiny_net")
    assert (info.builder, info.params, info.classes, info.task) == (tiny, 1_634, 10, "classification")
    assert tiny(classes=3, dropout=0.2).output_shape == (None, 3)
    assert get_model("tiny_net").get_layer("predictions").units == 10
    sweep.test_default_build_matches_registry("tiny_net", flag_automatic_names)
    sweep.test_small_input_build_taps_and_keras_file_round_trip("tiny_net", tmp_path)
    sweep.test_input_below_minimum_is_refused("tiny_net")
    sweep.test_task_is_known_and_backbone_is_registered("tiny_net")
    assert "| `tiny_net` | tiny | classification | 32×32×3 | 1,634 | – | A two-stage test family |" in catalog.markdown_table()
    assert kcc(["list", "tiny*"]) == 0
    assert "tiny_net" in capsys.readouterr().out
    with pytest.raises(TypeError, match=r"TinyNet\(\) got unexpected keyword arguments \['width'\]"):
        tiny(width=3)


def test_a_row_with_a_wrong_parameter_count_fails_the_sweep(monkeypatch, flag_automatic_names):
    import dataclasses

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    _common.define([dataclasses.replace(ROW, params=TINY_PARAMS + 1)], tiny_family)
    with pytest.raises(AssertionError):
        sweep.test_default_build_matches_registry("tiny_net", flag_automatic_names)
