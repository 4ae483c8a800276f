"""The JAX backend's kernels for dlcore's losses, metrics and optimizers.

A loss kernel is ``f(logits, labels) -> mean loss``; a metric kernel ``f(logits, labels) ->
statistics``; an optimizer kernel ``f(model, lr, **hyper)`` returns an :class:`Optimizer`
(an optax transformation, its state and the learning rate in that state).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import optax


def cross_entropy(logits: Any, labels: Any) -> Any:
    """Class indices, or one-hot rows."""
    if labels.ndim == 2:
        return optax.softmax_cross_entropy(logits, labels.astype(logits.dtype)).mean()
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


def binary_cross_entropy(logits: Any, labels: Any) -> Any:
    return optax.sigmoid_binary_cross_entropy(logits.reshape(-1), labels.reshape(-1).astype(logits.dtype)).mean()


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


@dataclass
class Optimizer:
    """An optax transformation that turns gradients into update directions (frozen parameters'
    are zero), its state, and the learning rate: a step subtracts ``lr * direction``, so the
    learning rate changes between steps without recompiling."""

    transform: optax.GradientTransformation
    state: Any
    lr: float


def _make(model: Any, direction: optax.GradientTransformation, lr: float) -> Optimizer:
    native = model.native
    transform = direction
    if not all(native.trainable.values()):  # a frozen embedding: its direction is zero
        labels = {name: "train" if trains else "freeze" for name, trains in native.trainable.items()}
        transform = optax.multi_transform({"train": direction, "freeze": optax.set_to_zero()}, labels)
    return Optimizer(transform, transform.init(native.params), lr)


def sgd(model: Any, lr: float) -> Optimizer:
    """``w -= lr * g``."""
    return _make(model, optax.identity(), lr)


def adam_direction(b1: float, b2: float, eps: float) -> optax.GradientTransformation:
    """``m_hat / (sqrt(v_hat) + eps)``, with optax's state (count, mu, nu). Unlike
    optax.scale_by_adam, the bias corrections ``1 - b^t`` are computed as ``-expm1(t * log b)``
    with ``log b`` taken in double precision: in float32, ``1 - 0.999^1`` is off by 1.3e-5
    (relative), which moved a converged Adam run 1e-5 away from torch's (double) corrections."""
    log_b1, log_b2 = math.log(b1), math.log(b2)

    def init(params: Any) -> optax.ScaleByAdamState:
        def zeros() -> Any:  # two trees: their buffers are donated to the step, each once
            return jax.tree_util.tree_map(jnp.zeros_like, params)

        return optax.ScaleByAdamState(count=jnp.zeros([], jnp.int32), mu=zeros(), nu=zeros())

    def update(grads: Any, state: optax.ScaleByAdamState, params: Any = None) -> Any:
        count = state.count + 1
        steps = count.astype(jnp.float32)
        c1, c2 = -jnp.expm1(steps * log_b1), -jnp.expm1(steps * log_b2)
        mu = jax.tree_util.tree_map(lambda g, m: (1 - b1) * g + b1 * m, grads, state.mu)
        nu = jax.tree_util.tree_map(lambda g, v: (1 - b2) * g * g + b2 * v, grads, state.nu)
        root_c2 = jnp.sqrt(c2)
        directions = jax.tree_util.tree_map(lambda m, v: (m / c1) / (jnp.sqrt(v) / root_c2 + eps), mu, nu)
        return directions, optax.ScaleByAdamState(count=count, mu=mu, nu=nu)

    return optax.GradientTransformation(init, update)


def adam(model: Any, lr: float, beta1: float, beta2: float, eps: float) -> Optimizer:
    """``w -= lr * m_hat / (sqrt(v_hat) + eps)``, torch's update."""
    return _make(model, adam_direction(beta1, beta2, eps), lr)
