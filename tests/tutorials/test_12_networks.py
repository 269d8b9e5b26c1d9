"""Tutorial 12 reproduces ResNet's Table 1 multiply-adds and the lecture's residual block weights."""

import pytest


def test_tutorial_12_resnet_table_and_blocks(tmp_path, load_tutorial):
    tutorial = load_tutorial("12_networks.py")
    results = tutorial.main(fast=True, out=str(tmp_path))
    assert set(results["macs"]) == set(tutorial.FAST_DEPTHS)
    for name, macs in results["macs"].items():
        assert macs == pytest.approx(tutorial.PAPER_MACS[name], rel=0.03), name  # He et al. 2016, Table 1
    # torchvision's v1.5 strides the 3x3: more multiply-adds (4.09 vs 3.86 x 10^9 for ResNet-50)
    v15 = results["torchvision_macs"]["resnet50_torchvision"]
    assert 0.15e9 < v15 - results["macs"]["resnet50"] < 0.35e9
    assert results["blocks"] == {"basic_64": 2 * 3 * 3 * 64 * 64, "basic_256": 2 * 3 * 3 * 256 * 256,
                                 "bottleneck_256": 256 * 64 + 3 * 3 * 64 * 64 + 64 * 256}
    assert results["blocks"] == {"basic_64": 73_728, "basic_256": 1_179_648, "bottleneck_256": 69_632}
