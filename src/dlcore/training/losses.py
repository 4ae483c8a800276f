"""dlcore's losses and metric statistics, written once on :mod:`dlcore.ops`.

A loss is ``f(ops, outputs, targets, weights=None) -> the batch's mean loss`` (with
``weights``, one per sample: the mean of each sample's loss times its weight); a metric's
statistics are ``f(ops, outputs, targets) -> array``, summed over the epoch or joined (see
:class:`dlcore.contract.Metric`). ``outputs`` are the logits (batch, outputs); ``targets`` class
indices, one-hot rows, 0/1 labels or regression targets, as the backend placed them. The
formulas are those of :mod:`dlcore.plugins.builtin`'s records; a backend's own kernel of the same
name, where it has one, computes the same values faster.
"""

from __future__ import annotations

from typing import Any


def mean_of(ops: Any, per_sample: Any, weights: Any = None) -> Any:
    """The batch's mean loss: plain, or of each sample's loss times its weight."""
    if weights is not None:
        per_sample = per_sample * ops.cast(weights, ops.dtype(per_sample))
    return ops.mean(per_sample)


def classes(ops: Any, targets: Any) -> Any:
    """Class indices (int64) of class indices or one-hot rows."""
    return ops.argmax(targets, -1) if ops.ndim(targets) == 2 else ops.cast(targets, "int64")


def _binary(ops: Any, outputs: Any, targets: Any) -> tuple[Any, Any]:
    """One logit per sample: (logits > 0, labels > 0.5), each of shape (N,)."""
    return ops.reshape(outputs, (-1,)) > 0, ops.reshape(ops.cast(targets, "float32"), (-1,)) > 0.5


def regression_targets(ops: Any, outputs: Any, targets: Any) -> Any:
    """Targets shaped and typed like the outputs ((N,) targets of one output: (N, 1))."""
    return ops.cast(ops.reshape(targets, (-1, *ops.shape(outputs)[1:])), ops.dtype(outputs))


# -- losses ------------------------------------------------------------------------------------

def cross_entropy(ops: Any, outputs: Any, targets: Any, weights: Any = None, label_smoothing: float = 0.0) -> Any:
    """-sum(target * log softmax(logits)) per sample, of class indices or one-hot rows;
    ``label_smoothing`` e mixes each target row with the uniform one, (1 - e) row + e / classes
    (torch's and Keras' meaning)."""
    count = ops.shape(outputs)[-1]
    rows = ops.one_hot(targets, count, ops.dtype(outputs)) if ops.ndim(targets) == 1 \
        else ops.cast(targets, ops.dtype(outputs))
    if label_smoothing:
        rows = rows * (1.0 - label_smoothing) + label_smoothing / count
    return mean_of(ops, -ops.sum(rows * ops.log_softmax(outputs, -1), -1), weights)


def binary_cross_entropy(ops: Any, outputs: Any, targets: Any, weights: Any = None) -> Any:
    """max(z, 0) - z * y + log(1 + exp(-|z|)) per sample, z the logit and y the 0/1 label."""
    z = ops.reshape(outputs, (-1,))
    y = ops.cast(ops.reshape(targets, (-1,)), ops.dtype(z))
    return mean_of(ops, ops.relu(z) - z * y + ops.log1p(ops.exp(-ops.abs(z))), weights)


def _regression(ops: Any, per_element: Any, weights: Any) -> Any:
    """The mean over samples and outputs: each sample's mean over its outputs, then over samples."""
    return mean_of(ops, ops.mean(per_element, -1), weights)


def mse(ops: Any, outputs: Any, targets: Any, weights: Any = None) -> Any:
    return _regression(ops, ops.square(outputs - regression_targets(ops, outputs, targets)), weights)


def mae(ops: Any, outputs: Any, targets: Any, weights: Any = None) -> Any:
    return _regression(ops, ops.abs(outputs - regression_targets(ops, outputs, targets)), weights)


def huber(ops: Any, outputs: Any, targets: Any, weights: Any = None) -> Any:
    """d^2 / 2 where |d| <= 1, else |d| - 1/2 (delta 1)."""
    error = ops.abs(outputs - regression_targets(ops, outputs, targets))
    quadratic = ops.clip(error, None, 1.0)
    return _regression(ops, 0.5 * quadratic * quadratic + (error - quadratic), weights)


# -- metric statistics -------------------------------------------------------------------------

def _count(ops: Any, hits: Any) -> Any:
    return ops.reshape(ops.sum(ops.cast(hits, "float32")), (1,))


def accuracy(ops: Any, outputs: Any, targets: Any) -> Any:
    """(correct,): argmax of the logits (one logit: > 0) equals the label."""
    if ops.shape(outputs)[-1] == 1:
        predicted, true = _binary(ops, outputs, targets)
        return _count(ops, predicted == true)
    return _count(ops, ops.argmax(outputs, -1) == classes(ops, targets))


def top_k_accuracy(ops: Any, outputs: Any, targets: Any, k: int = 5) -> Any:
    """(correct,): the label is among the k largest logits."""
    _, top = ops.top_k(outputs, min(k, ops.shape(outputs)[-1]))
    return _count(ops, top == ops.expand_dims(classes(ops, targets), -1))


def confusion(ops: Any, outputs: Any, targets: Any) -> Any:
    """Counts of true class (rows) by predicted class (columns); one logit: (tp, fp, fn, tn)."""
    count = ops.shape(outputs)[-1]
    if count == 1:
        predicted, true = _binary(ops, outputs, targets)
        return ops.stack([ops.sum(ops.cast(mask, "float32")) for mask in
                          (predicted & true, predicted & ~true, ~predicted & true, ~predicted & ~true)])
    true = ops.one_hot(classes(ops, targets), count, "float32")
    return ops.matmul(ops.transpose(true), ops.one_hot(ops.argmax(outputs, -1), count, "float32"))


def scores(ops: Any, outputs: Any, targets: Any) -> Any:
    """One row per sample: the probabilities (one logit: of class 1), then the true class."""
    if ops.shape(outputs)[-1] == 1:
        probabilities, true = ops.sigmoid(ops.reshape(outputs, (-1, 1))), _binary(ops, outputs, targets)[1]
    else:
        probabilities, true = ops.softmax(outputs, -1), classes(ops, targets)
    return ops.concatenate([probabilities, ops.expand_dims(ops.cast(true, ops.dtype(probabilities)), -1)], 1)


def regression_sums(ops: Any, outputs: Any, targets: Any) -> Any:
    """(4, outputs): per output, the sums of the targets, of their squares, of the squared errors
    and of the absolute errors."""
    real = regression_targets(ops, outputs, targets)
    errors = outputs - real
    return ops.stack([ops.sum(real, 0), ops.sum(real * real, 0), ops.sum(errors * errors, 0),
                      ops.sum(ops.abs(errors), 0)])


__all__ = ["accuracy", "binary_cross_entropy", "classes", "confusion", "cross_entropy", "huber", "mae", "mean_of",
           "mse", "regression_sums", "regression_targets", "scores", "top_k_accuracy"]
