"""Imports run one way (../shared/DESIGN.md §2): blocks ← models ← heads; data and
training know models only through the registry; visualize needs only a built
model. Every import statement of the package (module level and inside
functions) is read with ``ast`` and checked against the rules below.

What is allowed, precisely:

- leaves: ``preprocessing``, ``_keras_compat`` and ``_files`` import nothing
  from the package; ``adaptation`` imports only ``_keras_compat``.
- ``blocks/`` imports only ``blocks``, ``preprocessing``, ``adaptation`` and
  ``_keras_compat``.
- ``models/`` imports nothing from ``detection``, ``segmentation``, ``data``,
  ``training``, ``visualize``, ``tasks`` or the command modules.
- ``data/`` imports nothing from ``training``, and from ``models`` only the
  names ``REGISTRY_NAMES`` of ``keras_cv_course.models.registry`` (or of
  ``keras_cv_course.models``), which look a model up by name.
- ``training/`` imports nothing from ``blocks``, and from ``models`` only
  ``REGISTRY_NAMES``, ``preprocess_input`` and the package itself; the one
  exception (``EXCEPTIONS``) is ``training/export.py`` writing the manifest of
  trained weights.
- ``visualize/`` imports nothing from ``training``.
- ``runs`` (loading runs and model files) imports from ``models`` only
  ``REGISTRY_NAMES``.
"""

import ast
import os

import pytest

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "keras_cv_course")
REGISTRY_NAMES = {"model_info", "ModelInfo", "list_models", "get_model"}
REGISTRY_MODULES = {"keras_cv_course.models", "keras_cv_course.models.registry"}
EXCEPTIONS = {
    ("training/export.py", "keras_cv_course.models.trained_weights"): "writes weights/manifest.json",
}


def modules():
    for folder, _, files in os.walk(PACKAGE):
        for name in sorted(files):
            if name.endswith(".py"):
                yield os.path.relpath(os.path.join(folder, name), PACKAGE).replace(os.sep, "/")


def is_module(dotted):
    path = os.path.join(os.path.dirname(PACKAGE), *dotted.split("."))
    return os.path.isdir(path) or os.path.exists(path + ".py")


def imports(relative):
    """``(module, name)`` pairs imported by the package module ``relative``:
    ``name`` is None for ``import module`` and for a submodule imported with
    ``from package import submodule``."""
    tree = ast.parse(open(os.path.join(PACKAGE, relative), encoding="utf-8").read())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                dotted = f"{node.module}.{alias.name}"
                found.append((dotted, None) if is_module(dotted) else (node.module, alias.name))
    return [(module, name) for module, name in found if module.split(".")[0] == "keras_cv_course"]


def part(module):
    """The top-level part of the package a dotted module belongs to ("models", "runs", ...)."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else ""


def registry_lookup(module, name):
    return module in REGISTRY_MODULES and name in REGISTRY_NAMES


def violation(relative, module, name):
    """Why importing ``module`` (``name`` of it) from ``relative`` breaks the layering, or None."""
    here, there = relative.split("/")[0].removesuffix(".py"), part(module)
    if (relative, module) in EXCEPTIONS or there == here:
        return None
    if here in ("preprocessing", "_keras_compat", "_files") or (here == "adaptation" and there != "_keras_compat"):
        return f"{here} is a leaf"
    if here == "blocks" and there not in ("preprocessing", "adaptation", "_keras_compat"):
        return "blocks import only blocks and the leaves"
    if here == "models" and there in ("detection", "segmentation", "data", "training", "visualize", "tasks", "cli"):
        return "models know no heads, data, training or tools"
    if here == "data" and (there == "training" or (there == "models" and not registry_lookup(module, name))):
        return "data know models only through registry lookups"
    if here == "training" and (there == "blocks" or (there == "models" and not (
            registry_lookup(module, name) or (module == "keras_cv_course.models" and name in (None, "preprocess_input"))))):
        return "training knows models only through the registry"
    if here == "visualize" and there == "training":
        return "visualize needs only a built model"
    if here == "runs" and there == "models" and not registry_lookup(module, name):
        return "runs know models only through the registry"
    return None


def test_the_rules_see_the_package():
    found = {relative: imports(relative) for relative in modules()}
    assert ("keras_cv_course._keras_compat", None) in found["visualize/_graph.py"]
    assert ("keras_cv_course.models.registry", "model_info") in found["data/pipeline.py"]  # a function-level import


def test_imports_run_one_way():
    wrong = [(relative, module, name, why) for relative in modules() for module, name in imports(relative)
             if (why := violation(relative, module, name))]
    assert wrong == []


@pytest.mark.parametrize("relative, module, name", [
    ("blocks/conv.py", "keras_cv_course.models.registry", "model_info"),
    ("data/pipeline.py", "keras_cv_course.models.preprocessing", "MODES"),
    ("data/pipeline.py", "keras_cv_course.training.fit", None),
    ("training/fit.py", "keras_cv_course.blocks.whitening", "adapt_model"),
    ("visualize/cli.py", "keras_cv_course.training.cli", "load_any_model"),
    ("preprocessing.py", "keras_cv_course.models", None),
])
def test_the_rules_refuse_the_old_imports(relative, module, name):
    assert violation(relative, module, name)
