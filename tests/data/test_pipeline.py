"""data.pipeline: order of steps, determinism, labels kept, channel handling, bad labels."""

import io

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_cv_course import data


@pytest.fixture(scope="module")
def sample():
    return data.load("fashion_mnist_sample", "test").take(256)


def first_batches(ds, n=2):
    return [(x.numpy(), y.numpy()) for x, y in ds.take(n)]


def labelled_by_value(n=96, size=16, channels=1):
    """Images whose every pixel is 10 * (label + 1): any transform that keeps labels keeps that tie."""
    labels = np.arange(n) % 10
    images = np.broadcast_to((10 * (labels + 1)).astype(np.uint8)[:, None, None, None], (n, size, size, channels)).copy()
    return tf.data.Dataset.from_tensor_slices((images, labels))


def test_plain_pipeline_batches_and_scales(sample):
    ds = data.pipeline(sample, batch_size=64, training=False)
    (x, y), = first_batches(ds, 1)
    assert x.shape == (64, 28, 28, 1) and x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
    raw = next(iter(sample.batch(64)))
    np.testing.assert_allclose(x, raw[0].numpy() / 255.0, rtol=1e-6)  # eval: no shuffle, same order
    np.testing.assert_array_equal(y, raw[1].numpy())


@pytest.mark.parametrize("augment", ["fashion", "image_data_generator"])
def test_seeded_pipelines_repeat_and_other_seeds_differ(sample, augment):
    make = lambda seed: data.pipeline(sample, batch_size=64, training=True, augment=augment, seed=seed)  # noqa: E731
    a, b, c = first_batches(make(7)), first_batches(make(7)), first_batches(make(8))
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(a[0][0], c[0][0])


@pytest.mark.parametrize("augment", ["cifar", "image_data_generator"])
def test_augmentation_keeps_labels(augment):
    ds = data.pipeline(labelled_by_value(), batch_size=32, training=True, augment=augment, preprocess="none", seed=0)
    for x, y in ds.as_numpy_iterator():
        value = 10.0 * (y + 1)
        # zero padding (cifar) may enter at the borders; every other pixel still carries the label
        kept = np.where(x[..., 0] == 0, value[:, None, None], x[..., 0])
        np.testing.assert_allclose(kept, np.broadcast_to(value[:, None, None], kept.shape), atol=1e-3)


def test_alexnet_preset_crops_from_256_224_with_pca_from_the_data():
    ds = labelled_by_value(n=32, size=20, channels=3)
    train = data.pipeline(ds, batch_size=16, training=True, augment="alexnet", image_size=56, preprocess="none", seed=0)
    x, y = next(iter(train))
    assert x.shape == (16, 56, 56, 3)
    # flat-color images: crops and flips keep them flat; PCA lighting moves all pixels of an image alike
    x = x.numpy()
    np.testing.assert_allclose(x, np.broadcast_to(x[:, :1, :1, :], x.shape), atol=1e-3)
    gray = 10.0 * (y.numpy() + 1)
    # gray data: the data's own basis is (1,1,1) only, so the shift keeps R = G = B
    np.testing.assert_allclose(x[:, 0, 0, 0], x[:, 0, 0, 1], atol=1e-3)
    assert np.abs(x[:, 0, 0, 0] - gray).max() > 0.01
    evaluation = data.pipeline(ds, batch_size=16, training=False, augment="alexnet", image_size=56, preprocess="none")
    x_eval, y_eval = next(iter(evaluation))
    np.testing.assert_allclose(x_eval.numpy()[:, 0, 0, 0], 10.0 * (y_eval.numpy() + 1))  # inference: center crop only


def test_model_entry_sets_size_and_preprocessing(sample):
    ds = data.pipeline(sample, batch_size=8, training=False, model="lenet5_classic")
    x, _ = next(iter(ds))
    assert x.shape == (8, 32, 32, 1) and float(tf.reduce_max(x)) <= 1.0  # lenet5_classic: 32x32, mode "unit"
    padded = data.pipeline(sample, batch_size=8, training=False, image_size=(28, 56), resize="pad", preprocess="none")
    x = next(iter(padded))[0].numpy()
    assert x.shape == (8, 28, 56, 1) and (x[:, :, :14] == 0).all()


def test_grayscale_model_fed_rgb_and_the_reverse():
    rgb = tf.data.Dataset.from_tensor_slices((np.random.default_rng(0).integers(0, 256, (8, 28, 28, 3), dtype=np.uint8), np.arange(8) % 10))
    with pytest.raises(ValueError, match=r"model takes 1-channel images but the data has 3.*channels=1"):
        data.pipeline(rgb, batch_size=4, training=False, model="lenet5")
    x, _ = next(iter(data.pipeline(rgb, batch_size=4, training=False, model="lenet5", channels=1)))
    assert x.shape == (4, 28, 28, 1)
    gray = rgb.map(lambda im, y: (tf.image.rgb_to_grayscale(im), y))
    inputs = keras.Input((28, 28, 3))
    rgb_model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D(name="gap")(inputs))
    with pytest.raises(ValueError, match=r"3-channel images but the data has 1.*channels=3"):
        data.pipeline(gray, batch_size=4, training=False, model=rgb_model)
    x = next(iter(data.pipeline(gray, batch_size=4, training=False, model=rgb_model, channels=3)))[0].numpy()
    np.testing.assert_array_equal(x[..., 0], x[..., 2])  # the gray channel repeated
    with pytest.raises(ValueError, match="needs RGB images"):
        data.pipeline(gray, batch_size=4, training=False, preprocess="caffe")


def test_labels_out_of_range_fail_when_read():
    ds = tf.data.Dataset.from_tensor_slices((np.zeros((4, 8, 8, 1), np.uint8), np.array([0, 3, 12, 1])))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"label out of range.*\[0, 10\)"):
        list(data.pipeline(ds, batch_size=4, training=False, num_classes=10))


def test_encoded_images_are_decoded_and_bad_arguments_refused():
    buf = io.BytesIO()
    from PIL import Image

    Image.fromarray(np.full((10, 12, 3), 200, np.uint8)).save(buf, format="PNG")
    ds = tf.data.Dataset.from_tensor_slices(([buf.getvalue()] * 3, [1, 2, 3]))
    x, y = next(iter(data.pipeline(ds, batch_size=3, training=False, image_size=16, preprocess="none")))
    assert x.shape == (3, 16, 16, 3) and np.allclose(x.numpy(), 200.0) and y.numpy().tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="no static size"):
        data.pipeline(ds, batch_size=3, training=False)
    with pytest.raises(ValueError, match="Unknown augmentation 'mixup'"):
        data.pipeline(ds, batch_size=3, training=True, image_size=16, augment="mixup")
    with pytest.raises(ValueError, match="Unknown preprocessing mode"):
        data.pipeline(ds, batch_size=3, training=True, image_size=16, preprocess="imagenet")


def test_class_names_of_the_input_are_kept(tmp_path):
    ds = tf.data.Dataset.from_tensor_slices((np.zeros((4, 8, 8, 3), np.uint8), np.arange(4) % 2))
    ds.class_names = ["cat", "dog"]
    for training in (False, True):
        assert data.pipeline(ds, batch_size=2, training=training, augment="cifar" if training else None).class_names \
            == ["cat", "dog"]
    assert not hasattr(data.pipeline(ds.map(lambda x, y: (x, y)), batch_size=2, training=False), "class_names")


def test_resizing_to_the_models_size_is_said_once_and_an_explicit_size_is_quiet(capsys):
    ds = tf.data.Dataset.from_tensor_slices((np.zeros((4, 32, 32, 3), np.uint8), np.arange(4)))
    resized = data.pipeline(ds, batch_size=2, training=False, model="vgg16")
    assert resized.element_spec[0].shape[1:] == (224, 224, 3)
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ["pipeline: resizing the 32x32 images to 224x224, the input size of 'vgg16'; "
                     "pass image_size= to choose the size"]
    data.pipeline(ds, batch_size=2, training=False, model="vgg16", image_size=32)  # chosen: no notice
    data.pipeline(ds, batch_size=2, training=False, model="cifar_resnet20")  # already the model's size
    assert capsys.readouterr().err == ""
    inputs = keras.Input((48, 48, 3))
    built = keras.Model(inputs, keras.layers.GlobalAveragePooling2D(name="gap")(inputs), name="mine")
    data.pipeline(ds, batch_size=2, training=False, model=built)
    assert capsys.readouterr().err.strip() == ("pipeline: resizing the 32x32 images to 48x48, the input size of "
                                               "'mine'; pass image_size= to choose the size")
