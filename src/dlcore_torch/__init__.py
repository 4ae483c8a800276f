"""dlcore's PyTorch backend, a pluggy plugin. Importing this module does not import torch."""

from dlcore import BackendInfo, hookimpl
from dlcore.formats import WeightFormat
from dlcore.kernels import Kernel
from dlcore.version import pip_install

NAME = "torch"


@hookimpl
def dlcore_backends() -> list[BackendInfo]:
    return [BackendInfo(NAME, "dlcore_torch.backend:TorchBackend", requires=("torch",), extra="torch",
                        aliases=("pytorch", "pt"), priority=10, description="PyTorch: cpu, cuda:N, mps")]


@hookimpl
def dlcore_kernels() -> list[Kernel]:
    return [
        Kernel("model", "mlp", NAME, "dlcore_torch.models:MLPModule"),
        Kernel("model", "text_classifier", NAME, "dlcore_torch.models:TextClassifierModule"),
        Kernel("loss", "cross_entropy", NAME, "dlcore_torch.kernels:cross_entropy"),
        Kernel("loss", "binary_cross_entropy", NAME, "dlcore_torch.kernels:binary_cross_entropy"),
        Kernel("metric", "accuracy", NAME, "dlcore_torch.kernels:accuracy"),
        Kernel("metric", "top_k_accuracy", NAME, "dlcore_torch.kernels:top_k_accuracy"),
        *(Kernel("metric", name, NAME, "dlcore_torch.kernels:confusion")
          for name in ("precision", "recall", "f1", "confusion_matrix")),
        Kernel("metric", "auc", NAME, "dlcore_torch.kernels:scores"),
        Kernel("optimizer", "sgd", NAME, "dlcore_torch.kernels:sgd"),
        Kernel("optimizer", "adam", NAME, "dlcore_torch.kernels:adam"),
        Kernel("optimizer", "adamw", NAME, "dlcore_torch.kernels:adamw"),
        Kernel("optimizer", "rmsprop", NAME, "dlcore_torch.kernels:rmsprop"),
    ]


@hookimpl
def dlcore_weight_formats() -> list[WeightFormat]:
    return [WeightFormat("torch", (".pt", ".pth"), "dlcore_torch.formats:read_state_dict",
                         "dlcore_torch.formats:write_state_dict", requires=("torch",),
                         install_hint=pip_install("torch"),
                         description="torch state_dict (read with weights_only=True)")]
