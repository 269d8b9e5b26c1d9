"""Input-gradient maps follow their definitions."""

import keras
import numpy as np
import pytest
from keras import layers

from keras_cv_course import visualize


def test_saliency_of_a_linear_model_is_its_weight_vector():
    rng = np.random.default_rng(0)
    model = keras.Sequential([keras.Input((4, 4, 2)), layers.Flatten(), layers.Dense(3, activation="softmax")])
    kernel = rng.normal(size=(32, 3)).astype("float32")
    model.layers[-1].set_weights([kernel, np.zeros(3, np.float32)])
    images = rng.random((2, 4, 4, 2)).astype("float32")
    for c in range(3):
        gradient = visualize.saliency(model, images, class_index=c)
        np.testing.assert_allclose(gradient, np.broadcast_to(kernel[:, c].reshape(4, 4, 2), images.shape), atol=1e-6)
    vector_model = keras.Sequential([keras.Input((5,)), layers.Dense(1)])
    np.testing.assert_allclose(visualize.saliency(vector_model, np.ones(5))[0], vector_model.layers[0].get_weights()[0][:, 0], atol=1e-6)
    reduced = visualize.saliency(model, images, class_index=0, reduce="max_abs")
    assert reduced.shape == (2, 4, 4)


def test_smoothgrad_with_zero_noise_is_the_gradient():
    rng = np.random.default_rng(1)
    model = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(3, 3, activation="relu"), layers.Flatten(), layers.Dense(2)])
    images = rng.random((2, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(
        visualize.smoothgrad(model, images, noise=0.0, samples=3), visualize.saliency(model, images), atol=1e-6
    )
    noisy = visualize.smoothgrad(model, images, noise=0.3, samples=4, seed=0)
    assert noisy.shape == images.shape and not np.allclose(noisy, visualize.saliency(model, images))


def _one_relu_models():
    w1 = np.array([[1.0, -2.0, 0.5], [0.5, 1.0, -1.0]], np.float32)  # 2 inputs -> 3 hidden
    w2 = np.array([[2.0], [-1.0], [3.0]], np.float32)
    separate = keras.Sequential([keras.Input((2,)), layers.Dense(3, use_bias=False), layers.ReLU(), layers.Dense(1, use_bias=False)])
    separate.layers[0].set_weights([w1])
    separate.layers[2].set_weights([w2])
    fused = keras.Sequential([keras.Input((2,)), layers.Dense(3, activation="relu", use_bias=False), layers.Dense(1, use_bias=False)])
    fused.layers[0].set_weights([w1])
    fused.layers[1].set_weights([w2])
    return w1, w2[:, 0], separate, fused


@pytest.mark.parametrize("which", ["separate", "fused"])
def test_guided_backprop_and_deconvnet_follow_their_relu_rules(which):
    w1, w2, separate, fused = _one_relu_models()
    model = separate if which == "separate" else fused
    x = np.array([[1.0, 1.0]], np.float32)  # pre-activations 1.5, -1.0, -0.5 ... first unit on
    x = np.array([[1.0, 0.6]], np.float32)
    pre = x @ w1  # [1.3, -1.4, -0.1]: only unit 0 is active
    active = (pre[0] > 0).astype(np.float32)
    np.testing.assert_allclose(visualize.saliency(model, x)[0], w1 @ (w2 * active), atol=1e-6)
    np.testing.assert_allclose(visualize.guided_backprop(model, x)[0], w1 @ (w2 * active * (w2 > 0)), atol=1e-6)
    np.testing.assert_allclose(visualize.deconvnet(model, x)[0], w1 @ np.maximum(w2, 0), atol=1e-6)
    x = np.array([[1.0, -1.0]], np.float32)  # pre [1.5, -3, 1.5]: units 0 and 2 active, unit 1 gets w2 < 0
    pre = x @ w1
    np.testing.assert_allclose(visualize.guided_backprop(model, x)[0], w1 @ (w2 * (pre[0] > 0) * (w2 > 0)), atol=1e-6)


def test_guided_rules_leave_the_users_model_unchanged():
    _, _, _, fused = _one_relu_models()
    weights = [w.copy() for w in fused.get_weights()]
    visualize.guided_backprop(fused, np.ones((1, 2), np.float32))
    assert fused.layers[0].activation is keras.activations.relu
    for a, b in zip(weights, fused.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert keras.ops.convert_to_numpy(fused(np.array([[1.0, -1.0]], np.float32))).shape == (1, 1)
