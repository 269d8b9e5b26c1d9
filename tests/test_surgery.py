"""surgery: the course's VGG16 transfer model and fine-tuning from block5_conv1."""

import keras
import pytest
import numpy as np

from keras_cv_course import surgery
from keras_cv_course.models import get_model


def test_course_transfer_model_parameter_count_and_block5_fine_tuning():
    conv_base = get_model("vgg16", include_top=False, input_shape=(150, 150, 3))
    model = surgery.transfer_classifier(conv_base, hidden=256, classes=1)
    assert model.count_params() == 16_812_353
    assert model.output_shape == (None, 1)

    surgery.freeze(conv_base)  # step 1: only the head trains
    trainable, frozen = surgery.trainable_summary(model)
    assert trainable == 16_812_353 - 14_714_688

    surgery.freeze(conv_base, until="block5_conv1")  # step 2: fine-tune block 5
    flags = {layer.name: layer.trainable for layer in surgery.flat_layers(conv_base) if layer.weights}
    assert [name for name, on in flags.items() if on] == ["block5_conv1", "block5_conv2", "block5_conv3"]
    assert len(model.trainable_weights) == 3 * 2 + 4  # block 5 kernels/biases + fc and predictions
    assert surgery.trainable_summary(model)[0] == 3 * (3 * 3 * 512 * 512 + 512) + 2_097_665


def test_unfreeze_from_keeps_earlier_flags_and_names_missing_layer():
    model = get_model("lenet5")
    surgery.freeze(model)
    surgery.unfreeze_from(model, "fc2")
    assert [l.name for l in model.layers if l.weights and l.trainable] == ["fc2", "predictions"]
    try:
        surgery.freeze(model, until="block9_conv9")
    except ValueError as error:
        assert "block9_conv9" in str(error)
    else:
        raise AssertionError("expected a ValueError")


def test_frozen_batchnorm_stays_in_inference_mode_during_training():
    model = get_model("fashion_vgg")
    surgery.freeze(model, until="block3_conv1")
    frozen = surgery.frozen_batchnorm(model)
    assert "block1_bn1" in frozen and "block3_bn1" not in frozen
    bn = model.get_layer("block1_bn1")
    before = [np.array(w) for w in bn.weights]
    model.compile("sgd", "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).random((16, 28, 28, 1)).astype("float32") * 3.0
    model.fit(x, np.arange(16) % 10, epochs=1, batch_size=8, verbose=0)
    for old, new in zip(before, bn.weights):  # gamma, beta and the moving statistics are unchanged
        np.testing.assert_array_equal(old, np.array(new))
    # ...and the frozen BN computes with its moving statistics even with training=True.
    probe = keras.Model(model.input, bn.output)
    np.testing.assert_allclose(np.asarray(probe(x, training=True)), np.asarray(probe(x, training=False)), atol=1e-6)
    trained = model.get_layer("block3_bn1")
    assert not np.allclose(np.array(trained.moving_mean), 0.0)


def _trained_source():
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, name="first")(inputs)
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs, name="source")
    model.get_layer("first").set_weights([np.arange(36, dtype="float32").reshape(3, 3, 1, 4) / 36, np.ones(4, "float32")])
    return model


def _monster(borrowed):
    inputs = keras.Input((8, 8, 1))
    x = borrowed(inputs)
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="new_conv")(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="head")(keras.layers.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, outputs)


def test_borrow_layer_copies_weights_into_its_own_variables():
    source = _trained_source()
    borrowed = surgery.borrow_layer(source, "first", new_name="borrowed_first")
    model = _monster(borrowed)
    assert model.get_layer("borrowed_first") is borrowed
    for mine, theirs in zip(borrowed.get_weights(), source.get_layer("first").get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    borrowed.kernel.assign(np.zeros((3, 3, 1, 4), "float32"))  # its own variables: the source keeps its weights
    assert source.get_layer("first").get_weights()[0].max() > 0
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        surgery.borrow_layer(source, "nope")


class _KernelPerEpoch(keras.callbacks.Callback):
    def __init__(self, layer_name):
        super().__init__()
        self.layer_name, self.kernels = layer_name, []

    def on_epoch_end(self, epoch, logs=None):
        self.kernels.append(self.model.get_layer(self.layer_name).get_weights()[0].copy())


JAX_FIT = pytest.mark.skipif(keras.backend.backend() == "jax", reason="JAX's fit fixes its trainable variables")


@JAX_FIT
def test_freeze_schedule_keeps_the_layer_still_then_trains_it():
    keras.utils.set_random_seed(0)
    model = _monster(surgery.borrow_layer(_trained_source(), "first"))
    start = model.get_layer("first").get_weights()[0].copy()
    head_start = model.get_layer("head").get_weights()[0].copy()
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).uniform(size=(64, 8, 8, 1)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) * 6).astype(int) % 3
    watch = _KernelPerEpoch("first")
    model.fit(x, y, epochs=4, batch_size=16, verbose=0, callbacks=[surgery.FreezeSchedule(["first"], 2), watch])
    np.testing.assert_array_equal(watch.kernels[0], start)  # frozen for epochs 0 and 1
    np.testing.assert_array_equal(watch.kernels[1], start)
    assert np.abs(watch.kernels[3] - start).max() > 1e-3  # trained in epochs 2 and 3
    assert np.abs(model.get_layer("head").get_weights()[0] - head_start).max() > 1e-3
    assert model.get_layer("first").trainable


@JAX_FIT
def test_freeze_schedule_refuses_a_layer_frozen_before_fit():
    model = _monster(surgery.borrow_layer(_trained_source(), "first"))
    model.get_layer("first").trainable = False
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"\['first'\] are frozen when fit starts"):
        model.fit(np.zeros((4, 8, 8, 1)), np.zeros(4), epochs=1, verbose=0, callbacks=[surgery.FreezeSchedule("first", 1)])


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="the JAX backend's refusal")
def test_freeze_schedule_says_to_fit_twice_on_jax():
    model = _monster(surgery.borrow_layer(_trained_source(), "first"))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(RuntimeError, match="call fit twice"):
        model.fit(np.zeros((4, 8, 8, 1)), np.zeros(4), epochs=1, verbose=0, callbacks=[surgery.FreezeSchedule("first", 1)])
