"""InceptionV3 against keras.applications: the same layers in the same order
with the same options and weight shapes, Keras's explicit names, Keras's weight
files (legacy .h5, loaded by layer order) giving identical outputs."""

import inspect
import re

import keras
import numpy as np
from keras.src.applications import inception_v3 as keras_inception_v3

from _keras_parity import assert_same_architecture, randomize_batch_norm, save_legacy_h5

from keras_cv_course.models import InceptionV3, model_info
from keras_cv_course.models.inception_v3 import IMAGENET_WEIGHTS

AUTO_NAME = re.compile(r"^(conv2d|batch_normalization|activation|max_pooling2d|average_pooling2d|concatenate|input_layer|global_average_pooling2d)(_\d+)?$")


def test_layout_weights_and_outputs_match_keras_applications(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    shape = (75, 75, 3)  # keras.applications' smallest input keeps the test fast
    theirs = keras.applications.InceptionV3(weights=None, input_shape=shape, classifier_activation=None)
    randomize_batch_norm(theirs, rng)
    weight_file = tmp_path / "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"
    save_legacy_h5(theirs, weight_file)

    # weights="imagenet" asks the Keras cache for Keras's own file (get_file stubbed
    # to hand over the file written above) and loads it by layer order.
    requests = []

    def fake_get_file(fname, origin, **kwargs):
        requests.append((fname, origin, kwargs["file_hash"], kwargs["cache_subdir"]))
        return str(weight_file)

    monkeypatch.setattr(keras.utils, "get_file", fake_get_file)
    ours = InceptionV3(weights="imagenet", input_shape=shape, classifier_activation=None)
    assert requests == [
        (
            "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
            keras_inception_v3.WEIGHTS_PATH,
            "9a0d58056eeedaa3f26cb7ebd46da564",
            "models",
        )
    ]

    assert ours.count_params() == theirs.count_params() == 23_851_784 == model_info("inception_v3").params
    # Same layers, same order, same options and weight shapes; Keras's explicit
    # names are kept, and none of ours is automatic where Keras's is.
    renamed = assert_same_architecture(ours, theirs)
    explicit = {layer.name for layer in theirs.layers[1:]} - {b for _, b in renamed}
    assert len(renamed) > 250 and explicit >= {f"mixed{i}" for i in range(11)} | {"mixed9_0", "mixed9_1", "avg_pool",
                                                                                   "predictions"}
    assert not [l.name for l in ours.layers[1:] if AUTO_NAME.match(l.name)]

    x = rng.uniform(-1, 1, size=(2, *shape)).astype("float32")
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), atol=1e-5)


def test_weight_spec_is_keras_files_and_hashes():
    source = inspect.getsource(keras_inception_v3)
    spec = IMAGENET_WEIGHTS["imagenet"]
    assert spec.top.origin == keras_inception_v3.WEIGHTS_PATH
    assert spec.notop.origin == keras_inception_v3.WEIGHTS_PATH_NO_TOP
    for remote in (spec.top, spec.notop):
        assert f'"{remote.fname}"' in source and f'file_hash="{remote.file_hash}"' in source
        assert remote.origin.endswith(remote.fname)
    assert spec.preprocessing == "tf" and model_info("inception_v3").weights["imagenet"] is spec
    assert model_info("inception_v3").taps == ()  # valid paddings: no map is exactly input / stride
