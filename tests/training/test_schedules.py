"""Learning-rate schedules: values at known steps, and config round trips."""

import keras
import numpy as np
import pytest

from keras_cv_course.training import schedules


def lr(schedule, step):
    return float(np.asarray(schedule(step)))


def test_step_decay_divides_at_boundaries_after_warmup():
    s = schedules.StepDecay(0.1, [100, 200], factor=0.1, warmup_steps=10)
    assert lr(s, 0) == pytest.approx(0.01)
    assert lr(s, 50) == pytest.approx(0.1)
    assert lr(s, 100) == pytest.approx(0.01)
    assert lr(s, 250) == pytest.approx(0.001)


def test_warmup_cosine_shape():
    s = schedules.WarmupCosine(1.0, total_steps=110, warmup_steps=10)
    assert lr(s, 0) == pytest.approx(0.1)
    assert lr(s, 9) == pytest.approx(1.0)
    assert lr(s, 10) == pytest.approx(1.0)
    assert lr(s, 60) == pytest.approx(0.5)
    assert lr(s, 110) == pytest.approx(0.0, abs=1e-7)
    assert lr(s, 500) == pytest.approx(0.0, abs=1e-7)


def test_one_cycle_rises_to_peak_then_anneals():
    s = schedules.OneCycle(0.4, total_steps=101, pct_start=0.25, div_factor=25.0, final_div_factor=1e4)
    values = [lr(s, step) for step in range(101)]
    peak = int(np.argmax(values))
    assert values[0] == pytest.approx(0.4 / 25)
    assert max(values) == pytest.approx(0.4, rel=1e-3)
    assert 20 <= peak <= 26
    assert np.all(np.diff(values[: peak + 1]) >= -1e-9) and np.all(np.diff(values[peak:]) <= 1e-9)
    assert values[-1] == pytest.approx(0.4 / 25 / 1e4, rel=1e-3)


@pytest.mark.parametrize("name", schedules.SCHEDULES)
def test_make_schedule_and_serialization(name):
    made = schedules.make_schedule(name, 0.01, epochs=8, steps_per_epoch=10)
    if name == "constant":
        assert made == 0.01
        return
    restored = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(made))
    assert type(restored) is type(made)
    for step in (0, 5, 40, 79):
        assert lr(restored, step) == pytest.approx(lr(made, step))
    assert max(lr(made, step) for step in range(80)) == pytest.approx(0.01, rel=1e-3)
    with pytest.raises(ValueError, match="Unknown schedule"):
        schedules.make_schedule("linear", 0.1, epochs=1, steps_per_epoch=1)
