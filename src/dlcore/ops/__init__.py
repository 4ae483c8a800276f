"""``dlcore.ops``: one set of array operations for every backend, as ``keras.ops``.

Code written on these functions (a layer's ``call``, a loss, a metric, an optimizer's update)
runs unchanged on torch, TensorFlow, JAX and numpy: each function hands its arrays to the table
of operations of the framework they belong to (a torch tensor to torch's, a TensorFlow tensor or
variable to TensorFlow's, a JAX array or tracer to JAX's, a numpy array to numpy's), found from
its arguments. Functions that take no array (``zeros``, ``random_uniform``, ...) use ``like=``
when given, else the table of the backend running the code (set by dlcore while it calls a
layer, a loss or a metric), else numpy. Gradients are each framework's own; under TensorFlow
and JAX the operations are traced into the compiled step, so they cost nothing per step.

Rules, the same on every backend (numpy's table, in float64, is the reference):
- Shapes are the canonical ones: images are (N, channels, height, width), a convolution's
  weight (out, in, kh, kw); a backend that computes in another layout transposes inside.
- dtypes are names ("float32", "bfloat16", "int64", "bool", ...). An operation keeps its
  inputs' dtype, except ``sum`` and ``cumsum`` of booleans or integers (int64; JAX: its default
  integer, int32 unless x64 is on) and ``mean``, ``var``, ``std`` of them (float32); Python
  numbers take the dtype of the array they meet. Arrays of two float
  dtypes are not promoted: ``cast`` one first (TensorFlow refuses them, numpy's checker names
  them).
- ``axis`` is an int, a tuple of ints or None (all axes); negative axes count from the end.
- Operators work on every backend's arrays: ``+ - * / ** @``, comparisons, ``&``, ``|``, ``~``,
  and indexing with ints and slices (``x.T`` does not: TensorFlow's tensors lack it; use
  ``ops.transpose``).
- Random draws are functions of an explicit ``seed`` (an int, or a pair (seed, counter)): the
  same seed gives the same values on a backend, not the same values across backends.

An operation that fails raises :class:`OpsError` naming the operation and the backend.

>>> import numpy as np
>>> from dlcore import ops
>>> x = np.array([[1.0, 2.0, 3.0]], np.float32)
>>> ops.softmax(x - ops.max(x, axis=-1, keepdims=True)).round(3)
array([[0.09 , 0.245, 0.665]], dtype=float32)
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Iterator, Sequence

from .numpy_table import NumpyTable
from .table import OpsError, Table

Array = Any


_TABLES: list[Table] = [NumpyTable()]
_BY_TYPE: dict[type, Table] = {}
_CURRENT: contextvars.ContextVar[Table | None] = contextvars.ContextVar("dlcore_ops_table", default=None)


def register_table(table: Table) -> None:
    """Make ``table`` the operations of the arrays it owns (a backend does this when it loads).

    Example::

        register_table(MyTable())  # in the module of a backend's table, imported when the backend loads
    """
    _TABLES[:] = [t for t in _TABLES if t.name != table.name] + [table]
    for kind, owner in list(_BY_TYPE.items()):
        if owner.name == table.name:
            _BY_TYPE[kind] = table


def tables() -> dict[str, Table]:
    """The tables registered in this process, by backend name.

    >>> sorted(ops.tables())[:1]
    ['numpy']
    """
    return {table.name: table for table in _TABLES}


@contextlib.contextmanager
def using(table: Table) -> Iterator[Table]:
    """Run a block with ``table`` as the operations of functions given no array (a backend
    calls a user's layer or loss inside it).

    >>> with ops.using(ops.tables()["numpy"]):
    ...     ops.zeros((2,))
    array([0., 0.], dtype=float32)
    """
    token = _CURRENT.set(table)
    try:
        yield table
    finally:
        _CURRENT.reset(token)


def _numpy() -> Table:
    return next(table for table in _TABLES if table.name == "numpy")


def _owner(value: Any) -> Table | None:
    kind = type(value)
    table = _BY_TYPE.get(kind)
    if table is None and kind not in (int, float, bool, complex, type(None), str, tuple, list):
        table = next((t for t in reversed(_TABLES) if t.owns(value)), None)
        if table is None and kind.__module__.split(".")[0] == "numpy":
            table = _numpy()
        if table is not None:
            _BY_TYPE[kind] = table
    return table


def table_of(*values: Any, like: Any = None) -> Table:
    """The table of the first framework array among ``values`` (numpy arrays count last), else of
    ``like``, else the current backend's, else numpy's.

    >>> ops.table_of(np.zeros(2)).name
    'numpy'
    """
    numpy = None
    for value in values if like is None else (*values, like):
        table = _owner(value)
        if table is not None:
            if table.name != "numpy":
                return table
            numpy = table
    current = _CURRENT.get()
    if current is not None:
        return current
    return numpy or _numpy()


def _describe(value: Any) -> str:
    shape = getattr(value, "shape", None)
    if shape is None:
        return repr(value) if isinstance(value, (int, float, str, tuple, type(None))) else type(value).__name__
    return f"array{tuple(shape)} {getattr(value, 'dtype', '')}".rstrip()


def _run(name: str, table: Table, *args: Any, **kwargs: Any) -> Any:
    op = getattr(table, name, None)
    if op is None:
        raise OpsError(f"ops.{name} is not available on {table.name}; the tables of {', '.join(tables())} "
                       "have it where the backend implements it")
    try:
        return op(*args, **kwargs)
    except OpsError:
        raise
    except Exception as err:  # the framework's error, named by the operation
        given = ", ".join([_describe(a) for a in args] + [f"{k}={_describe(v)}" for k, v in kwargs.items()])
        raise OpsError(f"ops.{name}({given}) on {table.name}: {type(err).__name__}: {err}") from err


def _on(name: str, x: Array, *args: Any, **kwargs: Any) -> Any:
    return _run(name, table_of(x), x, *args, **kwargs)


# -- creation ----------------------------------------------------------------------------------

def zeros(shape: Sequence[int], dtype: str = "float32", like: Any = None) -> Array:
    """An array of zeros.

    >>> ops.zeros((2, 3)).shape
    (2, 3)
    """
    return _run("zeros", table_of(like=like), tuple(shape), dtype)


def ones(shape: Sequence[int], dtype: str = "float32", like: Any = None) -> Array:
    """An array of ones.

    >>> ops.ones((2,))
    array([1., 1.], dtype=float32)
    """
    return _run("ones", table_of(like=like), tuple(shape), dtype)


def full(shape: Sequence[int], value: float, dtype: str = "float32", like: Any = None) -> Array:
    """An array of ``value``.

    >>> ops.full((2,), 0.5)
    array([0.5, 0.5], dtype=float32)
    """
    return _run("full", table_of(like=like), tuple(shape), value, dtype)


def zeros_like(x: Array, dtype: str | None = None) -> Array:
    """Zeros of ``x``'s shape (and dtype, unless given).

    >>> ops.zeros_like(np.array([[1.0, -2.0], [3.0, 0.5]], np.float32))
    array([[0., 0.],
           [0., 0.]], dtype=float32)
    """
    return _on("zeros_like", x, dtype)


def ones_like(x: Array, dtype: str | None = None) -> Array:
    """Ones of ``x``'s shape (and dtype, unless given).

    >>> ops.ones_like(np.array([1, 2]))
    array([1, 1])
    """
    return _on("ones_like", x, dtype)


def arange(start: int, stop: int | None = None, step: int = 1, dtype: str = "int64", like: Any = None) -> Array:
    """``start, start + step, ...`` below ``stop`` (``arange(n)``: 0 to n - 1).

    >>> ops.arange(1, 7, 2)
    array([1, 3, 5])
    """
    return _run("arange", table_of(like=like), start, stop, step, dtype)


def convert(value: Any, dtype: str | None = None, like: Any = None) -> Array:
    """``value`` (a number, a list, a numpy array) as an array of the backend (of ``like``):
    numpy arrays keep their dtype, Python floats become float32 and ints int64.

    >>> ops.convert([1.0, 2.0])
    array([1., 2.], dtype=float32)
    """
    return _run("convert", table_of(like=like), value, dtype)


# -- dtypes and shapes -------------------------------------------------------------------------

def cast(x: Array, dtype: str) -> Array:
    """``x`` converted to ``dtype``.

    >>> ops.cast(np.array([1.7, -1.7]), 'int32')
    array([ 1, -1], dtype=int32)
    """
    return _on("cast", x, dtype)


def dtype(x: Array) -> str:
    """``x``'s dtype by name: "float32", "int64", ...

    >>> ops.dtype(np.zeros(2, np.float32))
    'float32'
    """
    return _on("dtype", x)  # type: ignore[no-any-return]


def shape(x: Array) -> tuple[Any, ...]:
    """``x``'s shape; an axis whose size is known only when the step runs (TensorFlow's batch
    axis while tracing) is a scalar tensor.

    >>> ops.shape(np.zeros((4, 3)))
    (4, 3)
    """
    return _on("shape", x)  # type: ignore[no-any-return]


def ndim(x: Array) -> int:
    """The number of axes of ``x``.

    >>> ops.ndim(np.zeros((4, 3)))
    2
    """
    return len(_on("shape", x))


# -- elementwise -------------------------------------------------------------------------------

def abs(x: Array) -> Array:  # noqa: A001
    """|x|.

    >>> ops.abs(np.array([-1.5, 2.0]))
    array([1.5, 2. ])
    """
    return _on("abs", x)


def exp(x: Array) -> Array:
    """e ** x.

    >>> ops.exp(np.array([0.0, 1.0]))
    array([1.        , 2.71828183])
    """
    return _on("exp", x)


def log(x: Array) -> Array:
    """The natural logarithm.

    >>> ops.log(np.array([1.0, np.e]))
    array([0., 1.])
    """
    return _on("log", x)


def log1p(x: Array) -> Array:
    """log(1 + x), exact for small x.

    >>> ops.log1p(np.array([0.0, 1e-10]))
    array([0.e+00, 1.e-10])
    """
    return _on("log1p", x)


def sqrt(x: Array) -> Array:
    """The square root.

    >>> ops.sqrt(np.array([4.0, 9.0]))
    array([2., 3.])
    """
    return _on("sqrt", x)


def rsqrt(x: Array) -> Array:
    """1 / sqrt(x).

    >>> ops.rsqrt(np.array([4.0, 0.25]))
    array([0.5, 2. ])
    """
    return _on("rsqrt", x)


def square(x: Array) -> Array:
    """x * x.

    >>> ops.square(np.array([-3.0, 2.0]))
    array([9., 4.])
    """
    return _on("square", x)


def sign(x: Array) -> Array:
    """-1, 0 or 1.

    >>> ops.sign(np.array([-3.0, 0.0, 2.0]))
    array([-1.,  0.,  1.])
    """
    return _on("sign", x)


def floor(x: Array) -> Array:
    """The largest integer <= x (same dtype).

    >>> ops.floor(np.array([-1.5, 1.5]))
    array([-2.,  1.])
    """
    return _on("floor", x)


def sin(x: Array) -> Array:
    """The sine.

    >>> ops.sin(np.array([0.0, np.pi / 2]))
    array([0., 1.])
    """
    return _on("sin", x)


def cos(x: Array) -> Array:
    """The cosine.

    >>> ops.cos(np.array([0.0, np.pi]))
    array([ 1., -1.])
    """
    return _on("cos", x)


def tanh(x: Array) -> Array:
    """The hyperbolic tangent.

    >>> ops.tanh(np.array([0.0, 1.0]))
    array([0.        , 0.76159416])
    """
    return _on("tanh", x)


def erf(x: Array) -> Array:
    """The error function.

    >>> ops.erf(np.array([0.0, 1.0]))
    array([0.        , 0.84270079])
    """
    return _on("erf", x)


def sigmoid(x: Array) -> Array:
    """1 / (1 + e ** -x).

    >>> ops.sigmoid(np.array([0.0, 2.0]))
    array([0.5       , 0.88079708])
    """
    return _on("sigmoid", x)


def relu(x: Array) -> Array:
    """max(x, 0).

    >>> ops.relu(np.array([-1.0, 2.0]))
    array([0., 2.])
    """
    return _on("relu", x)


def gelu(x: Array, approximate: bool = False) -> Array:
    """x * Phi(x) (``approximate``: the tanh formula).

    >>> ops.gelu(np.array([-1.0, 1.0]))
    array([-0.15865525,  0.84134475])
    """
    return _on("gelu", x, approximate)


def silu(x: Array) -> Array:
    """x * sigmoid(x).

    >>> ops.silu(np.array([-1.0, 1.0]))
    array([-0.26894142,  0.73105858])
    """
    return _on("silu", x)


def softplus(x: Array) -> Array:
    """log(1 + e ** x), without overflow.

    >>> ops.softplus(np.array([0.0, 100.0]))
    array([  0.69314718, 100.        ])
    """
    return _on("softplus", x)


def leaky_relu(x: Array, negative_slope: float = 0.01) -> Array:
    """x where x >= 0, else ``negative_slope`` * x.

    >>> ops.leaky_relu(np.array([-1.0, 2.0]), 0.1)
    array([-0.1,  2. ])
    """
    return _on("leaky_relu", x, negative_slope)


def elu(x: Array) -> Array:
    """x where x > 0, else e ** x - 1.

    >>> ops.elu(np.array([-1.0, 2.0]))
    array([-0.63212056,  2.        ])
    """
    return _on("elu", x)


def maximum(x: Array, y: Array) -> Array:
    """The larger of x and y, elementwise (broadcast).

    >>> ops.maximum(np.array([1.0, 5.0]), 3.0)
    array([3., 5.])
    """
    return _run("maximum", table_of(x, y), x, y)


def minimum(x: Array, y: Array) -> Array:
    """The smaller of x and y, elementwise (broadcast).

    >>> ops.minimum(np.array([1.0, 5.0]), 3.0)
    array([1., 3.])
    """
    return _run("minimum", table_of(x, y), x, y)


def power(x: Array, y: Array | float) -> Array:
    """x ** y.

    >>> ops.power(np.array([2.0, 3.0]), 2.0)
    array([4., 9.])
    """
    return _run("power", table_of(x, y), x, y)


def clip(x: Array, low: float | None, high: float | None) -> Array:
    """x limited to [low, high] (None: no limit on that side).

    >>> ops.clip(np.array([-2.0, 0.5, 2.0]), -1.0, 1.0)
    array([-1. ,  0.5,  1. ])
    """
    return _on("clip", x, low, high)


def where(condition: Array, x: Array | float, y: Array | float) -> Array:
    """x where ``condition`` holds, else y (broadcast).

    >>> ops.where(np.array([True, False]), 1.0, -1.0)
    array([ 1., -1.])
    """
    if isinstance(x, (int, float)) and isinstance(y, (int, float)) and isinstance(x, float) | isinstance(y, float):
        x = convert(float(x), "float32", like=condition)  # two Python numbers: float32, as on every backend
    return _run("where", table_of(x, y, condition), condition, x, y)


def isfinite(x: Array) -> Array:
    """Whether each value is neither infinite nor NaN.

    >>> ops.isfinite(np.array([1.0, np.inf, np.nan]))
    array([ True, False, False])
    """
    return _on("isfinite", x)


# -- reductions --------------------------------------------------------------------------------

def sum(x: Array, axis: Any = None, keepdims: bool = False) -> Array:  # noqa: A001
    """The sum over ``axis``.

    >>> ops.sum(np.array([[1.0, -2.0], [3.0, 0.5]], np.float32), axis=0)
    array([ 4. , -1.5], dtype=float32)
    """
    return _on("sum", _counted(x), axis, keepdims)


def mean(x: Array, axis: Any = None, keepdims: bool = False) -> Array:
    """The mean over ``axis``.

    >>> ops.mean(np.array([[1.0, -2.0], [3.0, 0.5]], np.float32), axis=1, keepdims=True)
    array([[-0.5 ],
           [ 1.75]], dtype=float32)
    """
    return _on("mean", _averaged(x), axis, keepdims)


def max(x: Array, axis: Any = None, keepdims: bool = False) -> Array:  # noqa: A001
    """The maximum over ``axis``.

    >>> ops.max(np.array([[1.0, -2.0], [3.0, 0.5]], np.float32))
    np.float32(3.0)
    """
    return _on("max", x, axis, keepdims)


def min(x: Array, axis: Any = None, keepdims: bool = False) -> Array:  # noqa: A001
    """The minimum over ``axis``.

    >>> ops.min(np.array([[1.0, -2.0], [3.0, 0.5]], np.float32), axis=-1)
    array([-2. ,  0.5], dtype=float32)
    """
    return _on("min", x, axis, keepdims)


def var(x: Array, axis: Any = None, keepdims: bool = False) -> Array:
    """The (biased) variance over ``axis``: mean((x - mean(x)) ** 2).

    >>> ops.var(np.array([1.0, 2.0, 3.0, 4.0]))
    np.float64(1.25)
    """
    return _on("var", _averaged(x), axis, keepdims)


def std(x: Array, axis: Any = None, keepdims: bool = False) -> Array:
    """sqrt(var(x)).

    >>> ops.std(np.array([1.0, 3.0]))
    np.float64(1.0)
    """
    return _on("std", _averaged(x), axis, keepdims)


def logsumexp(x: Array, axis: Any = None, keepdims: bool = False) -> Array:
    """log(sum(exp(x))) over ``axis``, without overflow.

    >>> ops.logsumexp(np.array([1000.0, 1000.0]))
    array(1000.69314718)
    """
    return _on("logsumexp", x, axis, keepdims)


def argmax(x: Array, axis: int = -1) -> Array:
    """The index (int64) of the largest value along ``axis``; the first one on ties.

    >>> ops.argmax(np.array([[1.0, -2.0], [3.0, 0.5]], np.float32), axis=1)
    array([0, 0])
    """
    return _on("argmax", x, axis)


def argmin(x: Array, axis: int = -1) -> Array:
    """The index (int64) of the smallest value along ``axis``; the first one on ties.

    >>> ops.argmin(np.array([[1.0, -2.0], [3.0, 0.5]], np.float32), axis=0)
    array([0, 0])
    """
    return _on("argmin", x, axis)


def cumsum(x: Array, axis: int = -1) -> Array:
    """Running sums along ``axis``.

    >>> ops.cumsum(np.array([1.0, 2.0, 3.0]))
    array([1., 3., 6.])
    """
    return _on("cumsum", _counted(x), axis)


def top_k(x: Array, k: int) -> tuple[Array, Array]:
    """The ``k`` largest values along the last axis, largest first, and their indices (int64).

    >>> ops.top_k(np.array([[0.1, 0.7, 0.2]]), 2)
    (array([[0.7, 0.2]]), array([[1, 2]]))
    """
    return _on("top_k", x, k)  # type: ignore[no-any-return]


# -- linear algebra ----------------------------------------------------------------------------

def matmul(x: Array, y: Array) -> Array:
    """The matrix product (batched over leading axes, as ``@``).

    >>> ops.matmul(np.eye(2), np.array([[1.0], [2.0]]))
    array([[1.],
           [2.]])
    """
    return _run("matmul", table_of(x, y), x, y)


def einsum(subscripts: str, *operands: Array) -> Array:
    """Einstein summation, as numpy's ``einsum`` (explicit ``->`` output).

    >>> ops.einsum('ij,j->i', np.eye(2), np.array([1.0, 2.0]))
    array([1., 2.])
    """
    return _run("einsum", table_of(*operands), subscripts, *operands)


def transpose(x: Array, axes: Sequence[int] | None = None) -> Array:
    """``x`` with its axes in the order ``axes`` (None: reversed).

    >>> ops.transpose(np.zeros((2, 3, 4)), (2, 0, 1)).shape
    (4, 2, 3)
    """
    return _on("transpose", x, None if axes is None else tuple(axes))


# -- shapes and indexing -----------------------------------------------------------------------

def reshape(x: Array, shape: Sequence[Any]) -> Array:
    """``x`` in a new shape of as many values (one axis may be -1).

    >>> ops.reshape(np.arange(6), (2, -1))
    array([[0, 1, 2],
           [3, 4, 5]])
    """
    return _on("reshape", x, tuple(shape))


def expand_dims(x: Array, axis: int) -> Array:
    """``x`` with an axis of size 1 inserted at ``axis``.

    >>> ops.expand_dims(np.zeros((2, 3)), 0).shape
    (1, 2, 3)
    """
    return _on("expand_dims", x, axis)


def squeeze(x: Array, axis: Any = None) -> Array:
    """``x`` without its axes of size 1 (or only ``axis``).

    >>> ops.squeeze(np.zeros((2, 1, 3))).shape
    (2, 3)
    """
    return _on("squeeze", x, axis)


def concatenate(xs: Sequence[Array], axis: int = 0) -> Array:
    """Arrays joined along an existing axis.

    >>> ops.concatenate([np.zeros((2, 1)), np.ones((2, 2))], axis=1).shape
    (2, 3)
    """
    return _run("concatenate", table_of(*xs), list(xs), axis)


def stack(xs: Sequence[Array], axis: int = 0) -> Array:
    """Arrays of one shape joined along a new axis.

    >>> ops.stack([np.zeros(3), np.ones(3)]).shape
    (2, 3)
    """
    return _run("stack", table_of(*xs), list(xs), axis)


def take(x: Array, indices: Array, axis: int = 0) -> Array:
    """The entries of ``x`` at integer ``indices`` along ``axis`` (an embedding's rows).

    >>> ops.take(np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]), np.array([2, 0]))
    array([[4., 5.],
           [0., 1.]])
    """
    return _run("take", table_of(x, indices), x, indices, axis)


def take_along_axis(x: Array, indices: Array, axis: int) -> Array:
    """``x``'s values at ``indices`` (of ``x``'s rank) along ``axis``.

    >>> ops.take_along_axis(np.array([[1.0, 9.0], [7.0, 3.0]]), np.array([[1], [0]]), 1)
    array([[9.],
           [7.]])
    """
    return _run("take_along_axis", table_of(x, indices), x, indices, axis)


def pad(x: Array, widths: Sequence[tuple[int, int]], value: float = 0.0) -> Array:
    """``x`` with ``value`` added (before, after) each axis.

    >>> ops.pad(np.ones((1, 2)), [(0, 0), (1, 1)])
    array([[0., 1., 1., 0.]])
    """
    return _on("pad", x, tuple((int(a), int(b)) for a, b in widths), value)


def broadcast_to(x: Array, shape: Sequence[Any]) -> Array:
    """``x`` repeated along axes of size 1 to ``shape``.

    >>> ops.broadcast_to(np.array([1.0, 2.0]), (2, 2))
    array([[1., 2.],
           [1., 2.]])
    """
    return _on("broadcast_to", x, tuple(shape))


# -- neural networks ---------------------------------------------------------------------------

def one_hot(labels: Array, classes: int, dtype: str = "float32") -> Array:
    """Rows of ``classes`` values, 1 at each integer label; an axis is added last.

    >>> ops.one_hot(np.array([2, 0]), 3)
    array([[0., 0., 1.],
           [1., 0., 0.]], dtype=float32)
    """
    return _on("one_hot", labels, int(classes), dtype)


def softmax(x: Array, axis: int = -1) -> Array:
    """exp(x) / sum(exp(x)) along ``axis``, without overflow.

    >>> ops.softmax(np.array([0.0, np.log(3.0)]))
    array([0.25, 0.75])
    """
    return _on("softmax", x, axis)


def log_softmax(x: Array, axis: int = -1) -> Array:
    """x - logsumexp(x) along ``axis``.

    >>> ops.log_softmax(np.array([0.0, 0.0]))
    array([-0.69314718, -0.69314718])
    """
    return _on("log_softmax", x, axis)


def conv2d(x: Array, weight: Array, stride: int | tuple[int, int] = 1,
           padding: int | str | tuple[tuple[int, int], tuple[int, int]] = 0) -> Array:
    """A 2-D convolution (cross-correlation, as every framework's) of images (N, C, H, W) with
    ``weight`` (out, C, kh, kw) -> (N, out, H', W'); ``padding``: zeros on each side (an int),
    ((top, bottom), (left, right)), "valid" or "same" (stride 1).

    >>> ops.conv2d(np.ones((1, 3, 8, 8)), np.ones((4, 3, 3, 3)), padding='same').shape
    (1, 4, 8, 8)
    """
    return _run("conv2d", table_of(x, weight), x, weight, _pair(stride), _pads(padding, weight))


def max_pool2d(x: Array, size: int | tuple[int, int], stride: int | tuple[int, int] | None = None) -> Array:
    """The maximum over windows of (N, C, H, W) images (no padding; stride: the size).

    >>> ops.max_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2)
    array([[[[ 5.,  7.],
             [13., 15.]]]])
    """
    return _on("max_pool2d", x, _pair(size), _pair(size if stride is None else stride))


def avg_pool2d(x: Array, size: int | tuple[int, int], stride: int | tuple[int, int] | None = None) -> Array:
    """The mean over windows of (N, C, H, W) images (no padding; stride: the size).

    >>> ops.avg_pool2d(np.ones((1, 2, 6, 6)), 3).shape
    (1, 2, 2, 2)
    """
    return _on("avg_pool2d", x, _pair(size), _pair(size if stride is None else stride))


def stop_gradient(x: Array) -> Array:
    """``x``, through which no gradient flows.

    >>> ops.stop_gradient(np.array([1.0]))
    array([1.])
    """
    return _on("stop_gradient", x)


# -- random draws ------------------------------------------------------------------------------

def random_uniform(shape: Sequence[Any], seed: Any, low: float = 0.0, high: float = 1.0, dtype: str = "float32",
                   like: Any = None) -> Array:
    """Values drawn uniformly from [low, high), a function of ``seed`` (an int or (seed, counter)).

    >>> ops.random_uniform((3,), seed=(7, 0)).shape
    (3,)
    """
    return _run("random_uniform", table_of(seed, like=like), tuple(shape), seed, low, high, dtype)


def random_normal(shape: Sequence[Any], seed: Any, dtype: str = "float32", like: Any = None) -> Array:
    """Values drawn from N(0, 1), a function of ``seed`` (an int or (seed, counter)).

    >>> ops.random_normal((2, 2), seed=7).dtype
    dtype('float32')
    """
    return _run("random_normal", table_of(seed, like=like), tuple(shape), seed, dtype)


def _counted(x: Array) -> Array:
    """Booleans and integers summed as int64 (JAX: its default integer), on every backend."""
    kind = dtype(x)
    return cast(x, "int64") if kind == "bool" or (kind.startswith(("int", "uint")) and kind != "int64") else x


def _averaged(x: Array) -> Array:
    """Booleans and integers averaged as float32, on every backend."""
    return x if dtype(x).startswith(("float", "bfloat")) else cast(x, "float32")


def _pair(value: Any) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    return int(pair[0]), int(pair[1])


def _pads(padding: Any, weight: Array) -> tuple[tuple[int, int], tuple[int, int]]:
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding == "same":
        kh, kw = (int(n) for n in shape(weight)[2:])
        return ((kh - 1) // 2, kh - 1 - (kh - 1) // 2), ((kw - 1) // 2, kw - 1 - (kw - 1) // 2)
    if isinstance(padding, int):
        return (padding, padding), (padding, padding)
    (top, bottom), (left, right) = padding
    return (int(top), int(bottom)), (int(left), int(right))


NAMES = ("zeros", "ones", "full", "zeros_like", "ones_like", "arange", "convert", "cast", "dtype", "shape", "abs",
         "exp", "log", "log1p", "sqrt", "rsqrt", "square", "sign", "floor", "sin", "cos", "tanh", "erf", "sigmoid",
         "relu", "gelu", "silu", "softplus", "leaky_relu", "elu", "maximum", "minimum", "power", "clip", "where",
         "isfinite", "sum", "mean", "max", "min", "var", "std", "logsumexp", "argmax", "argmin", "cumsum", "top_k",
         "matmul", "einsum", "transpose", "reshape", "expand_dims", "squeeze", "concatenate", "stack", "take",
         "take_along_axis", "pad", "broadcast_to", "one_hot", "softmax", "log_softmax", "conv2d", "max_pool2d",
         "avg_pool2d", "stop_gradient", "random_uniform", "random_normal")
"""The operations a backend's :class:`Table` implements (``ndim`` is derived from ``shape``)."""

__all__ = ["NAMES", "OpsError", "Table", "abs", "arange", "argmax", "argmin", "avg_pool2d", "broadcast_to", "cast",
           "clip", "concatenate", "conv2d", "convert", "cos", "cumsum", "dtype", "einsum", "elu", "erf", "exp",
           "expand_dims", "floor", "full", "gelu", "isfinite", "leaky_relu", "log", "log1p", "log_softmax",
           "logsumexp", "matmul", "max", "max_pool2d", "maximum", "mean", "min", "minimum", "ndim", "one_hot", "ones",
           "ones_like", "pad", "power", "random_normal", "random_uniform", "register_table", "relu", "reshape",
           "rsqrt", "shape", "sigmoid", "sign", "silu", "sin", "softmax", "softplus", "sqrt", "square", "squeeze",
           "stack", "std", "stop_gradient", "sum", "table_of", "tables", "take", "take_along_axis", "tanh", "top_k",
           "transpose", "using", "var", "where", "zeros", "zeros_like"]
