"""Tutorial 2 runs end to end in its fast mode and shows what it claims."""

import importlib.util
import os

TUTORIAL = os.path.join(os.path.dirname(__file__), "..", "..", "tutorials", "02_data_pipelines.py")


def _load():
    spec = importlib.util.spec_from_file_location("tutorial_02_data_pipelines", TUTORIAL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tutorial_02_fast_mode(tmp_path):
    results = _load().main(fast=True, out=str(tmp_path))
    assert [os.path.basename(p) for p in results["files"]] == ["augmentations.png"]
    assert os.path.getsize(results["files"][0]) > 20_000  # a real picture, not an empty canvas
    assert results["source"] == "embedded" and results["seeded_repeat"] and results["grid_rows"] == 5
    assert results["center_accuracy"] > 0.3 and results["ten_crop_accuracy"] > 0.3  # chance is 0.1
