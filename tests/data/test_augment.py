"""Augmentation behaviour: PCA lighting, per-image crops, flips, ten-crop TTA."""

import keras
import numpy as np
import pytest

from keras_cv_course.data import augment


def gray_rgb_images(n=64, seed=0):
    """RGB images whose pixels are gray (R = G = B): their color covariance has rank 1."""
    g = np.random.default_rng(seed).integers(0, 256, (n, 8, 8, 1)).astype(np.float32)
    return np.repeat(g, 3, axis=-1)


def test_pca_basis_recovers_a_known_covariance():
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    pixels = rng.normal(size=(200_000, 3)) * np.sqrt([400.0, 25.0, 1.0]) @ basis.T + 128
    eigval, eigvec = augment.pca_basis(pixels.reshape(-1, 10, 10, 3))
    np.testing.assert_allclose(eigval, np.array([400, 25, 1]) / 255.0, rtol=0.03)  # [0, 1] variance x 255
    np.testing.assert_allclose(np.abs(eigvec.T @ basis), np.eye(3), atol=0.02)


def test_pca_lighting_alpha_zero_and_inference_are_identity():
    x = gray_rgb_images()
    np.testing.assert_array_equal(augment.PCALighting(alphastd=0.0)(x, training=True), x)
    np.testing.assert_array_equal(augment.PCALighting(seed=1)(x, training=False), x)


def test_pca_lighting_shift_is_constant_per_image_and_in_the_eigenvector_span():
    x = gray_rgb_images()
    eigval, eigvec = augment.pca_basis(x)
    assert eigval[0] > 10 and eigval[1] < 1e-6  # gray data: one color direction, (1, 1, 1) / sqrt(3)
    np.testing.assert_allclose(np.abs(eigvec[:, 0]), np.full(3, 3 ** -0.5), atol=1e-5)
    out = keras.ops.convert_to_numpy(augment.PCALighting(eigval, eigvec, seed=3)(x, training=True))
    shift = out - x
    np.testing.assert_allclose(shift, np.broadcast_to(shift[:, :1, :1, :], shift.shape), atol=1e-3)  # constant over the image
    per_image = shift[:, 0, 0, :]
    assert np.abs(per_image).max() > 1.0  # it does move the colors
    np.testing.assert_allclose(per_image[:, 0], per_image[:, 1], atol=1e-3)  # in span{(1,1,1)}: gray stays gray
    np.testing.assert_allclose(per_image[:, 0], per_image[:, 2], atol=1e-3)


def test_pca_lighting_draws_alpha_with_std_0_1_along_each_eigenvector():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (4000, 2, 2, 3)).astype(np.float32)
    layer = augment.PCALighting(seed=5)  # ImageNet basis
    shift = (keras.ops.convert_to_numpy(layer(x, training=True)) - x)[:, 0, 0, :]
    alpha = shift @ augment.IMAGENET_EIGVEC / augment.IMAGENET_EIGVAL  # eigvec is orthonormal
    np.testing.assert_allclose(alpha.std(axis=0), 0.1, rtol=0.06)
    np.testing.assert_allclose(alpha.mean(axis=0), 0.0, atol=0.01)
    np.testing.assert_allclose(layer.shift(alpha), shift, atol=1e-3)


def test_random_crop_draws_an_offset_per_image_and_centers_at_inference():
    base = np.arange(12 * 12, dtype=np.float32).reshape(1, 12, 12, 1)
    batch = np.repeat(base, 64, axis=0)
    crops = keras.ops.convert_to_numpy(augment.RandomCrop(8, 8, seed=0)(batch, training=True))
    tops, lefts = crops[:, 0, 0, 0] // 12, crops[:, 0, 0, 0] % 12
    assert len(set(zip(tops.tolist(), lefts.tolist()))) > 10  # offsets differ inside one batch
    assert set(tops.tolist()) == set(range(5)) and set(lefts.tolist()) == set(range(5))
    for crop, t, l in zip(crops, tops.astype(int), lefts.astype(int)):
        np.testing.assert_array_equal(crop, base[0, t: t + 8, l: l + 8])  # a true window of the image
    center = keras.ops.convert_to_numpy(augment.RandomCrop(8, 8)(batch[:2], training=False))
    np.testing.assert_array_equal(center[0], base[0, 2:10, 2:10])
    padded = augment.RandomCrop(12, 12, padding=4)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(padded(batch[:2], training=False)), batch[:2])
    shifted = keras.ops.convert_to_numpy(padded(batch, training=True))
    assert shifted.shape == batch.shape and (shifted == 0).any()  # zero padding shows at the borders


def test_layers_round_trip_through_config():
    for layer in (augment.RandomCrop(8, 9, padding=2, seed=4), augment.PCALighting(alphastd=0.2, seed=1)):
        clone = layer.__class__.from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()


def test_image_data_generator_set_matches_the_course_generator():
    layers = augment.image_data_generator_layers(seed=0, fused=False)
    names = [type(l).__name__ for l in layers]
    assert names == ["RandomRotation", "RandomTranslation", "RandomShear", "RandomZoom", "RandomFlip"]
    rotation, shift, shear, zoom, flip = layers
    assert rotation.factor == (-40 / 360, 40 / 360) and rotation.fill_mode == "nearest"
    assert shift.height_factor == 0.2 and shift.width_factor == 0.2  # Keras: a float f means (-f, f)
    t = np.tan(np.radians(0.2))  # ImageDataGenerator's shear_range is an angle in degrees
    assert tuple(shear.x_factor) == pytest.approx((-t, t)) and tuple(shear.y_factor) == (0.0, 0.0)
    assert zoom.height_factor == (-0.2, 0.2) and zoom.width_factor == (-0.2, 0.2)
    assert all(l.fill_mode == "nearest" for l in layers[:4]) and flip.mode == "horizontal"


def test_horizontal_flip_mirrors_some_images_and_keeps_the_rest():
    x = np.random.default_rng(0).integers(0, 256, (64, 6, 6, 1)).astype(np.float32)
    out = keras.ops.convert_to_numpy(augment.preset("cifar", image_size=(6, 6), seed=0).layers[1](x, training=True))
    flipped = [np.array_equal(o, i[:, ::-1]) for o, i in zip(out, x)]
    same = [np.array_equal(o, i) for o, i in zip(out, x)]
    assert all(f or s for f, s in zip(flipped, same)) and 10 < sum(flipped) < 54


def test_ten_crop_takes_corners_center_and_their_mirrors():
    image = np.arange(5 * 6, dtype=np.float32).reshape(1, 5, 6, 1)
    crops = augment.ten_crop(image, (3, 4))
    assert crops.shape == (10, 1, 3, 4, 1)
    np.testing.assert_array_equal(crops[0, 0], image[0, :3, :4])
    np.testing.assert_array_equal(crops[3, 0], image[0, 2:, 2:])
    np.testing.assert_array_equal(crops[4, 0], image[0, 1:4, 1:5])
    np.testing.assert_array_equal(crops[5:], crops[:5, :, :, ::-1])


def test_ten_crop_predict_averages_exactly_ten_predictions():
    images = np.random.default_rng(1).random((3, 10, 10, 1)).astype(np.float32)
    seen = []

    def model(batch):
        seen.append(batch.shape[0])
        return batch.reshape(batch.shape[0], -1).mean(axis=1, keepdims=True)

    out = augment.ten_crop_predict(model, images, 8)
    assert seen == [30] and out.shape == (3, 1)
    crops = augment.ten_crop(images, 8)
    np.testing.assert_allclose(out[:, 0], crops.reshape(10, 3, -1).mean(axis=2).mean(axis=0), rtol=1e-6)
    # a Keras model goes through predict and gives the same average
    inputs = keras.Input((8, 8, 1))
    net = keras.Model(inputs, keras.layers.GlobalAveragePooling2D(name="gap")(inputs))
    np.testing.assert_allclose(augment.ten_crop_predict(net, images, 8), out, rtol=1e-5)
    with pytest.raises(ValueError, match="larger than the images"):
        augment.ten_crop(images, 12)


@pytest.mark.parametrize("params", [
    dict(theta=30), dict(tx=3, ty=-2), dict(shear=20), dict(zx=1.2, zy=0.8),
    dict(theta=-20, tx=2, ty=-3, shear=10, zx=1.1, zy=0.9),
])
def test_random_affine_is_image_data_generators_transform(params):
    from keras.src.legacy.preprocessing.image import apply_affine_transform

    x = np.random.default_rng(0).random((1, 20, 20, 1)).astype(np.float32) * 255
    p = {"theta": 0, "tx": 0, "ty": 0, "shear": 0, "zx": 1, "zy": 1, **params}
    layer = augment.RandomAffine(1, 1, 1, 1, 1, fill_mode="nearest")
    draws = iter([p["theta"], p["tx"] / 20, p["ty"] / 20, p["shear"], p["zx"] - 1, p["zy"] - 1])
    layer._uniform = lambda n, bound: keras.ops.full((n,), next(draws))  # fix the random draws
    ours = keras.ops.convert_to_numpy(layer(x, training=True))[0]
    ref = apply_affine_transform(x[0], row_axis=0, col_axis=1, channel_axis=2, fill_mode="nearest", **p)
    np.testing.assert_allclose(ours[1:-1, 1:-1], ref[1:-1, 1:-1], atol=1e-2)


def test_random_affine_draws_differ_per_image_and_inference_is_identity():
    x = np.repeat(np.random.default_rng(0).random((1, 12, 12, 1)).astype(np.float32), 8, axis=0)
    layer = augment.RandomAffine(40, 0.2, 0.2, 0.2, 0.2, seed=0)
    out = keras.ops.convert_to_numpy(layer(x, training=True))
    assert len({o.tobytes() for o in out}) == 8
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x, training=False)), x)
