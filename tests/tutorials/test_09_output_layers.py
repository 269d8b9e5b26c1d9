"""Tutorial 9 prints the lecture's sigmoid and softmax tables and the guide's convolution sizes."""

import math
import os

import numpy as np


def test_tutorial_09_reproduces_the_lecture_numbers(tmp_path, load_tutorial):
    results = load_tutorial("09_output_layers.py").main(fast=True, out=str(tmp_path))
    assert [os.path.basename(p) for p in results["files"]] == ["sigmoid_softmax.png"]
    assert os.path.getsize(results["files"][0]) > 1000

    sigmoid = results["sigmoid"]
    for x, s in sigmoid.items():
        assert math.isclose(s, 1 / (1 + math.exp(-x)), rel_tol=1e-12), x
    assert sigmoid[0.0] == 0.5 and round(sigmoid[1.0], 4) == 0.7311 and round(sigmoid[-10.0], 7) == 0.0000454

    first, second = results["softmax"][(47.0, 50.0, 12.0)], results["softmax"][(3.0, 50.0, 12.0)]
    assert [round(p, 3) for p in first[:2]] == [0.047, 0.953]  # the lecture's values
    assert f"{second[0]:.3e}" == "3.874e-21" and round(second[1], 12) == 1.0 and f"{second[2]:.3e}" == "3.139e-17"
    # The lecture's third value of the first table, 3.139e-17, is e^-38 unnormalized: the true value is 2.990e-17.
    assert f"{first[2]:.3e}" == "2.990e-17" and math.isclose(first[2], math.exp(-38) / (1 + math.exp(-3)), rel_tol=1e-9)

    naive, stable = results["overflow"]["naive_float32"], results["overflow"]["stable"]
    assert all(math.isnan(p) for p in naive)  # e^1000 is inf in float32: inf / inf
    np.testing.assert_allclose(stable, np.exp([-3, 0, -13]) / np.exp([-3, 0, -13]).sum(), rtol=1e-12)

    encodings = results["encodings"]
    assert encodings["one_hot"] == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    assert math.isclose(encodings["sparse"], encodings["dense"], rel_tol=1e-6)
    assert math.isclose(encodings["sparse"], -(math.log(0.953) + math.log(0.7)) / 2, rel_tol=1e-5)

    # the guide's figures: 4->2, 5->6, 5->3, 7->3, 3->7; the formula and Keras agree
    sizes = {name.split(":")[0]: shape for name, shape in results["shapes"].items()}
    assert sizes == {"normal": (2, 2), "padded": (6, 6), "strided": (3, 3), "atrous": (3, 3), "transposed": (7, 7)}
