"""The contract suite's checkpoints: save and load, the optimizer state a Model carries, exact
resume, and periodic and best checkpoints that a diverging run leaves intact."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ... import CheckpointError, ModelCheckpoint, TrainingCheckpoint, TrainingError, models
from ..data import blobs
from .base import LONG_EPOCH, BackendTestBase


class CheckpointTests(BackendTestBase):
    """A checkpoint restores a run exactly.

    Example::

        from dlcore.testing import CheckpointTests

        class TestMyBackendCheckpoint(CheckpointTests):
            backend = "mybackend"
    """

    def fitted(self, device: str, epochs: int = 1, samples: int = 200, **settings: Any):
        """``(x, y, spec, trainer)``: an MLP 20-8-4 trained ``epochs`` epochs on blobs."""
        x, y = blobs(samples)
        spec = models.mlp(20, [8], 4)
        trainer = self.trainer(device, epochs=epochs, **settings)
        trainer.fit(spec, (x, y))
        return x, y, spec, trainer

    def test_save_and_load_restore_predictions(self, device, tmp_path):
        x, y, spec, trainer = self.fitted(device)
        path = trainer.save(spec, tmp_path / "model.npz")
        restored = self.trainer(device).load(path)
        assert restored.spec == spec
        np.testing.assert_allclose(trainer.predict(restored, x), trainer.predict(spec, x), atol=1e-6)

    def test_checkpoint_holds_optimizer_state_progress_and_versions(self, device, tmp_path):
        x, y, spec, trainer = self.fitted(device, epochs=2)
        checkpoint = TrainingCheckpoint.load(trainer.save(spec, tmp_path / "c.npz", {"note": "mine"}))
        state = checkpoint.state
        assert state["epoch"] == 2 and state["step"] == 2 * 7 and len(state["history"]) == 2
        assert state["backend"] == self.backend and state["versions"]
        assert state["optimizer"]["name"] == trainer.optimizer and checkpoint.optimizer
        assert checkpoint.metadata == {"note": "mine"}

    def test_fitting_with_one_trainer_and_saving_with_another_keeps_the_optimizer_state(self, device, tmp_path):
        x, y = blobs(200)
        model = self.trainer(device).build(models.mlp(20, [8], 4))
        self.trainer(device, epochs=2).fit(model, (x, y))
        checkpoint = TrainingCheckpoint.load(self.trainer(device).save(model, tmp_path / "c.npz"))
        assert checkpoint.optimizer and checkpoint.state["epoch"] == 2

    def test_a_model_fitted_again_continues_with_its_optimizer_state(self, device):
        """Two fits of one epoch, by two trainers, give bitwise the weights of one fit of two
        epochs: the Model carries its optimizer state (Adam's moments) from one to the next."""
        x, y = blobs(300)
        straight = self.trainer(device, epochs=2, shuffle=False)
        spec = models.mlp(20, [8], 4)
        straight.fit(spec, (x, y))
        model = self.trainer(device).build(models.mlp(20, [8], 4))
        for _ in range(2):
            self.trainer(device, epochs=1, shuffle=False).fit(model, (x, y))
        expected = straight.build(spec).get_weights()
        assert all(np.array_equal(w, expected[k]) for k, w in model.get_weights().items()), \
            "the second fit did not continue the model's optimizer state"

    @pytest.mark.parametrize("optimizer", ["adam", "sgd"])
    def test_resuming_gives_bitwise_the_same_weights_as_uninterrupted_training(self, device, tmp_path, optimizer):
        self.needs(optimizer)
        x, y = blobs(LONG_EPOCH["samples"])
        val = (x[:50], y[:50])
        straight = models.mlp(20, [16], 4)
        first_trainer = self.trainer(device, epochs=3, optimizer=optimizer)
        first_trainer.fit(straight, (x, y), validation=val)
        expected = first_trainer.build(straight).get_weights()
        first = models.mlp(20, [16], 4)
        two = self.trainer(device, epochs=2, optimizer=optimizer)
        two.fit(first, (x, y), validation=val)
        path = two.save(first, tmp_path / "two.npz")
        resumed = models.mlp(20, [16], 4)
        three = self.trainer(device, epochs=3, optimizer=optimizer)
        history = three.fit(resumed, (x, y), validation=val, resume_from=path)
        got = three.build(resumed).get_weights()
        assert [r["epoch"] for r in history.records] == [1, 2, 3]
        for name in expected:
            assert np.array_equal(got[name], expected[name]), f"{name}: the resumed run differs from the straight one"

    @pytest.mark.parametrize("optimizer", ["adam", "sgd"])
    def test_the_resuming_trainers_learning_rate_applies(self, device, tmp_path, optimizer):
        """Resumed with a learning rate too small to move a float32 weight, the third epoch leaves
        the weights as saved (with the saved rate, 1e-2, they would move)."""
        self.needs(optimizer)
        x, y, spec, two = self.fitted(device, epochs=2, optimizer=optimizer)
        path = two.save(spec, tmp_path / "two.npz")
        saved = TrainingCheckpoint.load(path).weights
        for lr, moves in ((1e-20, False), (1e-2, True)):
            trainer = self.trainer(device, epochs=3, optimizer=optimizer, lr=lr)
            resumed = models.mlp(20, [8], 4)
            trainer.fit(resumed, (x, y), resume_from=path)
            got = trainer.build(resumed).get_weights()
            same = all(np.allclose(got[k], saved[k], rtol=0, atol=1e-12) for k in saved)
            assert same != moves, (f"with lr {lr} the resumed epoch {'left' if same else 'moved'} the weights: "
                                   "the resuming trainer's learning rate was not applied")

    def test_resume_refuses_another_architecture_or_optimizer(self, device, tmp_path):
        x, y, spec, trainer = self.fitted(device)
        path = trainer.save(spec, tmp_path / "c.npz")
        with pytest.raises(CheckpointError, match=r"missing layers.2.weight; .*layers.1.weight: model has \(8, 8\), weights have \(4, 8\)"):
            self.trainer(device).fit(models.mlp(20, [8, 8], 4), (x, y), resume_from=path)
        if len(self.optimizers) > 1:
            other = next(o for o in self.optimizers if o != trainer.optimizer)
            with pytest.raises(CheckpointError, match=f"was trained with '{trainer.optimizer}'"):
                self.trainer(device, optimizer=other).fit(models.mlp(20, [8], 4), (x, y), resume_from=path)

    def test_periodic_and_best_checkpoints_survive_a_diverging_run(self, device, tmp_path):
        x, y = blobs(300)
        spec = models.mlp(20, [8], 4)
        saver = ModelCheckpoint(tmp_path / "ckpt", every=2, monitor="val_accuracy")
        self.trainer(device, epochs=4, optimizer="sgd", lr=0.1).fit(spec, (x, y), validation=(x[:60], y[:60]),
                                                                    callbacks=[saver])
        last, best = TrainingCheckpoint.load(saver.last_path), TrainingCheckpoint.load(saver.best_path)
        assert last.state["epoch"] == 4
        assert best.metadata["value"] == max(r["val_accuracy"] for r in last.state["history"])
        before = {path: path.read_bytes() for path in (saver.last_path, saver.best_path)}
        with pytest.raises(TrainingError):
            self.trainer(device, epochs=6, optimizer="sgd", lr=1.0).fit(
                spec, (x * 1e30, (y + 1) % 4), validation=(x[:60], y[:60]), callbacks=[saver],
                resume_from=saver.last_path)
        for path, raw in before.items():
            assert path.read_bytes() == raw, f"{path.name} was overwritten by the diverging run"
        assert TrainingCheckpoint.load(saver.best_path).metadata == best.metadata


__all__ = ["CheckpointTests"]
