"""The contract suite's portable layers: every layer kind dlcore defines against the float64
reference (:mod:`dlcore.testing.reference_layers`), batch norm's running statistics, dropout's
seeded masks, a CNN that learns and resumes exactly, channels-last images, checkpoints, and a
graph of merges and a shared layer (where the backend builds graphs)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ... import ConfigError, DataError, models
from ...models import layers
from ...plugins.manager import registry
from .. import reference_layers
from ..data import blobs, patterns
from .base import BackendTestBase


def layer_specs() -> list[Any]:
    """Sequential specs that between them hold every layer kind dlcore defines."""
    L = layers
    return [
        models.cnn((1, 10, 10), classes=3, filters=(4, 8), hidden=16),
        models.sequential([L.conv2d(5, (3, 2), stride=2, padding=1, activation="gelu"), L.avg_pool2d(2, 1),
                           L.batch_norm(), L.activation("silu"), L.global_max_pool2d(), L.dense(7, "elu"),
                           L.dense(7, "leaky_relu"), L.dense(3, "tanh")], (2, 9, 8)),
        models.sequential([L.conv2d(4, 4, padding="same", bias=False), L.max_pool2d(3, 2), L.global_avg_pool2d(),
                           L.dense(5, "sigmoid"), L.batch_norm(), L.dense(3, bias=False), L.activation("softmax")],
                          (3, 10, 10)),
        models.sequential([L.embedding(30, 4), L.flatten(), L.dropout(0.2), L.dense(6, "relu"), L.dense(2)], (5,)),
    ]


class LayerTests(BackendTestBase):
    """Sequential specs of portable layers, where the backend builds them (else skipped).

    Example::

        from dlcore.testing import LayerTests

        class TestMyBackendLayer(LayerTests):
            backend = "mybackend"
    """

    def needs_layers(self) -> None:
        try:
            registry().kernel("model", "sequential", self.backend)
        except ConfigError:
            pytest.skip(f"{self.backend} does not build sequential specs (portable layers)")

    def test_every_layer_kind_matches_a_numpy_reference(self, device):
        self.needs_layers()
        rng = np.random.default_rng(0)
        trainer = self.trainer(device)
        for spec in layer_specs():
            weights = {name: value + (rng.normal(0, 0.1, value.shape).astype(np.float32) if value.dtype.kind == "f"
                                      else 0) for name, value in spec.initial_weights(1).items()}
            for name in weights:
                if name.endswith("running_var"):
                    weights[name] = np.abs(weights[name]) + 0.5
            model = trainer.build(spec)
            model.set_weights(weights)
            got = model.get_weights()
            assert {k: (v.shape, v.dtype.kind) for k, v in got.items()} == \
                {k: (v.shape, v.dtype.kind) for k, v in weights.items()}, spec
            x = (rng.integers(0, 30, (6, *spec.input_shape)) if spec.input_dtype == "int64"
                 else rng.normal(0, 1, (6, *spec.input_shape)).astype(np.float32))
            expected = reference_layers.forward(spec, weights, x)[-1]
            np.testing.assert_allclose(trainer.predict(model, x), expected, rtol=1e-4, atol=1e-5, err_msg=repr(spec))

    def test_batch_norm_updates_its_running_statistics_as_the_reference(self, device):
        self.needs_layers()
        spec = models.sequential([layers.conv2d(3, 3), layers.batch_norm(momentum=0.3), layers.flatten(),
                                  layers.dense(2)], (2, 6, 6))
        x = np.random.default_rng(0).normal(1, 2, (16, 2, 6, 6)).astype(np.float32)
        trainer = self.trainer(device, epochs=1, batch_size=16)
        model = trainer.build(spec)
        before = model.get_weights()
        trainer.fit(model, (x, np.arange(16) % 2))
        conv = reference_layers.forward(spec, before, x)[1]
        expected = reference_layers.batch_norm_update(spec.layers[1], {k.split(".", 2)[2]: v for k, v in before.items()
                                                                        if k.startswith("layers.1.")}, conv)
        after = model.get_weights()
        for name, value in expected.items():
            np.testing.assert_allclose(after[f"layers.1.{name}"], value, rtol=1e-4, atol=1e-6, err_msg=name)

    def test_a_cnn_learns_where_a_shape_is_drawn(self, device):
        self.needs_layers()
        x, y = patterns(700)
        spec = models.cnn((1, 12, 12), classes=3, filters=(8, 16), hidden=32, dropout=0.1)
        trainer = self.trainer(device, epochs=6, lr=3e-3)
        trainer.fit(spec, (x[:500], y[:500]))
        assert trainer.evaluate(spec, (x[500:], y[500:]))["accuracy"] >= 0.9

    def test_resuming_a_cnn_is_exact_with_batch_norm_and_dropout(self, device, tmp_path):
        self.needs_layers()
        x, y = patterns(300)
        spec = models.cnn((1, 12, 12), classes=3, filters=(4,), hidden=16, dropout=0.3)
        straight = self.trainer(device, epochs=2)
        straight.fit(spec, (x, y))
        first = self.trainer(device, epochs=1)
        first.fit(spec, (x, y))
        first.save(spec, tmp_path / "cnn.npz")
        resumed = self.trainer(device, epochs=2)
        resumed.fit(spec, (x, y), resume_from=tmp_path / "cnn.npz")
        expected, got = straight.build(spec).get_weights(), resumed.build(spec).get_weights()
        batches = 2 * -(-len(x) // 32)
        assert [int(v[1]) for k, v in got.items() if k.endswith(".rng")] == [batches, batches]
        exact = device == "cpu"  # a GPU's convolution gradients (cuDNN's) may add in another order each run
        for name in expected:
            np.testing.assert_allclose(got[name], expected[name], rtol=0 if exact else 1e-4, atol=0 if exact else 1e-6,
                                       err_msg=name)

    def test_dropout_is_off_in_inference_and_its_masks_follow_the_seed(self, device):
        self.needs_layers()
        x, y = blobs(200)
        spec = models.sequential([layers.dense(16, "relu"), layers.dropout(0.5), layers.dense(4)], (20,))
        runs = []
        for _ in range(2):
            trainer = self.trainer(device, epochs=2)
            trainer.fit(spec, (x, y))
            runs.append(trainer.build(spec).get_weights())
            assert np.array_equal(trainer.predict(spec, x), trainer.predict(spec, x))
        for name in runs[0]:
            np.testing.assert_array_equal(runs[0][name], runs[1][name], err_msg=name)
        np.testing.assert_allclose(trainer.predict(spec, x), reference_layers.forward(spec, runs[1], x)[-1],
                                   rtol=1e-4, atol=1e-5)

    def test_images_with_channels_last_reach_a_spec_channels_first(self, device):
        self.needs_layers()
        x = np.random.default_rng(0).normal(0, 1, (5, 3, 6, 6)).astype(np.float32)
        spec = models.sequential([layers.conv2d(2, 3), layers.flatten(), layers.dense(2)], (3, 6, 6))
        trainer = self.trainer(device)
        np.testing.assert_allclose(trainer.predict(spec, np.moveaxis(x, 1, -1), allow_random=True),
                                   trainer.predict(spec, x, allow_random=True), rtol=1e-5)
        with pytest.raises(DataError, match=r"samples of shape \(3, 6, 6\).*shape \(3, 5, 5\)"):
            trainer.predict(spec, x[:, :, :5, :5], allow_random=True)

    def test_a_sequential_checkpoint_holds_its_layers(self, device, tmp_path):
        self.needs_layers()
        x, y = patterns(100)
        spec = models.cnn((1, 12, 12), classes=3, filters=(4,), hidden=8)
        trainer = self.trainer(device, epochs=1)
        trainer.fit(spec, (x, y))
        trainer.save(spec, tmp_path / "cnn.npz")
        loaded = self.trainer(device).load(tmp_path / "cnn.npz")
        assert loaded.spec == spec
        np.testing.assert_allclose(self.trainer(device).predict(loaded, x), trainer.predict(spec, x), rtol=1e-5,
                                   atol=1e-6)

    def test_a_graph_of_merges_and_a_shared_layer_matches_the_numpy_reference(self, device, tmp_path):
        try:
            registry().kernel("model", "graph", self.backend)
        except ConfigError:
            pytest.skip(f"{self.backend} does not build graphs of layers")
        spec = graph_spec()
        rng = np.random.default_rng(0)
        features = {"image": rng.normal(0, 1, (6, 2, 5, 5)).astype(np.float32),
                    "table": rng.normal(0, 1, (6, 4)).astype(np.float32)}
        weights = {name: value + rng.normal(0, 0.2, value.shape).astype(np.float32) if value.dtype.kind == "f"
                   else value for name, value in spec.initial_weights(1).items()}
        trainer = self.trainer(device)
        model = trainer.build(spec)
        model.set_weights(weights)
        expected = reference_layers.graph_outputs(spec, weights, features)
        np.testing.assert_allclose(trainer.predict(model, features), expected, rtol=1e-4, atol=1e-5)
        trainer.save(model, tmp_path / "graph.npz")
        loaded = self.trainer(device).load(tmp_path / "graph.npz")
        assert loaded.spec == spec and set(loaded.get_weights()) == set(spec.parameter_shapes())


def graph_spec() -> Any:
    """A graph of two inputs: an image's channels joined to themselves (``concatenate`` on axis
    1), a shared dense layer called twice, ``add`` and ``multiply`` of its calls, batch norm."""
    image, table = models.Input((2, 5, 5), name="image"), models.Input((4,), name="table")
    seen = layers.global_avg_pool2d()(layers.conv2d(3, 3)(layers.concatenate(axis=1)([image, image])))
    shared = layers.dense(3, "tanh")
    first, second = shared(table), shared(layers.dense(4)(table))
    mixed = layers.concatenate()([layers.add()([first, second, seen]), layers.multiply()([first, second])])
    return models.graph([image, table], layers.dense(2)(layers.batch_norm()(mixed)))


__all__ = ["LayerTests", "graph_spec", "layer_specs"]
