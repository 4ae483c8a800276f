"""The public API has an edge: it is the ``__all__`` of the public modules, listed in
tests/data/public_api.txt; a name that appears or disappears is named in CHANGELOG.md's
unreleased section; each public name comes from one module (and at most ``dlcore`` itself);
every listed name resolves and none of them is deprecated."""

from __future__ import annotations

import ast
import importlib
import re
import warnings
from collections import defaultdict
from pathlib import Path

import pytest

from dlcore import deprecation

ROOT = Path(__file__).resolve().parent.parent
LISTING = ROOT / "tests" / "data" / "public_api.txt"
PUBLIC_MODULES = (
    "dlcore", "dlcore.callbacks", "dlcore.contract", "dlcore.datasets", "dlcore.embeddings", "dlcore.hookspecs",
    "dlcore.losses", "dlcore.metrics", "dlcore.models", "dlcore.ops", "dlcore.optimizers", "dlcore.plots",
    "dlcore.plugins", "dlcore.runs", "dlcore.schedules", "dlcore.testing", "dlcore.transforms",
)


def listing() -> tuple[set[str], set[str], set[str]]:
    """The listed API as ``module:name`` entries: all public now, those added since the last
    release ('+ '), and those removed since ('- ')."""
    public, added, removed = set(), set(), set()
    for line in LISTING.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        if line.startswith("- "):
            removed.add(line[2:])
            continue
        if line.startswith("+ "):
            line = line[2:]
            added.add(line)
        public.add(line)
    return public, added, removed


def public_api() -> set[str]:
    return {f"{module}:{name}" for module in PUBLIC_MODULES for name in importlib.import_module(module).__all__}


def unreleased_changes() -> str:
    """The "Public API" part of CHANGELOG.md's first version section, the one not released yet."""
    text = (ROOT / "CHANGELOG.md").read_text()
    section = re.search(r"^## .*\(unreleased\)\n(.*?)(?=^## )", text, re.S | re.M)
    assert section, "CHANGELOG.md has no '## X.Y.Z (unreleased)' section"
    part = re.search(r"^### Public API\n(.*?)(?=^### |\Z)", section.group(1), re.S | re.M)
    assert part, "CHANGELOG.md's unreleased section has no '### Public API' part"
    return part.group(1)


def package_level_modules() -> list[str]:
    """dlcore's top-level modules and packages (where a user looks for a public name)."""
    src = ROOT / "src" / "dlcore"
    found = [f"dlcore.{path.stem}" for path in src.glob("*.py") if path.stem not in ("__init__", "__main__")]
    return ["dlcore", *found, *(f"dlcore.{path.parent.name}" for path in src.glob("*/__init__.py"))]


def test_the_public_api_is_the_listed_one():
    public, _, _ = listing()
    now = public_api()
    new, gone = sorted(now - public), sorted(public - now)
    assert not new and not gone, (
        f"the public API changed: new {new}, gone {gone}; list each in tests/data/public_api.txt "
        "(a new name as '+ module:name', a removed one as '- module:name') and name it in CHANGELOG.md")


def test_every_name_added_or_removed_since_the_release_is_in_the_changelog():
    _, added, removed = listing()
    changes = unreleased_changes()
    public_modules = set(PUBLIC_MODULES)

    def named(entry: str) -> bool:
        module, name = entry.split(":")
        if re.search(rf"`[\w.]*\b{re.escape(name)}\b", changes):
            return True
        return module not in public_modules and f"`{module}`" in changes  # a module that is no longer public
    unnamed = sorted(entry for entry in added | removed if not named(entry))
    assert not unnamed, f"CHANGELOG.md's unreleased 'Public API' part does not name {unnamed}"
    assert not removed & public_api(), "a name listed as removed is still public"


def test_each_public_name_comes_from_one_module_besides_dlcore():
    """One object, one public home: ``datasets.load`` and ``embeddings.load`` are two functions."""
    where = defaultdict(list)
    for entry in public_api():
        module, name = entry.split(":")
        if module != "dlcore":
            where[name, id(getattr(importlib.import_module(module), name))].append(module)
    assert {name: modules for (name, _), modules in where.items() if len(modules) > 1} == {}


def test_only_public_modules_at_the_top_have_an_all():
    """A top-level module or package ``__init__`` with ``__all__`` would read as public; only the
    public ones have one (``dlcore.tuning`` is dlcore's own, for its backends)."""
    with_all = set()
    for module in package_level_modules():
        path = ROOT / "src" / Path(*module.split("."))
        source = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        tree = ast.parse(source.read_text())
        if any(isinstance(node, (ast.Assign, ast.AnnAssign)) and "__all__" in ast.unparse(node).split("=")[0]
               for node in tree.body):
            with_all.add(module)
    assert with_all - {"dlcore.tuning"} == set(PUBLIC_MODULES)


def test_every_public_name_resolves_and_none_is_deprecated():
    deprecated = {old.replace(".", ":", 1) if old.count(".") == 1 else ":".join(old.rsplit(".", 1))
                  for old in deprecation.NAMES}
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        for entry in sorted(public_api()):
            module, name = entry.split(":")
            assert hasattr(importlib.import_module(module), name), entry
    assert not deprecated & public_api()
    moved = set(deprecation.MOVED) | set(deprecation.REMOVED)
    assert not moved & set(PUBLIC_MODULES)


@pytest.mark.parametrize("name", ["free_ports", "hold_measurements", "from_layout_0_1", "wants_batches",
                                  "locate_fashion_mnist", "Checkpointing"])
def test_internals_are_not_public(name):
    assert not [entry for entry in public_api() if entry.endswith(f":{name}")]
