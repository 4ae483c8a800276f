"""The core's structure as its README describes it: no module imports another in a circle, the
contract imports nothing else of dlcore, the folders import each other in one order, no dlcore
module is imported inside a function, and the registry has one attribute per hook."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
ORDER = ("contract", "ops", "plugins", "parallel", "io", "data", "models", "training", "runs")  # each may import only those before it


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(imported dlcore module, whether the import is inside a function) for each import."""
    module, package = _module(path), path.name == "__init__.py"
    base = module.split(".") if package else module.split(".")[:-1]
    found = []
    tree = ast.parse(path.read_text())
    functions = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                 for n in ast.walk(f)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = ".".join(base[:len(base) - node.level + 1] + [node.module or ""]) if node.level else node.module or ""
            names = [f"{target.rstrip('.')}.{alias.name}" for alias in node.names] + [target.rstrip(".")]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            while name and not _file_of(name):
                name = name.rpartition(".")[0]
            if name.startswith(("dlcore", "dlcore_torch", "dlcore_tf")) and name != module:
                found.append((name, id(node) in functions))
    return found


def _file_of(name: str) -> Path | None:
    path = SRC.joinpath(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _graph() -> dict[str, set[str]]:
    files = [p for p in SRC.rglob("*.py")]
    return {_module(p): {name for name, _ in _imports(p) if name.startswith("dlcore.") or name == "dlcore"} for p in files}


def test_no_module_imports_another_in_a_circle():
    graph = _graph()
    # a package's face (__init__) hands names on: its own submodules' edges to it are the package loading first
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt == "dlcore" or nxt.startswith(node + ".") or node.startswith(nxt + "."):
                continue
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt] if nxt in path else path + [nxt])
            elif not state.get(nxt):
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if not state.get(node):
            visit(node, [node])
    assert not cycles, cycles


def test_the_contract_imports_nothing_else_of_dlcore_and_the_folders_keep_their_order():
    graph = _graph()
    for module, imported in graph.items():
        parts = module.split(".")
        if len(parts) < 2 or parts[0] != "dlcore" or parts[1] not in ORDER:
            continue
        allowed = ORDER[:ORDER.index(parts[1]) + 1]
        for name in imported:
            folder = name.split(".")[1] if name.count(".") else ""
            if folder in ORDER:
                assert folder in allowed, f"{module} imports {name}: {parts[1]}/ may import only {allowed}"
            elif parts[1] == "contract":
                pytest.fail(f"{module} imports {name}: the contract imports nothing else of dlcore")


def test_no_dlcore_module_is_imported_inside_a_function():
    inside = [f"{path.relative_to(SRC)} imports {name}" for path in SRC.rglob("*.py")
              for name, in_function in _imports(path) if in_function]
    assert not inside, inside


def test_the_registry_has_one_typed_attribute_per_hook():
    from dlcore.plugins import Registry, hookspecs, registry

    hooks = {name.removeprefix("dlcore_") for name in vars(hookspecs) if name.startswith("dlcore_")}
    fields = {f.name for f in dataclasses.fields(Registry)} - {"plugins", "broken"}
    assert fields == hooks
    assert {"cross_entropy", "binary_cross_entropy"} <= set(registry().losses.keys())
