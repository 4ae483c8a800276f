"""The plugin layer: the hook specifications, the one registry built from them, dlcore's own
plugin, and backend selection.

Owns: :mod:`~dlcore.plugins.hookspecs` (every extension point, one hook each),
:mod:`~dlcore.plugins.builtin` (the core's records, registered like any plugin's),
:mod:`~dlcore.plugins.manager` (loading plugins from entry points into a typed
:class:`Registry`) and :mod:`~dlcore.plugins.backends` (which backend, loaded once). Imports
the contract only; every module that looks something up imports this layer.
"""

from .backends import (
    ENV_BACKEND, all_devices, backend_infos, get_backend, installed_backend_names, loaded_backends, select_backend_name,
)
from .hookspecs import hookimpl
from .manager import (
    ENTRY_POINT_GROUP, ENV_DISABLED, Records, Registry, disabled_plugins, load_plugins, plugin_distribution, registry,
    registry_of, resolve, use_registry,
)

__all__ = [
    "ENTRY_POINT_GROUP", "ENV_BACKEND", "ENV_DISABLED", "Records", "Registry", "all_devices", "backend_infos",
    "disabled_plugins", "get_backend", "hookimpl", "installed_backend_names", "load_plugins", "loaded_backends",
    "plugin_distribution", "registry", "registry_of", "resolve", "select_backend_name", "use_registry",
]
