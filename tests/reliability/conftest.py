"""Fixtures of the reliability sweep: the case table (tests/reliability/cases.py,
loaded by path so that tools/reliability_table.py shares it), one test per case,
and one trained tiny run that every case needing a run directory copies."""

import importlib.util
import os
import sys

import pytest

CASES_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases.py")


def load_cases():
    """The module of tests/reliability/cases.py (loaded once, as ``reliability_cases``)."""
    if "reliability_cases" not in sys.modules:
        spec = importlib.util.spec_from_file_location("reliability_cases", CASES_FILE)
        module = importlib.util.module_from_spec(spec)
        sys.modules["reliability_cases"] = module
        spec.loader.exec_module(module)
    return sys.modules["reliability_cases"]


def pytest_generate_tests(metafunc):
    """A test taking ``case`` runs once per case of the table, named by the case."""
    if "case" in metafunc.fixturenames:
        table = load_cases().CASES
        metafunc.parametrize("case", table, ids=[case.name for case in table])


@pytest.fixture(scope="session")
def cases():
    """The case table module (tests/reliability/cases.py)."""
    return load_cases()


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A lenet5 run of one epoch on the embedded sample, trained once per session."""
    return load_cases().train_tiny_run(tmp_path_factory.mktemp("reliability") / "tiny_run")
