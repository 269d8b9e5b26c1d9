"""keras_cv_course: the networks of the classic deep-learning-for-vision course
as Keras 3 applications, with their heads, data pipelines, training and
visualization tools.

Importing the package imports every module that registers Keras serializable
objects (``SERIALIZABLE_MODULES``), so a saved model — a run's ``best.keras`` —
loads with ``keras.saving.load_model`` (safe mode) after a plain
``import keras_cv_course``. The import sets no environment variable and no global
Keras state (../shared/DESIGN.md), and runs no TensorFlow op, so settings read
when TensorFlow's runtime starts (``TF_NUM_INTEROP_THREADS``, logical devices)
can still be made after it.
"""

import importlib

__version__ = "0.1.0"

# Every module with an @keras.saving.register_keras_serializable(package="keras_cv_course")
# class, directly or through its package's __init__. A new one goes here;
# tests/test_package.py fails until it does.
SERIALIZABLE_MODULES = (
    "keras_cv_course.blocks",
    "keras_cv_course.metrics",
    "keras_cv_course.training.schedules",
    "keras_cv_course.data.augment",
    "keras_cv_course.tasks",
    "keras_cv_course.segmentation",
    "keras_cv_course.detection",
)

for _module in SERIALIZABLE_MODULES:
    importlib.import_module(_module)
del _module
