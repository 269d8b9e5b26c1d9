"""``PatchWhitening``: a frozen first convolution whose filters whiten image patches.

The filters are the eigenvectors of the (uncentred) second-moment matrix of the
training images' k×k patches, each divided by the square root of its eigenvalue
plus ``epsilon``, and then the same filters negated: a following ReLU keeps both
signs, so no information in a patch is lost. The layer learns nothing; ``adapt``
sets it from data before training, as Keras's ``Normalization.adapt`` does
(``keras_cv_course.adaptation``: ``training.fit`` adapts a fresh model's layers).

Credit: ZCA/PCA whitening of patches as a network's first layer (Coates & Ng
2012); a frozen, data-initialized whitening convolution with ± filters is what
makes Keller Jordan's airbench (arXiv:2404.00498, "94% on CIFAR-10 in 3.29
seconds") and the hlb-CIFAR10 speed runs train so fast. Besides conditioning
the next layer, it saves the backward pass of the full-resolution stem, which
dominates a small net's step time on a CPU.
"""

import numpy as np
import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_cv_course")
class PatchWhitening(keras.layers.Layer):
    """A k×k convolution with ``2·k·k·C`` frozen filters that whiten patches.

    ``patch_size``: k. ``epsilon``: added to each eigenvalue, in squared input
    units (5e-4 suits inputs in [0, 1]); it caps the gain of the noisiest
    directions. ``padding``: "same" or "valid". Channels-last.

    Before ``adapt`` the filters are the ± pixel basis (filter j picks pixel j
    of the patch), a lossless but unwhitened start. ``is_adapted`` turns True
    after ``adapt`` and when weights are loaded (``load_model``,
    ``load_weights``), so ``training.fit`` adapts fresh models only.
    """

    def __init__(self, patch_size=3, epsilon=5e-4, padding="same", **kwargs):
        super().__init__(**kwargs)
        if not isinstance(patch_size, int) or patch_size < 1:
            raise ValueError(f"patch_size must be a positive int; got {patch_size!r}")
        if padding not in ("same", "valid"):
            raise ValueError(f"padding must be 'same' or 'valid'; got {padding!r}")
        if not epsilon > 0:
            raise ValueError(f"epsilon must be > 0 (it bounds the gain of directions without variance); got {epsilon!r}")
        self.patch_size, self.epsilon, self.padding = patch_size, float(epsilon), padding
        self.is_adapted = False

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"{self.name}: the channel axis of the input must be known; got shape {input_shape}")
        dim = self.patch_size * self.patch_size * channels
        self.kernel = self.add_weight(
            name="kernel", shape=(self.patch_size, self.patch_size, channels, 2 * dim),
            initializer=lambda shape, dtype=None: ops.cast(self._signed_basis(np.eye(dim)), dtype or "float32"),
            trainable=False,
        )

    def call(self, inputs):
        return ops.conv(inputs, ops.cast(self.kernel, inputs.dtype), strides=1, padding=self.padding,
                        data_format="channels_last")  # not the global setting, read at every call

    def compute_output_shape(self, input_shape):
        height, width = input_shape[1:3]
        if self.padding == "valid":
            height, width = (None if side is None else side - self.patch_size + 1 for side in (height, width))
        return (input_shape[0], height, width, 2 * self.patch_size * self.patch_size * input_shape[-1])

    def adapt(self, images):
        """Set the filters from ``images`` (N, H, W, C), preprocessed as the
        model's input: eigenvectors of the patch second-moment matrix, largest
        eigenvalue first, scaled by 1/sqrt(eigenvalue + epsilon), then negated."""
        images = np.asarray(images, dtype="float32")
        if not self.built and images.ndim == 4:
            self.build((None, *images.shape[1:]))
        _check_images(self, images)
        eigenvalues, eigenvectors = np.linalg.eigh(patch_second_moment(images, self.patch_size))
        order = np.argsort(eigenvalues)[::-1]
        scaled = eigenvectors[:, order] / np.sqrt(np.maximum(eigenvalues[order], 0.0) + self.epsilon)
        self.kernel.assign(self._signed_basis(scaled).astype("float32"))
        self.is_adapted = True
        return self

    def _signed_basis(self, filters):
        """(dim, dim) filters as columns → the (k, k, C, 2·dim) kernel [filters, −filters]."""
        dim = filters.shape[0]
        kernel = np.concatenate([filters, -filters], axis=1)
        return kernel.reshape(self.patch_size, self.patch_size, dim // self.patch_size**2, 2 * dim)

    def load_own_variables(self, store):
        super().load_own_variables(store)
        self.is_adapted = True

    def get_config(self):
        return {**super().get_config(), "patch_size": self.patch_size, "epsilon": self.epsilon, "padding": self.padding}


def _check_images(layer, images):
    channels = layer.kernel.shape[2] if layer.built else "C"
    if images.ndim != 4 or images.shape[-1] != channels:
        raise ValueError(f"{layer.name}.adapt expects images of shape (N, H, W, {channels}); got {images.shape}")
    if images.shape[0] == 0 or min(images.shape[1:3]) < layer.patch_size:
        raise ValueError(f"{layer.name}.adapt needs at least one image of at least {layer.patch_size}x{layer.patch_size}; "
                         f"got {images.shape}")
    if not np.isfinite(images).all():
        bad = int(np.count_nonzero((~np.isfinite(images)).reshape(len(images), -1).any(axis=1)))
        raise ValueError(f"{layer.name}.adapt got {bad} image(s) with NaN or infinite pixels")


def patch_second_moment(images, patch_size, patches_per_chunk=1_000_000):
    """E[p pᵀ] over every k×k patch p (flattened row, column, channel) inside
    ``images`` (N, H, W, C); summed over chunks of about ``patches_per_chunk``
    patches to bound memory."""
    dim = patch_size * patch_size * images.shape[-1]
    chunk = max(1, patches_per_chunk // (images.shape[1] * images.shape[2]))
    total, count = np.zeros((dim, dim)), 0
    for start in range(0, len(images), chunk):
        windows = np.lib.stride_tricks.sliding_window_view(images[start:start + chunk], (patch_size, patch_size), axis=(1, 2))
        patches = np.moveaxis(windows, 3, -1).reshape(-1, dim).astype("float64")  # (.., C, k, k) -> (.., k, k, C)
        total += patches.T @ patches
        count += len(patches)
    return total / count
