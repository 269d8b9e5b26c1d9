"""Tutorial 6 runs end to end in its fast mode, and its grid, maps, boxes and misses are meaningful."""

import os

S, B, C = 8, 2, 10  # yolov1_fashion on 128×128 scenes
SCENES = 64  # the fast mode's scored test scenes


def test_tutorial_06_fast_mode(tmp_path, load_tutorial):
    results = load_tutorial("06_yolo.py").main(fast=True, out=str(tmp_path))
    names = {os.path.basename(path) for path in results["files"]}
    assert names == {"grid_targets.png", "raw_output.png", "before_after_nms.png", "failure_cases.png"}
    for path in results["files"]:
        assert os.path.dirname(os.path.abspath(path)) == str(tmp_path) and os.path.getsize(path) > 1000

    # 1. one object per cell: each collision costs all but one of the items of the cell their target
    items = results["items"]
    assert items >= SCENES  # 1-6 items per scene
    assert results["target_shape"] == (SCENES, S, S, 5 + C)
    shared, dropped = results["shared_items"], results["dropped_items"]
    assert 0 < shared < 0.1 * items  # the docstring: 1.7 % of the objects lose their cell at S = 8
    assert shared / 2 <= dropped < shared  # a cell of k items keeps one: k - 1 lost of k shared
    assert results["object_cells"] == items - dropped  # encode's object cells are the items kept
    assert results["targets_agree"]  # ... in the cells, with the classes and centres of those items

    # 2. the raw output: the best predictor's confidence is high where the objects are
    assert results["output_shape"] == (SCENES, S, S, 5 * B + C)
    assert results["confidence_shape"] == (SCENES, S, S)
    assert results["class_score_shape"] == (SCENES, S, S, C)
    low, high = results["confidence_range"]
    assert 0.0 <= low <= high <= 1.0 and high > 0.2
    assert results["confidence_object"] > 3 * results["confidence_empty"]
    assert results["cell_class_accuracy"] > 0.15  # above chance (0.1) at the object cells

    # 3. decode_cells gives every predictor's box; per-class NMS removes some (box, class) pairs
    assert results["decode_cells_shapes"] == ((SCENES, S * S * B, 4), (SCENES, S * S * B, C))
    assert 0.0 < results["max_score"] <= 1.0
    counts = results["nms_counts"]
    assert counts["before"] > counts["after"] > 0
    assert counts["before_drawn"] > counts["after_drawn"] > 0
    assert len(results["nms_scenes"]) == 3 and len(set(results["nms_scenes"])) == 3
    assert results["boxes_drawn"]["before"] > results["boxes_drawn"]["after"] > 0

    # 4. the misses, by category; the detector finds a good share of the items
    misses = results["misses"]
    assert set(misses) == {"collision", "small", "wrong class", "localisation"}
    assert 0 < results["missed"] < items
    assert results["recall"] > 0.15
    assert 1 <= len(results["miss_scenes"]) <= 4

    # 5. mAP@0.5: weak, but the boxes land on the items far above chance
    assert 0.02 < results["map50"] <= 1.0
    assert 0.1 < results["object_ap50"] <= 1.0
    assert 0.0 < results["map50_without_nms"] <= 1.0
