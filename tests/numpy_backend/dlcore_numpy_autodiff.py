"""A table of :mod:`dlcore.ops` in numpy with reverse-mode autodiff, in micrograd's spirit.

A :class:`Tensor` is a numpy array and how it was made (the op's rule and its arguments). Every
op's forward is numpy's reference table (:mod:`dlcore.ops.numpy_table`); each differentiable op
has one rule in :data:`RULES`, ``rule(g, y, *args) -> one gradient per argument`` (``g`` the
gradient of the output ``y``, arguments as numpy values; gradients of broadcast arguments are
summed back to their shape by :func:`backward`). Ops without a rule (comparisons, argmax,
random draws, ``stop_gradient``) cut the tape.

>>> import numpy as np
>>> from dlcore import ops
>>> [grad] = TABLE.gradients(lambda x: ops.sum(ops.exp(x)), [np.zeros(2)])
>>> grad.numpy()
array([1., 1.])
"""

from __future__ import annotations

import math
import operator
from typing import Any, Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from dlcore import ops

NUMPY = ops.tables()["numpy"]


class Tensor:
    """A numpy array on the tape: ``needs`` says whether a gradient flows to it."""

    __array_ufunc__ = None  # numpy arrays hand their operators to ours
    __hash__ = object.__hash__

    def __init__(self, value: Any, needs: bool = False, rule: Callable[..., Any] | None = None,
                 args: tuple[Any, ...] = ()) -> None:
        self.value, self.needs, self.rule, self.args = np.asarray(value), needs, rule, args

    shape = property(lambda self: self.value.shape)
    dtype = property(lambda self: self.value.dtype)
    ndim = property(lambda self: self.value.ndim)
    size = property(lambda self: self.value.size)

    def numpy(self) -> np.ndarray:
        return self.value

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.value if dtype is None else self.value.astype(dtype)

    def __bool__(self) -> bool:
        return bool(self.value)

    def __len__(self) -> int:
        return len(self.value)

    def __float__(self) -> float:
        return float(self.value)

    def __int__(self) -> int:
        return int(self.value)

    def __index__(self) -> int:
        return operator.index(self.value)

    def __repr__(self) -> str:
        return f"Tensor({self.value!r}{', needs' if self.needs else ''})"


def _operator(name: str, flipped: bool = False) -> Callable[..., Any]:
    if flipped:
        return lambda self, other: getattr(TABLE, name)(other, self)
    return lambda self, *other: getattr(TABLE, name)(self, *other)


for _name, _dunder in (("add", "add"), ("subtract", "sub"), ("multiply", "mul"), ("divide", "truediv"),
                       ("power", "pow"), ("matmul", "matmul"), ("logical_and", "and"), ("logical_or", "or")):
    setattr(Tensor, f"__{_dunder}__", _operator(_name))
    setattr(Tensor, f"__r{_dunder}__", _operator(_name, flipped=True))
for _name, _dunder in (("negative", "neg"), ("getitem", "getitem"), ("less", "lt"), ("less_equal", "le"),
                       ("greater", "gt"), ("greater_equal", "ge"), ("equal", "eq"), ("not_equal", "ne"),
                       ("logical_not", "invert")):
    setattr(Tensor, f"__{_dunder}__", _operator(_name))


def raw(value: Any) -> Any:
    """``value`` with numpy arrays for Tensors (inside tuples and lists too)."""
    if isinstance(value, Tensor):
        return value.value
    if isinstance(value, (tuple, list)):
        return type(value)(raw(v) for v in value)
    return value


def _tensors(args: Any) -> list[Tensor]:
    return [a for a in args if isinstance(a, Tensor)] + [t for a in args if isinstance(a, list) for t in _tensors(a)]


# ------------------------------------------------------------------------------------- rules

def _axes(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis


def _back(g: Any, x: np.ndarray, axis: Any, keepdims: bool) -> np.ndarray:
    """``g``, the gradient of a reduction of ``x`` over ``axis``, spread back over ``x``'s shape."""
    if not keepdims and axis is not None:
        g = np.expand_dims(g, _axes(axis))
    return np.broadcast_to(g, x.shape)


def _count(x: np.ndarray, y: np.ndarray) -> int:
    return x.size // max(np.size(y), 1)


def _mask_share(x: np.ndarray, y: np.ndarray, g: Any, axis: Any, keepdims: bool) -> np.ndarray:
    """max and min: the gradient shared among the elements equal to the result."""
    hit = x == _back(y, x, axis, keepdims)
    return _back(g, x, axis, keepdims) * hit / np.sum(hit, _axes(axis), keepdims=True)


def _clip(g: Any, x: np.ndarray, low: Any, high: Any) -> Any:
    inside = np.ones(x.shape, bool)
    if low is not None:
        inside &= x >= low
    if high is not None:
        inside &= x <= high
    return g * inside


def _matmul(g: Any, x: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
    """Vectors as matrices: (n,) on the left as (1, n), on the right as (n, 1)."""
    a, b = (x[None] if x.ndim == 1 else x), (y[:, None] if y.ndim == 1 else y)
    g = np.asarray(g)
    g = g[..., None] if y.ndim == 1 else g
    g = g[..., None, :] if x.ndim == 1 else g
    dx, dy = g @ np.swapaxes(b, -1, -2), np.swapaxes(a, -1, -2) @ g
    return (dx[..., 0, :] if x.ndim == 1 else dx), (dy[..., 0] if y.ndim == 1 else dy)


def _einsum(g: Any, y: Any, subscripts: str, *operands: np.ndarray) -> tuple[Any, ...]:
    """Each operand's gradient: the output's gradient contracted with the other operands (one
    label per axis, no ellipsis)."""
    inputs, arrow, output = subscripts.replace(" ", "").partition("->")
    labels = inputs.split(",")
    if not arrow:
        output = "".join(sorted(c for c in set(inputs) if inputs.count(c) == 1))
    grads: list[Any] = [None]
    for k, (mine, x) in enumerate(zip(labels, operands)):
        others = [(s, o) for i, (s, o) in enumerate(zip(labels, operands)) if i != k]
        known = output + "".join(s for s, _o in others)
        alone = "".join(c for c in mine if c not in known)  # summed in x alone: broadcast back
        extra = [(alone, np.ones([x.shape[mine.index(c)] for c in alone], x.dtype))] if alone else []
        spec = ",".join([output, *(s for s, _o in others + extra)]) + "->" + mine
        grads.append(np.einsum(spec, g, *(o for _s, o in others + extra)))
    return tuple(grads)


def _windows_back(x_shape: tuple[int, ...], size: Any, stride: Any, g: np.ndarray,
                  part: Callable[[int, int], np.ndarray]) -> np.ndarray:
    """The gradient of a windowed op's input: ``part(i, j)``, each output's share for the
    window element (i, j), added back where that element came from."""
    dx, (height, width) = np.zeros(x_shape, g.dtype), g.shape[2:]
    for i in range(size[0]):
        for j in range(size[1]):
            rows = slice(i, i + stride[0] * (height - 1) + 1, stride[0])
            columns = slice(j, j + stride[1] * (width - 1) + 1, stride[1])
            dx[:, :, rows, columns] += part(i, j)
    return dx


def _conv2d(g: Any, y: Any, x: np.ndarray, w: np.ndarray, stride: Any, pads: Any) -> tuple[Any, ...]:
    padded = np.pad(x, ((0, 0), (0, 0), *pads))
    windows = sliding_window_view(padded, w.shape[2:], axis=(2, 3))[:, :, ::stride[0], ::stride[1]]
    dw = np.einsum("nchwij,nohw->ocij", windows, g, optimize=True)
    dx = _windows_back(padded.shape, w.shape[2:], stride, g,
                       lambda i, j: np.einsum("nohw,oc->nchw", g, w[:, :, i, j], optimize=True))
    (top, bottom), (left, right) = pads
    return dx[:, :, top:dx.shape[2] - bottom, left:dx.shape[3] - right], dw, None, None


def _max_pool2d(g: Any, y: Any, x: np.ndarray, size: Any, stride: Any) -> tuple[Any, ...]:
    """To the first maximum of each window, as torch does."""
    windows = sliding_window_view(x, size, axis=(2, 3))[:, :, ::stride[0], ::stride[1]]
    taken = np.zeros(y.shape, bool)

    def part(i: int, j: int) -> Any:
        hit = (windows[..., i, j] == y) & ~taken
        taken[...] |= hit
        return g * hit
    return _windows_back(x.shape, size, stride, np.asarray(g), part), None, None


def _top_k(g: Any, y: Any, x: np.ndarray, k: int) -> tuple[Any, ...]:
    dx = np.zeros_like(x)
    np.put_along_axis(dx, NUMPY.top_k(x, k)[1], g, -1)
    return dx, None


def _scatter(x: np.ndarray, index: Any, g: Any) -> np.ndarray:
    dx = np.zeros_like(x)
    np.add.at(dx, index, g)
    return dx


def _take(g: Any, y: Any, x: np.ndarray, indices: Any, axis: int) -> tuple[Any, ...]:
    return _scatter(x, (slice(None),) * (axis % x.ndim) + (np.asarray(indices),), g), None, None


def _take_along_axis(g: Any, y: Any, x: np.ndarray, indices: Any, axis: int) -> tuple[Any, ...]:
    index = list(np.indices(np.shape(indices), sparse=True))
    index[axis] = np.asarray(indices)
    return _scatter(x, tuple(index), g), None, None


def _gelu(g: Any, y: Any, x: np.ndarray, approximate: bool = False) -> tuple[Any, ...]:
    if approximate:
        c = math.sqrt(2 / math.pi)
        t = np.tanh(c * (x + 0.044715 * x ** 3))
        return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)), None
    cdf = 0.5 * (1 + NUMPY.erf(x / math.sqrt(2)))
    return g * (cdf + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)), None


RULES: dict[str, Callable[..., tuple[Any, ...]]] = {
    # elementwise, one argument
    "negative": lambda g, y, x: (-g,),
    "abs": lambda g, y, x: (g * np.sign(x),),
    "exp": lambda g, y, x: (g * y,),
    "log": lambda g, y, x: (g / x,),
    "log1p": lambda g, y, x: (g / (1 + x),),
    "sqrt": lambda g, y, x: (g / (2 * y),),
    "rsqrt": lambda g, y, x: (-0.5 * g * y ** 3,),
    "square": lambda g, y, x: (2 * g * x,),
    "sin": lambda g, y, x: (g * np.cos(x),),
    "cos": lambda g, y, x: (-g * np.sin(x),),
    "tanh": lambda g, y, x: (g * (1 - y * y),),
    "erf": lambda g, y, x: (g * (2 / math.sqrt(math.pi)) * np.exp(-x * x),),
    "sigmoid": lambda g, y, x: (g * y * (1 - y),),
    "relu": lambda g, y, x: (g * (x > 0),),
    "gelu": _gelu,
    "silu": lambda g, y, x: (g * NUMPY.sigmoid(x) * (1 + x * (1 - NUMPY.sigmoid(x))),),
    "softplus": lambda g, y, x: (g * NUMPY.sigmoid(x),),
    "leaky_relu": lambda g, y, x, slope=0.01: (g * np.where(x >= 0, 1, slope).astype(x.dtype), None),
    "elu": lambda g, y, x: (g * np.where(x > 0, 1, y + 1),),
    "clip": lambda g, y, x, low, high: (_clip(g, x, low, high), None, None),
    "cast": lambda g, y, x, dtype: (g, None),
    # elementwise, two arguments (broadcasting summed back by backward)
    "add": lambda g, y, a, b: (g, g),
    "subtract": lambda g, y, a, b: (g, -g),
    "multiply": lambda g, y, a, b: (g * b, g * a),
    "divide": lambda g, y, a, b: (g / b, -g * a / (np.asarray(b) * b)),
    "power": lambda g, y, a, b: (g * b * np.power(a, b - 1), g * y * np.log(a)),
    "maximum": lambda g, y, a, b: (g * (a >= b), g * (a < b)),
    "minimum": lambda g, y, a, b: (g * (a <= b), g * (a > b)),
    "where": lambda g, y, c, a, b: (None, np.where(c, g, 0), np.where(c, 0, g)),
    # reductions
    "sum": lambda g, y, x, axis=None, keepdims=False: (_back(g, x, axis, keepdims), None, None),
    "mean": lambda g, y, x, axis=None, keepdims=False: (_back(g, x, axis, keepdims) / _count(x, y), None, None),
    "max": lambda g, y, x, axis=None, keepdims=False: (_mask_share(x, y, g, axis, keepdims), None, None),
    "min": lambda g, y, x, axis=None, keepdims=False: (_mask_share(x, y, g, axis, keepdims), None, None),
    "var": lambda g, y, x, axis=None, keepdims=False: (
        _back(g, x, axis, keepdims) * 2 * (x - np.mean(x, _axes(axis), keepdims=True)) / _count(x, y), None, None),
    "std": lambda g, y, x, axis=None, keepdims=False: (
        _back(g / y, x, axis, keepdims) * (x - np.mean(x, _axes(axis), keepdims=True)) / _count(x, y), None, None),
    "logsumexp": lambda g, y, x, axis=None, keepdims=False: (
        _back(g, x, axis, keepdims) * np.exp(x - _back(y, x, axis, keepdims)), None, None),
    "cumsum": lambda g, y, x, axis=-1: (np.flip(np.cumsum(np.flip(g, axis), axis), axis), None),
    "softmax": lambda g, y, x, axis=-1: (y * (g - np.sum(g * y, axis, keepdims=True)), None),
    "log_softmax": lambda g, y, x, axis=-1: (g - np.exp(y) * np.sum(g, axis, keepdims=True), None),
    "top_k": _top_k,
    # products
    "matmul": lambda g, y, a, b: _matmul(g, a, b),
    "einsum": _einsum,
    "conv2d": _conv2d,
    # shapes and indexing
    "transpose": lambda g, y, x, axes=None: (np.transpose(g, None if axes is None else np.argsort(axes)), None),
    "reshape": lambda g, y, x, shape: (np.reshape(g, x.shape), None),
    "expand_dims": lambda g, y, x, axis: (np.reshape(g, x.shape), None),
    "squeeze": lambda g, y, x, axis=None: (np.reshape(g, x.shape), None),
    "broadcast_to": lambda g, y, x, shape: (g, None),
    "concatenate": lambda g, y, xs, axis=0: (np.split(g, np.cumsum([x.shape[axis] for x in xs])[:-1], axis), None),
    "stack": lambda g, y, xs, axis=0: ([np.take(g, i, axis) for i in range(len(xs))], None),
    "take": _take,
    "take_along_axis": _take_along_axis,
    "getitem": lambda g, y, x, key: (_scatter(x, key, g), None),
    "pad": lambda g, y, x, widths, value=0.0: (
        g[tuple(slice(a, n - b) for (a, b), n in zip(widths, np.shape(g)))], None, None),
    # pooling
    "max_pool2d": _max_pool2d,
    "avg_pool2d": lambda g, y, x, size, stride: (
        _windows_back(x.shape, size, stride, np.asarray(g), lambda i, j: g / (size[0] * size[1])), None, None),
}

# Operators' forwards (the ops of dlcore.ops.NAMES run numpy's table).
OPERATORS: dict[str, Callable[..., Any]] = {
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply, "divide": np.true_divide, "negative": np.negative,
    "getitem": lambda x, key: x[key], "less": np.less, "less_equal": np.less_equal, "greater": np.greater,
    "greater_equal": np.greater_equal, "equal": np.equal, "not_equal": np.not_equal, "logical_and": np.bitwise_and,
    "logical_or": np.bitwise_or, "logical_not": np.invert}


# -------------------------------------------------------------------------------- the table

def _wrap(result: Any, name: str, args: tuple[Any, ...]) -> Any:
    """The forward's result as Tensors; on the tape if a rule differentiates it and a float
    argument needs a gradient (top_k: its values)."""
    if isinstance(result, tuple):
        return tuple(_wrap(r, name, args) if i == 0 else _wrap(r, "", ()) for i, r in enumerate(result))
    if not isinstance(result, (np.ndarray, np.generic)):
        return result  # shape, dtype
    value = np.asarray(result)
    needs = name in RULES and value.dtype.kind == "f" and any(t.needs for t in _tensors(args))
    return Tensor(value, needs, RULES[name], args) if needs else Tensor(value)


def _op(name: str) -> Callable[..., Any]:
    forward = OPERATORS.get(name) or getattr(NUMPY, name)

    def op(self: Any, *args: Any) -> Any:
        return _wrap(forward(*raw(args)), name, args)
    op.__name__ = name
    return op


def backward(out: Tensor, wrt: list[Tensor], seed: Any = None) -> list[np.ndarray]:
    """The gradients of ``out`` (a scalar, or given ``seed``, the gradient of ``out`` itself) by
    each tensor of ``wrt`` (zeros where none flows)."""
    order, seen = [], set()

    def visit(t: Tensor) -> None:
        if id(t) not in seen and t.needs:
            seen.add(id(t))
            for parent in _tensors(t.args):
                visit(parent)
            order.append(t)
    visit(out)
    grads = {id(out): np.ones_like(out.value) if seed is None else np.asarray(seed, out.dtype)}
    with np.errstate(divide="ignore", invalid="ignore"):
        for t in reversed(order):
            if t.rule is None or id(t) not in grads:
                continue  # a leaf keeps its gradient
            for arg, grad in zip(t.args, t.rule(grads.pop(id(t)), t.value, *raw(t.args))):
                for tensor, each in (zip(arg, grad) if isinstance(arg, list) else [(arg, grad)]):
                    if isinstance(tensor, Tensor) and tensor.needs and each is not None:
                        each = _sum_to(np.asarray(each), tensor.shape).astype(tensor.dtype)
                        grads[id(tensor)] = grads[id(tensor)] + each if id(tensor) in grads else each
    return [grads.get(id(t), np.zeros_like(t.value)) for t in wrt]


def _sum_to(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``g`` summed over the axes that broadcasting added or stretched to reach it from ``shape``."""
    g = g.sum(tuple(range(g.ndim - len(shape)))) if g.ndim > len(shape) else g
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return (g.sum(stretched, keepdims=True) if stretched else g).reshape(shape)


class AutodiffTable(ops.Table):
    """dlcore.ops on :class:`Tensor`: numpy's forward, :data:`RULES` backward."""

    name = "numpy_autodiff"

    def owns(self, value: Any) -> bool:
        return isinstance(value, Tensor)

    def convert(self, value: Any, dtype: str | None = None) -> Tensor:
        return Tensor(NUMPY.convert(raw(value), dtype))

    def leaf(self, value: Any) -> Tensor:
        """A tensor that gradients flow to."""
        return Tensor(np.asarray(raw(value)), needs=np.asarray(raw(value)).dtype.kind == "f")

    def gradients(self, function: Callable[..., Any], arrays: list[Any]) -> list[Tensor]:
        """The gradients of the scalar ``function(*arrays)`` by each array."""
        leaves = [self.leaf(a) for a in arrays]
        with ops.using(self):
            out = function(*leaves)
        return [Tensor(g) for g in backward(out, leaves)] if isinstance(out, Tensor) else [
            Tensor(np.zeros_like(t.value)) for t in leaves]


for _name in (*ops.NAMES, *OPERATORS):
    if _name != "convert":
        setattr(AutodiffTable, _name, _op(_name))
del _name, _dunder

TABLE = AutodiffTable()
ops.register_table(TABLE)

__all__ = ["RULES", "TABLE", "AutodiffTable", "Tensor", "backward"]
