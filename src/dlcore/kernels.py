"""Losses, metrics and optimizers, defined once, and the kernels that implement them on each
backend: the records are the contract's (:mod:`dlcore.contract.records`, which says what each
kind of kernel is), dlcore's own definitions are in :mod:`dlcore.plugins.builtin`, and the
look-ups are the registry's (:func:`dlcore.plugins.registry`)."""

from typing import Any

from .contract.records import KERNEL_KINDS, STANDARD, Kernel, Loss, Metric, Optimizer, standard_kernels
from .plugins.builtin import LOSSES, METRICS, OPTIMIZERS
from .plugins.manager import registry
from .training.metrics import roc_auc

KINDS = KERNEL_KINDS


def loss(name: str) -> Loss:
    """The registered loss ``name`` (ConfigError listing the others if there is none)."""
    return registry().loss(name)


def metric(name: str) -> Metric:
    """The registered metric ``name``."""
    return registry().metric(name)


def optimizer(name: str) -> Optimizer:
    """The registered optimizer ``name``."""
    return registry().optimizer(name)


def kernel(kind: str, name: str, backend: str) -> Any:
    """``backend``'s implementation of the ``kind`` called ``name``, imported."""
    return registry().kernel(kind, name, backend)


__all__ = ["KINDS", "Kernel", "LOSSES", "Loss", "METRICS", "Metric", "OPTIMIZERS", "Optimizer", "STANDARD", "kernel",
           "loss", "metric", "optimizer", "roc_auc", "standard_kernels"]
