"""Class-activation maps: Grad-CAM finds the object, equals CAM where CAM exists."""

import keras
import numpy as np
import pytest
from keras import layers

from keras_cv_course import visualize

RED, GREEN = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)


def _peak(heatmap):
    return np.unravel_index(np.argmax(heatmap), heatmap.shape)


def _inside(point, top, left, side):
    return top <= point[0] < top + side and left <= point[1] < left + side


@pytest.mark.parametrize("top,left", [(2, 3), (9, 10), (4, 11)])
def test_grad_cam_peaks_inside_the_bright_square_and_follows_it(blob_model, top, left, square_image):
    image = square_image(squares=[(top, left, 4, RED)])
    heatmap = visualize.grad_cam(blob_model, image, class_index=0)[0]
    assert heatmap.shape == (16, 16)
    assert _inside(_peak(heatmap), top, left, 4)
    assert heatmap.max() == pytest.approx(1.0)
    outside = np.ones_like(heatmap, bool)
    outside[max(top - 2, 0) : top + 6, max(left - 2, 0) : left + 6] = False
    assert heatmap[outside].max() < 0.1


def test_each_class_map_peaks_on_its_own_square(blob_model, square_image):
    image = square_image(squares=[(2, 9, 4, RED), (10, 2, 4, GREEN)])
    red, green = visualize.grad_cam(blob_model, np.stack([image, image]), class_index=[0, 1])
    assert _inside(_peak(red), 2, 9, 4)
    assert _inside(_peak(green), 10, 2, 4)
    plus = visualize.grad_cam_plus_plus(blob_model, image, class_index=1)[0]
    assert _inside(_peak(plus), 10, 2, 4)
    # default class: the top class, here the larger (green) square
    image = square_image(squares=[(2, 9, 3, RED), (9, 2, 6, GREEN)])
    assert _inside(_peak(visualize.grad_cam(blob_model, image)[0]), 9, 2, 6)


def test_blank_image_gives_zero_maps_not_nan(blob_model):
    blank = np.zeros((16, 16, 3), np.float32)
    for method in (visualize.grad_cam, visualize.grad_cam_plus_plus, visualize.guided_grad_cam):
        result = method(blob_model, blank)
        assert np.isfinite(result).all() and not result.any(), method.__name__
    assert np.isfinite(visualize.occlusion_sensitivity(blob_model, blank)).all()


def test_grad_cam_equals_cam_for_conv_gap_dense():
    # CAM (Zhou et al. 2016) for Conv -> GAP -> Dense: sum_k w_kc A_k. Grad-CAM's
    # weights are mean(dS/dA_k) = w_kc / (H W): the same map up to normalization,
    # provided the score is taken before the softmax.
    rng = np.random.default_rng(1)
    inputs = keras.Input((12, 12, 3))
    x = layers.Conv2D(8, 3, activation="relu", name="features")(inputs)
    x = layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, layers.Dense(5, activation="softmax", name="predictions")(x))
    model.get_layer("predictions").set_weights([rng.normal(size=(8, 5)).astype("float32"), rng.normal(size=5).astype("float32")])
    images = rng.random((3, 12, 12, 3)).astype("float32")
    features = visualize.activations(model, images, "features")["features"]
    weights = model.get_layer("predictions").get_weights()[0]
    for c in range(5):
        cam = np.maximum(np.einsum("nhwk,k->nhw", features, weights[:, c]), 0)
        expected = visualize.normalize_maps(cam)
        got = visualize.grad_cam(model, images, class_index=c, upsample=False)
        np.testing.assert_allclose(got, expected, atol=1e-5)
        raw = visualize.grad_cam(model, images, class_index=c, upsample=False, normalize=False)
        np.testing.assert_allclose(raw, cam / features.shape[1] / features.shape[2], rtol=1e-4, atol=1e-6)


def test_target_defaults_to_last_conv_found_in_nested_models():
    base_in = keras.Input((16, 16, 3))
    x = layers.Conv2D(4, 3, name="c1")(base_in)
    x = layers.Conv2D(4, 3, name="c2")(x)
    x = layers.BatchNormalization(name="c2_bn")(x)
    x = layers.Activation("relu", name="c2_relu")(x)
    conv_base = keras.Model(base_in, x, name="conv_base")
    model = keras.Sequential([keras.Input((16, 16, 3)), conv_base, layers.Flatten(), layers.Dense(3, activation="softmax")])
    assert visualize.target_layer(model).name == "c2_relu"
    assert visualize.target_layer(model, "conv_base/c1").name == "c1"
    heatmap = visualize.grad_cam(model, np.random.default_rng(0).random((2, 16, 16, 3)))
    assert heatmap.shape == (2, 16, 16) and np.isfinite(heatmap).all()


def test_guided_grad_cam_is_guided_backprop_times_cam(blob_model, square_image):
    image = square_image(squares=[(3, 3, 4, RED), (9, 9, 4, GREEN)])
    guided = visualize.guided_backprop(blob_model, image, class_index=0)
    cam = visualize.grad_cam(blob_model, image, class_index=0)
    np.testing.assert_allclose(visualize.guided_grad_cam(blob_model, image, class_index=0), guided * cam[..., None], atol=1e-6)


def test_occlusion_hurts_most_where_the_object_is(blob_model, square_image):
    image = square_image(squares=[(9, 2, 5, RED)])
    heatmap = visualize.occlusion_sensitivity(blob_model, image, class_index=0, patch=4, stride=2, fill=0.0)[0]
    assert heatmap.shape == (16, 16)
    assert _inside(_peak(heatmap), 8, 1, 7)
    assert heatmap[:5, 10:].max() <= 1e-6  # hiding empty background changes nothing


def test_randomized_weights_change_the_maps_and_leave_the_model_alone(blob_model, square_image):
    image = square_image(squares=[(2, 9, 4, RED), (10, 2, 4, GREEN)])
    before = [w.copy() for w in blob_model.get_weights()]
    original = visualize.grad_cam(blob_model, image, class_index=0)
    randomized = visualize.randomized_copy(blob_model, seed=3)
    changed = visualize.grad_cam(randomized, image, class_index=0)
    assert np.corrcoef(original.ravel(), changed.ravel())[0, 1] < 0.5
    trained_saliency = visualize.saliency(blob_model, image, 0)
    random_saliency = visualize.saliency(randomized, image, 0)
    assert np.linalg.norm(random_saliency - trained_saliency) > 0.5 * np.linalg.norm(trained_saliency)
    for a, b in zip(before, blob_model.get_weights()):
        np.testing.assert_array_equal(a, b)
    # cascading: only the top randomized leaves the conv layer's weights
    top_only = visualize.randomized_copy(blob_model, layers="predictions")
    np.testing.assert_array_equal(top_only.get_layer("detect").get_weights()[0], before[0])
    assert not np.array_equal(top_only.get_layer("predictions").get_weights()[0], before[2])
