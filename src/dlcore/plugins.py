"""The plugin manager: built-in backends first, then the ``dlcore`` entry points."""

from __future__ import annotations

import functools
import importlib

import pluggy

from . import hookspecs

ENTRY_POINT_GROUP = "dlcore"
BUILTIN_PLUGINS = {"torch": "dlcore_torch", "tensorflow": "dlcore_tf"}


@functools.cache
def plugin_manager() -> pluggy.PluginManager:
    """Return the process-wide plugin manager, creating it on first use."""
    pm = pluggy.PluginManager("dlcore")
    pm.add_hookspecs(hookspecs)
    for name, module in BUILTIN_PLUGINS.items():
        pm.register(importlib.import_module(module), name=name)
    pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    pm.check_pending()
    return pm
