"""The numpy test backend (tests/numpy_backend) as a backend built on dlcore.ops alone: its table
with reverse-mode autodiff (each rule against central finite differences in float64), dlcore's
CNN and a user's layers trained through ops with no layer code of its own, and its MLP as before."""

from __future__ import annotations

import ast
import sys

import numpy as np
import pytest

from conftest import NUMPY_BACKEND, numpy_backend
from test_written_layers import LayerNorm, StepCounter
from dlcore import Trainer, models, ops
from dlcore.models import layers
from dlcore.testing import check_layer, check_loss, data
from dlcore.testing.portable import _numeric_gradients

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
    "elu": (ops.elu, [_x(6)]), "maximum": (ops.maximum, [_x(3, 4), _x(4)]),
    "minimum": (ops.minimum, [_x(3, 4), _x(3, 1)]),
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


def _finite_differences(function, arrays):
    """Random output weights, and the central differences of the weighted sum of the outputs by
    every coordinate of each array (dlcore.testing's finite differences)."""
    def value(args):
        with ops.using(ops.tables()["numpy"]):
            return float(np.sum(np.asarray(function(*args)) * weights))

    with ops.using(ops.tables()["numpy"]):
        weights = np.random.default_rng(1).standard_normal(np.shape(function(*arrays)))
    limit = max(array.size for array in arrays)  # every coordinate
    return weights, _numeric_gradients(value, arrays, np.random.default_rng(0), limit=limit)


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


def test_the_numpy_backend_trains_dlcores_cnn_through_ops_and_torch_predicts_the_same(tmp_path):
    x, y = data.patterns(600, seed=0)
    test_x, test_y = data.patterns(300, seed=1)
    spec = models.cnn((1, 12, 12), classes=3, filters=(4, 8), hidden=16)
    with numpy_backend():
        trainer = Trainer("numpy", epochs=10, batch_size=32, optimizer="adam", lr=0.01, seed=0, progress=False)
        history = trainer.fit(spec, (x, y))
        assert history["loss"][-1] < history["loss"][0] / 3
        assert trainer.evaluate(spec, (test_x, test_y))["accuracy"] >= 0.9
        weights = trainer.build(spec).get_weights()
        assert weights["layers.1.running_var"].std() > 0 and weights["layers.9.rng"][1] == 10 * 19  # state kept
        trainer.save(spec, tmp_path / "cnn.npz")
        expected = trainer.predict(spec, test_x)
    pytest.importorskip("torch")
    torch = Trainer("torch", progress=False)
    np.testing.assert_allclose(torch.predict(torch.load(tmp_path / "cnn.npz"), test_x), expected, atol=1e-4)


def test_the_numpy_backend_trains_a_cnn_step_for_step_as_torch():
    """Without dropout (whose masks differ by backend), SGD on numpy's tape is torch's training."""
    pytest.importorskip("torch")
    x, y = data.patterns(160, seed=0)
    histories, weights = [], []
    with numpy_backend():
        for backend in ("torch", "numpy"):
            spec = models.cnn((1, 12, 12), classes=3, filters=(4, 8), hidden=16, dropout=0)
            trainer = Trainer(backend, epochs=2, batch_size=32, optimizer="sgd", lr=0.05, seed=0, progress=False)
            histories.append(trainer.fit(spec, (x, y))["loss"])
            weights.append(trainer.build(spec).get_weights())
    np.testing.assert_allclose(histories[1], histories[0], rtol=1e-5)
    for name in weights[0]:
        np.testing.assert_allclose(weights[1][name], weights[0][name], atol=1e-5, err_msg=name)


@pytest.mark.filterwarnings("ignore:predict on a model spec")
def test_a_users_layers_train_on_the_numpy_backend_and_pass_dlcores_checks():
    x, y = data.blobs(600, features=20, classes=4, seed=1)
    spec = models.sequential([layers.dense(32), LayerNorm(), StepCounter(), layers.activation("relu"),
                              layers.dense(4)], (20,))
    with numpy_backend():
        trainer = Trainer("numpy", epochs=5, batch_size=50, optimizer="adam", lr=3e-3, seed=0, progress=False)
        trainer.fit(spec, (x[:500], y[:500]))
        assert trainer.evaluate(spec, (x[500:], y[500:]))["accuracy"] > 0.9
        weights = trainer.build(spec).get_weights()
        assert weights["layers.2.calls"].tolist() == [50.0] and not np.allclose(weights["layers.1.gamma"], 1)
        passed = check_layer(LayerNorm(), (6,), backends=["numpy"])
    assert passed == {"numpy": ["output", "gradients", "checkpoints"]}


def focal(ops, outputs, targets, weights=None):
    """A loss written on ops (focal loss, gamma 2)."""
    log_p = ops.take_along_axis(ops.log_softmax(outputs, axis=-1), ops.expand_dims(targets, -1), -1)[:, 0]
    losses = -((1 - ops.exp(log_p)) ** 2) * log_p
    return ops.mean(losses) if weights is None else ops.mean(losses * weights)


def test_a_loss_written_on_ops_gets_its_gradient_from_the_numpy_backends_tape():
    with numpy_backend():
        assert check_loss(focal, classes=4, backends=["numpy"]) == {"numpy": ["value", "gradient"]}


def test_the_numpy_backend_still_trains_its_mlp_with_hand_written_gradients():
    x, y = data.blobs(400, features=10, classes=3, seed=0)
    with numpy_backend():
        spec = models.mlp(10, (16,), 3)
        trainer = Trainer("numpy", epochs=5, batch_size=32, optimizer="sgd", lr=0.1, seed=0, progress=False)
        numpy_loss = trainer.fit(spec, (x, y))["loss"]
        assert type(trainer.build(spec).native).__name__ == "MLPWeights"
        assert trainer.evaluate(spec, (x, y))["accuracy"] > 0.9
    pytest.importorskip("torch")
    trainer = Trainer("torch", epochs=5, batch_size=32, optimizer="sgd", lr=0.1, seed=0, progress=False)
    np.testing.assert_allclose(numpy_loss, trainer.fit(models.mlp(10, (16,), 3), (x, y))["loss"], rtol=1e-4)


def test_the_numpy_backends_line_count(capsys):
    """How many lines the numpy backend takes, by part (non-blank lines, docstrings included):
    counted and printed, not asserted."""
    def lines(name, *definitions):
        """The lines of a file, or of its top-level definitions named (with their decorators)."""
        text = (NUMPY_BACKEND / name).read_text()
        rows = text.splitlines()
        if definitions:
            found = [node for node in ast.parse(text).body if getattr(node, "name", None) in definitions]
            rows = [row for node in found for row in rows[node.lineno - 1 - len(node.decorator_list):node.end_lineno]]
        return sum(1 for row in rows if row.strip())

    kernels = ("cross_entropy", "binary_cross_entropy", "_errors", "mse", "mae", "huber", "regression_sums",
               "accuracy", "SGD", "SignSGD", "Adam", "optimizer")
    counts = {"the ops table with autodiff": lines("dlcore_numpy_autodiff.py"),
              "the backend (devices, data, steps, weights, hooks)": lines("dlcore_numpy.py") - lines(
                  "dlcore_numpy.py", "MLPWeights", *kernels),
              "its graph models, sequential ones as chains (no layer code)": lines("dlcore_numpy_sequential.py"),
              "its loss, metric and optimizer kernels": lines("dlcore_numpy.py", *kernels),
              "its MLP with hand-written gradients": lines("dlcore_numpy.py", "MLPWeights")}
    with capsys.disabled():
        print("\nthe numpy backend, non-blank lines:", *(f"  {part}: {n}" for part, n in counts.items()), sep="\n")
