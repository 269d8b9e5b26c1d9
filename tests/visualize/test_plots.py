"""Drawing functions: they draw what they are given on the Axes and save PNGs."""

import numpy as np
import pytest

from keras_cv_course.visualize import plots


def _png_ok(path):
    with open(path, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


def test_history_plots_train_and_validation_curves(tmp_path):
    figure, ax = plots.new_figure()
    history = {"loss": [1.0, 0.5, 0.25], "val_loss": [1.1, 0.7, 0.6], "accuracy": [0.5, 0.7, 0.9]}
    plots.plot_history(ax, history)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"training loss", "validation loss"}
    np.testing.assert_allclose(lines["training loss"].get_ydata(), [1.0, 0.5, 0.25])
    np.testing.assert_allclose(lines["training loss"].get_xdata(), [1, 2, 3])
    assert lines["training loss"].get_color() == lines["validation loss"].get_color()
    plots.plot_history(plots.new_figure()[1], history, metrics="accuracy")
    with pytest.raises(ValueError, match="not in the history"):
        plots.plot_history(ax, history, metrics="auc")
    _png_ok(plots.save_figure(figure, tmp_path / "sub" / "history.png"))


def test_confusion_matrix_annotates_counts_and_normalizes_rows():
    _, ax = plots.new_figure()
    matrix = np.array([[8, 2], [0, 0]])
    plots.plot_confusion_matrix(ax, matrix, ["cat", "dog"], normalize=True)
    shown = ax.images[0].get_array()
    np.testing.assert_allclose(shown, [[0.8, 0.2], [0.0, 0.0]])  # an empty row gives 0, not NaN
    assert sorted(t.get_text() for t in ax.texts) == ["0.00", "0.00", "0.20", "0.80"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog"]
    with pytest.raises(ValueError, match="class names"):
        plots.plot_confusion_matrix(ax, matrix, ["a", "b", "c"])


def test_roc_draws_curve_with_auc_and_chance_line():
    _, ax = plots.new_figure()
    plots.plot_roc(ax, [0.0, 0.2, 1.0], [0.0, 0.8, 1.0], 0.8)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["ROC (AUC = 0.800)", "chance"]
    _, ax = plots.new_figure()
    plots.plot_roc(ax, {"a": [0, 1], "b": [0, 1]}, {"a": [0, 1], "b": [1, 1]}, {"a": 0.5, "b": 1.0})
    assert [line.get_label() for line in ax.get_lines()] == ["a (AUC = 0.500)", "b (AUC = 1.000)", "chance"]


def test_tile_images_places_every_tile():
    images = np.arange(5)[:, None, None] * np.ones((5, 2, 3))
    mosaic = plots.tile_images(images, cols=3, margin=1, fill=-1)
    assert mosaic.shape == (2 * 2 + 1, 3 * 3 + 2)
    assert mosaic[0, 0] == 0 and mosaic[0, 4] == 1 and mosaic[3, 4] == 4
    assert mosaic[2, 0] == -1  # margin row
    assert (mosaic[3:, 8:] == -1).all()  # empty sixth slot


def test_image_plots_draw_and_save(tmp_path):
    figure, axes = plots.new_figure(2, 2, size=2)
    rng = np.random.default_rng(0)
    activation = rng.random((1, 6, 6, 5)).astype("float32")
    activation[..., 2] = 0.0  # a dead channel draws flat, without NaN
    plots.plot_activation_grid(axes[0, 0], activation)
    plots.plot_filters(axes[0, 1], rng.random((4, 3, 3, 3)))
    plots.plot_pattern_gallery(axes[1, 0], rng.integers(0, 255, (6, 8, 8, 3), dtype=np.uint8))
    plots.plot_heatmap_overlay(axes[1, 1], rng.integers(0, 255, (16, 16), dtype=np.uint8), rng.random((4, 4)))
    overlay = axes[1, 1].images[1].get_array()
    assert overlay.shape == (16, 16)
    _png_ok(plots.save_figure(figure, tmp_path / "images.png"))


def test_resize_is_bilinear_and_keeps_constants():
    np.testing.assert_allclose(plots._resize(np.full((3, 3), 2.0), (7, 5)), 2.0)
    ramp = plots._resize(np.array([[0.0, 1.0]]), (1, 4))
    assert np.all(np.diff(ramp[0]) >= 0) and ramp[0, 0] == 0.0 and ramp[0, -1] == 1.0


def test_precision_recall_draws_the_step_whose_area_is_the_ap():
    from keras_cv_course import metrics

    labels, scores = np.array([0, 1, 1, 0, 0, 1]), np.array([0.7, 0.4, 0.9, 0.2, 0.8, 0.7])
    precision, recall, _ = metrics.precision_recall_curve(labels, scores)
    ap = metrics.average_precision(labels, scores)
    _, ax = plots.new_figure()
    plots.plot_precision_recall(ax, precision, recall, ap, label="cat")
    (line,) = ax.get_lines()
    assert line.get_label() == "cat (AP = 0.700)" and line.get_drawstyle() == "steps-pre"
    x, y = line.get_xdata(), line.get_ydata()
    assert np.sum(np.diff(x) * y[1:]) == pytest.approx(ap)  # each precision held back to the previous recall
    _, ax = plots.new_figure()  # recall descending (scikit-learn's order) draws the same line
    plots.plot_precision_recall(ax, precision[::-1], recall[::-1], ap, label="cat")
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), x)
    _, ax = plots.new_figure()
    plots.plot_precision_recall(ax, {"a": precision, "b": [1.0, 1.0]}, {"a": recall, "b": [0.0, 1.0]},
                                {"a": ap, "b": 1.0})
    assert [line.get_label() for line in ax.get_lines()] == ["a (AP = 0.700)", "b (AP = 1.000)"]
    with pytest.raises(ValueError, match="equal length"):
        plots.plot_precision_recall(ax, [1.0, 0.5], [0.0, 0.5, 1.0])


def test_segmentation_colors_are_the_voc_palette():
    colors = np.rint(plots.segmentation_colors(256) * 255).astype(int)
    assert colors[0].tolist() == [0, 0, 0] and colors[1].tolist() == [128, 0, 0]
    assert colors[2].tolist() == [0, 128, 0] and colors[15].tolist() == [192, 128, 128]
    assert len({tuple(c) for c in colors}) == 256


def _rendered_pixel(figure, ax, buffer, row, col):
    """The RGB of the canvas where the centre of data pixel (row, col) of ``ax`` lands."""
    x, y = ax.transData.transform((col, row))
    return buffer[int(round(figure.bbox.height - y)), int(round(x)), :3].astype(float)


def test_segmentation_overlay_carries_class_colors_in_the_png(tmp_path):
    import matplotlib.image

    mask = np.array([[0, 1, 2, 3], [4, 255, 9, 1]])  # 255 void, 9 outside the 5 classes: void too
    image = np.full((2, 4, 3), 0.5, np.float32)
    figure, ax = plots.new_figure(size=4, layout=None)
    plots.plot_segmentation(ax, image, mask, 5, alpha=0.6, class_names=["bg", "a", "b", "c", "d"])
    overlay = ax.images[1].get_array()
    colors = plots.segmentation_colors(5)
    np.testing.assert_allclose(overlay[0, 2, :3], colors[2])
    np.testing.assert_allclose(overlay[..., 3], [[0.6] * 4, [0.6, 0, 0, 0.6]])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["bg", "a", "b", "c", "d"]
    path = tmp_path / "segmentation.png"
    figure.savefig(path)
    _png_ok(path)
    pixels = np.rint(matplotlib.image.imread(path) * 255)
    for (row, col), label in np.ndenumerate(mask):
        expected = 0.4 * 127.5 + 0.6 * 255 * colors[label] if label < 5 else np.full(3, 127.5)
        np.testing.assert_allclose(_rendered_pixel(figure, ax, pixels, row, col), expected, atol=2.5,
                                   err_msg=f"pixel ({row}, {col}) of class {label}")


def test_segmentation_mask_alone_and_examples(tmp_path):
    mask = np.array([[1, 1], [2, 255]])
    figure, ax = plots.new_figure(size=3, layout=None)
    plots.plot_segmentation(ax, None, mask[..., None], 3)
    assert len(ax.images) == 1
    np.testing.assert_allclose(ax.images[0].get_array()[..., 3], [[1, 1], [1, 0]])  # opaque, void transparent
    figure.canvas.draw()
    buffer = np.asarray(figure.canvas.buffer_rgba())
    np.testing.assert_allclose(_rendered_pixel(figure, ax, buffer, 1, 0), [0, 128, 0], atol=1)
    np.testing.assert_allclose(_rendered_pixel(figure, ax, buffer, 1, 1), [255, 255, 255], atol=1)  # background
    with pytest.raises(ValueError, match="differ in size"):
        plots.plot_segmentation(ax, np.zeros((3, 3)), mask, 3)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (2, 8, 8, 3), dtype=np.uint8)
    truth = rng.integers(0, 3, (2, 8, 8))
    scores = rng.random((2, 8, 8, 3))
    figure, axes = plots.new_figure(2, 3, size=2, squeeze=False)
    plots.plot_segmentation_examples(axes, images, truth, scores, 3, class_names=["bg", "cat", "dog"])
    assert [a.get_title() for a in axes[0]] == ["image", "ground truth", "prediction"]
    np.testing.assert_allclose(axes[1, 2].images[1].get_array()[..., :3],
                               plots.segmentation_colors(3)[scores[1].argmax(-1)], atol=1e-6)
    _png_ok(plots.save_figure(figure, tmp_path / "examples.png"))
    with pytest.raises(ValueError, match="3 rows of axes for 2 images"):
        plots.plot_segmentation_examples(plots.new_figure(3, 3)[1], images, truth, scores, 3)
