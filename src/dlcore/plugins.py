"""The plugin manager and the registries it fills.

dlcore registers its own plugin (:mod:`dlcore.builtin`), then loads every entry point of the
``dlcore`` group except those named in ``$DLCORE_DISABLED_PLUGINS``, then checks that every
hook implementation matches a specification. Each extension point's records are collected
once, the first time it is used, into a :class:`Registry` that refuses two records with one
name and says which plugins gave them.
"""

from __future__ import annotations

import functools
import importlib
import os
from importlib import metadata
from typing import Any, Callable, Generic, Hashable, Iterator, TypeVar

import pluggy

from . import builtin, hookspecs
from .errors import PluginError

ENTRY_POINT_GROUP = "dlcore"
ENV_DISABLED = "DLCORE_DISABLED_PLUGINS"
T = TypeVar("T")


def disabled_plugins() -> set[str]:
    """Entry-point names listed in $DLCORE_DISABLED_PLUGINS (comma-separated)."""
    return {name.strip() for name in os.environ.get(ENV_DISABLED, "").split(",") if name.strip()}


@functools.cache
def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, created on first use."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(builtin, name="dlcore")
    for name in disabled_plugins():
        pm.set_blocked(name)
    try:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        pm.check_pending()
    except pluggy.PluginValidationError as err:
        raise PluginError(f"a plugin does not fit dlcore's hooks ({err}); update or uninstall it, or list its "
                          f"entry point in {ENV_DISABLED}") from None
    except ImportError as err:
        raise PluginError(f"a dlcore plugin failed to import ({err}); reinstall or uninstall it, or list its "
                          f"entry point in {ENV_DISABLED}") from err
    return pm


def plugin_distribution(plugin_name: str) -> str:
    """The distribution that installed the plugin ``plugin_name`` ("dlcore" for the core's)."""
    for dist in metadata.distributions():
        for ep in dist.entry_points:
            if ep.group == ENTRY_POINT_GROUP and ep.name == plugin_name:
                return dist.metadata["Name"]
    return "dlcore"


class Registry(Generic[T]):
    """Records of one extension point by key, each remembered with the plugin that gave it."""

    def __init__(self, what: str, key: Callable[[T], Hashable]) -> None:
        self.what = what
        self._key = key
        self._items: dict[Hashable, tuple[T, str]] = {}

    def add(self, item: T, plugin: str) -> None:
        """Keep ``item``; refuse a second record under the same key, naming both plugins."""
        key = self._key(item)
        if key in self._items:
            other = self._items[key][1]
            raise PluginError(f"two plugins register the {self.what} {_show(key)}: {other!r} and {plugin!r}; "
                              f"uninstall one of them, or disable one with {ENV_DISABLED}={plugin}")
        self._items[key] = (item, plugin)

    def get(self, key: Hashable) -> T | None:
        found = self._items.get(key)
        return None if found is None else found[0]

    def plugin_of(self, key: Hashable) -> str | None:
        found = self._items.get(key)
        return None if found is None else found[1]

    def keys(self) -> list[Hashable]:
        return list(self._items)

    def __iter__(self) -> Iterator[T]:
        return (item for item, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)


def _show(key: Hashable) -> str:
    return " ".join(repr(k) for k in key) if isinstance(key, tuple) else repr(key)


_KEYS: dict[str, tuple[str, Callable[[Any], Hashable]]] = {
    "dlcore_backends": ("backend", lambda r: r.name),
    "dlcore_model_kinds": ("model kind", lambda r: r.name),
    "dlcore_losses": ("loss", lambda r: r.name),
    "dlcore_metrics": ("metric", lambda r: r.name),
    "dlcore_optimizers": ("optimizer", lambda r: r.name),
    "dlcore_kernels": ("kernel", lambda r: (r.kind, r.name, r.backend)),
    "dlcore_datasets": ("dataset", lambda r: r.name),
    "dlcore_dataset_sources": ("dataset source", lambda r: (r.dataset, r.name)),
    "dlcore_embedding_sources": ("embedding source", lambda r: r.name),
    "dlcore_weight_formats": ("weight format", lambda r: r.name),
    "dlcore_device_kinds": ("device kind", lambda r: r.name),
}


@functools.cache
def registry(hook: str) -> Registry[Any]:
    """Every record the plugins give for ``hook`` (e.g. "dlcore_losses"), in registration order."""
    what, key = _KEYS[hook]
    found: Registry[Any] = Registry(what, key)
    for impl in getattr(plugin_manager().hook, hook).get_hookimpls():
        for item in impl.function() or ():
            found.add(item, impl.plugin_name)
    return found


def resolve(ref: Any) -> Any:
    """The object a ``"module:attribute"`` string names, imported now; anything else as is."""
    if not isinstance(ref, str):
        return ref
    module, _, attribute = ref.partition(":")
    target: Any = importlib.import_module(module)
    for part in filter(None, attribute.split(".")):
        target = getattr(target, part)
    return target
