"""The JAX backend's kernels for dlcore's portable layers (:mod:`dlcore.models.layers`):
``build(layer, input_shape) -> JaxLayer``, a pure function of the layer's parameters under their
canonical short names ("weight", "running_mean", ...).

Native layout: images are channels last, (N, H, W, C), which XLA convolves faster on the CPU;
other values keep their canonical shape. Parameters stay canonical (a convolution's weight is
(out, in, kh, kw)); ``flatten`` puts images back in channels-first order first, so a dense
layer after it takes the same features as on every backend.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Callable

import jax
import jax.numpy as jnp
from jax import lax

from dlcore.models import layers as spec

ACTIVATIONS: dict[str, Callable[[Any], Any]] = {
    "relu": jax.nn.relu, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid,
    "gelu": functools.partial(jax.nn.gelu, approximate=False), "silu": jax.nn.silu, "elu": jax.nn.elu,
    "leaky_relu": jax.nn.leaky_relu, "softmax": functools.partial(jax.nn.softmax, axis=-1)}


def activate(x: Any, name: str | None) -> Any:
    return x if name is None else ACTIVATIONS[name](x)


@dataclass(frozen=True)
class JaxLayer:
    """``apply(params, x, training) -> (y, updates)`` on a batch in the native layout;
    ``updates``: new values of the ``state`` entries (those training changes without
    gradients). ``integers``: entries held as int32 (int64 in canonical weights)."""

    apply: Callable[[dict[str, Any], Any, bool], tuple[Any, dict[str, Any]]]
    state: tuple[str, ...] = ()
    integers: tuple[str, ...] = ()


def _stateless(function: Callable[[dict[str, Any], Any], Any]) -> JaxLayer:
    return JaxLayer(lambda params, x, training: (function(params, x), {}))


def dense(layer: spec.Dense, shape: tuple[int, ...]) -> JaxLayer:
    def apply(params: dict[str, Any], x: Any) -> Any:
        y = x @ params["weight"].T
        return activate(y + params["bias"] if layer.bias else y, layer.activation)

    return _stateless(apply)


def conv2d(layer: spec.Conv2d, shape: tuple[int, ...]) -> JaxLayer:
    def apply(params: dict[str, Any], x: Any) -> Any:
        y = lax.conv_general_dilated(x, params["weight"], layer.stride, layer.pads,
                                     dimension_numbers=("NHWC", "OIHW", "NHWC"))
        return activate(y + params["bias"] if layer.bias else y, layer.activation)

    return _stateless(apply)


def _windows(x: Any, size: tuple[int, int], stride: tuple[int, int]) -> Any:
    """(N, H, W, C) -> (N, H', W', C, kh * kw): each output's window, gathered by strided slices
    (XLA on the CPU differentiates them many times faster than ``reduce_window``)."""
    (kh, kw), (sh, sw) = size, stride
    oh, ow = (x.shape[1] - kh) // sh + 1, (x.shape[2] - kw) // sw + 1
    return jnp.stack([x[:, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw] for i in range(kh)
                      for j in range(kw)], -1)


def max_pool2d(layer: spec.MaxPool2d, shape: tuple[int, ...]) -> JaxLayer:
    """The gradient goes to the first maximum of each window, as torch's."""
    def apply(params: dict[str, Any], x: Any) -> Any:
        windows = _windows(x, layer.size, layer.stride)  # type: ignore[arg-type]
        first = jnp.argmax(windows, -1)[..., None] == jnp.arange(windows.shape[-1])
        return jnp.where(first, windows, 0).sum(-1)

    return _stateless(apply)


def avg_pool2d(layer: spec.AvgPool2d, shape: tuple[int, ...]) -> JaxLayer:
    return _stateless(lambda params, x: _windows(x, layer.size, layer.stride).mean(-1))  # type: ignore[arg-type]


def global_avg_pool2d(layer: spec.GlobalAvgPool2d, shape: tuple[int, ...]) -> JaxLayer:
    return _stateless(lambda params, x: x.mean((1, 2)))


def global_max_pool2d(layer: spec.GlobalMaxPool2d, shape: tuple[int, ...]) -> JaxLayer:
    return _stateless(lambda params, x: x.max((1, 2)))


def batch_norm(layer: spec.BatchNorm, shape: tuple[int, ...]) -> JaxLayer:
    """torch's batch norm on the last (channel) axis, as ``x * scale + shift`` (torch's CPU
    form, and XLA differentiates it twice as fast): training normalizes by the batch's
    statistics (in float32) and moves the running ones by ``momentum``, the variance unbiased."""
    momentum, eps = float(layer.momentum), float(layer.eps)

    def apply(params: dict[str, Any], x: Any, training: bool) -> tuple[Any, dict[str, Any]]:
        values, mean, var, updates = x, params["running_mean"], params["running_var"], {}
        if training:
            values, axes, count = x.astype(jnp.float32), tuple(range(x.ndim - 1)), math.prod(x.shape[:-1])
            mean = values.mean(axes)
            var = jnp.square(values - mean).mean(axes)
            unbiased = lax.stop_gradient(var) * (count / max(count - 1, 1))
            updates = {"running_mean": (1 - momentum) * params["running_mean"] + momentum * lax.stop_gradient(mean),
                       "running_var": (1 - momentum) * params["running_var"] + momentum * unbiased}
        scale = params["weight"] * lax.rsqrt(var + eps)
        return (values * scale + (params["bias"] - mean * scale)).astype(x.dtype), updates

    return JaxLayer(apply, state=("running_mean", "running_var"))


def dropout(layer: spec.Dropout, shape: tuple[int, ...]) -> JaxLayer:
    """Masks from the key of ``rng`` = (seed, count) (``fold_in(key(seed), count)``); each
    training call counts one."""
    rate = float(layer.rate)

    def apply(params: dict[str, Any], x: Any, training: bool) -> tuple[Any, dict[str, Any]]:
        if not training or rate == 0:
            return x, {}
        rng = params["rng"]
        key = jax.random.fold_in(jax.random.key(rng[0]), rng[1])
        keep = jax.random.uniform(key, x.shape) >= rate
        return jnp.where(keep, x * (1.0 / (1.0 - rate)), 0).astype(x.dtype), {"rng": rng.at[1].add(1)}

    return JaxLayer(apply, state=("rng",), integers=("rng",))


def flatten(layer: spec.Flatten, shape: tuple[int, ...]) -> JaxLayer:
    """Images back to channels first, then one axis per sample."""
    def apply(params: dict[str, Any], x: Any) -> Any:
        return (x.transpose(0, 3, 1, 2) if len(shape) == 3 else x).reshape(x.shape[0], -1)

    return _stateless(apply)


def embedding(layer: spec.Embedding, shape: tuple[int, ...]) -> JaxLayer:
    return _stateless(lambda params, x: jnp.take(params["weight"], x.astype(jnp.int32), axis=0))


def activation(layer: spec.Activation, shape: tuple[int, ...]) -> JaxLayer:
    return _stateless(lambda params, x: activate(x, layer.name))

