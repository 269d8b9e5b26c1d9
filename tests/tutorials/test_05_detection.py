"""Tutorial 5 runs end to end in its fast mode and its maps and boxes are meaningful."""

import os

SCALES = (0.75, 1.0, 1.5)


def test_tutorial_05_fast_mode(tmp_path, load_tutorial):
    results = load_tutorial("05_detection.py").main(fast=True, out=str(tmp_path))
    names = {os.path.basename(path) for path in results["files"]}
    assert names == {"lenet_score_maps.png", "offset_pooling.png", "detector_score_maps.png", "detections.png"}
    for path in results["files"]:
        assert os.path.dirname(os.path.abspath(path)) == str(tmp_path) and os.path.getsize(path) > 1000

    # 1. the convolutionized LeNet-5 is the classifier at 28×28 and slides 4 px per window
    assert results["lenet_max_difference"] < 1e-5
    for scale, shape in results["lenet_map_shapes"].items():
        side = round(128 * scale / 4) * 4
        assert shape == (3, (side - 28) // 4 + 1, (side - 28) // 4 + 1, 10), scale
    # items are recognised at their centres far above chance (0.1): the maps are placed on the right pixels
    assert max(results["lenet_center_accuracy"].values()) > 0.2
    for scale, (plain, dense) in results["offset_shapes"].items():
        # twice as fine; the last offset of the 2×2 pooling has one window fewer
        assert dense == (plain[0], 2 * plain[1] - 2, 2 * plain[2] - 2, 10), scale

    # 2. the detector: stride 8, background + 10 classes, at each scale
    assert results["score_map_shapes"] == {
        scale: (3, round(128 * scale / 8), round(128 * scale / 8), 11) for scale in SCALES}
    assert results["objectness_inside"] > 3 * results["objectness_outside"]  # it sees where the items are
    assert set(results["map50"]) == set(results["object_ap50"]) == {
        (merge, scales) for merge in ("nms", "greedy") for scales in ((1.0,), SCALES)}
    for value in [*results["map50"].values(), *results["object_ap50"].values()]:
        assert 0.0 <= value <= 1.0
    assert results["map50"][("nms", (1.0,))] > 0.0
    assert results["object_ap50"][("nms", SCALES)] > 0.1  # the boxes land on the items, whatever their class
    assert results["scored_scenes"] == {"nms": 48, "greedy": 12}
    assert sorted(results["boxes_drawn"]) == sorted(f"{merge}, scales {scales}" for merge in ("nms", "greedy")
                                                    for scales in ((1.0,), SCALES))
    assert all(count > 0 for count in results["boxes_drawn"].values())
    assert results["max_score"]["nms"] <= 1.0 < results["max_score"]["greedy"]  # the greedy merge sums scores
