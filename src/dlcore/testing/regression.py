"""Contract tests of regression: dlcore's regression losses (``mse``, ``mae``, ``huber``) and
metrics (``mae``, ``rmse``, ``r2``) on a backend, through the Trainer, against the float64
reference (:mod:`dlcore.testing.reference`) and scikit-learn. A mixin of the same conventions
as the other sections of :class:`dlcore.testing.BackendTests`; alone::

    from dlcore.testing.regression import RegressionTests

    class TestMyBackendRegression(RegressionTests):
        backend = "mybackend"

Tests of a loss or metric the backend has no kernel for are skipped.
"""

from __future__ import annotations

import numpy as np
import pytest

from .. import models
from . import reference
from .contract.base import BackendTestBase

REGRESSION_LOSSES = reference.REGRESSION_LOSSES
REGRESSION_METRICS = ("mae", "rmse", "r2")


def linear_problem(n: int = 512, features: int = 8, outputs: int = 1, seed: int = 0, noise: float = 0.05,
                   scale: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)``: float32 features from N(0, 1) and targets ``x @ w + noise``, of shape (n,) for
    one output, else (n, outputs); each target's spread is about ``scale``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(np.float32)
    y = x @ rng.normal(0, scale / np.sqrt(features), (features, outputs)) + noise * rng.normal(size=(n, outputs))
    return x, (y[:, 0] if outputs == 1 else y).astype(np.float32)


class RegressionTests(BackendTestBase):
    """Subclass (or mix into a :class:`BackendTests` subclass) with ``backend = "name"``.

    Example::

        from dlcore.testing import RegressionTests

        class TestMyBackendRegression(RegressionTests):
            backend = "mybackend"
    """

    @pytest.mark.parametrize("outputs", [1, 2])
    @pytest.mark.parametrize("loss", REGRESSION_LOSSES)
    def test_regression_loss_equals_the_reference(self, device, loss, outputs):
        """The mean loss over samples and outputs of an untrained MLP, over uneven batches (the
        last of 44); targets (N,) for one output; Huber's both pieces."""
        self.needs_kernels("loss", loss)
        x, y = linear_problem(300, outputs=outputs, scale=3.0)
        spec = models.mlp(8, [16], outputs)
        trainer = self.trainer(device, loss=loss, metrics=(), eval_batch_size=64)
        want = reference.forward(spec.initial_weights(0), x)[-1]
        np.testing.assert_allclose(trainer.predict(spec, x, allow_random=True), want, atol=1e-5)
        errors = np.abs(want - y.reshape(want.shape))
        assert (errors < 1).any() and (errors > 1).any(), "the test data should reach both pieces of Huber"
        got = trainer.evaluate(spec, (x, y), allow_random=True)["loss"]
        assert got == pytest.approx(reference.regression_loss(loss, want, y)[0], rel=1e-5), loss

    @pytest.mark.parametrize("outputs", [1, 2])
    @pytest.mark.parametrize("loss", REGRESSION_LOSSES)
    def test_regression_training_follows_the_reference(self, device, loss, outputs):
        """Two epochs of SGD on uneven batches match float64 numpy doing the same updates with
        the loss's gradient: losses to 1e-5 (relative), weights to 1e-5."""
        self.needs_kernels("loss", loss)
        if "sgd" not in self.optimizers:
            pytest.skip(f"{self.backend} does not implement sgd")
        x, y = linear_problem(300, outputs=outputs, scale=3.0)
        spec = models.mlp(8, [16], outputs)
        trainer = self.trainer(device, epochs=2, batch_size=32, optimizer="sgd", lr=0.05, shuffle=False, loss=loss,
                               metrics=())
        history = trainer.fit(spec, (x, y))
        want, want_losses = reference.train(spec.initial_weights(0), x, y, epochs=2, batch_size=32,
                                            optimizer=reference.SGD(0.05), loss=loss)
        np.testing.assert_allclose(history["loss"], want_losses, rtol=1e-5, err_msg=f"{loss}: the losses differ")
        got = trainer.build(spec).get_weights()
        for name in want:
            np.testing.assert_allclose(got[name], want[name], atol=1e-5, err_msg=f"{loss}: {name} differs")

    @pytest.mark.parametrize("outputs", [1, 2])
    def test_learns_a_linear_regression(self, device, outputs):
        """An MLP fits y = x @ w + noise to R² > 0.95 on held-out data, the metrics in the History
        as mae, rmse, r2 and val_mae, val_rmse, val_r2."""
        self.needs_kernels("loss", "mse")
        self.needs_kernels("metric", *REGRESSION_METRICS)
        x, y = linear_problem(512, outputs=outputs)
        lr = 1e-2 if "adam" in self.optimizers else 0.05
        trainer = self.trainer(device, epochs=20, lr=lr, loss="mse", metrics=REGRESSION_METRICS)
        history = trainer.fit(models.mlp(8, [32], outputs), (x[:400], y[:400]), validation=(x[400:], y[400:]))
        names = [*REGRESSION_METRICS, *(f"val_{name}" for name in REGRESSION_METRICS)]
        assert set(names) <= set(history.history), sorted(history.history)
        assert history["loss"][-1] < history["loss"][0] / 10
        assert history["val_r2"][-1] > 0.95 and history["val_rmse"][-1] < 0.5 * y.std(), history.records[-1]

    @pytest.mark.parametrize("outputs", [1, 3])
    def test_regression_metrics_equal_scikit_learns_on_the_same_predictions(self, device, outputs):
        """mae and rmse over samples and outputs, r2 pooled over outputs (scikit-learn's
        variance_weighted), summed over batches of 64 (the last of 52); the numpy formulas where
        scikit-learn is not installed."""
        self.needs_kernels("loss", "mse")
        self.needs_kernels("metric", *REGRESSION_METRICS)
        x, y = linear_problem(500, outputs=outputs, seed=1)
        y = y + np.float32(1.5)  # targets of a nonzero mean
        spec = models.mlp(8, [16], outputs)
        trainer = self.trainer(device, epochs=2, loss="mse", metrics=REGRESSION_METRICS, eval_batch_size=64)
        trainer.fit(spec, (x[:300], y[:300]))  # partly trained: R² between 0 and 1
        got = trainer.evaluate(spec, (x, y))
        predicted = trainer.predict(spec, x).astype(np.float64).reshape(y.shape)
        want = reference.regression_metrics(predicted, y)
        try:
            from sklearn import metrics
        except ImportError:
            pass
        else:
            want = {"mae": metrics.mean_absolute_error(y, predicted),
                    "rmse": float(np.sqrt(metrics.mean_squared_error(y, predicted))),
                    "r2": metrics.r2_score(y, predicted, multioutput="variance_weighted")}
        assert 0.05 < want["r2"] < 0.99, want
        for name in REGRESSION_METRICS:
            assert got[name] == pytest.approx(want[name], rel=1e-5, abs=1e-6), name
        assert got["loss"] == pytest.approx(want["rmse"] ** 2, rel=1e-5)


__all__ = ["REGRESSION_LOSSES", "REGRESSION_METRICS", "RegressionTests", "linear_problem"]
