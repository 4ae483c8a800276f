"""dlcore's JAX backend, a pluggy plugin of its own distribution (dlcore-ml-jax). Importing this
module does not import JAX."""

from dlcore import hookimpl
from dlcore.contract import BackendInfo, Kernel, StrategyInfo, standard_kernels

NAME = "jax"
LAYER_KINDS = ("dense", "conv2d", "max_pool2d", "avg_pool2d", "global_avg_pool2d", "global_max_pool2d", "batch_norm",
               "dropout", "flatten", "embedding", "activation")  # each built by dlcore_jax.layers' function of its name


@hookimpl
def dlcore_backends() -> list[BackendInfo]:
    return [BackendInfo(NAME, "dlcore_jax.backend:JaxBackend", requires=("jax", "optax"), extra=None,
                        priority=30, distribution="dlcore-ml-jax",
                        description="JAX with optax: cpu, gpu:N (pip install dlcore-ml-jax)")]


@hookimpl
def dlcore_kernels() -> list[Kernel]:
    models = {"mlp": "dlcore_jax.models:mlp", "text_classifier": "dlcore_jax.models:text_classifier",
              "sequential": "dlcore_jax.models:graph", "graph": "dlcore_jax.models:graph"}
    layers = [Kernel("layer", kind, NAME, f"dlcore_jax.layers:{kind}") for kind in LAYER_KINDS]
    layers.append(Kernel("layer", "ops", NAME, "dlcore_jax.written:build"))  # any layer written on dlcore.ops
    rules = [Kernel("optimizer", "ops", NAME, "dlcore_jax.rules:make")]  # every optimizer: its rule on dlcore.ops
    kernels = [Kernel(k.kind, k.name, NAME, f"dlcore_jax.rules:{k.name}") if k.kind == "optimizer" else k
               for k in standard_kernels(NAME, "dlcore_jax.rules", models)
               if k.kind not in ("loss", "metric")]  # losses and metrics: their definitions on dlcore.ops
    return kernels + layers + rules


@hookimpl
def dlcore_strategies() -> list[StrategyInfo]:
    return [StrategyInfo("data_parallel", NAME, "dlcore_jax.strategy:DataParallelStrategy",
                         description="jax.distributed: gradients averaged over processes (gloo on CPU); "
                                     "DLCORE_JAX_* variables")]
