"""The contract suite's evaluate and predict: small evaluation batches give the reference's
logits and per-sample loss, and every classification metric equals scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest

from ... import models
from .. import reference
from ..data import blobs
from .base import BackendTestBase


class EvaluationTests(BackendTestBase):
    """``evaluate`` and ``predict`` compute what the reference and scikit-learn do.

    Example::

        from dlcore.testing import EvaluationTests

        class TestMyBackendEvaluation(EvaluationTests):
            backend = "mybackend"
    """

    def test_evaluate_and_predict_in_many_small_batches(self, device):
        """A small eval_batch_size (last batch of 2 samples) gives the same logits, and the loss
        is the mean per sample, not the mean of batch means."""
        x, y = blobs(100)
        spec = models.mlp(20, [8], 4)
        small = self.trainer(device, eval_batch_size=7)
        logits = small.predict(spec, x, allow_random=True)
        want = reference.forward(spec.initial_weights(0), x)[-1]
        np.testing.assert_allclose(logits, want, atol=1e-5)
        np.testing.assert_allclose(logits, self.trainer(device).predict(spec, x, allow_random=True), atol=1e-6)
        assert logits.shape == (100, 4) and logits.dtype == np.float32
        metrics = small.evaluate(spec, (x, y), allow_random=True)
        assert metrics["loss"] == pytest.approx(reference.cross_entropy(want, y), rel=1e-5)
        assert metrics["accuracy"] == pytest.approx((want.argmax(1) == y).mean())

    ALL_METRICS = ("accuracy", "top_k_accuracy", "precision", "recall", "f1", "auc")

    @pytest.mark.parametrize("classes", [10, 2])
    def test_metrics_equal_scikit_learns_on_the_same_predictions(self, device, classes):
        """Macro averages over 10 classes; a one-logit model's positive class (2); AUC from the
        probabilities; the confusion matrix from evaluate; over batches of 64 (the last of 44)."""
        metrics = pytest.importorskip("sklearn.metrics")
        wanted = [m for m in (self.ALL_METRICS if classes > 2 else self.ALL_METRICS[2:]) if self.implements(m)]
        if not wanted:
            pytest.skip(f"{self.backend} implements none of {', '.join(self.ALL_METRICS)} for this model")
        x, y = blobs(1000, classes=classes, spread=1.5, seed=3)
        spec = models.mlp(20, [8], 1 if classes == 2 else classes)
        trainer = self.trainer(device, epochs=1, metrics=wanted, eval_batch_size=64)
        history = trainer.fit(spec, (x[:500], y[:500]), validation=(x[500:], y[500:]))
        assert {f"val_{m}" for m in trainer.metrics} <= set(history.history)
        got = trainer.evaluate(spec, (x, y), confusion_matrix=self.implements("confusion_matrix"))
        logits = trainer.predict(spec, x).astype(np.float64)
        if classes == 2:
            predicted, probabilities = (logits[:, 0] > 0).astype(int), 1 / (1 + np.exp(-logits[:, 0]))
            averaged = {"average": "binary"}
        else:
            predicted = logits.argmax(1)
            probabilities = np.exp(logits - logits.max(1, keepdims=True))
            probabilities /= probabilities.sum(1, keepdims=True)
            averaged = {"average": "macro"}
        want = {"accuracy": lambda: metrics.accuracy_score(y, predicted),
                "top_k_accuracy": lambda: metrics.top_k_accuracy_score(y, probabilities, k=5),
                "precision": lambda: metrics.precision_score(y, predicted, zero_division=0, **averaged),
                "recall": lambda: metrics.recall_score(y, predicted, zero_division=0, **averaged),
                "f1": lambda: metrics.f1_score(y, predicted, zero_division=0, **averaged),
                "auc": lambda: metrics.roc_auc_score(y, probabilities, multi_class="ovr")}
        for name in wanted:
            assert got[name] == pytest.approx(want[name](), abs=1e-5 if name == "auc" else 1e-9), name
        if "confusion_matrix" in got:
            np.testing.assert_array_equal(got["confusion_matrix"], metrics.confusion_matrix(y, predicted))


__all__ = ["EvaluationTests"]
