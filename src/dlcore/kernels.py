"""Losses, metrics and optimizers, defined once; each backend implements them as kernels.

A definition says what a name means (its formula, its labels, its hyper-parameters). A
:class:`Kernel` is one backend's implementation of one named model kind, loss, metric or
optimizer. Both arrive through hooks (:mod:`dlcore.hookspecs`), dlcore's own included
(:mod:`dlcore.builtin`), so a plugin can add a metric to every backend, or give its backend
kernels for dlcore's.

What a backend's kernel is, per kind, is the backend's to document; dlcore's backends take:
``"model"``: a function building the native model from a spec; ``"loss"``: ``f(logits,
labels) -> mean loss``; ``"metric"``: ``f(logits, labels) -> statistics`` (a vector of
``Metric.statistics`` numbers, summed over batches on the device); ``"optimizer"``: a
factory of the backend's optimizer for given parameters and hyper-parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .errors import ConfigError

KINDS = ("model", "loss", "metric", "optimizer")


@dataclass(frozen=True)
class Loss:
    """A loss on logits. ``binary``: one logit per sample and 0/1 labels; otherwise one logit
    per class and class-index or one-hot labels."""

    name: str
    formula: str
    binary: bool = False


@dataclass(frozen=True)
class Metric:
    """A metric computed from ``statistics`` numbers per batch, summed over an epoch on the
    device, then turned into the metric by ``result(summed statistics, number of samples)``
    (numpy, once per epoch)."""

    name: str
    statistics: int
    result: Callable[[np.ndarray, int], float]
    description: str = ""


@dataclass(frozen=True)
class Optimizer:
    """An optimizer: its hyper-parameters besides the learning rate, with their defaults, and
    its update formula (every backend applies this formula)."""

    name: str
    defaults: dict[str, float] = field(default_factory=dict)
    formula: str = ""


@dataclass(frozen=True)
class Kernel:
    """``backend``'s implementation of the ``kind`` named ``name``; ``impl`` is an object or a
    ``"module:attribute"`` string, imported on first use."""

    kind: str
    name: str
    backend: str
    impl: Any

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"kernel kind must be one of {', '.join(KINDS)}, got {self.kind!r}")


def _accuracy(stats: np.ndarray, count: int) -> float:
    return float(stats[0] / count) if count else 0.0


LOSSES = (
    Loss("cross_entropy", "mean over samples of -log softmax(logits)[label] (one-hot: -sum(label * log softmax))"),
    Loss("binary_cross_entropy", "mean over samples of log(1 + exp(-logit)) for label 1, log(1 + exp(logit)) for 0",
         binary=True),
)
METRICS = (
    Metric("accuracy", 1, _accuracy, "statistics (correct,): argmax of the logits (binary: logit > 0) equals "
                                     "the label (one-hot: its argmax; binary: label > 0.5)"),
)
OPTIMIZERS = (
    Optimizer("sgd", {}, "w -= lr * g"),
    Optimizer("adam", {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
              "m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; w -= lr * m_hat / (sqrt(v_hat) + eps), "
              "m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t) (torch's Adam)"),
)


def _definition(hook: str, what: str, name: str) -> Any:
    from .plugins import registry

    found: Any = registry(hook).get(name)
    if found is None:
        raise ConfigError(f"unknown {what} {name!r}; choose one of {', '.join(map(str, registry(hook).keys()))}")
    return found


def loss(name: str) -> Loss:
    """The registered loss ``name`` (ConfigError listing the others if there is none)."""
    found: Loss = _definition("dlcore_losses", "loss", name)
    return found


def metric(name: str) -> Metric:
    """The registered metric ``name``."""
    found: Metric = _definition("dlcore_metrics", "metric", name)
    return found


def optimizer(name: str) -> Optimizer:
    """The registered optimizer ``name``."""
    found: Optimizer = _definition("dlcore_optimizers", "optimizer", name)
    return found


def kernel(kind: str, name: str, backend: str) -> Any:
    """``backend``'s implementation of the ``kind`` called ``name``, imported."""
    from .plugins import registry, resolve

    kernels = registry("dlcore_kernels")
    found = kernels.get((kind, name, backend))
    if found is None:
        others = sorted(key[2] for key in kernels.keys() if isinstance(key, tuple) and key[:2] == (kind, name))
        raise ConfigError(f"backend {backend!r} has no implementation of the {kind} {name!r}"
                          + (f" (backends that have one: {', '.join(others)})" if others else ""))
    return resolve(found.impl)
