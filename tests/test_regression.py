"""Regression: the losses mse, mae and huber and the metrics mae, rmse and r2 on every installed
backend and the numpy test backend (tests/numpy_backend): each kernel against its numpy formula
and gradient, the metrics' result functions against scikit-learn, the contract tests of
dlcore.testing.regression through the Trainer, and the label checks of dlcore.training.labels."""

from __future__ import annotations

import contextlib
from typing import Iterator

import numpy as np
import pytest

from conftest import BACKENDS, device_on, numpy_backend
from dlcore import DataError, get_backend
from dlcore.contract import STANDARD, Loss
from dlcore.plugins import registry
from dlcore.testing import reference
from dlcore.testing.regression import REGRESSION_LOSSES, REGRESSION_METRICS
from dlcore.training import metrics
from dlcore.training._kernels import loss_function, metric_function
from dlcore.training.labels import check_labels

ALL = [*BACKENDS, *(["numpy"] if "numpy" not in BACKENDS else [])]  # the numpy test backend, registered here


@pytest.fixture(params=ALL)
def backend(request) -> Iterator[str]:
    """Each installed backend and the numpy test backend (skipped where it has no test device)."""
    with numpy_backend() if request.param == "numpy" else contextlib.nullcontext():
        device_on(request.param)
        yield request.param


# ------------------------------------------------------------------ records


def test_the_losses_and_metrics_are_computed_on_every_backend(backend):
    plugins = registry()
    assert all(plugins.loss(name).regression for name in REGRESSION_LOSSES)
    assert not any(plugins.loss(name).regression for name in ("cross_entropy", "binary_cross_entropy"))
    assert all(plugins.metric(name).reduction == "sum" for name in REGRESSION_METRICS)
    assert {STANDARD[("metric", name)] for name in REGRESSION_METRICS} == {"regression_sums"}
    for kind, names in (("loss", REGRESSION_LOSSES), ("metric", REGRESSION_METRICS)):
        for name in names:  # by the backend's kernel, or by the definition on its ops
            resolve = loss_function if kind == "loss" else metric_function
            assert callable(resolve(plugins, get_backend(backend), name)), (kind, name)


# ------------------------------------------------------------------ kernels


def loss_and_gradient(backend: str, kernel, logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """The loss kernel's value and its gradient by the logits, by the backend's framework (inside
    a compiled step where the framework has one: tf.function, jax.jit)."""
    if backend == "numpy":
        value, grad = kernel(logits, labels)
        return float(value), np.asarray(grad)
    if backend == "torch":
        import torch

        z = torch.tensor(logits, requires_grad=True)
        value = kernel(z, torch.from_numpy(labels))
        value.backward()
        return float(value.detach()), z.grad.numpy()
    if backend == "tensorflow":
        import tensorflow as tf

        @tf.function
        def step(z, y):
            with tf.GradientTape() as tape:
                tape.watch(z)
                value = kernel(z, y)
            return value, tape.gradient(value, z)

        value, grad = step(tf.constant(logits), tf.constant(labels))
        return float(value), grad.numpy()
    if backend == "jax":
        import jax

        value, grad = jax.jit(jax.value_and_grad(kernel))(logits, labels)
        return float(value), np.asarray(grad)
    pytest.skip(f"no gradient helper for {backend}")


def random_batch(outputs: int, one_column: bool = False, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits (37, outputs) and float32 targets, (37,) for ``one_column``, spread so that Huber
    meets both of its pieces."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (37, outputs)).astype(np.float32)
    targets = rng.normal(0, 2, (37, outputs)).astype(np.float32)
    return logits, targets[:, 0] if one_column else targets


@pytest.mark.parametrize("outputs, one_column", [(1, True), (1, False), (3, False)])
@pytest.mark.parametrize("loss", REGRESSION_LOSSES)
def test_loss_kernel_equals_its_numpy_formula_and_gradient(backend, loss, outputs, one_column):
    kernel = loss_function(registry(), get_backend(backend), loss)  # the backend's kernel, or the loss on its ops
    logits, targets = random_batch(outputs, one_column)
    errors = np.abs(logits - targets.reshape(logits.shape))
    assert (errors < 1).any() and (errors > 1).any()
    value, grad = loss_and_gradient(backend, kernel, logits, targets)
    want, want_grad = reference.regression_loss(loss, logits, targets)
    assert value == pytest.approx(want, rel=1e-6)
    assert grad.shape == logits.shape
    np.testing.assert_allclose(grad, want_grad, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("outputs, one_column", [(1, True), (3, False)])
def test_metric_kernel_gives_the_sums_per_output(backend, device, outputs, one_column):
    logits, targets = random_batch(outputs, one_column, seed=1)
    placed = get_backend(backend)
    native_logits, native_targets = placed.put(logits, targets, placed.device(device))[:2]
    for name in REGRESSION_METRICS:
        sums = placed.to_numpy(metric_function(registry(), placed, name)(native_logits, native_targets))
        y = targets.reshape(logits.shape).astype(np.float64)
        d = logits - y
        want = np.stack([y.sum(0), (y ** 2).sum(0), (d ** 2).sum(0), np.abs(d).sum(0)])
        np.testing.assert_allclose(np.asarray(sums, np.float64).reshape(want.shape), want, rtol=1e-5, atol=1e-4)


# ------------------------------------------------------------------ result functions


def summed_over_batches(predicted: np.ndarray, targets: np.ndarray, size: int = 64) -> np.ndarray:
    """The (4, outputs) statistics of the metric kernels, summed over batches of ``size``."""
    y = targets.reshape(predicted.shape)
    batches = [(y[i:i + size], predicted[i:i + size] - y[i:i + size]) for i in range(0, len(y), size)]
    return np.sum([np.stack([t.sum(0), (t ** 2).sum(0), (d ** 2).sum(0), np.abs(d).sum(0)]) for t, d in batches], 0)


@pytest.mark.parametrize("outputs", [1, 4])
def test_result_functions_equal_scikit_learn(outputs):
    """variance_weighted R² (pooled over outputs), MAE and RMSE over every value."""
    sklearn = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(2)
    y = rng.normal(3, rng.uniform(0.5, 3, outputs), (500, outputs))
    predicted = y + rng.normal(0, 1, y.shape)
    stats = summed_over_batches(predicted, y)
    assert metrics.mae(stats, 500) == pytest.approx(sklearn.mean_absolute_error(y, predicted), rel=1e-12)
    assert metrics.rmse(stats, 500) == pytest.approx(np.sqrt(sklearn.mean_squared_error(y, predicted)), rel=1e-12)
    want = sklearn.r2_score(y, predicted, multioutput="variance_weighted")
    assert metrics.r2(stats, 500) == pytest.approx(want, rel=1e-10)
    assert reference.regression_metrics(predicted, y)["r2"] == pytest.approx(want, rel=1e-12)


def test_result_functions_of_no_samples_and_of_constant_targets():
    assert metrics.mae(np.zeros((4, 2)), 0) == metrics.rmse(np.zeros((4, 2)), 0) == metrics.r2(np.zeros((4, 2)), 0) == 0
    y = np.full((10, 1), 3.0)
    assert metrics.r2(summed_over_batches(y, y), 10) == 1.0  # scikit-learn's force_finite
    assert metrics.r2(summed_over_batches(y + 1, y), 10) == 0.0


# ------------------------------------------------------------------ label checks

MSE = Loss("mse", "", regression=True)
CROSS_ENTROPY = Loss("cross_entropy", "")
BINARY = Loss("binary_cross_entropy", "", binary=True)
KINDS = dict(regression_losses=["mse", "mae", "huber"], classification_losses=["cross_entropy", "binary_cross_entropy"])


def check(loss: Loss, labels, outputs: int | None = 4) -> None:
    check_labels(loss, np.asarray(labels), outputs, "train", **KINDS)


@pytest.mark.parametrize("loss, labels, outputs", [
    (MSE, np.linspace(-3, 3, 10, dtype=np.float32), 1),
    (MSE, np.zeros((10, 3), np.float32), 3),
    (MSE, np.arange(10), 1),  # integer targets (counts)
    (MSE, np.ones((10, 2), np.float32), None),  # a model whose outputs are not known
    (CROSS_ENTROPY, np.arange(10) % 4, 4),
    (CROSS_ENTROPY, np.eye(4, dtype=np.float32)[np.arange(10) % 4], 4),
    (CROSS_ENTROPY, np.full((10, 4), 0.25, np.float32), 4),
    (BINARY, np.arange(10) % 2, 1),
    (BINARY, (np.arange(10) % 2).astype(np.float32), 1),
])
def test_labels_that_fit_the_loss_and_the_model_pass(loss, labels, outputs):
    check(loss, labels, outputs)


@pytest.mark.parametrize("loss, labels, outputs, message", [
    # regression targets against the model's outputs
    (MSE, np.zeros(10, np.float32), 4, r"train: targets of shape \(10,\) \(one value per sample\) need a model "
                                       r"with 1 output, but it has 4; build it with 1 output, or pass targets of shape "
                                       r"\(N, 4\)$"),
    (MSE, np.zeros((10, 2), np.float32), 3, r"targets of shape \(10, 2\) need a model with 2 outputs, but it has 3; "
                                            r"build it with 2 outputs$"),
    (MSE, np.arange(10) % 4, 4, r"need a model with 1 output, but it has 4; .*; for class labels pass "
                                r"loss='cross_entropy' \(or 'binary_cross_entropy'\)"),
    (MSE, np.zeros((10, 2, 2), np.float32), 2, r"regression targets must have shape \(N,\) or \(N, outputs\), got "
                                               r"\(10, 2, 2\)"),
    (MSE, np.array([0.5, np.nan, 1.0], np.float32), 1, r"targets contain NaN or infinite values \(first at index "
                                                       r"\(1,\)\); drop or impute"),
    (MSE, np.array([[0.5], [1.0], [np.inf]], np.float32), 1, r"first at index \(2, 0\)"),
    # regression targets given to a classification loss
    (CROSS_ENTROPY, np.array([3.7, 1.2], np.float32), 4,
     r"class labels must be integers, got dtype float32 \(first 3.7\d*\); the loss 'cross_entropy' expects class "
     r"labels; for regression use a regression loss: pass loss='mse' \(or 'mae', 'huber'\)$"),
    (CROSS_ENTROPY, np.array([3.0, 1.0], np.float32), 4, r"class labels must be integers.*'huber'\); class indices "
                                                         r"stored as floats: labels.astype\(int\)$"),
    (CROSS_ENTROPY, np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32), 4,
     r"row 0 of the labels, .* is not one-hot or class probabilities \(values in \[0, 1\] summing to 1\); the loss "
     r"'cross_entropy' expects class labels; for regression use a regression loss: pass loss='mse' \(or 'mae', "
     r"'huber'\)"),
    (CROSS_ENTROPY, np.full((10, 2), 2.5, np.float32), 4, r"is not one-hot or class probabilities.*loss='mse'"),
    (BINARY, np.array([0.0, 0.3], np.float32), 1, r"binary labels must be 0 or 1, got 0.3\d* at index 1; the loss "
                                                  r"'binary_cross_entropy' expects class labels; for regression use a "
                                                  r"regression loss: pass loss='mse'"),
    # class labels against the model
    (CROSS_ENTROPY, np.array([0, 1, 1]), 1, r"label 1 at index 1 is out of range; for 0/1 labels and a model with 1 "
                                            r"output pass loss='binary_cross_entropy' \(or build it with 2 outputs\)"),
    (CROSS_ENTROPY, np.array([0, 2, 1]), 1, r"label 2 at index 1 is out of range; a model with 1 output has one "
                                            r"class; build it with 3 outputs for labels 0..2"),
    (CROSS_ENTROPY, np.array([0, -1]), 1, r"label -1 at index 1 is out of range; class labels must be 0 or more"),
    (CROSS_ENTROPY, np.array([0, -1]), None, r"label -1 at index 1 is out of range; class labels must be 0 or more"),
    (CROSS_ENTROPY, np.full(10, 4), 4, r"label 4 at index 0 is out of range; the model has 4 classes, so labels must "
                                       r"be 0\.\.3"),
    (CROSS_ENTROPY, np.eye(3, dtype=np.float32), 4, r"one-hot labels have 3 columns but the model has 4 outputs"),
    (CROSS_ENTROPY, np.zeros((2, 2, 2), np.int64), 4, r"labels must have shape \(N,\) or \(N, classes\)"),
    (CROSS_ENTROPY, np.array(["a", "b"]), 4, r"labels must be numbers, got dtype <U1"),
    (MSE, np.array([True, False]), 1, r"labels must be numbers, got dtype bool"),
    (MSE, np.zeros(0, np.float32), 1, r"train is empty"),
])
def test_labels_that_do_not_fit_name_the_fix(loss, labels, outputs, message):
    with pytest.raises(DataError, match=message) as caught:
        check(loss, labels, outputs)
    assert str(caught.value).startswith("train")
    assert "1 classes" not in str(caught.value) and "0..0" not in str(caught.value)


def test_the_regression_hint_without_registered_regression_losses():
    with pytest.raises(DataError, match=r"for regression use a regression loss: Trainer\(loss=NAME\) with a loss "
                                        r"registered as Loss\(..., regression=True\)"):
        check_labels(CROSS_ENTROPY, np.array([0.5], np.float32), 4, "train")


def test_a_regression_loss_never_speaks_of_classes():
    for labels, outputs in ((np.full(10, 3.0, np.float32), 1), (np.arange(10), 1), (np.arange(10), 2),
                            (np.zeros((10, 2)), 1)):
        try:
            check(MSE, labels, outputs)
        except DataError as err:
            assert "classes, so labels must be" not in str(err)
