"""The tutorials double as usage documentation, so they reach the package only
through its public names: no ``_private`` module, function or attribute."""

import ast
import glob
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TUTORIALS = sorted(glob.glob(os.path.join(ROOT, "tutorials", "[0-9][0-9]_*.py")))


def _private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _if_private(line, dotted):
    return [(line, dotted)] if any(_private(part) for part in dotted.split(".")) else []


def private_uses(source):
    """``(line, dotted name)`` for each private part of the package a script imports or reads."""
    tree = ast.parse(source)
    package_names, found = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "keras_cv_course":
                    package_names.add(alias.asname or "keras_cv_course")
                    found += _if_private(node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "keras_cv_course":
            for alias in node.names:
                package_names.add(alias.asname or alias.name)
                found += _if_private(node.lineno, f"{node.module}.{alias.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in package_names:
                found.append((node.lineno, f"{root.id}...{node.attr}"))
    return found


def test_the_check_finds_private_imports_and_attributes():
    source = ("from keras_cv_course.data import _pipeline\nfrom keras_cv_course import plots as P\n"
              "import keras_cv_course._internal\nP._draw(1)\nP.new_figure()\nclass A:\n    def f(self):\n"
              "        return self._x\n")
    assert private_uses(source) == [(1, "keras_cv_course.data._pipeline"), (3, "keras_cv_course._internal"),
                                    (4, "P..._draw")]


@pytest.mark.parametrize("path", TUTORIALS, ids=os.path.basename)
def test_a_tutorial_uses_only_public_names(path):
    with open(path, encoding="utf-8") as handle:
        assert private_uses(handle.read()) == [], f"{os.path.basename(path)} reaches private parts of the package"
