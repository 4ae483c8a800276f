"""MkDocs hooks of dlcore's site: one API reference page per public module, rendered by
mkdocstrings from the docstrings. The modules are ``MODULES`` of ``docs/reference.py``, the one
list of the public modules; griffe reads the sources, so no framework is imported."""

from __future__ import annotations

import ast
from pathlib import Path

import griffe
from mkdocs.structure.files import File

LIST = Path(__file__).with_name("reference.py")


def public_modules() -> list[str]:
    """The ``MODULES`` tuple of ``docs/reference.py``, read without importing it."""
    for node in ast.parse(LIST.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "MODULES" for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise ValueError(f"{LIST} has no MODULES = (...) list of the public modules")


def page(module: str) -> str:
    return f"api/{module}.md"


def on_config(config):
    """Put a page per public module under the nav's "Reference" section, after its overview."""
    for section in config["nav"]:
        if isinstance(section, dict) and "Reference" in section:
            section["Reference"] += [{module: page(module)} for module in public_modules()]
            return config
    raise ValueError("mkdocs.yml's nav has no Reference section for the API pages")


def on_files(files, config):
    """Add the generated pages: each one a mkdocstrings directive for its module."""
    for module in public_modules():
        files.append(File.generated(config, page(module), content=f"# `{module}`\n\n::: {module}\n"))
    return files


class DoctestBlocks(griffe.Extension):
    """A griffe extension: doctest lines (``>>>`` and the output under them) of a docstring
    become a ``pycon`` code block, so that Markdown reads none of their brackets as links."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: object) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)


def fence_doctests(text: str) -> str:
    lines, out, in_block = text.splitlines(), [], False
    for line in lines:
        starts = line.lstrip().startswith(">>>")
        if starts and not in_block:
            indent = line[:len(line) - len(line.lstrip())]
            out += ["", indent + "```pycon"]
            in_block = True
        elif in_block and not line.strip():
            out += [indent + "```", ""]
            in_block = False
        out.append(line)
    if in_block:
        out.append(indent + "```")
    return "\n".join(out)
