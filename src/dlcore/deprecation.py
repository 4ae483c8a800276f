"""Deprecation, in one place: every public name of a release that dlcore renamed or removed.

A public name of a release that is renamed or removed keeps working for one minor version
with a ``DeprecationWarning`` that names what replaces it, then goes (CHANGELOG.md). The tables:

- :data:`MOVED`: module paths of dlcore 0.1, the module each now forwards to and the public
  API the warning names (installed as an import hook by ``dlcore/__init__``);
- :data:`NAMES`: names of dlcore 0.1 and where their value now comes from; the module of each
  serves them from its ``__getattr__``, which calls :func:`attribute`;
- :data:`REMOVED`: names whose deprecation ended, and names that no release had, which fail
  with an error saying what to use instead.

Two deprecated ways of calling are checked where the call is made, as no table can:
``Model("backend name", ...)`` (in :mod:`dlcore.contract.backend`) and
``registry("dlcore_losses")`` (:func:`dlcore.plugins.registry`); both warn in this module's words
without importing it, since this module reads the plugin registry.

Nothing here imports the rest of dlcore when it is loaded: a value is imported when it is asked for.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable, Sequence

SINCE, REMOVED_IN = "0.2", "0.3"


@dataclass(frozen=True)
class Deprecated:
    """A deprecated name: what to use instead (as the warning says it) and where its value is
    found, a ``"module:attribute"`` string or a function that makes it."""

    use: str
    value: str | Callable[[], Any]

    def get(self) -> Any:
        if callable(self.value):
            return self.value()
        module, _, name = self.value.partition(":")
        return getattr(importlib.import_module(module), name)


def _registered(point: str) -> Callable[[], tuple[str, ...]]:
    """The names a hook registered: dlcore 0.1's fixed tuples of optimizers and losses."""
    return lambda: tuple(str(key) for key in getattr(importlib.import_module("dlcore.plugins").registry(), point).keys())


def _spec_classes() -> dict[str, Any]:
    """dlcore 0.1's ``SPECS``: each registered model kind's spec class."""
    registry = importlib.import_module("dlcore.plugins").registry()
    return {str(kind): registry.spec_class(str(kind)) for kind in registry.model_kinds.keys()}


def _framework(backend: str, module: str) -> Callable[[], Callable[[], ModuleType]]:
    """dlcore 0.1's ``import_torch`` and ``import_tensorflow``: load the backend, then its framework."""
    def load() -> ModuleType:
        importlib.import_module("dlcore.plugins").get_backend(backend)
        return importlib.import_module(module)
    return lambda: load


MOVED = {
    "dlcore.backend": ("dlcore.plugins.backends", "dlcore.get_backend and dlcore.backend_infos"),
    "dlcore.checkpoint": ("dlcore.io.checkpoint", "dlcore.Checkpoint and dlcore.TrainingCheckpoint"),
    "dlcore.devices": ("dlcore.contract", "dlcore.contract (Device, DeviceRegistry) and dlcore.all_devices"),
    "dlcore.download": ("dlcore.data.download", "dlcore.datasets.fashion_mnist() and imdb(), which download"),
    "dlcore.errors": ("dlcore.contract", "dlcore (its errors: DlcoreError, ConfigError, ...)"),
    "dlcore.files": ("dlcore.io.files", "Trainer.save, which writes atomically"),
    "dlcore.frameworks": ("dlcore.plugins.backends", "dlcore.get_backend"),
    "dlcore.history": ("dlcore.training.history", "dlcore.History"),
    "dlcore.idx": ("dlcore.data.idx", "dlcore.datasets.fashion_mnist(path), which reads IDX files"),
    "dlcore.images": ("dlcore.data.images", "dlcore.datasets.image_folder and image_csv"),
    "dlcore.imdb": ("dlcore.data.imdb", "dlcore.datasets.imdb"),
    "dlcore.interop": ("dlcore.io.formats", "Trainer.load and Trainer.export, which read and write weight files by suffix"),
    "dlcore.progress": ("dlcore.io.progress", "Trainer(progress=...)"),
    "dlcore.trainer": ("dlcore.training.trainer", "dlcore.Trainer"),
}
"""dlcore 0.1's module paths: the module each forwards to (dlcore's own), and the public API to use
instead, which the warning on import names."""

NAMES = {
    "dlcore.Checkpointing": Deprecated("dlcore.ModelCheckpoint (the same arguments)",
                                       "dlcore.training.callbacks:ModelCheckpoint"),
    "dlcore.datasets.fashion_mnist_search_path": Deprecated(
        "datasets.fashion_mnist(), which looks in these folders", "dlcore.data.fashion_mnist:fashion_mnist_search_path"),
    "dlcore.datasets.locate_fashion_mnist": Deprecated(
        "datasets.fashion_mnist(path), which finds the files", "dlcore.data.fashion_mnist:locate_fashion_mnist"),
    "dlcore.devices.all_devices": Deprecated("dlcore.all_devices", "dlcore.plugins.backends:all_devices"),
    "dlcore.embeddings.COMBINERS": Deprecated("TextEmbedding's combiner names: 'sqrtn', 'mean', 'sum'",
                                              "dlcore.data.text:COMBINERS"),
    "dlcore.embeddings.TOKENIZERS": Deprecated("TextEmbedding's tokenizer names: 'words', 'nnlm'",
                                               "dlcore.data.text:TOKENIZERS"),
    "dlcore.embeddings.read_glove_text": Deprecated("embeddings.load(path), which reads a GloVe text file",
                                                    "dlcore.data.embeddings:read_glove_text"),
    "dlcore.frameworks.import_tensorflow": Deprecated("dlcore.get_backend('tensorflow'), then import tensorflow",
                                                      _framework("tensorflow", "tensorflow")),
    "dlcore.frameworks.import_torch": Deprecated("dlcore.get_backend('torch'), then import torch",
                                                 _framework("torch", "torch")),
    "dlcore.hookspecs.hookimpl": Deprecated("dlcore.hookimpl", "dlcore.plugins.hookspecs:hookimpl"),
    "dlcore.hookspecs.hookspec": Deprecated("dlcore.hookimpl to implement hooks (dlcore alone specifies them)",
                                            "dlcore.plugins.hookspecs:hookspec"),
    "dlcore.models.Model": Deprecated("dlcore.Model", "dlcore.contract:Model"),
    "dlcore.models.ModelSpec": Deprecated("dlcore.ModelSpec", "dlcore.contract:ModelSpec"),
    "dlcore.models.SPECS": Deprecated("the dlcore_model_kinds hook (dlcore.plugins.registry().model_kinds)",
                                      _spec_classes),
    "dlcore.models.check_weights": Deprecated("dlcore.contract.check_weights", "dlcore.contract:check_weights"),
    "dlcore.trainer.LOSSES": Deprecated("the dlcore_losses hook (dlcore.plugins.registry().losses)",
                                        _registered("losses")),
    "dlcore.trainer.OPTIMIZERS": Deprecated("the dlcore_optimizers hook (dlcore.plugins.registry().optimizers)",
                                            _registered("optimizers")),
}
"""dlcore 0.1's names that moved or went: each served, with a warning, by its module's ``__getattr__``."""

REMOVED = {
    "dlcore.builtin": ("0.2", "dlcore's own records are in dlcore.plugins.registry()"),
    "dlcore.cpuload": ("0.2", "nothing: it measures the machine for the torch backend"),
    "dlcore.formats": ("0.2", "Trainer.load and Trainer.export, which read and write weight files by suffix"),
    "dlcore.kernels": ("0.2", "dlcore.contract for Kernel, Loss, Metric and Optimizer, and dlcore.plugins.registry()"
                              ".loss(name) (.metric, .optimizer, .kernel) for the registered ones"),
    "dlcore.tokens": ("0.2", "embeddings.load, which tokenizes and caches the texts"),
}
"""Names that are gone (removed in, use instead): asking for one is an error saying what to use."""


def deprecated(old: str, new: str, since: str = SINCE, removed_in: str = REMOVED_IN, stacklevel: int = 3) -> None:
    """Warn that ``old`` is deprecated in favour of ``new``."""
    warnings.warn(f"{old} is deprecated since dlcore {since} and will be removed in {removed_in}; use {new}",
                  DeprecationWarning, stacklevel=stacklevel)


def removed(old: str) -> str:
    """The message of an error about ``old``, a name of :data:`REMOVED`."""
    version, use = REMOVED[old]
    return f"{old} was removed in dlcore {version}; use {use}"


def attribute(module: str, name: str) -> Any:
    """The value of the deprecated ``module.name``, with a warning; for any other name an
    ``AttributeError`` (saying what to use for a removed one). A module's ``__getattr__``."""
    old = f"{module}.{name}"
    if old in NAMES:
        deprecated(old, NAMES[old].use, stacklevel=4)
        return NAMES[old].get()
    if old in REMOVED:
        raise AttributeError(removed(old))
    raise AttributeError(f"module {module!r} has no attribute {name!r}")


class MovedModule(ModuleType):
    """A module path of :data:`MOVED`: its names come from the module at the new place, and
    its deprecated names from :data:`NAMES`."""

    def __init__(self, name: str, new: ModuleType) -> None:
        super().__init__(name, new.__doc__)
        self.__new = new

    def __getattr__(self, name: str) -> Any:
        if f"{self.__name__}.{name}" in NAMES or name.startswith("__"):  # no __path__: it is no package
            return attribute(self.__name__, name)
        return getattr(self.__new, name)

    def __dir__(self) -> list[str]:
        return sorted(set(dir(self.__new)) | {old.rpartition(".")[2] for old in NAMES
                                              if old.rpartition(".")[0] == self.__name__})


class _Alias(importlib.abc.Loader):
    """Loads a moved module as a :class:`MovedModule` of its new place, with a warning."""

    def __init__(self, new: str, use: str) -> None:
        self.new, self.use = new, use
        self.spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        deprecated(spec.name, self.use, stacklevel=2)  # the frames of importlib are skipped
        module = importlib.import_module(self.new)
        self.spec = module.__spec__
        return MovedModule(spec.name, module)

    def exec_module(self, module: ModuleType) -> None:
        """The module ran at its new place already; it keeps the spec of that place."""
        module.__spec__ = self.spec


class MovedModules(importlib.abc.MetaPathFinder):
    """Finds the modules of :data:`MOVED` under their old names; an import of a module of
    :data:`REMOVED` is an ``ImportError`` saying what to use."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname in REMOVED:
            raise ImportError(removed(fullname), name=fullname)
        moved = MOVED.get(fullname)
        return None if moved is None else importlib.util.spec_from_loader(fullname, _Alias(*moved))


def install() -> None:
    """Make the old module names importable (once per process)."""
    if not any(isinstance(finder, MovedModules) for finder in sys.meta_path):
        sys.meta_path.append(MovedModules())
