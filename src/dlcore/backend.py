"""Backend descriptions, the Backend interface, and backend selection.

Selection order: the explicit ``backend=`` argument, else the ``DLCORE_BACKEND`` environment
variable, else the first installed backend by ``priority`` (torch, then tensorflow).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from dataclasses import dataclass
from typing import Any, Callable

from .contract import Backend
from .errors import BackendError
from .plugins import resolve
from .version import DISTRIBUTION

ENV_BACKEND = "DLCORE_BACKEND"


@dataclass(frozen=True)
class BackendInfo:
    """What a plugin tells dlcore about one backend, before its framework is imported.

    ``load``: a callable, or a ``"module:attribute"`` string, giving the
    :class:`dlcore.contract.Backend` (an instance, or a class to instantiate); called only
    when the backend is selected. ``requires``: top-level modules that must be installed.
    ``extra``: the pip extra that installs them. ``priority``: lower is preferred when no
    backend is named.
    """

    name: str
    load: Callable[[], Any] | str
    requires: tuple[str, ...] = ()
    extra: str | None = None
    aliases: tuple[str, ...] = ()
    priority: int = 100
    description: str = ""
    distribution: str = DISTRIBUTION  # the distribution whose extra installs it

    def missing_modules(self) -> list[str]:
        """Top-level modules this backend needs that are not installed."""
        return [m for m in self.requires if importlib.util.find_spec(m) is None]

    @property
    def available(self) -> bool:
        return not self.missing_modules()

    @property
    def install_hint(self) -> str:
        """How to install what the backend needs."""
        if self.extra:
            return f"pip install '{self.distribution}[{self.extra}]'"
        return "pip install " + " ".join(self.requires) if self.requires else "reinstall its plugin"


_PORT_HINT = ("a backend written for dlcore 0.1 (a trainer_class overriding Trainer's private methods) must be "
              "ported to dlcore.contract.Backend: see 'Extending dlcore' in dlcore's README")
_lock = threading.Lock()
_loaded: dict[str, Backend] = {}


def backend_infos() -> list[BackendInfo]:
    """All registered backends, in selection order (installed or not)."""
    from .plugins import registry

    return sorted(registry("dlcore_backends"), key=lambda i: (i.priority, i.name))


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
    hints = "; ".join(f"{i.name}: {i.install_hint}" for i in infos)
    raise BackendError(f"no backend is installed; install one ({hints or 'no backend plugin is registered'})")


def get_backend(name: str | None = None) -> Backend:
    """Load (once) and return a backend; see the module docstring for the selection order."""
    info = _find(select_backend_name(name))
    with _lock:
        if info.name not in _loaded:
            missing = info.missing_modules()
            if missing:
                raise BackendError(f"backend {info.name!r} needs {', '.join(missing)}, which "
                                   f"{'is' if len(missing) == 1 else 'are'} not installed; {info.install_hint}")
            try:
                loaded = resolve(info.load)
                loaded = loaded() if callable(loaded) and not isinstance(loaded, Backend) else loaded
            except ImportError as err:
                raise BackendError(f"backend {info.name!r} failed to import its framework ({err}); reinstall it: "
                                   f"{info.install_hint.replace('pip install', 'pip install --force-reinstall')}") from err
            except TypeError as err:  # an abstract method of the contract left out
                raise BackendError(f"backend {info.name!r} does not implement dlcore's backend contract ({err}); "
                                   f"{_PORT_HINT}") from None
            if not isinstance(loaded, Backend):
                raise BackendError(f"backend {info.name!r}: its plugin's load gave a {type(loaded).__name__}, "
                                   f"not a dlcore.contract.Backend; {_PORT_HINT}")
            _loaded[info.name] = loaded
        return _loaded[info.name]


def loaded_backends() -> list[Backend]:
    """Backends already loaded in this process."""
    return list(_loaded.values())
