"""A float64 numpy reference of dlcore's portable layers (:mod:`dlcore.models.layers`) in
inference, and of batch norm's running statistics after a training step: what every backend's
layer kernels must compute, in the canonical layout (channels first)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..models import layers as L

_erf = np.vectorize(math.erf)
FUNCTIONS = {
    "relu": lambda x: np.maximum(x, 0), "tanh": np.tanh, "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))), "silu": lambda x: x / (1 + np.exp(-x)),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))), "leaky_relu": lambda x: np.where(x > 0, x, 0.01 * x),
    "softmax": lambda x: np.exp(x - x.max(-1, keepdims=True)) / np.exp(x - x.max(-1, keepdims=True)).sum(-1, keepdims=True),
}


def _activate(x: np.ndarray, name: str | None) -> np.ndarray:
    return x if name is None else FUNCTIONS[name](x)


def _windows(x: np.ndarray, size: tuple[int, int], stride: tuple[int, int]) -> np.ndarray:
    """(N, C, H', W', kh, kw) windows of (N, C, H, W)."""
    return sliding_window_view(x, size, axis=(2, 3))[:, :, ::stride[0], ::stride[1]]


def layer(spec: L.Layer, weights: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """One layer in inference on a batch ``x``; ``weights`` are the layer's own (no prefix)."""
    w = {k: np.asarray(v, np.float64) for k, v in weights.items() if k != "rng"}
    if isinstance(spec, L.Dense):
        return _activate(x @ w["weight"].T + w.get("bias", 0.0), spec.activation)
    if isinstance(spec, L.Conv2d):
        (top, bottom), (left, right) = spec.pads
        padded = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
        out = np.einsum("nchwij,ocij->nohw", _windows(padded, spec.kernel_size, spec.stride), w["weight"])
        return _activate(out + w.get("bias", np.zeros(1))[None, :, None, None], spec.activation)
    if isinstance(spec, L.MaxPool2d):
        return _windows(x, spec.size, spec.stride).max((4, 5))
    if isinstance(spec, L.AvgPool2d):
        return _windows(x, spec.size, spec.stride).mean((4, 5))
    if isinstance(spec, L.GlobalMaxPool2d):
        return x.max((2, 3))
    if isinstance(spec, L.GlobalAvgPool2d):
        return x.mean((2, 3))
    if isinstance(spec, L.BatchNorm):
        shape = (1, -1) + (1,) * (x.ndim - 2)
        scale = w["weight"] / np.sqrt(w["running_var"] + spec.eps)
        return (x - w["running_mean"].reshape(shape)) * scale.reshape(shape) + w["bias"].reshape(shape)
    if isinstance(spec, L.Flatten):
        return x.reshape(len(x), -1)
    if isinstance(spec, L.Embedding):
        return w["weight"][x.astype(np.int64)]
    if isinstance(spec, L.Activation):
        return _activate(x, spec.name)
    if isinstance(spec, L.Dropout):
        return x
    raise NotImplementedError(f"no reference for the layer kind {spec.kind!r}")


def forward(spec: L.Sequential, weights: dict[str, np.ndarray], x: np.ndarray) -> list[np.ndarray]:
    """The input (reshaped to the spec's input shape), then each layer's output, in inference."""
    values: list[Any] = [np.asarray(x).reshape(len(x), *spec.input_shape)]
    if spec.input_dtype == "float32":
        values[0] = values[0].astype(np.float64)
    for i, part in enumerate(spec.layers):
        own = {k.split(".", 2)[2]: v for k, v in weights.items() if k.startswith(f"layers.{i}.")}
        values.append(layer(part, own, values[-1]))
    return values


def batch_norm_update(spec: L.BatchNorm, weights: dict[str, np.ndarray], x: np.ndarray) -> dict[str, np.ndarray]:
    """``running_mean`` and ``running_var`` after one training step on the batch ``x`` (the
    layer's input): the batch's mean and unbiased variance per channel, by ``momentum``."""
    axes = (0, *range(2, x.ndim))
    count = x.size // x.shape[1]
    mean, var = x.mean(axes), x.var(axes) * count / max(count - 1, 1)
    m = spec.momentum
    return {"running_mean": (1 - m) * weights["running_mean"] + m * mean,
            "running_var": (1 - m) * weights["running_var"] + m * var}


__all__ = ["batch_norm_update", "forward", "layer"]
