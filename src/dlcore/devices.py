"""One device registry across backends: torch's cpu, cuda:N, mps; TensorFlow's CPU, GPU:N.

Names are accepted in either spelling on every backend ("cuda:0", "gpu:0" and "GPU:0" all
mean the first GPU); "auto" picks a GPU, then MPS, then the CPU.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import DeviceError

_RANK = {"gpu": 0, "mps": 1, "cpu": 2}


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
    match = re.fullmatch(r"(cpu|cuda|gpu|mps)(?::(\d+))?", text)
    if not match:
        raise DeviceError(
            f"cannot read device name {name!r}; use 'auto', 'cpu', 'cuda:N', 'GPU:N' or 'mps'"
        )
    kind = "gpu" if match.group(1) in ("cuda", "gpu") else match.group(1)
    return kind, None if match.group(2) is None else int(match.group(2))


def resolve_device(devices: list[Device], name: str, backend: str) -> Device:
    """Pick the device ``name`` names among ``devices``; "auto" picks the best one."""
    if not devices:
        raise DeviceError(f"backend {backend!r} reports no devices")
    if name.strip().lower() == "auto":
        return min(devices, key=lambda d: (_RANK.get(d.kind, 9), d.index))
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

    def __iter__(self):
        return iter(self._devices.values())

    def __len__(self) -> int:
        return len(self._devices)

    def for_backend(self, backend: str) -> list[Device]:
        return [d for d in self if d.backend == backend]


def all_devices(backends=None) -> DeviceRegistry:
    """A registry of the devices of the given backends (default: every installed one)."""
    from .backend import backend_infos, get_backend

    if backends is None:
        backends = [get_backend(i.name) for i in backend_infos() if i.available]
    registry = DeviceRegistry()
    for backend in backends:
        for device in backend.devices():
            registry.register(device)
    return registry
