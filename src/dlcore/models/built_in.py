"""dlcore's own layers written once on :mod:`dlcore.ops`: ``APPLY[kind](layer, weights, x,
training) -> (output, updates)``, on a batch in the canonical layout, with the layer's weights by
their canonical short names and the new values of its state (batch norm's running statistics,
dropout's counter). A backend that builds layers through its ``"ops"`` layer kernel runs these;
torch, TensorFlow and JAX keep their native kernels as measured fast paths, checked against
these by the contract suite; numpy's table gives the float64 reference."""

from __future__ import annotations

from typing import Any, Callable

from .. import ops

Weights = dict[str, Any]
Result = tuple[Any, dict[str, Any]]

FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "relu": ops.relu, "tanh": ops.tanh, "sigmoid": ops.sigmoid, "gelu": ops.gelu, "silu": ops.silu, "elu": ops.elu,
    "leaky_relu": ops.leaky_relu, "softmax": ops.softmax}


def activate(x: Any, name: str | None) -> Any:
    return x if name is None else FUNCTIONS[name](x)


def dense(layer: Any, w: Weights, x: Any, training: bool) -> Result:
    y = ops.matmul(x, ops.transpose(w["weight"]))
    return activate(y + w["bias"] if layer.bias else y, layer.activation), {}


def conv2d(layer: Any, w: Weights, x: Any, training: bool) -> Result:
    y = ops.conv2d(x, w["weight"], layer.stride, layer.pads)
    if layer.bias:
        y = y + ops.reshape(w["bias"], (1, -1, 1, 1))
    return activate(y, layer.activation), {}


def max_pool2d(layer: Any, w: Weights, x: Any, training: bool) -> Result:
    return ops.max_pool2d(x, layer.size, layer.stride), {}  


def avg_pool2d(layer: Any, w: Weights, x: Any, training: bool) -> Result:
    return ops.avg_pool2d(x, layer.size, layer.stride), {}  


def global_avg_pool2d(layer: Any, w: Weights, x: Any, training: bool) -> Result:
    return ops.mean(x, axis=(2, 3)), {}


def global_max_pool2d(layer: Any, w: Weights, x: Any, training: bool) -> Result:
    return ops.max(x, axis=(2, 3)), {}


def batch_norm(layer: Any, w: Weights, x: Any, training: bool) -> Result:
    """torch's batch norm: the batch's statistics in training (the running variance takes the
    unbiased one), the running ones in inference."""
    axes = (0,) if ops.ndim(x) == 2 else (0, 2, 3)
    shape = (1, -1) if ops.ndim(x) == 2 else (1, -1, 1, 1)
    updates = {}
    if training:
        mean, var = ops.mean(x, axis=axes), ops.var(x, axis=axes)
        count = 1
        for axis in axes:
            count = count * ops.shape(x)[axis]
        if isinstance(count, int):
            unbiased = var * (count / max(count - 1, 1))
        else:  # a batch size known only when the step runs
            n = ops.cast(count, ops.dtype(var))
            unbiased = var * n / ops.maximum(n - 1.0, 1.0)
        m = layer.momentum
        updates = {"running_mean": w["running_mean"] * (1 - m) + ops.stop_gradient(mean) * m,
                   "running_var": w["running_var"] * (1 - m) + ops.stop_gradient(unbiased) * m}
    else:
        mean, var = w["running_mean"], w["running_var"]
    scale = w["weight"] * ops.rsqrt(var + layer.eps)
    return (x - ops.reshape(mean, shape)) * ops.reshape(scale, shape) + ops.reshape(w["bias"], shape), updates


def dropout(layer: Any, w: Weights, x: Any, training: bool) -> Result:
    """Masks drawn from (seed, count) of the ``rng`` state, which counts the training calls."""
    if not training or layer.rate == 0:
        return x, {}
    rng = w["rng"]
    keep = ops.random_uniform(ops.shape(x), (rng[0], rng[1]), dtype=ops.dtype(x)) >= layer.rate
    counted = rng + ops.cast(ops.convert([0, 1]), ops.dtype(rng))
    return ops.where(keep, x * (1.0 / (1.0 - layer.rate)), 0.0), {"rng": counted}


def flatten(layer: Any, w: Weights, x: Any, training: bool) -> Result:
    return ops.reshape(x, (ops.shape(x)[0], -1)), {}


def embedding(layer: Any, w: Weights, x: Any, training: bool) -> Result:
    return ops.take(w["weight"], x, axis=0), {}


def activation(layer: Any, w: Weights, x: Any, training: bool) -> Result:
    return activate(x, layer.name), {}


APPLY: dict[str, Callable[..., Result]] = {
    "dense": dense, "conv2d": conv2d, "max_pool2d": max_pool2d, "avg_pool2d": avg_pool2d,
    "global_avg_pool2d": global_avg_pool2d, "global_max_pool2d": global_max_pool2d, "batch_norm": batch_norm,
    "dropout": dropout, "flatten": flatten, "embedding": embedding, "activation": activation}
