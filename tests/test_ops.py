"""dlcore.ops: every operation gives on every backend what numpy's table gives, and a failing
operation names itself and the backend."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import BACKENDS
from dlcore import get_backend, ops

RNG = np.random.default_rng(0)
X = RNG.standard_normal((2, 3, 6, 5)).astype(np.float32)
M = RNG.standard_normal((4, 5)).astype(np.float32)
W = RNG.standard_normal((4, 3, 3, 3)).astype(np.float32)
P = np.abs(M) + 0.1
IDS = np.array([[1, 3], [0, 2]], np.int64)

# (name, function of the ops module, its array arguments)
CASES = [
    *[(name, getattr(ops, name), (M,)) for name in (
        "abs", "exp", "square", "sign", "floor", "sin", "cos", "tanh", "erf", "sigmoid", "relu", "gelu", "silu",
        "softplus", "leaky_relu", "elu", "isfinite", "stop_gradient", "zeros_like", "ones_like")],
    *[(name, getattr(ops, name), (P,)) for name in ("log", "log1p", "sqrt", "rsqrt")],
    ("gelu_tanh", lambda x: ops.gelu(x, approximate=True), (M,)),
    ("maximum", ops.maximum, (M, M[::-1])), ("minimum", ops.minimum, (M, 0.5)),
    ("power", lambda x: ops.power(x, 3.0), (M,)), ("clip", lambda x: ops.clip(x, -0.5, 0.5), (M,)),
    ("where", lambda x: ops.where(x > 0, x, x * 0.1), (M,)),
    *[(f"{name}{axis}", (lambda n, a: lambda x: getattr(ops, n)(x, axis=a))(name, axis), (X,))
      for name in ("sum", "mean", "max", "min", "var", "std", "logsumexp") for axis in (None, 1, (2, 3), -1)],
    ("sum_keepdims", lambda x: ops.sum(x, axis=(1, 3), keepdims=True), (X,)),
    ("argmax", lambda x: ops.argmax(x, axis=1), (M,)), ("argmin", ops.argmin, (M,)),
    ("cumsum", lambda x: ops.cumsum(x, axis=0), (M,)),
    ("top_k", lambda x: ops.top_k(x, 2), (M,)),
    ("matmul", ops.matmul, (M, M.T)), ("einsum", lambda a, b: ops.einsum("ij,kj->ik", a, b), (M, M)),
    ("transpose", lambda x: ops.transpose(x, (0, 2, 3, 1)), (X,)), ("transpose_none", ops.transpose, (M,)),
    ("reshape", lambda x: ops.reshape(x, (2, -1)), (X,)),
    ("expand_dims", lambda x: ops.expand_dims(x, 1), (M,)),
    ("squeeze", lambda x: ops.squeeze(ops.expand_dims(x, 0), 0), (M,)),
    ("concatenate", lambda a, b: ops.concatenate([a, b], axis=1), (M, M)),
    ("stack", lambda a, b: ops.stack([a, b], axis=-1), (M, M)),
    ("take", lambda x, i: ops.take(x, i, axis=0), (M, IDS)),
    ("take_numpy_indices", lambda x: ops.take(x, np.array([2, 0]), axis=0), (M,)),
    ("mean_bool", lambda x: ops.mean(x > 0, axis=0), (M,)), ("var_int", lambda x: ops.var(ops.cast(x * 10, "int32")), (M,)),
    ("sum_bool", lambda x: ops.sum(x > 0, axis=1), (M,)), ("sum_int32", lambda x: ops.sum(ops.cast(x * 10, "int32")), (M,)),
    ("cumsum_int32", lambda x: ops.cumsum(ops.cast(x * 10, "int32"), axis=0), (M,)),
    ("where_numbers", lambda x: ops.where(x > 0, 1.0, -1.0), (M,)),
    ("take_along_axis", lambda x: ops.take_along_axis(x, ops.argmax(x, axis=1)[:, None], 1), (M,)),
    ("pad", lambda x: ops.pad(x, [(1, 0), (0, 2)], 1.5), (M,)),
    ("broadcast_to", lambda x: ops.broadcast_to(x[:1], (3, 5)), (M,)),
    ("one_hot", lambda i: ops.one_hot(i, 4), (IDS,)),
    ("softmax", lambda x: ops.softmax(x, axis=0), (M,)), ("log_softmax", ops.log_softmax, (M,)),
    ("conv2d", ops.conv2d, (X, W)), ("conv2d_same", lambda x, w: ops.conv2d(x, w, padding="same"), (X, W)),
    ("conv2d_stride", lambda x, w: ops.conv2d(x, w, stride=2, padding=((1, 0), (2, 1))), (X, W)),
    ("max_pool2d", lambda x: ops.max_pool2d(x, 2), (X,)), ("avg_pool2d", lambda x: ops.avg_pool2d(x, (3, 2), 1), (X,)),
    ("cast", lambda x: ops.cast(x, "int32"), (M * 10,)),
    ("dtype", lambda x: ops.dtype(x), (M,)), ("shape", lambda x: list(ops.shape(x)), (X,)),
    ("zeros", lambda x: ops.zeros((2, 3), like=x), (M,)), ("full", lambda x: ops.full((2,), 7.0, like=x), (M,)),
    ("arange", lambda x: ops.arange(1, 7, 2, like=x), (M,)), ("convert", lambda x: ops.convert([1.0, 2.0], like=x), (M,)),
    ("operators", lambda a, b: (a + b * 2 - 1) / (b ** 2 + 1) @ ops.transpose(a), (M, M)),
]


def as_numpy(value):
    if isinstance(value, (tuple, list)):
        return [as_numpy(v) for v in value]
    if isinstance(value, str):
        return value
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value)


@pytest.mark.parametrize("name, function, arguments", CASES, ids=[case[0] for case in CASES])
def test_each_operation_gives_what_numpy_gives(backend, name, function, arguments):
    get_backend(backend)
    if backend not in ops.tables():
        pytest.skip(f"{backend} has no table of dlcore.ops")
    expected = as_numpy(function(*arguments))
    got = as_numpy(function(*(ops.tables()[backend].convert(a) for a in arguments)))
    if isinstance(expected, str):
        assert got == expected
        return
    for want, have in zip(expected, got) if isinstance(expected, list) else [(expected, got)]:
        want, have = np.asarray(want), np.asarray(have)
        assert have.shape == want.shape, name
        if backend == "jax" and want.dtype == np.int64 and name != "shape":  # JAX holds 32-bit integers unless x64
            want = want.astype(np.int32)
        assert str(have.dtype) == str(want.dtype), name
        np.testing.assert_allclose(have.astype(np.float64), want.astype(np.float64), rtol=2e-5, atol=2e-5,
                                   err_msg=name)


def test_every_backend_table_has_every_operation(backend):
    get_backend(backend)
    if backend not in ops.tables():
        pytest.skip(f"{backend} has no table of dlcore.ops")
    table = ops.tables()[backend]
    assert [name for name in ops.NAMES if not callable(getattr(table, name, None))] == []


def test_random_draws_are_functions_of_the_seed(backend):
    get_backend(backend)
    if backend not in ops.tables():
        pytest.skip(f"{backend} has no table of dlcore.ops")
    like = ops.tables()[backend].convert(M)
    a, b = (as_numpy(ops.random_uniform((1000,), (7, 1), like=like)) for _ in range(2))
    c = as_numpy(ops.random_uniform((1000,), (7, 2), like=like))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert 0 <= a.min() and a.max() < 1 and abs(a.mean() - 0.5) < 0.05
    normal = as_numpy(ops.random_normal((4000,), 3, like=like))
    assert abs(normal.mean()) < 0.1 and abs(normal.std() - 1) < 0.1


def test_a_failing_operation_names_itself_the_backend_and_the_arrays():
    with pytest.raises(ops.OpsError, match=r"ops\.reshape\(array\(4, 5\) float32, \(3, 3\)\) on numpy"):
        ops.reshape(M, (3, 3))


def test_each_array_goes_to_its_frameworks_table_whatever_the_order_of_arguments():
    for backend in BACKENDS:
        get_backend(backend)
    for name, table in ops.tables().items():
        mine = table.convert(M)
        assert ops.table_of(mine) is table
        assert ops.table_of(np.float32(2.0), mine) is table, f"a numpy value came first and took {name}'s array"
    with ops.using(ops.tables()["numpy"]):
        assert isinstance(ops.zeros((2,)), np.ndarray)
