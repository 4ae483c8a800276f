"""One device registry across backends: torch's cpu, cuda:N, mps; TensorFlow's CPU, GPU:N.

Device kinds are registered through the ``dlcore_device_kinds`` hook; dlcore's own are
``gpu`` (spelled ``gpu`` or ``cuda``), ``mps`` and ``cpu``. Names are accepted in any
spelling on every backend ("cuda:0", "gpu:0" and "GPU:0" all mean the first GPU); "auto"
picks the device of the lowest rank: a GPU, then MPS, then the CPU.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Iterator

from .errors import DeviceError

if TYPE_CHECKING:
    from .contract import Backend



@dataclass(frozen=True)
class DeviceKind:
    """A kind of device: its name, the spellings a device name may use, and its rank for
    ``device="auto"`` (lowest first)."""

    name: str
    spellings: tuple[str, ...] = ()
    rank: int = 50


KINDS = (DeviceKind("gpu", ("gpu", "cuda"), 0), DeviceKind("mps", ("mps",), 1), DeviceKind("cpu", ("cpu",), 100))


def device_kinds() -> list[DeviceKind]:
    """Every registered device kind."""
    from .plugins import registry

    return list(registry("dlcore_device_kinds"))


@dataclass(frozen=True)
class Device:
    """A device as one backend names it."""

    backend: str
    kind: str  # "cpu", "gpu" or "mps"
    index: int = 0
    name: str = ""  # the backend's own spelling, e.g. "cuda:0" or "GPU:0"
    description: str = ""

    def __str__(self) -> str:
        return self.name


def parse_device(name: str) -> tuple[str, int | None]:
    """Split a device name into (kind, index); index is None when not given."""
    text = name.strip().lower().removeprefix("/device:").removeprefix("/")
    match = re.fullmatch(r"([a-z_]+)(?::(\d+))?", text)
    spellings = {s: kind.name for kind in device_kinds() for s in (kind.name, *kind.spellings)}
    if not match or match.group(1) not in spellings:
        raise DeviceError(f"cannot read device name {name!r}; use 'auto' or one of {', '.join(sorted(spellings))}, "
                          "optionally with ':N' (cpu, cuda:0, GPU:1, mps)")
    return spellings[match.group(1)], None if match.group(2) is None else int(match.group(2))


def resolve_device(devices: list[Device], name: str, backend: str) -> Device:
    """Pick the device ``name`` names among ``devices``; "auto" picks the best one."""
    if not devices:
        raise DeviceError(f"backend {backend!r} reports no devices")
    if name.strip().lower() == "auto":
        rank = {kind.name: kind.rank for kind in device_kinds()}
        return min(devices, key=lambda d: (rank.get(d.kind, 99), d.index))
    kind, index = parse_device(name)
    for device in devices:
        if device.kind == kind and (index is None or device.index == index):
            return device
    available = ", ".join(d.name for d in devices)
    raise DeviceError(
        f"device {name!r} does not exist on backend {backend!r}; available: {available}"
    )


class DeviceRegistry:
    """Devices of several backends in one list; refuses the same device twice."""

    def __init__(self) -> None:
        self._devices: dict[tuple[str, str, int], Device] = {}

    def register(self, device: Device) -> None:
        key = (device.backend, device.kind, device.index)
        if key in self._devices:
            raise DeviceError(f"device {device.name!r} of {device.backend!r} is already registered")
        self._devices[key] = device

    def __iter__(self) -> Iterator[Device]:
        return iter(self._devices.values())

    def __len__(self) -> int:
        return len(self._devices)

    def for_backend(self, backend: str) -> list[Device]:
        return [d for d in self if d.backend == backend]


def all_devices(backends: Iterable[Backend] | None = None) -> DeviceRegistry:
    """A registry of the devices of the given backends (default: every installed one)."""
    from .backend import backend_infos, get_backend

    if backends is None:
        backends = [get_backend(i.name) for i in backend_infos() if i.available]
    registry = DeviceRegistry()
    for backend in backends:
        for device in backend.devices():
            registry.register(device)
    return registry
