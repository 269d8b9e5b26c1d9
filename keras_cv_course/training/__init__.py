"""Training: ``fit`` any registered model on a dataset, on one device or many
(``get_strategy``), with crash-safe resumable run directories, learning-rate
schedules and a report a person wants to read. ``kcc train / evaluate / predict``
are the command-line face of the same functions (``training.cli``).
"""

from keras_cv_course.training.fit import OPTIMIZERS, FitResult, fit, make_optimizer
from keras_cv_course.training.schedules import SCHEDULES, OneCycle, StepDecay, WarmupCosine, make_schedule
from keras_cv_course.training.strategy import STRATEGIES, get_strategy, global_batch_size

__all__ = [
    "fit", "FitResult", "make_optimizer", "OPTIMIZERS",
    "make_schedule", "StepDecay", "WarmupCosine", "OneCycle", "SCHEDULES",
    "get_strategy", "global_batch_size", "STRATEGIES",
]
