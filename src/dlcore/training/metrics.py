"""How each of dlcore's metrics turns an epoch's statistics into its value, in numpy.

A metric's kernel (one per backend) computes each batch's statistics on the device; the trainer
sums them over the epoch (or joins their rows) and calls the metric's ``result`` function, one
of these, once. The metrics themselves are defined in :mod:`dlcore.plugins.builtin`; every
value equals scikit-learn's on the same predictions (the tests compare them).
"""

from __future__ import annotations

import numpy as np


def accuracy(stats: np.ndarray, count: int) -> float:
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


def precision(confusion: np.ndarray, count: int) -> float:
    tp, fp, _ = _per_class(confusion)
    return float(_ratio(tp, tp + fp).mean())


def recall(confusion: np.ndarray, count: int) -> float:
    tp, _, fn = _per_class(confusion)
    return float(_ratio(tp, tp + fn).mean())


def f1(confusion: np.ndarray, count: int) -> float:
    tp, fp, fn = _per_class(confusion)
    return float(_ratio(2 * tp, 2 * tp + fp + fn).mean())


def confusion_matrix(confusion: np.ndarray, count: int) -> np.ndarray:
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


def auc(rows: np.ndarray, count: int) -> float:
    """Rows of (scores..., true class): one score for a one-logit model, the ROC AUC of class 1;
    one score per class, the mean of each class against the rest (scikit-learn's "ovr" macro)."""
    scores, true = rows[:, :-1], rows[:, -1].astype(np.int64)
    if scores.shape[1] == 1:
        return roc_auc(scores[:, 0], true == 1)
    return float(np.nanmean([roc_auc(scores[:, c], true == c) for c in range(scores.shape[1])]))


def _regression(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The rows of a regression kernel's (4, outputs) statistics: per output, the sums of the
    targets, of their squares, of the squared errors and of the absolute errors."""
    total, squares, squared_errors, absolute_errors = np.asarray(sums, np.float64).reshape(4, -1)
    return total, squares, squared_errors, absolute_errors


def mae(sums: np.ndarray, count: int) -> float:
    """Mean absolute error over samples and outputs (scikit-learn's mean_absolute_error)."""
    absolute_errors = _regression(sums)[3]
    return float(absolute_errors.sum() / (count * absolute_errors.size)) if count else 0.0


def rmse(sums: np.ndarray, count: int) -> float:
    """Root of the mean squared error over samples and outputs (the root of scikit-learn's
    mean_squared_error; its root_mean_squared_error for one output)."""
    squared_errors = _regression(sums)[2]
    return float(np.sqrt(squared_errors.sum() / (count * squared_errors.size))) if count else 0.0


def r2(sums: np.ndarray, count: int) -> float:
    """Coefficient of determination pooled over outputs: 1 - (sum of squared errors) / (sum of
    squared deviations of the targets from their means), scikit-learn's r2_score with
    multioutput="variance_weighted" (the plain R² for one output); 1 for constant targets
    predicted exactly, else 0 for constant targets (scikit-learn's force_finite). The
    deviations come from the targets' sums and sums of squares (float32 on the device), which
    lose precision for targets whose mean is far larger than their spread: standardize those."""
    if not count:
        return 0.0
    total, squares, squared_errors, _ = _regression(sums)
    deviations = float(np.maximum(squares - total ** 2 / count, 0.0).sum())
    errors = float(squared_errors.sum())
    if deviations == 0.0:
        return 1.0 if errors == 0.0 else 0.0
    return 1.0 - errors / deviations


__all__ = ["accuracy", "auc", "confusion_matrix", "f1", "mae", "precision", "r2", "recall", "rmse", "roc_auc"]
