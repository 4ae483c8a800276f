"""The numpy test backend (tests/numpy_backend) as a backend built on dlcore.ops alone: its table
with reverse-mode autodiff (each rule against central finite differences in float64), and
dlcore's CNN trained through ops with no layer code of its own."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import NUMPY_BACKEND, numpy_backend
from dlcore import Trainer, models, ops
from dlcore.testing import data

sys.path.insert(0, str(NUMPY_BACKEND))
import dlcore_numpy_autodiff as autodiff  # noqa: E402

TABLE = autodiff.TABLE
RNG = np.random.default_rng(0)


def _x(*shape: int, low: float = -2.0, high: float = 2.0) -> np.ndarray:
    return RNG.uniform(low, high, shape)


def _distinct(*shape: int) -> np.ndarray:
    """Values at least 0.05 apart (max, min, pools and sorting have no ties within a step)."""
    return (RNG.permutation(int(np.prod(shape))) * 0.05 - 1).reshape(shape)


# name -> (function of the arrays, written on ops, the arrays in float64)
CASES = {
    "abs": (ops.abs, [_x(3, 4)]), "exp": (ops.exp, [_x(3, 4)]), "log": (ops.log, [_x(3, 4, low=0.5)]),
    "log1p": (ops.log1p, [_x(3, 4, low=0.1)]), "sqrt": (ops.sqrt, [_x(3, 4, low=0.5)]),
    "rsqrt": (ops.rsqrt, [_x(3, 4, low=0.5)]), "square": (ops.square, [_x(3, 4)]), "sin": (ops.sin, [_x(5)]),
    "cos": (ops.cos, [_x(5)]), "tanh": (ops.tanh, [_x(5)]), "erf": (ops.erf, [_x(5)]),
    "sigmoid": (ops.sigmoid, [_x(5)]), "relu": (ops.relu, [_x(6)]), "gelu": (ops.gelu, [_x(6)]),
    "gelu approximate": (lambda x: ops.gelu(x, approximate=True), [_x(6)]), "silu": (ops.silu, [_x(6)]),
    "softplus": (ops.softplus, [_x(6)]), "leaky_relu": (lambda x: ops.leaky_relu(x, 0.1), [_x(6)]),
    "elu": (ops.elu, [_x(6)]), "maximum": (ops.maximum, [_x(3, 4), _x(4)]), "minimum": (ops.minimum, [_x(3, 4), _x(3, 1)]),
    "power": (ops.power, [_x(3, 4, low=0.5), _x(3, 4)]), "clip": (lambda x: ops.clip(x, -1.0, 1.0), [_x(8)]),
    "where": (lambda a, b: ops.where(a > b, a, b * 2), [_x(3, 4), _x(3, 4)]),
    "cast": (lambda x: ops.cast(x, "float64") * x, [_x(4)]),
    "sum": (lambda x: ops.sum(x, axis=1), [_x(3, 4, 2)]), "sum all": (ops.sum, [_x(3, 4)]),
    "mean": (lambda x: ops.mean(x, axis=(0, 2), keepdims=True), [_x(3, 4, 2)]),
    "max": (lambda x: ops.max(x, axis=-1), [_distinct(3, 4)]), "min": (lambda x: ops.min(x, axis=0), [_distinct(3, 4)]),
    "var": (lambda x: ops.var(x, axis=0), [_x(5, 3)]), "std": (lambda x: ops.std(x, axis=1, keepdims=True), [_x(3, 5)]),
    "logsumexp": (lambda x: ops.logsumexp(x, axis=1), [_x(3, 5)]), "cumsum": (lambda x: ops.cumsum(x, 0), [_x(4, 3)]),
    "top_k": (lambda x: ops.top_k(x, 2)[0], [_distinct(3, 5)]),
    "matmul": (ops.matmul, [_x(2, 3, 4), _x(4, 5)]), "matmul vectors": (ops.matmul, [_x(4), _x(4, 3)]),
    "matmul vector right": (ops.matmul, [_x(2, 4), _x(4)]),
    "einsum": (lambda a, b: ops.einsum("ij,jk->ik", a, b), [_x(2, 3), _x(3, 4)]),
    "einsum summed alone": (lambda a, b: ops.einsum("ij,k->i", a, b), [_x(2, 3), _x(4)]),
    "transpose": (lambda x: ops.transpose(x, (2, 0, 1)), [_x(2, 3, 4)]), "transpose T": (ops.transpose, [_x(2, 3)]),
    "reshape": (lambda x: ops.reshape(x, (4, -1)), [_x(2, 3, 2, 2)]),
    "expand_dims": (lambda x: ops.expand_dims(x, 1), [_x(3, 4)]),
    "squeeze": (lambda x: ops.squeeze(x, 1), [_x(3, 1, 4)]),
    "broadcast_to": (lambda x: ops.broadcast_to(x, (3, 2, 4)), [_x(2, 1)]),
    "concatenate": (lambda a, b: ops.concatenate([a, b], axis=1), [_x(2, 3), _x(2, 2)]),
    "stack": (lambda a, b: ops.stack([a, b], axis=-1), [_x(2, 3), _x(2, 3)]),
    "take": (lambda x: ops.take(x, np.array([2, 0, 2]), axis=1), [_x(2, 3)]),
    "take_along_axis": (lambda x: ops.take_along_axis(x, np.array([[1, 1], [0, 2]]), 1), [_x(2, 3)]),
    "pad": (lambda x: ops.pad(x, ((1, 0), (2, 1)), 0.5), [_x(2, 3)]),
    "softmax": (lambda x: ops.softmax(x, axis=1), [_x(3, 4)]),
    "log_softmax": (lambda x: ops.log_softmax(x, axis=0), [_x(3, 4)]),
    "conv2d": (lambda x, w: ops.conv2d(x, w, 1, "same"), [_x(2, 3, 5, 5), _x(4, 3, 3, 3)]),
    "conv2d strided": (lambda x, w: ops.conv2d(x, w, 2, ((1, 0), (0, 2))), [_x(2, 2, 6, 5), _x(3, 2, 2, 3)]),
    "max_pool2d": (lambda x: ops.max_pool2d(x, 2), [_distinct(2, 2, 4, 5)]),
    "max_pool2d overlapping": (lambda x: ops.max_pool2d(x, 3, 1), [_distinct(1, 2, 4, 4)]),
    "avg_pool2d": (lambda x: ops.avg_pool2d(x, (2, 3), (1, 2)), [_x(2, 2, 4, 5)]),
    "operators": (lambda a, b: (a + 1.5) * b - a / (b * b + 1) + (-a) ** 2 + 2.0 ** b - 3.0 / (1 + a * a),
                  [_x(3, 4), _x(4)]),
    "operator @": (lambda a, b: a @ b, [_x(3, 4), _x(4, 2)]),
    "indexing": (lambda x: x[1] * 2 + ops.sum(x[:, 1:3]) + x[np.array([0, 0, 2])] + ops.mean(x[-1, ::2]), [_x(3, 4)]),
}


def _finite_differences(function, arrays, step=1e-6):
    def value(args):
        with ops.using(ops.tables()["numpy"]):
            return float(np.sum(np.asarray(function(*args)) * weights))

    with ops.using(ops.tables()["numpy"]):
        weights = np.random.default_rng(1).standard_normal(np.shape(function(*arrays)))
    grads = []
    for which, array in enumerate(arrays):
        grad = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            moved = [a.copy() for a in arrays]
            moved[which][index] += step
            up = value(moved)
            moved[which][index] -= 2 * step
            grad[index] = (up - value(moved)) / (2 * step)
        grads.append(grad)
    return weights, grads


def test_every_op_of_dlcore_ops_is_in_the_autodiff_table():
    assert [name for name in ops.NAMES if not callable(getattr(TABLE, name, None))] == []
    assert ops.table_of(TABLE.convert(np.zeros(2))) is TABLE


@pytest.mark.parametrize("name", list(CASES))
def test_each_rule_of_the_autodiff_table_matches_central_finite_differences(name):
    function, arrays = CASES[name]
    weights, expected = _finite_differences(function, arrays)
    with ops.using(ops.tables()["numpy"]):
        want = np.asarray(function(*arrays))
    with ops.using(TABLE):
        got = function(*(TABLE.convert(a) for a in arrays))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)
    grads = TABLE.gradients(lambda *xs: ops.sum(function(*xs) * TABLE.convert(weights)), arrays)
    for grad, want_grad, array in zip(grads, expected, arrays):
        assert grad.numpy().shape == array.shape and grad.numpy().dtype == np.float64
        np.testing.assert_allclose(grad.numpy(), want_grad, rtol=1e-5, atol=1e-6, err_msg=name)


def test_ops_without_gradients_cut_the_tape():
    [grad] = TABLE.gradients(lambda x: ops.sum(ops.stop_gradient(x) + ops.floor(x) + ops.sign(x)), [_x(3)])
    assert not grad.numpy().any()
    x = _x(4)
    [grad] = TABLE.gradients(lambda x: ops.sum(x * ops.stop_gradient(x)), [x])
    np.testing.assert_allclose(grad.numpy(), x)
    [grad] = TABLE.gradients(lambda x: ops.sum(ops.cast(ops.argmax(x, 0), "float32")), [_x(3)])
    assert not grad.numpy().any()
