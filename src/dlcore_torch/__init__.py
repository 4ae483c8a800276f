"""dlcore's PyTorch backend, a pluggy plugin. Importing this module does not import torch."""

from dlcore import hookimpl
from dlcore.contract import BackendInfo, Kernel, StrategyInfo, WeightFormat, standard_kernels
from dlcore.version import pip_install

NAME = "torch"
LAYER_KERNELS = {"dense": "Dense", "conv2d": "Conv2d", "max_pool2d": "max_pool2d", "avg_pool2d": "avg_pool2d",
                 "global_avg_pool2d": "GlobalPool2d", "global_max_pool2d": "GlobalPool2d", "batch_norm": "BatchNorm",
                 "dropout": "Dropout", "flatten": "flatten", "embedding": "embedding", "activation": "Activation"}


@hookimpl
def dlcore_backends() -> list[BackendInfo]:
    return [BackendInfo(NAME, "dlcore_torch.backend:TorchBackend", requires=("torch", "array_api_compat"),
                        extra="torch", aliases=("pytorch", "pt"), priority=10, description="PyTorch: cpu, cuda:N, mps")]


@hookimpl
def dlcore_kernels() -> list[Kernel]:
    models = {"mlp": "dlcore_torch.models:MLPModule", "text_classifier": "dlcore_torch.models:TextClassifierModule",
              "sequential": "dlcore_torch.models:GraphModule", "graph": "dlcore_torch.models:GraphModule"}
    layers = [Kernel("layer", kind, NAME, f"dlcore_torch.layers:{impl}") for kind, impl in LAYER_KERNELS.items()]
    layers.append(Kernel("layer", "ops", NAME, "dlcore_torch.written:build"))  # any layer written on dlcore.ops
    rules = [Kernel("optimizer", "ops", NAME, "dlcore_torch.rules:make")]  # any optimizer written on dlcore.ops
    return standard_kernels(NAME, "dlcore_torch.kernels", models) + layers + rules


@hookimpl
def dlcore_weight_formats() -> list[WeightFormat]:
    return [WeightFormat("torch", (".pt", ".pth"), "dlcore_torch.formats:read_state_dict",
                         "dlcore_torch.formats:write_state_dict", requires=("torch",),
                         install_hint=pip_install("torch"),
                         description="torch state_dict (read with weights_only=True)")]


@hookimpl
def dlcore_strategies() -> list[StrategyInfo]:
    return [StrategyInfo("ddp", NAME, "dlcore_torch.strategy:DDPStrategy", aliases=("distributed_data_parallel",),
                         ray_trainer="ray.train.torch:TorchTrainer",
                         description="DistributedDataParallel: gloo on CPU, nccl on GPU; torchrun's variables")]
