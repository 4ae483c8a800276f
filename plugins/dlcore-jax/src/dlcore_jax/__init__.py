"""dlcore's JAX backend, a pluggy plugin of its own distribution (dlcore-ml-jax). Importing this
module does not import JAX."""

from dlcore import BackendInfo, hookimpl
from dlcore.kernels import Kernel

NAME = "jax"


@hookimpl
def dlcore_backends() -> list[BackendInfo]:
    return [BackendInfo(NAME, "dlcore_jax.backend:JaxBackend", requires=("jax", "optax"), extra=None,
                        priority=30, distribution="dlcore-ml-jax",
                        description="JAX with optax: cpu, gpu:N (pip install dlcore-ml-jax)")]


@hookimpl
def dlcore_kernels() -> list[Kernel]:
    return [
        Kernel("model", "mlp", NAME, "dlcore_jax.models:mlp"),
        Kernel("model", "text_classifier", NAME, "dlcore_jax.models:text_classifier"),
        Kernel("loss", "cross_entropy", NAME, "dlcore_jax.kernels:cross_entropy"),
        Kernel("loss", "binary_cross_entropy", NAME, "dlcore_jax.kernels:binary_cross_entropy"),
        Kernel("metric", "accuracy", NAME, "dlcore_jax.kernels:accuracy"),
        Kernel("metric", "top_k_accuracy", NAME, "dlcore_jax.kernels:top_k_accuracy"),
        *(Kernel("metric", name, NAME, "dlcore_jax.kernels:confusion")
          for name in ("precision", "recall", "f1", "confusion_matrix")),
        Kernel("metric", "auc", NAME, "dlcore_jax.kernels:scores"),
        Kernel("optimizer", "sgd", NAME, "dlcore_jax.kernels:sgd"),
        Kernel("optimizer", "adam", NAME, "dlcore_jax.kernels:adam"),
        Kernel("optimizer", "adamw", NAME, "dlcore_jax.kernels:adamw"),
        Kernel("optimizer", "rmsprop", NAME, "dlcore_jax.kernels:rmsprop"),
    ]
