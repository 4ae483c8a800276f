"""The PyTorch backend: devices and versions."""

from __future__ import annotations

import platform

from dlcore import Backend, Device
from dlcore.frameworks import import_torch

torch = import_torch()

from .trainer import TorchTrainer  # noqa: E402


class TorchBackend(Backend):
    name = "torch"
    trainer_class = TorchTrainer

    def devices(self) -> list[Device]:
        devices = [Device("torch", "cpu", 0, "cpu", platform.processor() or platform.machine())]
        for i in range(torch.cuda.device_count()):
            devices.append(Device("torch", "gpu", i, f"cuda:{i}", torch.cuda.get_device_name(i)))
        if torch.backends.mps.is_available():
            devices.append(Device("torch", "mps", 0, "mps", "Apple Metal"))
        return devices

    def versions(self) -> dict[str, str]:
        return {"torch": torch.__version__}
