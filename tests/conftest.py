"""Shared test set-up: quiet TensorFlow logs, seeded Keras, small helpers."""

import importlib.util
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# torch (with torchvision, which loads triton) must be imported before TensorFlow in one process: triton's
# native library crashes (segfault) when it loads after TensorFlow's. A worker collects every module,
# so the order is settled here, before any test module imports Keras.
if importlib.util.find_spec("torchvision") is not None:
    import torchvision  # noqa: F401

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seeded_keras():
    import keras

    keras.utils.set_random_seed(1234)
    yield
    keras.backend.clear_session()


@pytest.fixture(autouse=True)
def _no_measured_choices(monkeypatch, tmp_path_factory):
    """Tests (and the commands they start) see no cpu_choices.json: "auto" is the
    unmeasured default (float32, no XLA on a CPU) whichever machine the shipped
    file measured; tests of the choices pass their own file."""
    from keras_cv_course import precision

    monkeypatch.setenv(precision.CHOICES_ENV, str(tmp_path_factory.getbasetemp() / "no_cpu_choices.json"))


@pytest.fixture
def rng():
    return np.random.default_rng(0)


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def load_script():
    """Load a script of the repository (``"tutorials/01_x.py"``) as a module."""

    def load(relative_path):
        name = os.path.basename(relative_path).removesuffix(".py")
        spec = importlib.util.spec_from_file_location(name, os.path.join(REPO, relative_path))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
