"""Every registered model keeps the layer names, layer classes, layer options
and weight shapes recorded in layer_snapshot.json.gz (by tools/snapshot_layers.py
before the builders were refactored), so shipped weights, keras.applications
files and saved .keras models still load. Models registered later are not in
the snapshot and are checked by the registry sweep instead."""

import gzip
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "tools"))

import snapshot_layers  # noqa: E402

with gzip.open(snapshot_layers.SNAPSHOT, "rt") as _handle:
    SNAPSHOT = json.load(_handle)


def test_every_recorded_model_is_still_registered():
    from keras_cv_course import models

    assert sorted(set(SNAPSHOT) - set(models.list_models())) == []


@pytest.mark.parametrize("name", sorted(SNAPSHOT))
def test_layers_and_weight_shapes_are_unchanged(name):
    recorded, now = SNAPSHOT[name], snapshot_layers.model_records(name)
    assert now["inputs"] == recorded["inputs"] and now["outputs"] == recorded["outputs"]
    assert [r[0] for r in now["layers"]] == [r[0] for r in recorded["layers"]]  # names, in order
    for before, after in zip(recorded["layers"], now["layers"]):
        assert after == before, f"layer {before[0]!r} of {name!r} changed: {before} -> {after}"
