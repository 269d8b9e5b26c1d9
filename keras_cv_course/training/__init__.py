"""Training: ``fit`` any registered model on a dataset, on one device or many
(``get_strategy``), with crash-safe resumable run directories (one writer at a
time, ``RunDirectoryInUse``; Ctrl-C is ``TrainingInterrupted``), learning-rate
schedules and a report a person wants to read. ``kcc train / evaluate / predict``
are the command-line face of the same functions (``training.cli``).
"""

from keras_cv_course.training.fit import OPTIMIZERS, FitResult, TrainingInterrupted, fit, make_optimizer
from keras_cv_course.training.lock import RunDirectoryInUse
from keras_cv_course.training.schedules import SCHEDULES, OneCycle, StepDecay, WarmupCosine, make_schedule
from keras_cv_course.training.strategy import STRATEGIES, get_strategy, global_batch_size

__all__ = [
    "fit", "FitResult", "make_optimizer", "OPTIMIZERS", "TrainingInterrupted", "RunDirectoryInUse",
    "make_schedule", "StepDecay", "WarmupCosine", "OneCycle", "SCHEDULES",
    "get_strategy", "global_batch_size", "STRATEGIES",
]
