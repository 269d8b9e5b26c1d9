"""Tutorial 2 runs end to end in its fast mode and shows what it claims."""

import os


def test_tutorial_02_fast_mode(tmp_path, load_tutorial):
    results = load_tutorial("02_data_pipelines.py").main(fast=True, out=str(tmp_path))
    assert [os.path.basename(p) for p in results["files"]] == ["augmentations.png"]
    assert os.path.getsize(results["files"][0]) > 20_000  # a real picture, not an empty canvas
    assert results["source"] == "embedded" and results["seeded_repeat"] and results["grid_rows"] == 5
    assert results["center_accuracy"] > 0.3 and results["ten_crop_accuracy"] > 0.3  # chance is 0.1
