"""The contract suite's models: a spec builds on the backend with dlcore's canonical parameter
names and seeded initial weights, weights of another shape are refused, a Model owns its
weights, and ``summary`` lists its layers (``weights=True``: its parameters)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from ... import CheckpointError, models
from ..data import blobs
from .base import BackendTestBase


class ModelTests(BackendTestBase):
    """A backend builds dlcore's specs and holds their weights.

    Example::

        from dlcore.testing import ModelTests

        class TestMyBackendModel(ModelTests):
            backend = "mybackend"
    """

    def test_trainer_runs_on_the_backend_and_device(self, device):
        trainer = self.trainer(device)
        assert trainer.backend_name == self.backend and trainer.backend.name == self.backend
        assert trainer.device == trainer.backend.device(device) and trainer.device in trainer.backend.devices()

    def test_spec_builds_with_canonical_parameters_and_seeded_initial_weights(self, device):
        spec = models.mlp(20, [16], 4)
        built = self.trainer(device).build(spec)
        weights = built.get_weights()
        assert {k: w.shape for k, w in weights.items()} == spec.parameter_shapes()
        expected = spec.initial_weights(seed=0)
        assert all(np.array_equal(weights[k], expected[k]) for k in expected)
        assert built.num_parameters() == 20 * 16 + 16 + 16 * 4 + 4

    def test_weights_of_another_shape_are_refused_naming_each_tensor(self, device):
        built = self.trainer(device).build(models.mlp(20, [8], 4))
        before = built.get_weights()
        with pytest.raises(CheckpointError, match=r"layers.0.weight: model has \(8, 20\), weights have \(4, 20\)"):
            built.set_weights(models.mlp(20, [4], 4).initial_weights())
        assert all(np.array_equal(before[k], w) for k, w in built.get_weights().items())

    def test_the_model_object_owns_weights_and_specs_share_none(self, device):
        """Equal specs never share weights; a Model passed between trainers keeps its own."""
        x, y = blobs(300)
        spec, twin = models.mlp(20, [8], 4), models.mlp(20, [8], 4)
        trainer = self.trainer(device, epochs=2)
        trainer.fit(spec, (x, y))
        assert spec == twin
        assert not np.allclose(trainer.predict(spec, x), trainer.predict(twin, x, allow_random=True))
        model = trainer.build(spec)
        other = self.trainer(device, seed=3)
        np.testing.assert_array_equal(other.predict(model, x), trainer.predict(spec, x))
        fresh = other.build(models.mlp(20, [8], 4))  # a later trainer's seed is its own
        assert np.array_equal(fresh.get_weights()["layers.0.weight"],
                              models.mlp(20, [8], 4).initial_weights(3)["layers.0.weight"])

    def test_summary_lists_layers_and_with_weights_true_each_parameter(self, device):
        trainer, spec = self.trainer(device), models.mlp(20, [8], 4)
        text = trainer.summary(spec, print_fn=None)
        assert re.search(r"layers\.0 \(Dense\)\s+\(None, 8\)\s+168\n", text), text
        assert re.search(r"layers\.1 \(Dense\)\s+\(None, 4\)\s+36\n", text), text
        assert "Total params: 204" in text and "Trainable params: 204" in text and "Non-trainable params: 0" in text
        table = trainer.summary(spec, print_fn=None, weights=True)
        assert re.search(r"layers\.0\.weight\s+8x20\s+160\n", table), table
        assert "total 204 parameters (204 trainable)" in table


__all__ = ["ModelTests"]
