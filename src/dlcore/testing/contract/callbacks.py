"""The contract suite's callbacks: every hook in Keras' order, stopping from a hook, early
stopping with the best weights restored, and the CSV log."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from ... import CSVLogger, EarlyStopping, LambdaCallback, models
from ..data import blobs
from .base import BackendTestBase


class CallbackTests(BackendTestBase):
    """Callbacks see the run as Keras' do.

    Example::

        from dlcore.testing import CallbackTests

        class TestMyBackendCallback(CallbackTests):
            backend = "mybackend"
    """

    def test_callbacks_see_every_hook_in_order_and_can_stop_training(self, device):
        """train, epoch, batch and validation hooks in Keras' order; stop_training set in a batch
        hook ends the epoch after that batch, whose loss is the mean of the batches run."""
        x, y = blobs(200)  # 7 batches of 32
        events: list[tuple] = []
        losses: list[float] = []

        def batch_end(trainer, model, batch, logs):
            events.append(("batch_end", batch))
            losses.append(logs["loss"])
            if model.epoch == 1 and batch == 3:
                trainer.stop_training = True

        recorder = LambdaCallback(
            on_train_begin=lambda trainer, model: events.append(("train_begin",)),
            on_epoch_begin=lambda trainer, model, epoch: events.append(("epoch_begin", epoch)),
            on_train_batch_begin=lambda trainer, model, batch: events.append(("batch_begin", batch)),
            on_train_batch_end=batch_end,
            on_validation_end=lambda trainer, model, epoch, logs: events.append(("validation_end", epoch, sorted(logs))),
            on_epoch_end=lambda trainer, model, epoch, logs: events.append(("epoch_end", epoch)),
            on_train_end=lambda trainer, model, history: events.append(("train_end", len(history))))
        trainer = self.trainer(device, epochs=3, optimizer="sgd", lr=0.1)
        history = trainer.fit(models.mlp(20, [8], 4), (x, y), validation=(x[:50], y[:50]), callbacks=[recorder])
        epoch_one = [("batch_begin", b) if i % 2 == 0 else ("batch_end", b) for b in range(7) for i in (0, 1)]
        epoch_two = [("batch_begin", b) if i % 2 == 0 else ("batch_end", b) for b in range(4) for i in (0, 1)]
        validation = ("validation_end", 1, ["val_accuracy", "val_loss"])
        assert events == [("train_begin",), ("epoch_begin", 1), *epoch_one, validation, ("epoch_end", 1),
                          ("epoch_begin", 2), *epoch_two, ("validation_end", 2, validation[2]), ("epoch_end", 2),
                          ("train_end", 2)]
        assert len(history) == 2 and trainer.stop_training
        assert history["loss"][1] == pytest.approx(np.mean(losses[7:11]), rel=1e-5)

    def test_early_stopping_stops_after_patience_and_restores_the_best_weights(self, device):
        """Random labels: the validation loss gets worse after a few epochs; training stops
        ``patience`` epochs after the best one, and the model ends with that epoch's weights."""
        rng = np.random.default_rng(1)
        x, y = rng.normal(0, 1, (256, 20)).astype(np.float32), rng.integers(0, 4, 256)
        vx, vy = rng.normal(0, 1, (128, 20)).astype(np.float32), rng.integers(0, 4, 128)
        stopper = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
        trainer = self.trainer(device, epochs=40, lr=3e-2)
        spec = models.mlp(20, [64], 4)
        history = trainer.fit(spec, (x, y), validation=(vx, vy), callbacks=[stopper])
        best = int(np.argmin(history["val_loss"])) + 1
        assert len(history) == best + 2 < 40 and stopper.stopped_epoch == best + 2 and stopper.best_epoch == best
        assert trainer.evaluate(spec, (vx, vy))["loss"] == pytest.approx(history["val_loss"][best - 1], rel=1e-5)

    def test_csv_logger_writes_a_row_per_epoch(self, device, tmp_path):
        x, y = blobs(200)
        path = tmp_path / "log.csv"
        self.trainer(device, epochs=3).fit(models.mlp(20, [8], 4), (x, y), callbacks=[CSVLogger(path)])
        rows = list(csv.DictReader(path.open()))
        assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
        assert set(rows[0]) == {"epoch", "loss", "accuracy", "lr", "seconds"} and float(rows[2]["loss"]) > 0


__all__ = ["CallbackTests"]
