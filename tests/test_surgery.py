"""surgery: the course's VGG16 transfer model and fine-tuning from block5_conv1."""

import keras
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
