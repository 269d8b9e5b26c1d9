"""Tools that show what a convnet learned, for any Keras model (nested ones too).

Compute functions return numpy arrays; drawing functions (``plots``) draw on a
matplotlib Axes (../shared/DESIGN.md §2).
"""

from keras_cv_course.visualize.plots import (
    new_figure,
    plot_activation_grid,
    plot_confusion_matrix,
    plot_filters,
    plot_heatmap,
    plot_heatmap_overlay,
    plot_history,
    plot_pattern_gallery,
    plot_roc,
    save_figure,
    tile_images,
)

__all__ = [
    "new_figure", "save_figure", "tile_images",
    "plot_activation_grid", "plot_filters", "plot_pattern_gallery", "plot_heatmap", "plot_heatmap_overlay",
    "plot_history", "plot_confusion_matrix", "plot_roc",
]
