"""keras_cv_course: the networks of the classic deep-learning-for-vision course
as Keras 3 applications, with their heads, data pipelines, training and
visualization tools."""

__version__ = "0.1.0"
