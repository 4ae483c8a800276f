"""Backend descriptions, the Backend interface, and backend selection.

Selection order: the explicit ``backend=`` argument, else the ``DLCORE_BACKEND`` environment
variable, else the first installed backend by ``priority`` (torch, then tensorflow).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from .errors import BackendError

if TYPE_CHECKING:
    from .devices import Device
    from .trainer import Trainer

ENV_BACKEND = "DLCORE_BACKEND"


@dataclass(frozen=True)
class BackendInfo:
    """What a plugin tells dlcore about one backend, before its framework is imported."""

    name: str
    load: Callable[[], Backend]
    requires: tuple[str, ...] = ()
    extra: str | None = None
    aliases: tuple[str, ...] = ()
    priority: int = 100
    description: str = ""

    def missing_modules(self) -> list[str]:
        """Top-level modules this backend needs that are not installed."""
        return [m for m in self.requires if importlib.util.find_spec(m) is None]

    @property
    def available(self) -> bool:
        return not self.missing_modules()


class Backend(ABC):
    """A loaded backend: a framework, its devices and its Trainer implementation."""

    name: str
    trainer_class: type[Trainer]

    @abstractmethod
    def devices(self) -> list[Device]:
        """Every device this backend can run on, best first among equals, CPU included."""

    @abstractmethod
    def versions(self) -> dict[str, str]:
        """Versions of the framework packages the backend uses, by package name."""

    def device(self, name: str | None = "auto") -> Device:
        """Resolve a device name ("auto", "cpu", "cuda:0", "GPU:0", ...) on this backend."""
        from .devices import resolve_device

        return resolve_device(self.devices(), name or "auto", self.name)


_lock = threading.Lock()
_loaded: dict[str, Backend] = {}


def backend_infos() -> list[BackendInfo]:
    """All registered backends, in selection order (installed or not)."""
    from .plugins import plugin_manager

    infos: dict[str, BackendInfo] = {}
    for result in plugin_manager().hook.dlcore_backends():
        for info in result:
            if info.name in infos:
                raise BackendError(
                    f"two plugins register a backend named {info.name!r}; uninstall one of them"
                )
            infos[info.name] = info
    return sorted(infos.values(), key=lambda i: (i.priority, i.name))


def _find(name: str) -> BackendInfo:
    wanted = name.strip().lower()
    infos = backend_infos()
    for info in infos:
        if wanted == info.name or wanted in info.aliases:
            return info
    known = ", ".join(f"{i.name}{'' if i.available else ' (not installed)'}" for i in infos)
    raise BackendError(f"unknown backend {name!r}; registered backends: {known or 'none'}")


def select_backend_name(name: str | None = None) -> str:
    """The backend name an explicit choice, DLCORE_BACKEND or the default order gives."""
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
    extras = ", ".join(f"dlcore[{i.extra}]" for i in infos if i.extra)
    raise BackendError(f"no backend is installed; install one of: {extras}")


def get_backend(name: str | None = None) -> Backend:
    """Load (once) and return a backend; see the module docstring for the selection order."""
    info = _find(select_backend_name(name))
    with _lock:
        if info.name not in _loaded:
            missing = info.missing_modules()
            if missing:
                hint = f"pip install 'dlcore[{info.extra}]'" if info.extra else "install it"
                raise BackendError(
                    f"backend {info.name!r} needs {', '.join(missing)}, which is not installed; "
                    f"{hint}"
                )
            try:
                _loaded[info.name] = info.load()
            except ImportError as err:
                raise BackendError(
                    f"backend {info.name!r} failed to import its framework ({err}); reinstall it "
                    f"with pip install --force-reinstall 'dlcore[{info.extra}]'"
                ) from err
        return _loaded[info.name]


def loaded_backends() -> list[Backend]:
    """Backends already loaded in this process."""
    return list(_loaded.values())
