"""Load a tutorial script as a module, so its test can call ``main(fast=True)``."""

import importlib.util
import os

import pytest

TUTORIALS = os.path.join(os.path.dirname(__file__), "..", "..", "tutorials")


@pytest.fixture
def load_tutorial():
    def load(file_name):
        spec = importlib.util.spec_from_file_location(file_name.removesuffix(".py"), os.path.join(TUTORIALS, file_name))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
