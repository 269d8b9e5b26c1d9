"""Load a tutorial script as a module, so its test can call ``main(fast=True)``."""

import pytest


@pytest.fixture
def load_tutorial(load_script):
    return lambda file_name: load_script(f"tutorials/{file_name}")
