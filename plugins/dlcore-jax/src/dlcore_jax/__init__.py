"""dlcore's JAX backend, a pluggy plugin of its own distribution (dlcore-ml-jax). Importing this
module does not import JAX."""

from dlcore import hookimpl
from dlcore.contract import BackendInfo, Kernel, standard_kernels

NAME = "jax"


@hookimpl
def dlcore_backends() -> list[BackendInfo]:
    return [BackendInfo(NAME, "dlcore_jax.backend:JaxBackend", requires=("jax", "optax"), extra=None,
                        priority=30, distribution="dlcore-ml-jax",
                        description="JAX with optax: cpu, gpu:N (pip install dlcore-ml-jax)")]


@hookimpl
def dlcore_kernels() -> list[Kernel]:
    return standard_kernels(NAME, "dlcore_jax.kernels", {"mlp": "dlcore_jax.models:mlp", "text_classifier": "dlcore_jax.models:text_classifier"})
