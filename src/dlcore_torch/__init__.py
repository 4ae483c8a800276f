"""dlcore's PyTorch backend, a pluggy plugin. Importing this module does not import torch."""

from dlcore import hookimpl
from dlcore.contract import BackendInfo, Kernel, WeightFormat, standard_kernels
from dlcore.version import pip_install

NAME = "torch"


@hookimpl
def dlcore_backends() -> list[BackendInfo]:
    return [BackendInfo(NAME, "dlcore_torch.backend:TorchBackend", requires=("torch",), extra="torch",
                        aliases=("pytorch", "pt"), priority=10, description="PyTorch: cpu, cuda:N, mps")]


@hookimpl
def dlcore_kernels() -> list[Kernel]:
    return standard_kernels(NAME, "dlcore_torch.kernels", {"mlp": "dlcore_torch.models:MLPModule", "text_classifier": "dlcore_torch.models:TextClassifierModule"})


@hookimpl
def dlcore_weight_formats() -> list[WeightFormat]:
    return [WeightFormat("torch", (".pt", ".pth"), "dlcore_torch.formats:read_state_dict",
                         "dlcore_torch.formats:write_state_dict", requires=("torch",),
                         install_hint=pip_install("torch"),
                         description="torch state_dict (read with weights_only=True)")]
