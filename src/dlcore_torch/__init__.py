"""dlcore's PyTorch backend, a pluggy plugin. Importing this module does not import torch."""

from dlcore import BackendInfo, hookimpl


def _load():
    from .backend import TorchBackend

    return TorchBackend()


@hookimpl
def dlcore_backends() -> list[BackendInfo]:
    return [
        BackendInfo(
            name="torch",
            load=_load,
            requires=("torch",),
            extra="torch",
            aliases=("pytorch", "pt"),
            priority=10,
            description="PyTorch: cpu, cuda:N, mps",
        )
    ]
