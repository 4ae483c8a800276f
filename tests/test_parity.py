"""Both backends, one process: the same spec, seed and data give the same numbers."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import BACKENDS, blobs
from dlcore import Trainer, models

pytestmark = pytest.mark.skipif(len(BACKENDS) < 2, reason="needs both torch and tensorflow")


def trainers(**settings):
    defaults = dict(epochs=2, batch_size=32, optimizer="sgd", lr=0.05, seed=0, device="cpu", progress=False)
    return [Trainer(backend=b, **{**defaults, **settings}) for b in ("torch", "tensorflow")]


def test_same_weights_give_the_same_logits():
    x, _ = blobs(200)
    spec = models.mlp(20, [16, 16], 4)
    torch_logits, tf_logits = (t.predict(spec, x) for t in trainers())
    np.testing.assert_allclose(torch_logits, tf_logits, atol=1e-5)


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.05), ("adam", 1e-3)])
def test_training_follows_the_same_trajectory(optimizer, lr):
    x, y = blobs(640)
    histories, weights = [], []
    for trainer in trainers(optimizer=optimizer, lr=lr):
        spec = models.mlp(20, [16], 4)
        histories.append(trainer.fit(spec, (x, y)))
        weights.append(trainer.build(spec).get_weights())
    np.testing.assert_allclose(histories[0]["loss"], histories[1]["loss"], rtol=1e-4)
    for name in weights[0]:
        np.testing.assert_allclose(weights[0][name], weights[1][name], atol=1e-4)


def test_checkpoint_moves_between_backends(tmp_path):
    x, y = blobs(300)
    torch_trainer, tf_trainer = trainers()
    spec = models.mlp(20, [16], 4)
    torch_trainer.fit(spec, (x, y))
    path = torch_trainer.save(spec, tmp_path / "torch.npz")
    restored = tf_trainer.load(path)
    np.testing.assert_allclose(tf_trainer.predict(restored, x), torch_trainer.predict(spec, x), atol=1e-4)
    tf_trainer.fit(restored, (x, y))
    back = torch_trainer.load(tf_trainer.save(restored, tmp_path / "tf.npz"))
    np.testing.assert_allclose(torch_trainer.predict(back, x), tf_trainer.predict(restored, x), atol=1e-4)
