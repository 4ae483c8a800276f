"""Deprecation: a public name that is renamed or removed keeps working, with a
``DeprecationWarning``, for one minor version (see CHANGELOG.md).

:data:`MOVED` lists the modules that moved when the core was sorted into folders by concern
(dlcore 0.2); ``import dlcore.trainer`` and the like still work, warn once, and give the module
at its new place (installed as an import hook by ``dlcore/__init__``).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from types import ModuleType
from typing import Sequence

MOVED = {
    "dlcore.backend": "dlcore.plugins.backends",
    "dlcore.builtin": "dlcore.plugins.builtin",
    "dlcore.checkpoint": "dlcore.io.checkpoint",
    "dlcore.cpuload": "dlcore.tuning.cpuload",
    "dlcore.download": "dlcore.data.download",
    "dlcore.files": "dlcore.io.files",
    "dlcore.formats": "dlcore.io.formats",
    "dlcore.frameworks": "dlcore.plugins.backends",  # deprecated in 0.2 already: import_torch, import_tensorflow
    "dlcore.history": "dlcore.training.history",
    "dlcore.idx": "dlcore.data.idx",
    "dlcore.images": "dlcore.data.images",
    "dlcore.imdb": "dlcore.data.imdb",
    "dlcore.interop": "dlcore.io.formats",  # deprecated in 0.2 already: weight files by suffix
    "dlcore.progress": "dlcore.io.progress",
    "dlcore.tokens": "dlcore.data.tokens",
    "dlcore.trainer": "dlcore.training.trainer",
}


def deprecated(old: str, new: str, since: str = "0.2", removed_in: str = "0.3") -> None:
    """Warn that ``old`` is deprecated in favour of ``new``."""
    warnings.warn(f"{old} is deprecated since dlcore {since} and will be removed in {removed_in}; use {new}",
                  DeprecationWarning, stacklevel=3)


class _Alias(importlib.abc.Loader):
    """Loads a moved module by importing it at its new place, with a warning."""

    def __init__(self, new: str) -> None:
        self.new = new
        self.spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        warnings.warn(f"{spec.name} is deprecated since dlcore 0.2 and will be removed in 0.3; use {self.new}",
                      DeprecationWarning, stacklevel=8)
        module = importlib.import_module(self.new)
        self.spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        """The module ran at its new place already; it keeps the spec of that place."""
        module.__spec__ = self.spec


class MovedModules(importlib.abc.MetaPathFinder):
    """Finds the modules of :data:`MOVED` under their old names."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        new = MOVED.get(fullname)
        return None if new is None else importlib.util.spec_from_loader(fullname, _Alias(new))


def install() -> None:
    """Make the old module names importable (once per process)."""
    if not any(isinstance(finder, MovedModules) for finder in sys.meta_path):
        sys.meta_path.append(MovedModules())


__all__ = ["MOVED", "MovedModules", "deprecated", "install"]
