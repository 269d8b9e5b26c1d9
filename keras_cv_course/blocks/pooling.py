"""Pooling layers with PyTorch semantics that Keras lacks."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_cv_course")
class AdaptiveAveragePooling2D(keras.layers.Layer):
    """Average pooling to a fixed ``output_size`` (torch.nn.AdaptiveAvgPool2d).

    Output cell ``i`` averages input rows ``floor(i*H/out)`` to
    ``ceil((i+1)*H/out) - 1`` (and likewise columns), so any input size works,
    including one smaller than the output (cells then repeat input pixels), which
    Keras's own layer refuses. Written as two averaging-matrix products, so the
    input size may be unknown until run time. Channels-last.
    """

    def __init__(self, output_size, **kwargs):
        super().__init__(**kwargs)
        if isinstance(output_size, int):
            output_size = (output_size, output_size)
        self.output_size = tuple(int(side) for side in output_size)
        if len(self.output_size) != 2 or min(self.output_size) < 1:
            raise ValueError(f"output_size must be a positive int or (height, width); got {output_size!r}")

    def call(self, inputs):
        shape = ops.shape(inputs)
        rows = self._averaging_matrix(shape[1], self.output_size[0], inputs.dtype)
        cols = self._averaging_matrix(shape[2], self.output_size[1], inputs.dtype)
        pooled_rows = ops.einsum("ih,bhwc->biwc", rows, inputs)
        return ops.einsum("jw,biwc->bijc", cols, pooled_rows)

    @staticmethod
    def _averaging_matrix(size, cells, dtype):
        if not isinstance(size, int):  # a dynamic TensorFlow dimension; a static int must stay a Python int (jax.jit)
            size = ops.cast(size, "int32")
        index = ops.arange(cells, dtype="int32")[:, None]
        position = ops.arange(size, dtype="int32")[None, :]
        start = (index * size) // cells
        end = ((index + 1) * size + cells - 1) // cells
        mask = ops.cast(ops.logical_and(position >= start, position < end), dtype)
        return mask / ops.sum(mask, axis=1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.output_size, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "output_size": self.output_size}
