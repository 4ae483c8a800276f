"""Backend selection and loading, and the devices of every installed backend.

Selection order: the explicit ``backend=`` argument, else the ``DLCORE_BACKEND`` environment
variable, else the first installed backend by ``priority`` (torch, then tensorflow, then
plugins' backends such as jax). Where two plugins register one backend name, the first loaded
keeps it and the other is chosen by its qualified name, ``"plugin:name"``.
"""

from __future__ import annotations

import os
import threading
from typing import Iterable

from ..contract.backend import Backend
from ..contract.devices import Device, DeviceRegistry
from ..contract.devices import parse_device as parse_device_of
from ..contract.devices import resolve_device as resolve_device_of
from ..contract.errors import BackendError
from ..contract.records import BackendInfo
from .manager import ENV_DISABLED, registry

ENV_BACKEND = "DLCORE_BACKEND"
"""The environment variable that names the backend of a Trainer given no ``backend=``:
``DLCORE_BACKEND=tensorflow``."""
_PORT_HINT = ("a backend written for dlcore 0.1 (a trainer_class overriding Trainer's private methods) must be "
              "ported to dlcore.contract.Backend: see 'Extending dlcore' in dlcore's README")
_lock = threading.Lock()
_loaded: dict[str, Backend] = {}


def backend_infos() -> list[BackendInfo]:
    """All registered backends, in selection order (installed or not).

    >>> import dlcore
    >>> [info.name for info in dlcore.backend_infos()][:2]
    ['torch', 'tensorflow']
    """
    return sorted(registry().backends, key=lambda i: (i.priority, i.name))


def installed_backend_names() -> list[str]:
    """The names of the backends whose frameworks are installed, in selection order.

    Example::

        dlcore.plugins.installed_backend_names()  # e.g. ['torch']: torch is installed, TensorFlow not
    """
    return [info.name for info in backend_infos() if info.available]


def _find(name: str) -> BackendInfo:
    wanted = name.strip().lower()
    qualified = registry().backends.get(wanted) if ":" in wanted else None
    if qualified is not None:
        return qualified
    infos = backend_infos()
    for info in infos:
        if wanted == info.name or wanted in info.aliases:
            return info
    known = ", ".join(f"{i.name}{'' if i.available else ' (not installed)'}" for i in infos)
    raise BackendError(f"unknown backend {name!r}; registered backends: {known or 'none'}{registry().broken_note()}")


def select_backend_name(name: str | None = None) -> str:
    """The backend name an explicit choice, DLCORE_BACKEND or the default order gives.

    >>> import dlcore
    >>> dlcore.select_backend_name("tf")  # an alias
    'tensorflow'
    """
    if name:
        return _find(name).name
    env = os.environ.get(ENV_BACKEND, "").strip()
    if env:
        try:
            return _find(env).name
        except BackendError as err:
            raise BackendError(f"{ENV_BACKEND}={env!r}: {err}") from None
    infos = backend_infos()
    for info in infos:
        if info.available:
            return info.name
    hints = "; ".join(f"{i.name}: {i.install_hint}" for i in infos)
    raise BackendError(f"no backend is installed; install one ({hints or 'no backend plugin is registered'})"
                       f"{registry().broken_note()}")


def installed_backend(name: str | None = None) -> BackendInfo:
    """The selected backend (see :func:`select_backend_name`), checked to be installed without
    importing its framework: a BackendError says what to install."""
    info = _find(select_backend_name(name))
    missing = info.missing_modules()
    if missing:
        raise BackendError(f"backend {info.name!r} needs {', '.join(missing)}, which "
                           f"{'is' if len(missing) == 1 else 'are'} not installed; {info.install_hint}")
    return info


def _load(info: BackendInfo) -> Backend:
    plugin = registry().backends.owner(info) or "?"
    installed_backend(info.name)
    try:
        loaded = registry().backends.load(info, "load")
        loaded = loaded() if callable(loaded) and not isinstance(loaded, Backend) else loaded
    except ImportError as err:
        if err.name and err.name.split(".")[0] in info.requires:  # the framework itself is broken
            raise BackendError(f"backend {info.name!r} failed to import its framework ({err}); reinstall it: "
                               f"{info.install_hint.replace('pip install', 'pip install --force-reinstall')}") from err
        raise BackendError(f"backend {info.name!r} of plugin {plugin!r} failed to import ({err}); reinstall that "
                           f"plugin, or disable it with {ENV_DISABLED}={plugin}") from err
    except TypeError as err:  # an abstract method of the contract left out
        raise BackendError(f"backend {info.name!r} does not implement dlcore's backend contract ({err}); {_PORT_HINT}; "
                           f"or disable its plugin with {ENV_DISABLED}={plugin}") from None
    if not isinstance(loaded, Backend):
        raise BackendError(f"backend {info.name!r}: its plugin's load gave a {type(loaded).__name__}, "
                           f"not a dlcore.contract.Backend; {_PORT_HINT}")
    if info.name != loaded.name:  # "plugin:name": the name that finds this backend's kernels
        setattr(loaded, "name", info.name)  # the instance's own name; its class's stays
    return loaded


def get_backend(name: str | None = None) -> Backend:
    """Load (once) and return a backend; see the module docstring for the selection order.

    Example::

        backend = dlcore.get_backend("torch")
        backend.devices()  # [Device(backend='torch', kind='cpu', ...), ...]
    """
    info = _find(select_backend_name(name))
    with _lock:
        if info.name not in _loaded:
            _loaded[info.name] = _load(info)
        return _loaded[info.name]


def loaded_backends() -> list[Backend]:
    """Backends already loaded in this process.

    Example::

        dlcore.get_backend("torch")
        [backend.name for backend in dlcore.plugins.loaded_backends()]  # ['torch']
    """
    return list(_loaded.values())


def all_devices(backends: Iterable[Backend] | None = None) -> DeviceRegistry:
    """A registry of the devices of the given backends (default: every installed one).

    Example::

        for device in dlcore.all_devices():
            print(device.backend, device.name, device.description)
    """
    if backends is None:
        backends = [get_backend(name) for name in installed_backend_names()]
    devices = DeviceRegistry()
    for backend in backends:
        for device in backend.devices():
            devices.register(device)
    return devices


def parse_device(name: str) -> tuple[str, int | None]:
    """Split a device name into (kind, index), any registered device kind's spelling accepted."""
    return parse_device_of(name, registry().device_kinds)


def resolve_device(devices: list[Device], name: str, backend: str) -> Device:
    """Pick the device ``name`` names among ``devices`` ("auto": the best by the registered ranks)."""
    return resolve_device_of(devices, name, backend, registry().device_kinds)


__all__ = ["ENV_BACKEND", "all_devices", "backend_infos", "get_backend", "installed_backend", "installed_backend_names",
           "loaded_backends", "parse_device", "resolve_device", "select_backend_name"]
