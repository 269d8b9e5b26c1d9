"""Learning-rate schedules people use for these nets, as serializable
``keras.optimizers.schedules.LearningRateSchedule`` objects (they are saved in the
``.keras`` checkpoint with the optimizer, so a resumed run continues the curve from
the restored iteration count):

- ``StepDecay``: multiply by ``factor`` at each boundary (AlexNet/VGG/ResNet's
  "divide by 10 at epochs 30, 60, 90"), with optional linear warm-up.
- ``WarmupCosine``: linear warm-up, then cosine annealing to ``final_lr``
  (Loshchilov & Hutter 2017, SGDR without restarts; Goyal et al. 2017 warm-up).
- ``OneCycle``: Smith & Topin 2018 "super-convergence": warm up from
  ``max_lr / div_factor`` to ``max_lr`` over ``pct_start`` of training (cosine),
  then anneal to ``max_lr / (div_factor * final_div_factor)`` — PyTorch's
  ``OneCycleLR`` with ``anneal_strategy="cos"``.

``make_schedule(name, learning_rate, epochs, steps_per_epoch)`` builds one from
the names the ``kcc train --schedule`` option takes. ``Shifted`` reads one at an
offset step, for a resumed run re-planned at another batch size.
"""

import math

import keras
from keras import ops

SCHEDULES = ("constant", "step", "cosine", "onecycle")


def _cosine(start, end, fraction):
    """Cosine interpolation from ``start`` (fraction 0) to ``end`` (fraction 1)."""
    return end + (start - end) * 0.5 * (1.0 + ops.cos(math.pi * fraction))


@keras.saving.register_keras_serializable(package="keras_cv_course")
class StepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """``initial_lr * factor ** (number of boundaries passed)``; boundaries in steps.

    With ``warmup_steps`` the rate first rises linearly from 0 to ``initial_lr``.
    """

    def __init__(self, initial_lr, boundaries, factor=0.1, warmup_steps=0):
        self.initial_lr = float(initial_lr)
        self.boundaries = [int(b) for b in boundaries]
        self.factor = float(factor)
        self.warmup_steps = int(warmup_steps)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        passed = sum(ops.cast(step >= boundary, "float32") for boundary in self.boundaries) if self.boundaries else 0.0
        lr = self.initial_lr * ops.power(self.factor, passed)
        if self.warmup_steps:
            lr = lr * ops.minimum(1.0, (step + 1.0) / self.warmup_steps)
        return lr

    def get_config(self):
        return {"initial_lr": self.initial_lr, "boundaries": self.boundaries, "factor": self.factor, "warmup_steps": self.warmup_steps}


@keras.saving.register_keras_serializable(package="keras_cv_course")
class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from 0 to ``peak_lr`` over ``warmup_steps``, then cosine decay
    to ``final_lr`` at ``total_steps`` (held there afterwards)."""

    def __init__(self, peak_lr, total_steps, warmup_steps=0, final_lr=0.0):
        if total_steps <= warmup_steps:
            raise ValueError(f"total_steps ({total_steps}) must exceed warmup_steps ({warmup_steps})")
        self.peak_lr = float(peak_lr)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.final_lr = float(final_lr)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        fraction = ops.clip((step - self.warmup_steps) / (self.total_steps - self.warmup_steps), 0.0, 1.0)
        decayed = _cosine(self.peak_lr, self.final_lr, fraction)
        if not self.warmup_steps:
            return decayed
        warm = self.peak_lr * (step + 1.0) / self.warmup_steps
        return ops.where(step < self.warmup_steps, warm, decayed)

    def get_config(self):
        return {"peak_lr": self.peak_lr, "total_steps": self.total_steps, "warmup_steps": self.warmup_steps, "final_lr": self.final_lr}


@keras.saving.register_keras_serializable(package="keras_cv_course")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """One-cycle policy (Smith & Topin 2018) with cosine warm-up and annealing."""

    def __init__(self, max_lr, total_steps, pct_start=0.25, div_factor=25.0, final_div_factor=1e4):
        if not 0.0 < pct_start < 1.0:
            raise ValueError(f"pct_start must be in (0, 1); got {pct_start}")
        self.max_lr = float(max_lr)
        self.total_steps = int(total_steps)
        self.pct_start = float(pct_start)
        self.div_factor = float(div_factor)
        self.final_div_factor = float(final_div_factor)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        initial = self.max_lr / self.div_factor
        final = initial / self.final_div_factor
        warm_steps = max(1.0, self.pct_start * self.total_steps - 1.0)
        anneal_steps = max(1.0, self.total_steps - 1.0 - warm_steps)
        rising = _cosine(initial, self.max_lr, ops.clip(step / warm_steps, 0.0, 1.0))
        falling = _cosine(self.max_lr, final, ops.clip((step - warm_steps) / anneal_steps, 0.0, 1.0))
        return ops.where(step <= warm_steps, rising, falling)

    def get_config(self):
        return {
            "max_lr": self.max_lr, "total_steps": self.total_steps, "pct_start": self.pct_start,
            "div_factor": self.div_factor, "final_div_factor": self.final_div_factor,
        }


@keras.saving.register_keras_serializable(package="keras_cv_course")
class Shifted(keras.optimizers.schedules.LearningRateSchedule):
    """The rate of ``schedule`` (a schedule, or a constant rate) ``offset`` steps
    from the optimizer's step: a resumed run whose steps per epoch changed (another
    batch size) follows its re-planned schedule from the step where the epoch it
    resumes at begins, while the optimizer's own step count, which Adam's bias
    correction reads, runs on unchanged."""

    def __init__(self, schedule, offset=0):
        if isinstance(schedule, dict):
            schedule = keras.saving.deserialize_keras_object(schedule)
        self.schedule = schedule
        self.offset = int(offset)

    def __call__(self, step):
        if isinstance(self.schedule, (int, float)):
            return ops.convert_to_tensor(float(self.schedule), dtype="float32")
        return self.schedule(ops.cast(step, "int64") + self.offset)

    def get_config(self):
        schedule = self.schedule
        if not isinstance(schedule, (int, float)):
            schedule = keras.saving.serialize_keras_object(schedule)
        return {"schedule": schedule, "offset": self.offset}


def make_schedule(name, learning_rate, *, epochs, steps_per_epoch, warmup_epochs=None, step_epochs=None, factor=0.1):
    """The schedule ``name`` (one of ``SCHEDULES``) for a run of ``epochs`` epochs.

    - ``"constant"``: the float ``learning_rate``.
    - ``"step"``: ×``factor`` at ``step_epochs`` (default: at 50% and 75% of the run).
    - ``"cosine"``: warm-up of ``warmup_epochs`` (default: 1 when epochs > 5, else 0)
      then cosine decay to 0.
    - ``"onecycle"``: peak ``learning_rate`` after 25% of the run.
    """
    if name not in SCHEDULES:
        raise ValueError(f"Unknown schedule {name!r}; expected one of {SCHEDULES}")
    total = max(1, int(epochs) * int(steps_per_epoch))
    if name == "constant":
        return float(learning_rate)
    if name == "step":
        step_epochs = step_epochs if step_epochs is not None else sorted({max(1, epochs // 2), max(1, (3 * epochs) // 4)})
        warmup = int((warmup_epochs or 0) * steps_per_epoch)
        return StepDecay(learning_rate, [int(e * steps_per_epoch) for e in step_epochs], factor, warmup)
    if name == "cosine":
        warmup_epochs = warmup_epochs if warmup_epochs is not None else (1 if epochs > 5 else 0)
        warmup = min(int(warmup_epochs * steps_per_epoch), total - 1)
        return WarmupCosine(learning_rate, total, warmup)
    return OneCycle(learning_rate, total)
