"""One way to name devices on every backend: torch's cpu, cuda:N, mps; TensorFlow's CPU, GPU:N.

Device kinds are registered through the ``dlcore_device_kinds`` hook; dlcore's own are
:data:`DEVICE_KINDS`: ``gpu`` (spelled ``gpu`` or ``cuda``), ``mps`` and ``cpu``. Names are
accepted in any spelling on every backend ("cuda:0", "gpu:0" and "GPU:0" all mean the first
GPU); "auto" picks the device of the lowest rank: a GPU, then MPS, then the CPU.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Iterator

from .errors import DeviceError
from .records import DeviceKind

DEVICE_KINDS = (DeviceKind("gpu", ("gpu", "cuda"), 0), DeviceKind("mps", ("mps",), 1),
                DeviceKind("cpu", ("cpu",), 100))
"""dlcore's own device kinds, best first: ``gpu`` (also spelled ``cuda``), ``mps`` and ``cpu``."""


@dataclass(frozen=True)
class Device:
    """A device as one backend names it.

    >>> from dlcore.contract import Device
    >>> device = Device("torch", "gpu", 0, "cuda:0")
    >>> str(device), device.kind, device.index
    ('cuda:0', 'gpu', 0)
    """

    backend: str
    kind: str  # "cpu", "gpu" or "mps"
    index: int = 0
    name: str = ""  # the backend's own spelling, e.g. "cuda:0" or "GPU:0"
    description: str = ""

    def __str__(self) -> str:
        return self.name


def parse_device(name: str, kinds: Iterable[DeviceKind] = DEVICE_KINDS) -> tuple[str, int | None]:
    """Split a device name into (kind, index); index is None when not given.

    >>> from dlcore.contract import parse_device
    >>> parse_device("cuda:1")
    ('gpu', 1)
    >>> parse_device("CPU")
    ('cpu', None)
    """
    text = name.strip().lower().removeprefix("/device:").removeprefix("/")
    match = re.fullmatch(r"([a-z_]+)(?::(\d+))?", text)
    spellings = {s: kind.name for kind in kinds for s in (kind.name, *kind.spellings)}
    if not match or match.group(1) not in spellings:
        raise DeviceError(f"cannot read device name {name!r}; use 'auto' or one of {', '.join(sorted(spellings))}, "
                          "optionally with ':N' (cpu, cuda:0, GPU:1, mps)")
    return spellings[match.group(1)], None if match.group(2) is None else int(match.group(2))


def resolve_device(devices: list[Device], name: str, backend: str,
                   kinds: Iterable[DeviceKind] = DEVICE_KINDS) -> Device:
    """Pick the device ``name`` names among ``devices``; "auto" picks the best one.

    >>> from dlcore.contract import Device, resolve_device
    >>> devices = [Device("torch", "cpu", 0, "cpu"), Device("torch", "gpu", 0, "cuda:0")]
    >>> resolve_device(devices, "auto", "torch").name
    'cuda:0'
    >>> resolve_device(devices, "CPU", "torch").name
    'cpu'
    """
    kinds = list(kinds)
    if not devices:
        raise DeviceError(f"backend {backend!r} reports no devices")
    if name.strip().lower() == "auto":
        rank = {kind.name: kind.rank for kind in kinds}
        return min(devices, key=lambda d: (rank.get(d.kind, 99), d.index))
    kind, index = parse_device(name, kinds)
    for device in devices:
        if device.kind == kind and (index is None or device.index == index):
            return device
    available = ", ".join(d.name for d in devices)
    raise DeviceError(f"device {name!r} does not exist on backend {backend!r}; available: {available}")


class DeviceRegistry:
    """Devices of several backends in one list; refuses the same device twice.

    >>> from dlcore.contract import Device, DeviceRegistry
    >>> devices = DeviceRegistry()  # dlcore.all_devices() gives every installed backend's
    >>> devices.register(Device("torch", "cpu", 0, "cpu"))
    >>> [device.name for device in devices.for_backend("torch")]
    ['cpu']
    """

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


__all__ = ["DEVICE_KINDS", "Device", "DeviceRegistry", "parse_device", "resolve_device"]
