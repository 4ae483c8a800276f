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
    """A metric. Its kernel gives each batch's statistics (an array) on the device; they are
    summed over the epoch (``reduction="sum"``: counts) or concatenated (``"concat"``: one row
    per sample, such as the scores AUC needs), then ``result(statistics, number of samples)``
    turns them into the metric (numpy, once per epoch)."""

    name: str
    result: Callable[[np.ndarray, int], Any]
    reduction: str = "sum"
    description: str = ""

    def __post_init__(self) -> None:
        if self.reduction not in ("sum", "concat"):
            raise ConfigError(f"metric {self.name!r}: reduction must be 'sum' or 'concat', got {self.reduction!r}")


@dataclass(frozen=True)
class Optimizer:
    """An optimizer: its hyper-parameters besides the learning rate, with their defaults, and
    its update formula (every backend applies this formula). ``defaults`` are always given to
    a backend's kernel; ``options`` only when the user sets them to something else than their
    default (a kernel that lacks one is refused with a clear error)."""

    name: str
    defaults: dict[str, Any] = field(default_factory=dict)
    formula: str = ""
    options: dict[str, Any] = field(default_factory=dict)


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


def _per_class(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True positives, false positives and false negatives per class: of a confusion matrix
    (rows: true class, columns: predicted class; averaged over classes, scikit-learn's "macro"),
    or of a one-logit model's (tp, fp, fn, tn) (the positive class, scikit-learn's "binary")."""
    if confusion.ndim == 1:
        return confusion[0:1].astype(np.float64), confusion[1:2].astype(np.float64), confusion[2:3].astype(np.float64)
    tp = np.diag(confusion).astype(np.float64)
    return tp, confusion.sum(0) - tp, confusion.sum(1) - tp


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (scikit-learn's zero_division)."""
    return np.asarray(np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0))


def _precision(confusion: np.ndarray, count: int) -> float:
    tp, fp, _ = _per_class(confusion)
    return float(_ratio(tp, tp + fp).mean())


def _recall(confusion: np.ndarray, count: int) -> float:
    tp, _, fn = _per_class(confusion)
    return float(_ratio(tp, tp + fn).mean())


def _f1(confusion: np.ndarray, count: int) -> float:
    tp, fp, fn = _per_class(confusion)
    return float(_ratio(2 * tp, 2 * tp + fp + fn).mean())


def _confusion_matrix(confusion: np.ndarray, count: int) -> np.ndarray:
    if confusion.ndim == 1:
        tp, fp, fn, tn = confusion
        confusion = np.array([[tn, fp], [fn, tp]])
    return np.asarray(confusion, np.int64)


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for the boolean ``positive``, ties counted half
    (the Mann-Whitney statistic: scikit-learn's roc_auc_score)."""
    positives, negatives = int(positive.sum()), int((~positive).sum())
    if not positives or not negatives:
        return float("nan")
    values, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2.0)[inverse]  # average rank of each tie group
    return float((ranks[positive].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


def _auc(rows: np.ndarray, count: int) -> float:
    """Rows of (scores..., true class): one score for a one-logit model, the ROC AUC of class 1;
    one score per class, the mean of each class against the rest (scikit-learn's "ovr" macro)."""
    scores, true = rows[:, :-1], rows[:, -1].astype(np.int64)
    if scores.shape[1] == 1:
        return roc_auc(scores[:, 0], true == 1)
    return float(np.nanmean([roc_auc(scores[:, c], true == c) for c in range(scores.shape[1])]))


LOSSES = (
    Loss("cross_entropy", "mean over samples of -log softmax(logits)[label] (one-hot: -sum(label * log softmax))"),
    Loss("binary_cross_entropy", "mean over samples of log(1 + exp(-logit)) for label 1, log(1 + exp(logit)) for 0",
         binary=True),
)
CONFUSION = ("(C x C): counts of true class (rows) against predicted class (columns); a one-logit model's "
             "(tp, fp, fn, tn)")
METRICS = (
    Metric("accuracy", _accuracy, "sum", "(correct,): argmax of the logits (binary: logit > 0) equals the label "
                                          "(one-hot: its argmax; binary: label > 0.5)"),
    Metric("top_k_accuracy", _accuracy, "sum", "(correct,): the label is among the 5 largest logits (all, for "
                                                "fewer than 6 classes)"),
    Metric("precision", _precision, "sum", CONFUSION + "; macro average (the positive class for one logit)"),
    Metric("recall", _recall, "sum", CONFUSION + "; macro average (the positive class for one logit)"),
    Metric("f1", _f1, "sum", CONFUSION + "; macro average of per-class F1 (the positive class for one logit)"),
    Metric("auc", _auc, "concat", "rows (probabilities..., true class): ROC AUC, one-vs-rest macro for classes"),
    Metric("confusion_matrix", _confusion_matrix, "sum", CONFUSION + "; for Trainer.evaluate(confusion_matrix=True)"),
)
ADAM = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
OPTIMIZERS = (  # the formulas in full: dlcore.optimizers
    Optimizer("sgd", {}, "w -= lr * g (momentum: b = momentum b + g; g = b, or g + momentum b for nesterov)",
              {"momentum": 0.0, "nesterov": False, "weight_decay": 0.0}),
    Optimizer("adam", dict(ADAM),
              "m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; w -= lr * m_hat / (sqrt(v_hat) + eps), "
              "m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t) (torch's Adam)",
              {"weight_decay": 0.0, "amsgrad": False}),
    Optimizer("adamw", {**ADAM, "weight_decay": 0.01}, "w *= 1 - lr * weight_decay, then Adam",
              {"amsgrad": False}),
    Optimizer("rmsprop", {"alpha": 0.99, "eps": 1e-8},
              "s = alpha s + (1 - alpha) g^2; w -= lr * g / (sqrt(s) + eps) (torch's RMSprop)",
              {"momentum": 0.0, "centered": False, "weight_decay": 0.0}),
)


STANDARD = {  # dlcore's own losses, metrics and optimizers -> the function of a backend's kernels module
    **{("loss", name): name for name in ("cross_entropy", "binary_cross_entropy")},
    ("metric", "accuracy"): "accuracy", ("metric", "top_k_accuracy"): "top_k_accuracy",
    **{("metric", name): "confusion" for name in ("precision", "recall", "f1", "confusion_matrix")},
    ("metric", "auc"): "scores",
    **{("optimizer", name): name for name in ("sgd", "adam", "adamw", "rmsprop")},
}


def standard_kernels(backend: str, module: str, models: dict[str, str]) -> list[Kernel]:
    """A backend's kernels for every loss, metric and optimizer dlcore defines, as the functions
    of ``module`` that :data:`STANDARD` names (``accuracy``, ``confusion`` for precision, recall,
    F1 and the confusion matrix, ``scores`` for AUC, ...), plus its model builders by spec kind
    (``{"mlp": "mypackage.models:build_mlp"}``)."""
    return ([Kernel("model", kind, backend, impl) for kind, impl in models.items()]
            + [Kernel(kind, name, backend, f"{module}:{function}") for (kind, name), function in STANDARD.items()])


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
