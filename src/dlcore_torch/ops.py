"""torch's table of :mod:`dlcore.ops`. The standard array functions are array-api-compat's
torch namespace (``array_api_compat.torch``: torch's own functions where they already meet the
array API, thin fixes where they don't); the rest (convolutions, pools, activations, seeded
draws, ...) are written on torch. torch's layout, channels first, is the canonical one.

Creation functions and random draws make their arrays on the device of the layer being called
(:meth:`TorchTable.placed`), else on the CPU.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Iterator

import numpy as np

from dlcore import ops
from dlcore.ops import Table

from .framework import import_torch

torch = import_torch()  # safely beside TensorFlow, before array-api-compat imports torch itself
F = torch.nn.functional

import array_api_compat.torch as xp  # noqa: E402

_DEVICE: contextvars.ContextVar[Any] = contextvars.ContextVar("dlcore_torch_ops_device", default=None)
_DTYPES: dict[str, Any] = {}
_DEFAULT = {"f": "float32", "i": "int64", "u": "int64", "b": "bool"}  # Python numbers and lists


def torch_dtype(name: Any) -> Any:
    """The torch dtype of a dtype name ("float32", "bfloat16", ...)."""
    found = _DTYPES.get(name)
    if found is None:
        found = getattr(torch, str(name), None)
        if not isinstance(found, torch.dtype):
            raise TypeError(f"{name!r} is not a dtype name of torch")
        _DTYPES[name] = found
    return found


def _dims(x: Any, axis: Any) -> Any:
    """``axis`` as torch takes it: None becomes every axis (torch's reductions want one)."""
    return tuple(range(x.ndim)) if axis is None else axis


def _seed(seed: Any) -> int:
    """A generator's seed from an int, or (seed, counter) as dlcore's Dropout seeds its masks."""
    values = [int(v) for v in (seed.reshape(-1).tolist() if torch.is_tensor(seed) else np.ravel(seed))]
    combined = 0
    for value in values:
        combined = (combined << 32) + value
    return combined & 0xFFFF_FFFF_FFFF_FFFF


class TorchTable(Table):
    name = "torch"

    def owns(self, value: Any) -> bool:
        return isinstance(value, torch.Tensor)

    @contextlib.contextmanager
    def placed(self, device: Any) -> Iterator[None]:
        """Make the arrays of creation functions and random draws on ``device`` in this block."""
        token = _DEVICE.set(device)
        try:
            yield
        finally:
            _DEVICE.reset(token)

    # -- creation

    def zeros(self, shape: Any, dtype: str) -> Any:
        return xp.zeros(shape, dtype=torch_dtype(dtype), device=_DEVICE.get())

    def ones(self, shape: Any, dtype: str) -> Any:
        return xp.ones(shape, dtype=torch_dtype(dtype), device=_DEVICE.get())

    def full(self, shape: Any, value: Any, dtype: str) -> Any:
        return xp.full(shape, value, dtype=torch_dtype(dtype), device=_DEVICE.get())

    def zeros_like(self, x: Any, dtype: str | None = None) -> Any:
        return xp.zeros_like(x, dtype=None if dtype is None else torch_dtype(dtype))

    def ones_like(self, x: Any, dtype: str | None = None) -> Any:
        return xp.ones_like(x, dtype=None if dtype is None else torch_dtype(dtype))

    def arange(self, start: Any, stop: Any, step: Any, dtype: str) -> Any:
        return xp.arange(start, stop, step, dtype=torch_dtype(dtype), device=_DEVICE.get())

    def convert(self, value: Any, dtype: str | None = None) -> Any:
        """Tensors and numpy arrays keep their dtype; Python floats become float32, ints int64."""
        if isinstance(value, torch.Tensor):
            return value if dtype is None else value.to(torch_dtype(dtype))
        found = np.asarray(value)
        if dtype is None and not isinstance(value, (np.ndarray, np.generic)):
            dtype = _DEFAULT.get(found.dtype.kind)
        if not found.flags.writeable or min(found.strides, default=0) < 0:  # torch shares neither
            found = found.copy()
        tensor = torch.as_tensor(found, device=_DEVICE.get())
        return tensor if dtype is None else tensor.to(torch_dtype(dtype))

    # -- dtypes and shapes

    def cast(self, x: Any, dtype: str) -> Any:
        return xp.astype(x, torch_dtype(dtype))

    def dtype(self, x: Any) -> str:
        return str(x.dtype).removeprefix("torch.")

    def shape(self, x: Any) -> tuple[Any, ...]:
        return tuple(x.shape)

    # -- elementwise: the array API's, then torch's own

    abs, exp, log, log1p, sqrt, square, sign, floor, sin, cos, tanh, isfinite = (
        staticmethod(f) for f in (xp.abs, xp.exp, xp.log, xp.log1p, xp.sqrt, xp.square, xp.sign, xp.floor, xp.sin,
                                  xp.cos, xp.tanh, xp.isfinite))
    power, where, clip, matmul = (staticmethod(f) for f in (xp.pow, xp.where, xp.clip, xp.matmul))
    rsqrt, erf, sigmoid, relu, silu, elu, softplus = (
        staticmethod(f) for f in (torch.rsqrt, torch.erf, torch.sigmoid, torch.relu, F.silu, F.elu, F.softplus))
    leaky_relu, einsum = staticmethod(F.leaky_relu), staticmethod(torch.einsum)

    def maximum(self, x: Any, y: Any) -> Any:
        """With a Python number, torch's clamp: the array API's makes a tensor of it (10 us a call)."""
        if isinstance(y, (int, float)) and isinstance(x, torch.Tensor):
            return torch.clamp_min(x, y)
        if isinstance(x, (int, float)) and isinstance(y, torch.Tensor):
            return torch.clamp_min(y, x)
        return xp.maximum(x, y)

    def minimum(self, x: Any, y: Any) -> Any:
        if isinstance(y, (int, float)) and isinstance(x, torch.Tensor):
            return torch.clamp_max(x, y)
        if isinstance(x, (int, float)) and isinstance(y, torch.Tensor):
            return torch.clamp_max(y, x)
        return xp.minimum(x, y)

    def gelu(self, x: Any, approximate: bool = False) -> Any:
        return F.gelu(x, approximate="tanh" if approximate else "none")

    # -- reductions

    def sum(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return xp.sum(x, axis=axis, keepdims=keepdims)

    def mean(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return xp.mean(x, axis=axis, keepdims=keepdims)

    def max(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return xp.max(x, axis=_dims(x, axis), keepdims=keepdims)

    def min(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return xp.min(x, axis=_dims(x, axis), keepdims=keepdims)

    def var(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return xp.var(x, axis=axis, keepdims=keepdims)

    def std(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return xp.std(x, axis=axis, keepdims=keepdims)

    def logsumexp(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return torch.logsumexp(x, _dims(x, axis), keepdims)

    def argmax(self, x: Any, axis: int = -1) -> Any:
        return xp.argmax(x, axis=axis)

    def argmin(self, x: Any, axis: int = -1) -> Any:
        return xp.argmin(x, axis=axis)

    def cumsum(self, x: Any, axis: int = -1) -> Any:
        return xp.cumulative_sum(x, axis=axis)

    def top_k(self, x: Any, k: int) -> tuple[Any, Any]:
        """A stable sort: on ties the first index comes first, as numpy's (topk's order is unspecified)."""
        values, indices = torch.sort(x, dim=-1, descending=True, stable=True)
        return values[..., :k], indices[..., :k]

    # -- shapes and indexing

    def transpose(self, x: Any, axes: Any = None) -> Any:
        return xp.permute_dims(x, tuple(reversed(range(x.ndim))) if axes is None else axes)

    def reshape(self, x: Any, shape: Any) -> Any:
        return xp.reshape(x, shape)

    def expand_dims(self, x: Any, axis: int) -> Any:
        return xp.expand_dims(x, axis=axis)

    def squeeze(self, x: Any, axis: Any = None) -> Any:
        return torch.squeeze(x) if axis is None else xp.squeeze(x, axis)

    def concatenate(self, xs: list[Any], axis: int = 0) -> Any:
        return xp.concat(xs, axis=axis)

    def stack(self, xs: list[Any], axis: int = 0) -> Any:
        return xp.stack(xs, axis=axis)

    def take(self, x: Any, indices: Any, axis: int = 0) -> Any:
        """Indices of any shape (the array API's take wants one axis of them)."""
        axis = axis % x.ndim
        indices = torch.as_tensor(indices, device=x.device)  # numpy arrays and lists, as on every backend
        flat = xp.take(x, indices.reshape(-1), axis=axis)
        return flat.reshape(*x.shape[:axis], *indices.shape, *x.shape[axis + 1:])

    def take_along_axis(self, x: Any, indices: Any, axis: int) -> Any:
        return xp.take_along_axis(x, indices, axis=axis)

    def pad(self, x: Any, widths: Any, value: float = 0.0) -> Any:
        return F.pad(x, [n for pair in reversed(widths) for n in pair], value=value)

    def broadcast_to(self, x: Any, shape: Any) -> Any:
        return xp.broadcast_to(x, shape)

    # -- neural networks

    def one_hot(self, labels: Any, classes: int, dtype: str = "float32") -> Any:
        return F.one_hot(labels.long(), classes).to(torch_dtype(dtype))

    def softmax(self, x: Any, axis: int = -1) -> Any:
        return torch.softmax(x, axis)

    def log_softmax(self, x: Any, axis: int = -1) -> Any:
        return torch.log_softmax(x, axis)

    def conv2d(self, x: Any, weight: Any, stride: tuple[int, int], pads: Any) -> Any:
        (top, bottom), (left, right) = pads
        if top != bottom or left != right:
            x, top, left = F.pad(x, (left, right, top, bottom)), 0, 0
        return F.conv2d(x, weight, None, stride, (top, left))

    def max_pool2d(self, x: Any, size: tuple[int, int], stride: tuple[int, int]) -> Any:
        return F.max_pool2d(x, size, stride)

    def avg_pool2d(self, x: Any, size: tuple[int, int], stride: tuple[int, int]) -> Any:
        return F.avg_pool2d(x, size, stride)

    def stop_gradient(self, x: Any) -> Any:
        return x.detach()

    def gradients(self, function: Any, arrays: list[Any]) -> list[Any]:
        """The gradients of the scalar ``function(*arrays)`` by each array (torch's autograd;
        zeros where the result does not depend on one)."""
        leaves = [a.detach().clone().requires_grad_(True) for a in arrays]
        value = function(*leaves)
        found = torch.autograd.grad(value, leaves, allow_unused=True) if value.requires_grad else [None] * len(leaves)
        return [torch.zeros_like(a) if g is None else g for a, g in zip(leaves, found)]

    # -- random draws

    @staticmethod
    def _generator(seed: Any) -> tuple[Any, Any]:
        device = seed.device if torch.is_tensor(seed) and _DEVICE.get() is None else _DEVICE.get()
        device = torch.device(device or "cpu")
        return torch.Generator(device).manual_seed(_seed(seed)), device  # one per draw: threads share none

    def random_uniform(self, shape: Any, seed: Any, low: float, high: float, dtype: str) -> Any:
        generator, device = self._generator(seed)
        return torch.empty(shape, dtype=torch_dtype(dtype), device=device).uniform_(low, high, generator=generator)

    def random_normal(self, shape: Any, seed: Any, dtype: str) -> Any:
        generator, device = self._generator(seed)
        return torch.randn(shape, generator=generator, device=device, dtype=torch_dtype(dtype))


TABLE = TorchTable()
ops.register_table(TABLE)
