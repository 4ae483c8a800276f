"""numpy's table of :mod:`dlcore.ops`: the reference every backend's table is checked against
(in float64 by :mod:`dlcore.testing`). numpy is array-API compliant, so most operations are
its own functions; no gradients (the checks take finite differences instead)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .table import Table


def _seed(seed: Any) -> list[int]:
    return [int(s) for s in np.atleast_1d(np.asarray(seed)).ravel()]


def _axes(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis


class NumpyTable(Table):
    name = "numpy"

    def owns(self, value: Any) -> bool:
        return isinstance(value, (np.ndarray, np.generic))

    zeros = staticmethod(lambda shape, dtype: np.zeros(shape, dtype))
    ones = staticmethod(lambda shape, dtype: np.ones(shape, dtype))
    full = staticmethod(lambda shape, value, dtype: np.full(shape, value, dtype))
    zeros_like = staticmethod(lambda x, dtype=None: np.zeros_like(x, dtype))
    ones_like = staticmethod(lambda x, dtype=None: np.ones_like(x, dtype))
    arange = staticmethod(lambda start, stop, step, dtype: np.arange(start, stop, step, dtype=dtype)
                          if stop is not None else np.arange(start, dtype=dtype))

    def convert(self, value: Any, dtype: str | None = None) -> Any:
        """Python numbers and lists: float32 and int64, as the frameworks make them."""
        if dtype is None and not isinstance(value, (np.ndarray, np.generic)):
            found = np.asarray(value)
            dtype = {"f": "float32", "i": "int64"}.get(found.dtype.kind)
        return np.asarray(value, dtype)
    cast = staticmethod(lambda x, dtype: np.asarray(x).astype(dtype))
    dtype = staticmethod(lambda x: str(np.asarray(x).dtype))
    shape = staticmethod(lambda x: tuple(np.shape(x)))

    abs, exp, log, log1p, sqrt, square, sign, floor, sin, cos, tanh = (
        staticmethod(f) for f in (np.abs, np.exp, np.log, np.log1p, np.sqrt, np.square, np.sign, np.floor, np.sin,
                                  np.cos, np.tanh))
    maximum, minimum, power, where, isfinite = (
        staticmethod(f) for f in (np.maximum, np.minimum, np.power, np.where, np.isfinite))

    @staticmethod
    def _like(x: Any, value: Any) -> Any:
        return np.asarray(value, dtype=np.asarray(x).dtype)

    def rsqrt(self, x: Any) -> Any:
        return 1 / np.sqrt(x)

    def erf(self, x: Any) -> Any:
        return np.vectorize(math.erf, otypes=[np.asarray(x).dtype])(x)

    def sigmoid(self, x: Any) -> Any:
        return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))

    def relu(self, x: Any) -> Any:
        return np.maximum(x, 0)

    def gelu(self, x: Any, approximate: bool = False) -> Any:
        if approximate:
            return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
        return 0.5 * x * (1 + self.erf(x / math.sqrt(2)))

    def silu(self, x: Any) -> Any:
        return x * self.sigmoid(x)

    def softplus(self, x: Any) -> Any:
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    def leaky_relu(self, x: Any, negative_slope: float = 0.01) -> Any:
        return np.where(x >= 0, x, x * self._like(x, negative_slope))

    def elu(self, x: Any) -> Any:
        return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))

    def clip(self, x: Any, low: Any, high: Any) -> Any:
        return np.clip(x, low, high)

    def sum(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return np.sum(x, _axes(axis), keepdims=keepdims)

    def mean(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return np.mean(x, _axes(axis), keepdims=keepdims)

    def max(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return np.max(x, _axes(axis), keepdims=keepdims)

    def min(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return np.min(x, _axes(axis), keepdims=keepdims)

    def var(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return np.var(x, _axes(axis), keepdims=keepdims)

    def std(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return np.std(x, _axes(axis), keepdims=keepdims)

    def logsumexp(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        top = np.max(x, _axes(axis), keepdims=True)
        top = np.where(np.isfinite(top), top, 0)
        out = np.log(np.sum(np.exp(x - top), _axes(axis), keepdims=True)) + top
        return out if keepdims else np.squeeze(out, _axes(axis))

    def argmax(self, x: Any, axis: int = -1) -> Any:
        return np.argmax(x, axis).astype(np.int64)

    def argmin(self, x: Any, axis: int = -1) -> Any:
        return np.argmin(x, axis).astype(np.int64)

    def cumsum(self, x: Any, axis: int = -1) -> Any:
        return np.cumsum(x, axis)

    def top_k(self, x: Any, k: int) -> tuple[Any, Any]:
        order = np.argsort(-np.asarray(x), axis=-1, kind="stable")[..., :k].astype(np.int64)
        return np.take_along_axis(x, order, -1), order

    def matmul(self, x: Any, y: Any) -> Any:
        return np.matmul(x, y)

    def einsum(self, subscripts: str, *operands: Any) -> Any:
        return np.einsum(subscripts, *operands)

    def transpose(self, x: Any, axes: Any = None) -> Any:
        return np.transpose(x, axes)

    def reshape(self, x: Any, shape: Any) -> Any:
        return np.reshape(x, shape)

    def expand_dims(self, x: Any, axis: int) -> Any:
        return np.expand_dims(x, axis)

    def squeeze(self, x: Any, axis: Any = None) -> Any:
        return np.squeeze(x, _axes(axis))

    def concatenate(self, xs: list[Any], axis: int = 0) -> Any:
        return np.concatenate(xs, axis)

    def stack(self, xs: list[Any], axis: int = 0) -> Any:
        return np.stack(xs, axis)

    def take(self, x: Any, indices: Any, axis: int = 0) -> Any:
        return np.take(x, indices, axis)

    def take_along_axis(self, x: Any, indices: Any, axis: int) -> Any:
        return np.take_along_axis(x, indices, axis)

    def pad(self, x: Any, widths: Any, value: float = 0.0) -> Any:
        return np.pad(x, widths, constant_values=value)

    def broadcast_to(self, x: Any, shape: Any) -> Any:
        return np.broadcast_to(x, shape)

    def one_hot(self, labels: Any, classes: int, dtype: str = "float32") -> Any:
        return np.eye(classes, dtype=dtype)[np.asarray(labels)]

    def softmax(self, x: Any, axis: int = -1) -> Any:
        e = np.exp(x - np.max(x, axis, keepdims=True))
        return e / np.sum(e, axis, keepdims=True)

    def log_softmax(self, x: Any, axis: int = -1) -> Any:
        return x - self.logsumexp(x, axis, keepdims=True)

    @staticmethod
    def _windows(x: Any, size: tuple[int, int], stride: tuple[int, int]) -> Any:
        """(N, C, H', W', kh, kw) views of ``x`` every ``stride``."""
        return sliding_window_view(x, size, axis=(2, 3))[:, :, ::stride[0], ::stride[1]]

    def conv2d(self, x: Any, weight: Any, stride: tuple[int, int], pads: Any) -> Any:
        x = np.pad(x, ((0, 0), (0, 0), *pads))
        windows = self._windows(x, tuple(weight.shape[2:]), stride)
        return np.einsum("nchwij,ocij->nohw", windows, weight)

    def max_pool2d(self, x: Any, size: tuple[int, int], stride: tuple[int, int]) -> Any:
        return self._windows(x, size, stride).max((-2, -1))

    def avg_pool2d(self, x: Any, size: tuple[int, int], stride: tuple[int, int]) -> Any:
        return self._windows(x, size, stride).mean((-2, -1))

    def stop_gradient(self, x: Any) -> Any:
        return x

    def random_uniform(self, shape: Any, seed: Any, low: float, high: float, dtype: str) -> Any:
        return np.random.default_rng(_seed(seed)).uniform(low, high, shape).astype(dtype)

    def random_normal(self, shape: Any, seed: Any, dtype: str) -> Any:
        return np.random.default_rng(_seed(seed)).standard_normal(shape).astype(dtype)
