"""The JAX backend's kernels for dlcore's losses and metrics.

A loss kernel is ``f(logits, labels, weights=None) -> mean loss`` (with ``weights``, one per
sample: the batch's mean of each sample's loss times its weight); a metric kernel ``f(logits, labels) ->
statistics``. Optimizers are their rules written on dlcore.ops (:mod:`dlcore_jax.rules`).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax


def _weighted(per_sample: Any, weights: Any) -> Any:
    """The batch's mean loss: plain, or of each sample's loss times its weight."""
    return (per_sample if weights is None else per_sample * weights).mean()


def cross_entropy(logits: Any, labels: Any, weights: Any = None) -> Any:
    """Class indices, or one-hot rows."""
    if labels.ndim == 2:
        return _weighted(optax.softmax_cross_entropy(logits, labels.astype(logits.dtype)), weights)
    return _weighted(optax.softmax_cross_entropy_with_integer_labels(logits, labels), weights)


def binary_cross_entropy(logits: Any, labels: Any, weights: Any = None) -> Any:
    return _weighted(optax.sigmoid_binary_cross_entropy(logits.reshape(-1), labels.reshape(-1).astype(logits.dtype)),
                     weights)


def _targets(logits: Any, labels: Any) -> Any:
    """Regression targets shaped and typed like the outputs ((N,) targets of one output: (N, 1))."""
    return labels.reshape(logits.shape).astype(logits.dtype)


def _regression(per_element: Any, weights: Any) -> Any:
    """Mean over samples and outputs; with ``weights``, each sample's mean over outputs weighted."""
    return per_element.mean() if weights is None else _weighted(per_element.mean(1), weights)


def mse(logits: Any, labels: Any, weights: Any = None) -> Any:
    return _regression(jnp.square(logits - _targets(logits, labels)), weights)


def mae(logits: Any, labels: Any, weights: Any = None) -> Any:
    return _regression(jnp.abs(logits - _targets(logits, labels)), weights)


def huber(logits: Any, labels: Any, weights: Any = None) -> Any:
    """d^2 / 2 for |d| <= 1, else |d| - 1/2: torch's huber_loss."""
    return _regression(optax.huber_loss(logits, _targets(logits, labels), delta=1.0), weights)


def accuracy(logits: Any, labels: Any) -> Any:
    """(correct,): argmax (one logit: > 0) against class indices, one-hot rows or 0/1."""
    if logits.shape[-1] == 1:
        hits = (logits.reshape(-1) > 0) == (labels.reshape(-1) > 0.5)
    else:
        hits = logits.argmax(1) == (labels.argmax(1) if labels.ndim == 2 else labels)
    return hits.sum(keepdims=True).astype(jnp.float32)


def _classes(labels: Any) -> Any:
    return labels.argmax(1) if labels.ndim == 2 else labels


def top_k_accuracy(logits: Any, labels: Any, k: int = 5) -> Any:
    """(correct,): the label is among the k largest logits."""
    top = jax.lax.top_k(logits, min(k, logits.shape[-1]))[1]
    return (top == _classes(labels)[:, None]).any(1).sum(keepdims=True).astype(jnp.float32)


def confusion(logits: Any, labels: Any) -> Any:
    """Counts of true class (rows) by predicted class (columns); one logit: (tp, fp, fn, tn)."""
    if logits.shape[-1] == 1:
        predicted, true = logits.reshape(-1) > 0, labels.reshape(-1) > 0.5
        return jnp.stack([(predicted & true).sum(), (predicted & ~true).sum(), (~predicted & true).sum(),
                          (~predicted & ~true).sum()]).astype(jnp.float32)
    classes = logits.shape[-1]
    cells = _classes(labels) * classes + logits.argmax(1)
    return jnp.bincount(cells, length=classes * classes).reshape(classes, classes).astype(jnp.float32)


def scores(logits: Any, labels: Any) -> Any:
    """One row per sample: the probabilities (one logit: of class 1), then the true class."""
    if logits.shape[-1] == 1:
        probabilities, true = jax.nn.sigmoid(logits.reshape(-1, 1)), labels.reshape(-1) > 0.5
    else:
        probabilities, true = jax.nn.softmax(logits, 1), _classes(labels)
    return jnp.concatenate([probabilities, true[:, None].astype(probabilities.dtype)], 1)


def regression_sums(logits: Any, labels: Any) -> Any:
    """(4, outputs): per output, the sums of the targets, of their squares, of the squared errors
    and of the absolute errors."""
    targets = _targets(logits, labels)
    errors = logits - targets
    return jnp.stack([targets.sum(0), (targets * targets).sum(0), (errors * errors).sum(0), jnp.abs(errors).sum(0)])
