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
