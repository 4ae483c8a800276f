"""Data-parallel training on torch.distributed: DistributedDataParallel over gloo (CPU) or
nccl (GPU), one process per device, joined from torchrun's environment."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any, Sequence

import numpy as np

from dlcore.contract import Backend, ConfigError, Device, DistributedError, Model, Strategy

from .framework import import_torch

torch = import_torch()
dist = torch.distributed

ENVIRONMENT = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


class DDPStrategy(Strategy):
    """``Trainer(strategy="ddp")``: each process holds the whole model; DistributedDataParallel
    averages the gradients of every backward pass over the group. The group comes from
    torchrun's variables (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, LOCAL_RANK), or is the one
    already set up (by Ray Train, or by your own ``init_process_group``)."""

    name = "ddp"

    def __init__(self, timeout: float | None = None) -> None:
        super().__init__(timeout)
        self._owned = False  # whether this strategy set up the process group (and ends it)
        self._device: Any = None

    @classmethod
    def environment(cls, rank: int, world_size: int, ports: Sequence[int], host: str = "127.0.0.1") -> dict[str, str]:
        return {"RANK": str(rank), "WORLD_SIZE": str(world_size), "LOCAL_RANK": str(rank),
                "LOCAL_WORLD_SIZE": str(world_size), "MASTER_ADDR": host, "MASTER_PORT": str(ports[0])}

    def local_device(self, device: str) -> str:
        """"auto" and "cuda" mean the GPU of this process's LOCAL_RANK, where there are GPUs."""
        if device in ("auto", "cuda", "gpu") and torch.cuda.is_available():
            return f"cuda:{int(os.environ.get('LOCAL_RANK', 0)) % torch.cuda.device_count()}"
        return device

    def setup(self, backend: Backend, device: Device) -> None:
        self._device = torch.device(device.name)
        if not dist.is_initialized():
            missing = [name for name in ENVIRONMENT if not os.environ.get(name)]
            if missing:
                raise ConfigError(f"strategy 'ddp' joins its group from torchrun's variables, and "
                                  f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set; start the "
                                  "processes with 'dlcore train ... --workers N', torchrun, or Trainer(launcher='ray')")
            engine = "nccl" if device.kind == "gpu" else "gloo"
            if device.kind == "gpu":
                torch.cuda.set_device(self._device)
            try:
                dist.init_process_group(engine, timeout=timedelta(seconds=self.timeout))
            except Exception as err:
                raise DistributedError(f"could not join the group of {os.environ['WORLD_SIZE']} at "
                                       f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']} within "
                                       f"{self.timeout:g} s: {err}") from err
            self._owned = True
        self.rank, self.world_size = dist.get_rank(), dist.get_world_size()

    def prepare(self, model: Model) -> None:
        from torch.nn.parallel import DistributedDataParallel

        on_gpu = self._device is not None and self._device.type == "cuda"
        model.parallel = DistributedDataParallel(model.native, device_ids=[self._device] if on_gpu else None)

    def all_sum(self, values: np.ndarray) -> np.ndarray:
        tensor = torch.from_numpy(np.asarray(values, np.float64).copy())
        if dist.get_backend() == "nccl":
            tensor = tensor.to(self._device)
        dist.all_reduce(tensor)
        return tensor.cpu().numpy()

    def broken(self, error: BaseException) -> bool:
        if isinstance(error, dist.DistError):
            return True
        text = str(error).lower()
        return isinstance(error, RuntimeError) and any(
            word in text for word in ("gloo", "nccl", "connection", "timed out", "timeout", "peer"))

    def shutdown(self) -> None:
        if self._owned and dist.is_initialized():
            dist.destroy_process_group()
        self._owned = False


__all__ = ["DDPStrategy"]
