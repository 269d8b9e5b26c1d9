"""Fixtures of the model tests."""

import pytest

AUTO_PREFIX = "AUTOMATIC_NAME__"


@pytest.fixture
def flag_automatic_names(monkeypatch):
    """Make Keras give every layer built without a ``name`` a recognisable name
    (an explicit ``name="flatten"`` and Keras's own automatic "flatten" would
    otherwise look the same). Returns that prefix."""
    import keras.src.ops.operation as operation

    counter = iter(range(10**9))
    monkeypatch.setattr(operation, "auto_name", lambda prefix: f"{AUTO_PREFIX}{prefix}_{next(counter)}")
    return AUTO_PREFIX
