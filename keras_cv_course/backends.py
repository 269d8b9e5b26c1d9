"""What keras_cv_course does to run the same on TensorFlow, JAX and PyTorch.

Every model, layer, loss, metric, the tf.data pipeline, ``training.fit`` and
``visualize`` run on the three Keras 3 backends (``KERAS_BACKEND``). Two faults
of Keras 3.15's PyTorch backend are the package's to correct:

- It computes ``keras.ops.moments`` variance as E[x²] − E[x]² in float32.
  With activations whose mean is large against their spread it cancels and
  goes negative (−1.0 for x = [[3000.01], [3000.02]]; −8 and −2048 seen inside
  densenet121 and resnet101 in a second SGD step), and ``BatchNormalization``
  then returns NaN (keras-team/keras#18795; TensorFlow and JAX use a stable
  formula).
- Its sparse categorical cross-entropy on outputs of rank 3 and more (FCN's
  per-pixel softmax, OverFeat's per-window classes) fails the first backward
  pass on the CPU: "grad_input must be contiguous".

``fix_torch_backend()`` corrects both: the two-pass variance E[(x − E[x])²], and
the class axis made contiguous before the loss. The package calls it itself
wherever it builds or trains a model on PyTorch (every registered builder,
``get_model``, ``training.fit``, ``kcc train``, the run and model-file loaders); call it yourself before training
a Keras model of your own on PyTorch. It changes nothing on TensorFlow and JAX.
"""

import keras

from keras_cv_course import _keras_compat

BACKENDS = ("tensorflow", "jax", "torch")


def fix_torch_backend():
    """On the PyTorch backend, for the whole process: a two-pass variance in
    ``keras.ops.moments`` (so ``BatchNormalization``) and a sparse categorical
    cross-entropy that trains on per-pixel outputs; idempotent. Returns the
    names of the Keras functions corrected, () on TensorFlow and JAX."""
    return _keras_compat.fix_torch_backend()


def backend():
    """The Keras backend this process runs on, one of ``BACKENDS``."""
    return keras.backend.backend()
