"""PatchWhitening and adapt_model: the adapted filters whiten patches (checked
against eigenvalues computed here from patches cut out by plain slicing), the
layer stays frozen, survives a .keras round trip, and refuses bad images."""

import os

import keras
import numpy as np
import pytest

from keras_cv_course.blocks import PatchWhitening, adapt_model


def correlated_images(rng, n=40, size=12, channels=1):
    """Noise smoothed over neighbouring pixels, so patch pixels are correlated."""
    noise = rng.random((n, size + 2, size + 2, channels)).astype("float32")
    return (noise[:, :-2, :-2] + noise[:, 1:-1, 1:-1] + noise[:, 2:, 1:-1] + noise[:, 1:-1, 2:]) / 4


def sliced_patches(images, k):
    """Every k×k patch inside ``images`` as rows (row, column, channel order)."""
    n, height, width, channels = images.shape
    columns = [images[:, dy:dy + height - k + 1, dx:dx + width - k + 1, c]
               for dy in range(k) for dx in range(k) for c in range(channels)]
    return np.stack(columns, axis=-1).reshape(-1, k * k * channels).astype("float64")


@pytest.mark.parametrize("channels", [1, 2])
def test_adapted_filters_whiten_patches_largest_eigenvalue_first(rng, channels):
    images = correlated_images(rng, channels=channels)
    layer = PatchWhitening(3, epsilon=1e-3).adapt(images)
    patches = sliced_patches(images, 3)
    eigenvalues = np.sort(np.linalg.eigvalsh(patches.T @ patches / len(patches)))[::-1]
    dim = 9 * channels
    out = np.asarray(layer(images))[:, 1:-1, 1:-1].reshape(-1, 2 * dim)  # the positions whose patch lies inside
    whitened = out[:, :dim].astype("float64")
    second_moment = whitened.T @ whitened / len(whitened)
    np.testing.assert_allclose(second_moment, np.diag(eigenvalues / (eigenvalues + 1e-3)), atol=2e-3)
    np.testing.assert_allclose(out[:, dim:], -out[:, :dim], atol=1e-5)
    assert layer.is_adapted


def test_before_adapt_filters_pick_each_pixel_of_the_patch_with_both_signs(rng):
    images = rng.random((3, 6, 7, 1)).astype("float32")
    layer = PatchWhitening(3)
    out = np.asarray(layer(images))
    padded = np.pad(images[..., 0], ((0, 0), (1, 1), (1, 1)))
    for dy in range(3):
        for dx in range(3):
            np.testing.assert_allclose(out[..., 3 * dy + dx], padded[:, dy:dy + 6, dx:dx + 7], atol=1e-6)
            np.testing.assert_allclose(out[..., 9 + 3 * dy + dx], -padded[:, dy:dy + 6, dx:dx + 7], atol=1e-6)
    assert not layer.is_adapted
    assert layer.compute_output_shape((None, 6, 7, 1)) == (None, 6, 7, 18)
    assert PatchWhitening(3, padding="valid").compute_output_shape((None, 6, 7, 2)) == (None, 4, 5, 36)


def tiny_model():
    inputs = keras.Input((12, 12, 1))
    x = keras.layers.ReLU()(PatchWhitening(3, name="whiten")(inputs))
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x)))


def test_the_kernel_stays_frozen_while_the_rest_trains(rng):
    model = tiny_model()
    images = correlated_images(rng)
    model.get_layer("whiten").adapt(images)
    model.get_layer("whiten").trainable = True  # the kernel itself is a non-trainable weight
    kernel = model.get_layer("whiten").kernel.numpy().copy()
    dense = model.layers[-1].kernel.numpy().copy()
    model.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
    model.fit(images, rng.integers(0, 3, len(images)), epochs=2, batch_size=8, verbose=0)
    np.testing.assert_array_equal(model.get_layer("whiten").kernel.numpy(), kernel)
    assert not np.allclose(model.layers[-1].kernel.numpy(), dense)


def test_keras_round_trip_keeps_the_adapted_kernel_and_marks_it_adapted(rng, tmp_path):
    model = tiny_model()
    images = correlated_images(rng)
    assert adapt_model(model, images) == ["whiten"]
    assert adapt_model(model, images) == []  # already adapted
    path = os.path.join(tmp_path, "tiny.keras")
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert loaded.get_layer("whiten").is_adapted and loaded.get_layer("whiten").epsilon == 5e-4
    np.testing.assert_allclose(loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)
    assert adapt_model(loaded, images) == []
    weights_only = tiny_model()
    assert not weights_only.get_layer("whiten").is_adapted
    model.save_weights(os.path.join(tmp_path, "tiny.weights.h5"))
    weights_only.load_weights(os.path.join(tmp_path, "tiny.weights.h5"))
    assert weights_only.get_layer("whiten").is_adapted


def test_adapt_model_feeds_each_layer_its_own_input_through_nested_models(rng):
    images = correlated_images(rng)
    inner_input = keras.Input((12, 12, 1))
    whiten = PatchWhitening(3, name="inner_whiten")
    inner = keras.Model(inner_input, whiten(keras.layers.Rescaling(4.0)(inner_input)), name="inner")
    outer_input = keras.Input((12, 12, 1))
    outer = keras.Model(outer_input, inner(keras.layers.Rescaling(0.5)(outer_input)))
    assert adapt_model(outer, images) == ["inner_whiten"]
    expected = PatchWhitening(3).adapt(2.0 * images)  # 0.5 × 4 before the layer
    np.testing.assert_allclose(whiten.kernel.numpy(), expected.kernel.numpy(), rtol=1e-4, atol=1e-6)


def test_adapt_model_takes_the_first_images_of_a_batched_dataset(rng):
    import tensorflow as tf

    images = correlated_images(rng, n=50)
    labels = np.zeros(len(images), "int32")
    model = tiny_model()
    adapt_model(model, tf.data.Dataset.from_tensor_slices((images, labels)).batch(16), max_images=20)
    expected = PatchWhitening(3).adapt(images[:20])
    np.testing.assert_allclose(model.get_layer("whiten").kernel.numpy(), expected.kernel.numpy(), rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="empty dataset"):
        adapt_model(tiny_model(), tf.data.Dataset.from_tensor_slices(images[:0]).batch(4))


def test_bad_arguments_and_images_are_refused_with_the_shape_expected(rng):
    layer = PatchWhitening(3)
    layer.build((None, 12, 12, 1))
    with pytest.raises(ValueError, match=r"\(N, H, W, 1\); got \(4, 12, 12, 3\)"):
        layer.adapt(rng.random((4, 12, 12, 3)))
    with pytest.raises(ValueError, match=r"at least 3x3; got \(4, 2, 12, 1\)"):
        layer.adapt(rng.random((4, 2, 12, 1)))
    with pytest.raises(ValueError, match=r"\(N, H, W, 1\); got \(12, 12\)"):
        layer.adapt(rng.random((12, 12)))
    with pytest.raises(ValueError, match="patch_size must be a positive int; got 0"):
        PatchWhitening(0)
    with pytest.raises(ValueError, match="padding must be 'same' or 'valid'; got 'causal'"):
        PatchWhitening(3, padding="causal")
    with pytest.raises(ValueError, match=r"epsilon must be > 0 .*; got 0"):
        PatchWhitening(3, epsilon=0)
    corrupt = rng.random((5, 12, 12, 1))
    corrupt[1, 3, 4, 0] = np.nan
    corrupt[3, 0, 0, 0] = np.inf
    with pytest.raises(ValueError, match=r"got 2 image\(s\) with NaN or infinite pixels"):
        layer.adapt(corrupt)


def test_the_second_moment_does_not_depend_on_the_chunking(rng):
    from keras_cv_course.blocks.whitening import patch_second_moment

    images = correlated_images(rng, n=7, channels=3)
    whole = patch_second_moment(images, 3)
    np.testing.assert_allclose(patch_second_moment(images, 3, patches_per_chunk=1), whole, rtol=1e-10)
    patches = sliced_patches(images, 3)
    np.testing.assert_allclose(whole, patches.T @ patches / len(patches), rtol=1e-6)
