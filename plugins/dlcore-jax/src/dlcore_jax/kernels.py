"""The JAX backend's kernels for dlcore's losses, metrics and optimizers.

A loss kernel is ``f(logits, labels, weights=None) -> mean loss`` (with ``weights``, one per
sample: the batch's mean of each sample's loss times its weight); a metric kernel ``f(logits, labels) ->
statistics``; an optimizer kernel ``f(model, lr, **hyper)`` returns an :class:`Optimizer`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax

from dlcore.optimizers import slots


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


@dataclass
class Optimizer:
    """dlcore's update formula (:mod:`dlcore.optimizers`) as a pure function:
    ``direction(grads, state, params) -> (directions, state)`` over the trainable parameters;
    a step subtracts ``lr * direction``, so the learning rate changes between steps without
    recompiling. ``state`` is ``{"count": updates made, slot: {parameter: array}}`` in the
    canonical slots; ``sums``, the gradient sums of gradient accumulation. With ``update``
    instead, ``update(grads, state, params, lr) -> (new trainable params, state)`` (any rule)."""

    name: str
    direction: Callable[[dict[str, Any], dict[str, Any], dict[str, Any]], Any] | None
    state: dict[str, Any]
    lr: float
    trainable: tuple[str, ...]
    sums: dict[str, Any] = field(default_factory=dict)
    update: Callable[..., Any] | None = None

    def step(self, params: dict[str, Any], state: dict[str, Any], grads: dict[str, Any], lr: Any) -> Any:
        """The parameters and state after one update of (clipped) ``grads`` at rate ``lr``; pure."""
        if self.update is not None:
            new, state = self.update(grads, state, params, lr)
            return {**params, **new}, state
        assert self.direction is not None
        directions, state = self.direction(grads, state, params)
        return {n: p - lr * directions[n] if n in directions else p for n, p in params.items()}, state


def _make(model: Any, name: str, lr: float, names: tuple[str, ...], direction: Callable[..., Any] | None,
          update: Callable[..., Any] | None = None) -> Optimizer:
    native = model.native
    trainable = tuple(n for n in native.params if native.trainable.get(n, True))  # a frozen embedding does not
    where = next(iter(native.params.values())).devices().pop()  # committed like the parameters: no recompiling
    state: dict[str, Any] = {"count": jax.device_put(jnp.zeros([], jnp.int32), where)}
    for slot in names:  # a tree per slot: their buffers are donated to the step, each once
        state[slot] = {n: jnp.zeros_like(native.params[n]) for n in trainable}
    return Optimizer(name, direction, state, lr, trainable, update=update)


def _decayed(grads: dict[str, Any], params: dict[str, Any], decay: float) -> dict[str, Any]:
    return {n: g + decay * params[n] for n, g in grads.items()} if decay else grads


def sgd(model: Any, lr: float, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0) -> Optimizer:
    """``w -= lr * g``, with (Nesterov) momentum ``b = momentum b + g``."""
    def direction(grads: Any, state: Any, params: Any) -> Any:
        grads = _decayed(grads, params, weight_decay)
        new: dict[str, Any] = {"count": state["count"] + 1}
        if not momentum:
            return grads, new
        new["momentum_buffer"] = {n: momentum * state["momentum_buffer"][n] + g for n, g in grads.items()}
        if nesterov:
            return {n: g + momentum * new["momentum_buffer"][n] for n, g in grads.items()}, new
        return new["momentum_buffer"], new

    return _make(model, "sgd", lr, slots("sgd", {"momentum": momentum}), direction)


def _adam(model: Any, name: str, lr: float, b1: float, b2: float, eps: float, decay: float, decoupled: bool,
          amsgrad: bool) -> Optimizer:
    """``m_hat / (sqrt(v_hat) + eps)``. The bias corrections ``1 - b^t`` are computed as
    ``-expm1(t * log b)`` with ``log b`` taken in double precision: in float32, ``1 - 0.999^1``
    is off by 1.3e-5 (relative), which moved a converged Adam run 1e-5 away from torch's
    (double) corrections."""
    log_b1, log_b2 = math.log(b1) if b1 else -math.inf, math.log(b2) if b2 else -math.inf

    def direction(grads: Any, state: Any, params: Any) -> Any:
        if not decoupled:
            grads = _decayed(grads, params, decay)
        count = state["count"] + 1
        steps = count.astype(jnp.float32)
        c1, root_c2 = -jnp.expm1(steps * log_b1), jnp.sqrt(-jnp.expm1(steps * log_b2))
        new: dict[str, Any] = {"count": count,
                               "exp_avg": {n: (1 - b1) * g + b1 * state["exp_avg"][n] for n, g in grads.items()},
                               "exp_avg_sq": {n: (1 - b2) * g * g + b2 * state["exp_avg_sq"][n]
                                              for n, g in grads.items()}}
        second = new["exp_avg_sq"]
        if amsgrad:
            second = new["max_exp_avg_sq"] = {n: jnp.maximum(state["max_exp_avg_sq"][n], v) for n, v in second.items()}
        directions = {n: (new["exp_avg"][n] / c1) / (jnp.sqrt(second[n]) / root_c2 + eps) for n in grads}
        if decoupled:  # w - lr (d + decay w) = w (1 - lr decay) - lr d
            directions = _decayed(directions, params, decay)
        return directions, new

    return _make(model, name, lr, slots(name, {"amsgrad": amsgrad}), direction)


def adam(model: Any, lr: float, beta1: float, beta2: float, eps: float, weight_decay: float = 0.0,
         amsgrad: bool = False) -> Optimizer:
    """``w -= lr * m_hat / (sqrt(v_hat) + eps)``, torch's update."""
    return _adam(model, "adam", lr, beta1, beta2, eps, weight_decay, False, amsgrad)


def adamw(model: Any, lr: float, beta1: float, beta2: float, eps: float, weight_decay: float,
          amsgrad: bool = False) -> Optimizer:
    """Adam after ``w *= 1 - lr * weight_decay``."""
    return _adam(model, "adamw", lr, beta1, beta2, eps, weight_decay, True, amsgrad)


def rmsprop(model: Any, lr: float, alpha: float, eps: float, momentum: float = 0.0, centered: bool = False,
            weight_decay: float = 0.0) -> Optimizer:
    """``g / (sqrt(s) + eps)`` (centered: ``sqrt(s - a^2)``), with momentum ``b = momentum b + that``."""
    def direction(grads: Any, state: Any, params: Any) -> Any:
        grads = _decayed(grads, params, weight_decay)
        new: dict[str, Any] = {"count": state["count"] + 1,
                               "square_avg": {n: alpha * state["square_avg"][n] + (1 - alpha) * g * g
                                              for n, g in grads.items()}}
        if centered:
            new["grad_avg"] = {n: alpha * state["grad_avg"][n] + (1 - alpha) * g for n, g in grads.items()}
            roots = {n: jnp.sqrt(s - new["grad_avg"][n] ** 2) + eps for n, s in new["square_avg"].items()}
        else:
            roots = {n: jnp.sqrt(s) + eps for n, s in new["square_avg"].items()}
        directions = {n: g / roots[n] for n, g in grads.items()}
        if momentum:
            directions = new["momentum_buffer"] = {n: momentum * state["momentum_buffer"][n] + d
                                                   for n, d in directions.items()}
        return directions, new

    return _make(model, "rmsprop", lr, slots("rmsprop", {"momentum": momentum, "centered": centered}), direction)
