"""The API reference: every public name (each listed module's ``__all__``) has a docstring as
pdoc reads it, classes and functions with an example in it, and ``docs/reference.py`` renders a
page per module without importing a framework."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import re
import sys
import types
from pathlib import Path

import pdoc.doc
import pdoc.doc_ast
import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULES = (
    "dlcore", "dlcore.datasets", "dlcore.losses", "dlcore.metrics", "dlcore.models", "dlcore.ops",
    "dlcore.optimizers", "dlcore.schedules", "dlcore.callbacks", "dlcore.transforms", "dlcore.embeddings",
    "dlcore.contract", "dlcore.plugins", "dlcore.hookspecs", "dlcore.testing", "dlcore.plots", "dlcore.runs",
)
FRAMEWORKS = ("torch", "torchvision", "tensorflow", "keras", "tf_keras", "jax", "flax")
# A doctest line, a Google-style "Example:" / "Examples:" heading, or an RST "Example::" block.
HEADING = re.compile(r"(^|.*\s)Examples?::|Examples?:")


def has_example(docstring: str) -> bool:
    """Whether ``docstring`` shows its name in use: a ``>>>`` line, or an example heading with
    something under it."""
    lines = docstring.splitlines()
    for i, line in enumerate(lines):
        text = line.strip()
        if text.startswith(">>>"):
            return True
        if HEADING.fullmatch(text) and any(rest.strip() for rest in lines[i + 1:]):
            return True
    return False


def defining_module(module: types.ModuleType, name: str) -> types.ModuleType:
    """The module whose source assigns ``name``, following ``from ... import name`` re-exports
    (pdoc reads a constant's docstring there, from the string after its assignment)."""
    for node in ast.parse(inspect.getsource(module)).body:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    source = importlib.util.resolve_name("." * node.level + (node.module or ""), module.__package__)
                    return defining_module(importlib.import_module(source), alias.name)
    return module


def problems_of(modulename: str) -> list[str]:
    """``module.name: what is missing`` for each public name of the module lacking documentation."""
    module = importlib.import_module(modulename)
    public = getattr(module, "__all__", None)
    if public is None:
        return [f"{modulename}: no __all__"]
    documented = pdoc.doc.Module.from_name(modulename)
    found = []
    for name in public:
        where, obj = f"{modulename}.{name}", getattr(module, name, None)
        if isinstance(obj, types.ModuleType):  # a submodule: its own docstring (pdoc gives it a page of its own)
            if not pdoc.doc.Module.from_name(obj.__name__).docstring:
                found.append(f"{where}: no docstring")
            continue
        member = documented.get(name)
        if member is None:
            found.append(f"{where}: pdoc does not find it")
        elif isinstance(member, (pdoc.doc.Class, pdoc.doc.Function)):
            # pdoc shows a class's base's docstring when it has none of its own: not its documentation
            own = not inspect.isclass(obj) or bool(vars(obj).get("__doc__"))
            if not member.docstring or not own:
                found.append(f"{where}: no docstring")
            elif not has_example(member.docstring):
                found.append(f"{where}: no example (a '>>>' line or an 'Example::' block)")
        elif not member.docstring:  # a constant: documented where it is assigned
            origin = defining_module(module, name)
            if not pdoc.doc_ast.walk_tree(origin).var_docstrings.get(name):
                found.append(f"{where}: no docstring (a string right after its assignment in {origin.__name__})")
    return found


def test_every_public_name_has_a_docstring_and_classes_and_functions_an_example():
    problems = [problem for modulename in MODULES for problem in problems_of(modulename)]
    if problems:
        pytest.fail(f"{len(problems)} public names lack documentation:\n  " + "\n  ".join(problems), pytrace=False)


def test_the_example_check_reads_each_form():
    assert has_example("Add.\n\n>>> add(1, 2)\n3")
    assert has_example("Add.\n\nExample::\n\n    add(1, 2)")
    assert has_example("Add. Example::\n\n    add(1, 2)")
    assert has_example("Add.\n\nExamples:\n    >>> add(1, 2)")
    assert not has_example("Add two numbers.")
    assert not has_example("Add.\n\nExample::")
    assert not has_example("Add two numbers, as the examples show.")


def load_build_script() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("dlcore_docs_reference", ROOT / "docs" / "reference.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def test_the_reference_has_a_page_per_module_and_imports_no_framework(tmp_path):
    before = set(sys.modules)
    pages = load_build_script().build(tmp_path / "reference")
    out = tmp_path / "reference"
    assert sorted(p.relative_to(out).as_posix() for p in pages) == sorted(m.replace(".", "/") + ".html"
                                                                        for m in MODULES)
    assert all(page.is_file() for page in pages) and (out / "index.html").is_file()
    top = (out / "dlcore.html").read_text(encoding="utf-8")
    assert "Trainer" in top and "fit" in top and "datasets" in top
    assert "fashion_mnist" in (out / "dlcore" / "datasets.html").read_text(encoding="utf-8")
    imported = {name.split(".")[0] for name in set(sys.modules) - before}
    assert not imported & set(FRAMEWORKS), f"building the reference imported {sorted(imported & set(FRAMEWORKS))}"
