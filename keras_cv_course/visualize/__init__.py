"""Tools that show what a convnet learned, for any Keras model (nested ones too).

Compute (numpy out): ``activations``, ``filters``, ``filter_pattern`` /
``filter_patterns``, ``grad_cam``, ``grad_cam_plus_plus``, ``guided_grad_cam``,
``occlusion_sensitivity``, ``saliency``, ``smoothgrad``, ``guided_backprop``,
``deconvnet``, ``randomized_copy``. Draw (on a matplotlib Axes): the ``plot_*``
functions, with ``new_figure`` and ``save_figure`` for PNGs (../shared/DESIGN.md §2).
Layers are named by name, path (``"conv_base/block1_conv1"``), feature level
(``"P4"``) or Layer; the class-activation maps default to the last block's output
(the last spatial map the model's output depends on entirely), and the filter
patterns to the input range of the model's recorded preprocessing.
Runs on the TensorFlow, JAX and PyTorch backends (``_gradients``: the same
gradients through ``tf.GradientTape``, ``jax.vjp`` or ``torch.autograd``).
"""

from keras_cv_course.visualize.activations import activations
from keras_cv_course.visualize.cam import (
    activations_and_gradients,
    grad_cam,
    grad_cam_plus_plus,
    guided_grad_cam,
    normalize_maps,
    occlusion_sensitivity,
    target_layer,
    upsample_maps,
)
from keras_cv_course.visualize.filters import deprocess_image, filter_pattern, filter_patterns, filters, total_variation
from keras_cv_course.visualize.plots import (
    FigureWriter,
    new_figure,
    plot_activation_grid,
    plot_confusion_matrix,
    plot_filters,
    plot_heatmap,
    plot_heatmap_overlay,
    plot_history,
    plot_pattern_gallery,
    plot_precision_recall,
    plot_boxes,
    plot_roc,
    plot_segmentation,
    plot_segmentation_examples,
    save_figure,
    segmentation_colors,
    box_colors,
    tile_images,
)
from keras_cv_course.visualize.saliency import (
    deconvnet,
    guided_backprop,
    input_gradients,
    randomized_copy,
    saliency,
    smoothgrad,
)

__all__ = [
    "activations", "filters", "filter_pattern", "filter_patterns", "deprocess_image", "total_variation",
    "grad_cam", "grad_cam_plus_plus", "guided_grad_cam", "occlusion_sensitivity",
    "activations_and_gradients", "target_layer", "normalize_maps", "upsample_maps",
    "saliency", "smoothgrad", "guided_backprop", "deconvnet", "input_gradients", "randomized_copy",
    "new_figure", "save_figure", "FigureWriter", "tile_images",
    "plot_activation_grid", "plot_filters", "plot_pattern_gallery", "plot_heatmap", "plot_heatmap_overlay",
    "plot_history", "plot_confusion_matrix", "plot_roc", "plot_precision_recall",
    "plot_boxes", "box_colors", "plot_segmentation", "plot_segmentation_examples", "segmentation_colors",
]
