"""Normalization layers the course's early networks use and Keras lacks."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_cv_course")
class LocalResponseNormalization(keras.layers.Layer):
    """Cross-channel local response normalization (Krizhevsky et al. 2012, §3.3).

    ``b = a / (k + alpha / n * sum_{window of n channels} a**2) ** beta``, the
    Caffe/PyTorch convention that divides ``alpha`` by the window size ``n``.
    Defaults are AlexNet's: k=2, n=5, alpha=1e-4, beta=0.75. Channels-last input.
    Computed in float32 under a mixed policy; the output has the compute dtype.
    """

    def __init__(self, size=5, alpha=1e-4, beta=0.75, k=2.0, **kwargs):
        super().__init__(**kwargs)
        if size < 1 or size % 2 == 0:
            raise ValueError(f"LocalResponseNormalization size must be a positive odd int, got {size}")
        self.size = int(size)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.k = float(k)

    def call(self, inputs):
        # In float32 under every policy: a float16 square overflows above 255, and
        # the window sum of five squares loses its low digits in bfloat16.
        x = ops.cast(inputs, "float32")
        half = self.size // 2
        squared = ops.square(x)
        padded = ops.pad(squared, [[0, 0], [0, 0], [0, 0], [half, half]])
        channels = ops.shape(inputs)[-1]
        window_sum = padded[..., 0:channels]
        for offset in range(1, self.size):
            window_sum = window_sum + padded[..., offset : offset + channels]
        scale = self.k + (self.alpha / self.size) * window_sum
        return ops.cast(x / ops.power(scale, self.beta), inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(size=self.size, alpha=self.alpha, beta=self.beta, k=self.k)
        return config
