"""The contract suite's mixed precision: bf16-mixed and 16-mixed learn where a backend offers
them (skipped where it says it does not)."""

from __future__ import annotations

import pytest

from ... import models
from ..data import blobs
from .base import BackendTestBase


class PrecisionTests(BackendTestBase):
    """Mixed precision learns, and is in effect.

    Example::

        from dlcore.testing import PrecisionTests

        class TestMyBackendPrecision(PrecisionTests):
            backend = "mybackend"
    """

    def test_bf16_mixed_precision_learns_where_offered(self, device):
        """bf16-mixed learns, and is in effect: the same untrained weights (loss about 1.4)
        evaluate to a loss that differs from float32's by bfloat16's rounding (not at all, or
        wildly, would be wrong)."""
        trainer = self.supported(device, precision="bf16-mixed")
        x, y = blobs()
        spec = models.mlp(20, [32], 4)
        trainer.fit(spec, (x[:1000], y[:1000]))
        assert trainer.evaluate(spec, (x[1000:], y[1000:]))["accuracy"] >= 0.95
        model = trainer.build(models.mlp(20, [32], 4))
        mixed = trainer.evaluate(model, (x, y))["loss"]
        full = self.trainer(device).evaluate(model, (x, y))["loss"]
        assert mixed != full and mixed == pytest.approx(full, rel=0.05)

    def test_float16_mixed_precision_learns_on_a_gpu(self, device):
        """16-mixed (float16 with loss scaling) reaches the accuracy float32 reaches, where a
        backend offers it on the test device (a GPU: tox's gpu factor)."""
        if device == "cpu":
            pytest.skip("float16 mixed precision runs on a GPU")
        trainer = self.supported(device, precision="16-mixed")
        x, y = blobs()
        spec = models.mlp(20, [32], 4)
        trainer.fit(spec, (x[:1000], y[:1000]))
        assert trainer.evaluate(spec, (x[1000:], y[1000:]))["accuracy"] >= 0.95


__all__ = ["PrecisionTests"]
