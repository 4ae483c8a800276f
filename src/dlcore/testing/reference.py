"""A float64 numpy reference of what every backend computes for dlcore's MLP: the forward
pass, mean cross-entropy or a regression loss, backpropagation, the updates of dlcore's
optimizers, clipping and gradient accumulation, batch by batch in the order the trainer
documents; and the regression metrics. Backends are checked against it, step by step."""

from __future__ import annotations

import numpy as np

from .. import ops
from ..training import rules


def forward(weights: dict[str, np.ndarray], x: np.ndarray, activation: str = "relu") -> list[np.ndarray]:
    """Each layer's input, then the logits, of an MLP with ``layers.{i}.weight`` (out, in)."""
    layers = len(weights) // 2
    acts = [x.reshape(len(x), -1).astype(np.float64)]
    for i in range(layers):
        z = acts[-1] @ weights[f"layers.{i}.weight"].T + weights[f"layers.{i}.bias"]
        if i < layers - 1:
            z = np.maximum(z, 0) if activation == "relu" else np.tanh(z)
        acts.append(z)
    return acts


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(1, keepdims=True))


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean cross-entropy of class-index or one-hot ``labels``."""
    log_probs = log_softmax(logits)
    if labels.ndim == 2:
        return float(-(labels * log_probs).sum(1).mean())
    return float(-log_probs[np.arange(len(labels)), labels].mean())


def binary_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean binary cross-entropy of one logit per sample against 0/1 ``labels``."""
    z, y = logits.reshape(-1), labels.reshape(-1).astype(np.float64)
    return float((np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).mean())


REGRESSION_LOSSES = ("mse", "mae", "huber")


def regression_loss(name: str, outputs: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """The mean over samples and outputs of the regression loss ``name`` (``mse``, ``mae``, or
    ``huber`` with delta 1: d^2 / 2 for |d| <= 1, else |d| - 1/2), and its gradient by the
    outputs; (N,) targets of one output count as (N, 1)."""
    d = np.asarray(outputs, np.float64) - np.asarray(targets, np.float64).reshape(np.shape(outputs))
    if name == "mse":
        return float((d ** 2).mean()), 2 * d / d.size
    if name == "mae":
        return float(np.abs(d).mean()), np.sign(d) / d.size
    if name == "huber":
        quadratic = np.minimum(np.abs(d), 1.0)
        return float((0.5 * quadratic ** 2 + np.abs(d) - quadratic).mean()), np.clip(d, -1.0, 1.0) / d.size
    raise ValueError(f"no reference for the regression loss {name!r}; choose one of {', '.join(REGRESSION_LOSSES)}")


def regression_metrics(outputs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """``mae`` and ``rmse`` over samples and outputs, and ``r2`` pooled over outputs (1 - sum of
    squared errors / sum of squared deviations from each output's mean: scikit-learn's
    r2_score(multioutput="variance_weighted"))."""
    y = np.asarray(targets, np.float64).reshape(len(targets), -1)
    d = np.asarray(outputs, np.float64).reshape(y.shape) - y
    return {"mae": float(np.abs(d).mean()), "rmse": float(np.sqrt((d ** 2).mean())),
            "r2": float(1 - (d ** 2).sum() / ((y - y.mean(0)) ** 2).sum())}


def loss_gradient(logits: np.ndarray, labels: np.ndarray, loss: str = "cross_entropy") -> tuple[float, np.ndarray]:
    """The batch's mean loss and its gradient by the logits: cross-entropy of class-index or
    one-hot labels, or a regression loss (:func:`regression_loss`)."""
    if loss in REGRESSION_LOSSES:
        return regression_loss(loss, logits, labels)
    log_probs = log_softmax(logits)
    one_hot = labels if labels.ndim == 2 else np.eye(log_probs.shape[1])[labels]
    return float(-(one_hot * log_probs).sum(1).mean()), (np.exp(log_probs) - one_hot) / len(logits)


def gradients(weights, x, labels, activation="relu", loss="cross_entropy"):
    """Mean loss of the batch (cross-entropy, or :func:`loss_gradient`'s ``loss``) and the
    gradient of every weight."""
    acts = forward(weights, x, activation)
    value, grad = loss_gradient(acts[-1], labels, loss)
    grads = {}
    for i in reversed(range(len(acts) - 1)):
        grads[f"layers.{i}.weight"] = grad.T @ acts[i]
        grads[f"layers.{i}.bias"] = grad.sum(0)
        if i:
            w = weights[f"layers.{i}.weight"]
            grad = grad @ w
            grad = grad * (acts[i] > 0) if activation == "relu" else grad * (1 - acts[i] ** 2)
    return value, grads


class Optimizer:
    """An optimizer's update rule (:mod:`dlcore.training.rules`, dlcore's or one's own) applied
    with numpy's table of :mod:`dlcore.ops` in float64, with the state in the canonical slots:
    ``state[slot][parameter]`` and ``t``, the updates made."""

    def __init__(self, name: str, lr: float, **hyper) -> None:
        definition = rules.definition(name)
        self.name, self.lr, self.t, self.rule = name, lr, 0, rules.rule_of(definition)
        if self.rule is None:
            raise ValueError(f"optimizer {name!r} has no update rule written on dlcore.ops")
        self.hyper = {**definition.defaults, **definition.options, **hyper}
        self.state: dict[str, dict[str, np.ndarray]] = {slot: {} for slot in self.rule.slot_names(self.hyper)}

    def step(self, weights, grads) -> None:
        self.t += 1
        for name, g in grads.items():
            w = np.asarray(weights[name], np.float64)
            current = {slot: values.get(name, np.zeros_like(w)) for slot, values in self.state.items()}
            weights[name], new = self.rule.update(ops, w, np.asarray(g, np.float64), current, self.lr, self.t,
                                                  **self.hyper)
            for slot in self.state:
                self.state[slot][name] = new[slot]


def SGD(lr: float, **hyper) -> Optimizer:  # noqa: N802 (the reference's names for its optimizers)
    return Optimizer("sgd", lr, **hyper)


def Adam(lr: float, betas=(0.9, 0.999), eps: float = 1e-8, **hyper) -> Optimizer:  # noqa: N802
    """torch.optim.Adam's update (epsilon added to the bias-corrected root)."""
    return Optimizer("adam", lr, beta1=betas[0], beta2=betas[1], eps=eps, **hyper)


def clip(grads, clip_value=None, clip_norm=None):
    """Clamp to [-clip_value, clip_value], then scale by min(1, clip_norm / (norm + 1e-6))."""
    if clip_value:
        grads = {k: np.clip(g, -clip_value, clip_value) for k, g in grads.items()}
    if clip_norm:
        norm = np.sqrt(sum(float((g ** 2).sum()) for g in grads.values()))
        grads = {k: g * min(1.0, clip_norm / (norm + 1e-6)) for k, g in grads.items()}
    return grads


def train(weights, x, y, *, epochs: int, batch_size: int, optimizer, orders=None, activation="relu",
          accumulate: int = 1, clip_value=None, clip_norm=None, rates=None, loss: str = "cross_entropy"):
    """Train a copy of ``weights``; ``orders[e]`` is epoch e's sample order (default: as stored).
    With ``accumulate``, one update per group of batches with their mean gradient (clipped
    after averaging); ``rates(epoch, batch)``, the learning rate of each batch's update;
    ``loss``, cross-entropy or a regression loss. Returns the trained weights and each epoch's
    mean loss per sample."""
    weights = {k: np.asarray(v, np.float64).copy() for k, v in weights.items()}
    epoch_losses = []
    batches = -(-len(x) // batch_size)
    for epoch in range(epochs):
        order = np.arange(len(x)) if orders is None else orders[epoch]
        total, summed, count = 0.0, {}, 0
        for b, start in enumerate(range(0, len(x), batch_size)):
            index = order[start:start + batch_size]
            value, grads = gradients(weights, x[index], y[index], activation, loss)
            summed = {k: summed.get(k, 0) + g for k, g in grads.items()}
            count += 1
            if (b + 1) % accumulate == 0 or b == batches - 1:
                if rates is not None:
                    optimizer.lr = rates(epoch, b)
                optimizer.step(weights, clip({k: g / count for k, g in summed.items()}, clip_value, clip_norm))
                summed, count = {}, 0
            total += value * len(index)
        epoch_losses.append(total / len(x))
    return weights, epoch_losses


__all__ = ["Adam", "Optimizer", "REGRESSION_LOSSES", "SGD", "binary_cross_entropy", "clip", "cross_entropy", "forward",
           "gradients", "log_softmax", "loss_gradient", "regression_loss", "regression_metrics", "train"]
