"""Tutorial 8 runs end to end in its fast mode, and its default boxes, matches, detections and mAP are meaningful."""

import os

import keras

C = 10  # ssd_fashion on 128×128 scenes: maps 16², 8², 4² with 4, 6, 4 boxes a location
MAPS = (((16, 16), 8, 4), ((8, 8), 16, 6), ((4, 4), 32, 4))  # (size, step, boxes per location)
P = sum(h * w * k for (h, w), _, k in MAPS)  # 1,472 priors
SCENES = 64  # the fast mode's scored test scenes


def test_tutorial_08_fast_mode(tmp_path, load_tutorial):
    keras.utils.set_random_seed(0)
    results = load_tutorial("08_ssd.py").main(fast=True, out=str(tmp_path))
    names = {os.path.basename(path) for path in results["files"]}
    assert names == {"default_boxes.png", "matched_priors.png", "before_after_nms.png"}
    for path in results["files"]:
        assert os.path.dirname(os.path.abspath(path)) == str(tmp_path) and os.path.getsize(path) > 1000
    items = results["items"]
    assert items >= SCENES  # 1-6 items per scene

    # 1. the default boxes: three maps, eq. 4 sizes growing map to map, and SSD300's 8,732
    assert P == 1472 and results["num_priors"] == P
    maps = results["prior_maps"]
    assert [(m["size"], m["step"], m["boxes"]) for m in maps] == list(MAPS)
    assert [m["count"] for m in maps] == [1024, 384, 64]
    assert [m["ratios"] for m in maps] == [(2,), (2, 3), (2,)]
    for m, following in zip(maps, maps[1:]):
        assert m["min_size"] < m["max_size"] == following["min_size"]  # s_k, s_(k+1) of eq. 4
    assert results["layout_agrees"]  # head.priors: map by map, row-major, each location's boxes centred on it
    assert results["ssd300_terms"] == [(38, 4), (19, 6), (10, 6), (5, 6), (3, 4), (1, 4)]
    assert results["ssd300_priors"] == 8732
    assert [drawn in (k, 2 * k) for drawn, (_, _, k) in zip(results["location_boxes_drawn"], MAPS)] == [True] * 3

    # 2. the matching: encode is match_priors; small items on the fine map, large on the coarse ones
    assert results["target_shapes"] == ((SCENES, P, 5), (SCENES, P))
    assert results["encode_agrees"]
    assert results["unmatched_items"] == 0  # every item gets at least its best prior
    forced = results["forced"]
    assert 0 < forced < 0.2 * items  # 14 of 205: the small items, below 0.5 IoU with every prior
    assert results["forced_single"] == forced  # ... each with exactly one positive
    assert results["forced_best"] >= 0.8 * forced  # ... its highest-IoU prior (unless another item took it)
    share = results["map_share"]
    assert share["small"][0] > 0.9 and share["large"][0] < 0.2 and share["large"][1] + share["large"][2] > 0.8
    assert share["small"][0] > share["medium"][0] > share["large"][0]
    assert abs(sum(share["medium"]) - 1) < 1e-6
    positives = results["positives"]
    assert SCENES <= positives and 5 < results["positives_per_scene"] < 30  # a dozen positives of 1,472 priors
    assert sum(results["positives_per_image"]) == positives
    # hard negative mining at 3:1: exactly three negatives per positive, per scene, the hardest ones
    assert results["mined_per_scene"] == [3 * n for n in results["positives_per_image"]]
    assert results["mined_negatives"] == 3 * positives < results["negatives"] == SCENES * P - positives
    assert results["mined_loss"] > 3 * results["negative_loss"]

    # 3. decode_priors gives every prior's box; per-class NMS removes the duplicates
    assert results["decode_priors_shapes"] == ((SCENES, P, 4), (SCENES, P, C))
    assert 0.0 < results["max_score"] <= 1.0
    counts = results["nms_counts"]
    assert counts["before"] > counts["after"] > 0
    assert counts["before_drawn"] > counts["after_drawn"] > 0
    assert len(results["nms_scenes"]) == 3 and len(set(results["nms_scenes"])) == 3
    assert results["boxes_drawn"]["before"] > results["boxes_drawn"]["after"] > 0

    # 4. mAP@0.5: weak, but far above chance; without NMS the duplicates are false positives
    assert 0.15 < results["map50"] <= 1.0  # 0.36 here
    assert results["map50"] < results["object_ap50"] <= 1.0  # 0.58: the boxes are better than their classes
    assert 0.0 < results["map50_without_nms"] < results["map50"]  # 0.23
