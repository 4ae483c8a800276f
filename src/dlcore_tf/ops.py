"""TensorFlow's table of :mod:`dlcore.ops`: numpy's meaning on TensorFlow's own operations
(registered when this module is imported). Images are (N, C, H, W) as everywhere in dlcore;
convolutions and pools run channels last inside (TensorFlow's CPU kernels take no other
layout). While a step is traced, each operation's graph nodes are under the name scope
``ops.<name>``, so that an error raised when the step runs names the operation (:mod:`.written`)."""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from dlcore import ops
from dlcore.ops import NAMES, Table

from .framework import import_tensorflow

tf = import_tensorflow()

OWNED = (tf.__internal__.types.Tensor, tf.Variable, tf.IndexedSlices)  # the first: tensors and Keras' variables
NHWC, NCHW = (0, 2, 3, 1), (0, 3, 1, 2)
SCOPE = "ops."


def _tensor(value: Any) -> bool:
    return isinstance(value, OWNED)


def _as(value: Any, like: Any) -> Any:
    """``value`` as a tensor: a Python or numpy number or array meeting the tensor ``like`` takes
    its dtype; alone, Python floats become float32 and ints int64 (as ``convert``)."""
    if _tensor(value):
        return tf.convert_to_tensor(value)
    if like is not None:
        return tf.convert_to_tensor(value, tf.as_dtype(like.dtype))
    return TensorFlowTable.convert(value)


def _promoted(x: Any, *values: Any) -> Any:
    """``x`` as a tensor, float64 if it is an integer one meeting a Python float (numpy's rule)."""
    x = tf.convert_to_tensor(x)
    if x.dtype.is_integer and any(isinstance(v, float) for v in values):
        return tf.cast(x, tf.float64)
    return x


def _pair(x: Any, y: Any) -> tuple[Any, Any]:
    x, y = (_promoted(x, y) if _tensor(x) else x), (_promoted(y, x) if _tensor(y) else y)
    x_like, y_like = (x if _tensor(x) else None), (y if _tensor(y) else None)
    return _as(x, y_like), _as(y, x_like)


def _floating(x: Any) -> Any:
    """``x`` as a float tensor: integers become float64, as numpy computes them."""
    x = tf.convert_to_tensor(x)
    return x if x.dtype.is_floating else tf.cast(x, tf.float64)


def _of_floats(op: Callable[..., Any]) -> Callable[..., Any]:
    """A function defined on floats, given integers as float64 (numpy's meaning)."""
    return lambda x, *args: op(_floating(x), *args)


def _axes(axis: Any) -> Any:
    return list(axis) if isinstance(axis, (tuple, list)) else axis


def _seed(seed: Any) -> Any:
    """A stateless generator's seed: (seed, counter) as an int64 pair (an int: (seed, 0))."""
    if isinstance(seed, (int, np.integer)):
        return tf.constant([int(seed), 0], tf.int64)
    if isinstance(seed, (tuple, list)):
        return tf.stack([tf.cast(s, tf.int64) for s in seed])
    seed = tf.cast(seed, tf.int64)
    return tf.stack([tf.reshape(seed, []), tf.constant(0, tf.int64)]) if seed.shape.num_elements() == 1 else seed


def _wrap(x: Any, indices: Any, axis: int) -> Any:
    """Negative indices counted from the end of ``axis`` (numpy's meaning; TensorFlow's gather
    refuses them on CPU and gives zeros on GPU)."""
    indices = _as(indices, None)
    return tf.where(indices < 0, indices + tf.cast(tf.shape(x)[axis], indices.dtype), indices)


def _scoped(name: str, op: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(op)
    def scoped(*args: Any, **kwargs: Any) -> Any:
        if tf.executing_eagerly():
            return op(*args, **kwargs)
        with tf.name_scope(SCOPE + name):
            return op(*args, **kwargs)
    return scoped


class TensorFlowTable(Table):
    name = "tensorflow"

    def owns(self, value: Any) -> bool:
        return isinstance(value, OWNED)

    # -- creation

    def zeros(self, shape: Any, dtype: str) -> Any:
        return tf.zeros(shape, dtype)

    def ones(self, shape: Any, dtype: str) -> Any:
        return tf.ones(shape, dtype)

    def full(self, shape: Any, value: Any, dtype: str) -> Any:
        return tf.fill(shape, tf.cast(value, dtype))

    def zeros_like(self, x: Any, dtype: str | None = None) -> Any:
        return tf.zeros_like(x, dtype)

    def ones_like(self, x: Any, dtype: str | None = None) -> Any:
        return tf.ones_like(x, dtype)

    def arange(self, start: Any, stop: Any, step: Any, dtype: str) -> Any:
        return tf.range(start, stop, step, dtype) if stop is not None else tf.range(start, dtype=dtype)

    @staticmethod
    def convert(value: Any, dtype: str | None = None) -> Any:
        """Numpy arrays keep their dtype, Python floats become float32 and ints int64."""
        if _tensor(value):
            value = tf.convert_to_tensor(value)
            return value if dtype is None else tf.cast(value, dtype)
        if dtype is None and not isinstance(value, (np.ndarray, np.generic)):
            found = np.asarray(value)
            dtype = {"f": "float32", "i": "int64"}.get(found.dtype.kind)
            value = found
        return tf.convert_to_tensor(value, dtype)

    def cast(self, x: Any, dtype: str) -> Any:
        return tf.cast(x, dtype)

    def dtype(self, x: Any) -> str:
        return str(tf.as_dtype(x.dtype).name)

    def shape(self, x: Any) -> tuple[Any, ...]:
        """Ints where TensorFlow knows them; else the scalar tensor of the size when the step runs."""
        static = x.shape
        if static.rank is None:
            raise ValueError("the tensor's rank is unknown while the step is traced")
        dynamic = None
        sizes = []
        for i, n in enumerate(static.as_list()):
            if n is None:
                dynamic = tf.shape(x) if dynamic is None else dynamic
                sizes.append(dynamic[i])
            else:
                sizes.append(n)
        return tuple(sizes)

    # -- elementwise

    abs = staticmethod(tf.abs)
    square = staticmethod(tf.square)
    sign = staticmethod(tf.sign)
    relu = staticmethod(tf.nn.relu)
    exp, log, log1p, sqrt, rsqrt, sin, cos, tanh, erf, sigmoid, silu, softplus, elu = (
        staticmethod(_of_floats(f)) for f in (tf.exp, tf.math.log, tf.math.log1p, tf.sqrt, tf.math.rsqrt, tf.sin,
                                              tf.cos, tf.tanh, tf.math.erf, tf.sigmoid, tf.nn.silu, tf.nn.softplus,
                                              tf.nn.elu))

    def floor(self, x: Any) -> Any:
        x = tf.convert_to_tensor(x)
        return tf.floor(x) if x.dtype.is_floating else x

    def gelu(self, x: Any, approximate: bool = False) -> Any:
        return tf.nn.gelu(_floating(x), approximate=bool(approximate))

    def leaky_relu(self, x: Any, negative_slope: float = 0.01) -> Any:
        x = tf.convert_to_tensor(x)
        return tf.where(x >= 0, x, x * tf.cast(negative_slope, x.dtype))  # numpy's table: the slope in x's dtype

    def maximum(self, x: Any, y: Any) -> Any:
        return tf.maximum(*_pair(x, y))

    def minimum(self, x: Any, y: Any) -> Any:
        return tf.minimum(*_pair(x, y))

    def power(self, x: Any, y: Any) -> Any:
        return tf.pow(*_pair(x, y))

    def clip(self, x: Any, low: Any, high: Any) -> Any:
        x = _promoted(x, low, high)
        if low is not None:
            x = tf.maximum(x, _as(low, x))
        if high is not None:
            x = tf.minimum(x, _as(high, x))
        return x

    def where(self, condition: Any, x: Any, y: Any) -> Any:
        x, y = _pair(x, y)
        return tf.where(tf.cast(condition, tf.bool), x, y)

    def isfinite(self, x: Any) -> Any:
        x = tf.convert_to_tensor(x)
        return tf.math.is_finite(x) if x.dtype.is_floating else tf.ones_like(x, tf.bool)

    # -- reductions (an integer mean, var or std is float64, as numpy's)

    def sum(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return tf.reduce_sum(x, _axes(axis), keepdims)

    def mean(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return tf.reduce_mean(_floating(x), _axes(axis), keepdims)

    def max(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return tf.reduce_max(x, _axes(axis), keepdims)

    def min(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return tf.reduce_min(x, _axes(axis), keepdims)

    def var(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return tf.math.reduce_variance(_floating(x), _axes(axis), keepdims)

    def std(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return tf.math.reduce_std(_floating(x), _axes(axis), keepdims)

    def logsumexp(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return tf.reduce_logsumexp(_floating(x), _axes(axis), keepdims)

    def argmax(self, x: Any, axis: int = -1) -> Any:
        return tf.argmax(x, axis, output_type=tf.int64)

    def argmin(self, x: Any, axis: int = -1) -> Any:
        return tf.argmin(x, axis, output_type=tf.int64)

    def cumsum(self, x: Any, axis: int = -1) -> Any:
        return tf.cumsum(x, axis)

    def top_k(self, x: Any, k: int) -> tuple[Any, Any]:
        values, indices = tf.math.top_k(x, k, sorted=True)  # ties: the lower index first, as a stable sort
        return values, tf.cast(indices, tf.int64)

    # -- linear algebra

    def matmul(self, x: Any, y: Any) -> Any:
        x, y = _pair(x, y)
        if x.shape.rank == 1 and y.shape.rank == 1:
            return tf.tensordot(x, y, 1)
        if x.shape.rank == 1:
            return tf.squeeze(tf.matmul(x[None], y), -2)
        if y.shape.rank == 1:
            return tf.squeeze(tf.matmul(x, y[:, None]), -1)
        return tf.matmul(x, y)

    def einsum(self, subscripts: str, *operands: Any) -> Any:
        return tf.einsum(subscripts, *operands)

    def transpose(self, x: Any, axes: Any = None) -> Any:
        return tf.transpose(x, None if axes is None else list(axes))

    # -- shapes and indexing

    def reshape(self, x: Any, shape: Any) -> Any:
        return tf.reshape(x, list(shape))

    def expand_dims(self, x: Any, axis: int) -> Any:
        return tf.expand_dims(x, axis)

    def squeeze(self, x: Any, axis: Any = None) -> Any:
        return tf.squeeze(x, _axes(axis))

    def concatenate(self, xs: list[Any], axis: int = 0) -> Any:
        like = next((x for x in xs if _tensor(x)), None)
        return tf.concat([_as(x, like) for x in xs], axis)

    def stack(self, xs: list[Any], axis: int = 0) -> Any:
        like = next((x for x in xs if _tensor(x)), None)
        return tf.stack([_as(x, like) for x in xs], axis)

    def take(self, x: Any, indices: Any, axis: int = 0) -> Any:
        return tf.gather(x, _wrap(x, indices, axis), axis=axis)

    def take_along_axis(self, x: Any, indices: Any, axis: int) -> Any:
        x = tf.convert_to_tensor(x)
        rank = x.shape.rank
        axis = axis % rank
        indices = _wrap(x, indices, axis)
        last = list(range(rank))
        last[axis], last[-1] = last[-1], last[axis]  # gather along the last axis, batched over the others
        moved_x, moved_i = tf.transpose(x, last), tf.transpose(indices, last)
        target = tf.concat([tf.shape(moved_i)[:-1], tf.shape(moved_x)[-1:]], 0)
        gathered = tf.gather(tf.broadcast_to(moved_x, target), moved_i, batch_dims=rank - 1)
        return tf.transpose(gathered, last)

    def pad(self, x: Any, widths: Any, value: float = 0.0) -> Any:
        x = tf.convert_to_tensor(x)
        return tf.pad(x, [list(w) for w in widths], constant_values=tf.cast(value, x.dtype))  # numpy's: 1.5 -> 1

    def broadcast_to(self, x: Any, shape: Any) -> Any:
        return tf.broadcast_to(x, list(shape))

    # -- neural networks

    def one_hot(self, labels: Any, classes: int, dtype: str = "float32") -> Any:
        return tf.one_hot(labels, classes, dtype=dtype)

    def softmax(self, x: Any, axis: int = -1) -> Any:
        return tf.nn.softmax(_floating(x), axis)

    def log_softmax(self, x: Any, axis: int = -1) -> Any:
        return tf.nn.log_softmax(_floating(x), axis)

    def conv2d(self, x: Any, weight: Any, stride: tuple[int, int], pads: Any) -> Any:
        (top, bottom), (left, right) = pads
        padding = [[0, 0], [top, bottom], [left, right], [0, 0]] if top + bottom + left + right else "VALID"
        y = tf.nn.conv2d(tf.transpose(x, NHWC), tf.transpose(weight, (2, 3, 1, 0)), (1, *stride, 1), padding)
        return tf.transpose(y, NCHW)

    def max_pool2d(self, x: Any, size: tuple[int, int], stride: tuple[int, int]) -> Any:
        return tf.transpose(tf.nn.max_pool2d(tf.transpose(x, NHWC), size, stride, "VALID"), NCHW)

    def avg_pool2d(self, x: Any, size: tuple[int, int], stride: tuple[int, int]) -> Any:
        return tf.transpose(tf.nn.avg_pool2d(tf.transpose(_floating(x), NHWC), size, stride, "VALID"), NCHW)

    def stop_gradient(self, x: Any) -> Any:
        return tf.stop_gradient(x)

    def gradients(self, function: Any, arrays: list[Any]) -> list[Any]:
        """The gradients of the scalar ``function(*arrays)`` by each array (a GradientTape;
        zeros where the result does not depend on one)."""
        tensors = [tf.convert_to_tensor(a) for a in arrays]
        with tf.GradientTape() as tape:
            for tensor in tensors:
                tape.watch(tensor)
            value = function(*tensors)
        return tape.gradient(value, tensors, unconnected_gradients=tf.UnconnectedGradients.ZERO)

    # -- random draws

    def random_uniform(self, shape: Any, seed: Any, low: float, high: float, dtype: str) -> Any:
        return tf.random.stateless_uniform(list(shape), _seed(seed), low, high, dtype)

    def random_normal(self, shape: Any, seed: Any, dtype: str) -> Any:
        return tf.random.stateless_normal(list(shape), _seed(seed), dtype=dtype)


for _name in NAMES:
    _op = TensorFlowTable.__dict__[_name]
    setattr(TensorFlowTable, _name, staticmethod(_scoped(_name, _op.__func__)) if isinstance(_op, staticmethod)
            else _scoped(_name, _op))

TABLE = TensorFlowTable()
ops.register_table(TABLE)
