"""Every visualization gives the TensorFlow result on JAX and on PyTorch.

``backend_maps.py`` computes activations, Grad-CAM (default and raw at another
layer), Grad-CAM++, guided Grad-CAM, saliency, SmoothGrad (numpy noise, fixed
seed), guided backprop, deconvnet, occlusion, filters, filter patterns (5 ascent
steps, one with jitter, TV and L2) and the saliency of a randomized copy, for a
tiny convnet whose weights come from a seeded numpy generator, under one
``KERAS_BACKEND`` in a subprocess (the backend is fixed at Keras's import). The
TensorFlow run is the reference.

Tolerance: each float result within 1e-4 of its TensorFlow spread (max − min),
integer results (the classes used) equal. The backends differ only by the
rounding of float32 convolutions and sums (measured: at most ~5e-6 of the
spread, most results bit-identical), so 1e-4 fails on any real difference (a
wrong ReLU rule or layer flips whole pixels). Filter patterns get 1e-3: each of
their steps starts from the last one's result, so rounding compounds over the
steps (measured: under 3e-7 of the spread after 5).
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "backend_maps.py")
PATTERNS_TOLERANCE, MAPS_TOLERANCE = 1e-3, 1e-4
# each backend's own functions in _gradients: what must have run there (and nothing of the others)
OWN = {"tensorflow": ("_tf_pullback", "_tf_rule"), "jax": ("_jax_pullback", "_jax_rule"),
       "torch": ("_torch_pullback", "_torch_rule")}


def _maps(backend, folder):
    """The worker's results and meta under ``backend``."""
    path = os.path.join(folder, f"{backend}.npz")
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2",
           "PYTHONPATH": os.pathsep.join(p for p in (REPO, os.environ.get("PYTHONPATH")) if p)}
    done = subprocess.run([sys.executable, WORKER, path], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{backend} worker failed:\n{done.stderr[-4000:]}"
    with np.load(path) as saved:
        results = {key: saved[key] for key in saved.files if key != "meta"}
        meta = json.loads(str(saved["meta"]))
    return results, meta


def _check_backend_ran(backend, meta):
    assert meta["backend"] == backend
    assert meta["tensor_type"].split(".")[0] == {"tensorflow": "tensorflow", "jax": "jaxlib", "torch": "torch"}[backend]
    calls = meta["calls"]
    own = OWN[backend]
    assert calls[own[0]] > 0 and calls[own[1]] > 0, calls  # gradients and ReLU rules of this backend ran
    assert all(count == 0 for name, count in calls.items() if name not in own), calls


def differences(results, reference):
    """``{name: (max abs difference, tolerance)}`` of every result against the reference."""
    found = {}
    for name, expected in reference.items():
        got = results[name]
        assert got.shape == expected.shape and got.dtype == expected.dtype, (name, got.shape, expected.shape)
        if not np.issubdtype(expected.dtype, np.floating):
            found[name] = (float(np.abs(got.astype(np.int64) - expected).max(initial=0)), 0.0)
            continue
        relative = PATTERNS_TOLERANCE if name.startswith("filter_pattern") else MAPS_TOLERANCE
        spread = float(expected.max() - expected.min())
        found[name] = (float(np.abs(got.astype(np.float64) - expected).max()), relative * max(spread, 1e-6))
    return found


@pytest.fixture(scope="module")
def tensorflow_maps(tmp_path_factory):
    results, meta = _maps("tensorflow", str(tmp_path_factory.mktemp("tensorflow")))
    _check_backend_ran("tensorflow", meta)
    return results


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_every_visualization_matches_tensorflow(backend, tensorflow_maps, tmp_path):
    results, meta = _maps(backend, str(tmp_path))
    _check_backend_ran(backend, meta)
    assert set(results) == set(tensorflow_maps)
    found = differences(results, tensorflow_maps)
    report = "\n".join(f"{name:32s} max |diff| {diff:.3g} (tolerance {tol:.3g})" for name, (diff, tol) in found.items())
    print(f"{backend} vs tensorflow:\n{report}")
    assert all(diff <= tol for diff, tol in found.values()), report
    # the results are real maps, not zeros that would match anything
    for name in ("grad_cam", "grad_cam_plus_plus", "saliency", "guided_backprop", "deconvnet", "occlusion_sensitivity"):
        assert np.abs(tensorflow_maps[name]).max() > 0, name
    assert not np.allclose(tensorflow_maps["guided_backprop"], tensorflow_maps["deconvnet"])
