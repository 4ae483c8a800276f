"""A float64 numpy reference of what every backend computes for dlcore's MLP:
the forward pass, mean cross-entropy, backpropagation, and the SGD and Adam updates, batch by
batch in the order the trainer documents. Backends are checked against it, step by step."""

from __future__ import annotations

import numpy as np


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


def gradients(weights, x, labels, activation="relu"):
    """Mean cross-entropy of the batch and the gradient of every weight."""
    acts = forward(weights, x, activation)
    log_probs = log_softmax(acts[-1])
    one_hot = labels if labels.ndim == 2 else np.eye(log_probs.shape[1])[labels]
    loss = float(-(one_hot * log_probs).sum(1).mean())
    grad = (np.exp(log_probs) - one_hot) / len(x)
    grads = {}
    for i in reversed(range(len(acts) - 1)):
        grads[f"layers.{i}.weight"] = grad.T @ acts[i]
        grads[f"layers.{i}.bias"] = grad.sum(0)
        if i:
            w = weights[f"layers.{i}.weight"]
            grad = grad @ w
            grad = grad * (acts[i] > 0) if activation == "relu" else grad * (1 - acts[i] ** 2)
    return loss, grads


class SGD:
    def __init__(self, lr: float) -> None:
        self.lr = lr

    def step(self, weights, grads) -> None:
        for name, grad in grads.items():
            weights[name] = weights[name] - self.lr * grad


class Adam:
    """torch.optim.Adam's update (epsilon added to the bias-corrected root)."""

    def __init__(self, lr: float, betas=(0.9, 0.999), eps: float = 1e-8) -> None:
        self.lr, (self.b1, self.b2), self.eps = lr, betas, eps
        self.t, self.m, self.v = 0, {}, {}

    def step(self, weights, grads) -> None:
        self.t += 1
        for name, grad in grads.items():
            m = self.m[name] = self.b1 * self.m.get(name, 0) + (1 - self.b1) * grad
            v = self.v[name] = self.b2 * self.v.get(name, 0) + (1 - self.b2) * grad ** 2
            m_hat, v_hat = m / (1 - self.b1 ** self.t), v / (1 - self.b2 ** self.t)
            weights[name] = weights[name] - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


def train(weights, x, y, *, epochs: int, batch_size: int, optimizer, orders=None, activation="relu"):
    """Train a copy of ``weights``; ``orders[e]`` is epoch e's sample order (default: as stored).
    Returns the trained weights and each epoch's mean loss per sample."""
    weights = {k: np.asarray(v, np.float64).copy() for k, v in weights.items()}
    epoch_losses = []
    for epoch in range(epochs):
        order = np.arange(len(x)) if orders is None else orders[epoch]
        total = 0.0
        for start in range(0, len(x), batch_size):
            index = order[start:start + batch_size]
            loss, grads = gradients(weights, x[index], y[index], activation)
            optimizer.step(weights, grads)
            total += loss * len(index)
        epoch_losses.append(total / len(x))
    return weights, epoch_losses
