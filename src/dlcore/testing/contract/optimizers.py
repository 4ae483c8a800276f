"""The contract suite's optimizers and learning rates: each optimizer object with its settings,
schedules per update and per epoch, ReduceLROnPlateau, gradient clipping and accumulation,
against the float64 reference (:mod:`dlcore.testing.reference`)."""

from __future__ import annotations

import numpy as np
import pytest

from ... import LambdaCallback, callbacks, models, schedules
from ...optimizers import SGD, Adam, AdamW, RMSprop
from .. import reference
from ..data import blobs
from .base import LONG_EPOCH, BackendTestBase


class OptimizerTests(BackendTestBase):
    """Updates, their state and their rates, as the reference computes them.

    Example::

        from dlcore.testing import OptimizerTests

        class TestMyBackendOptimizer(OptimizerTests):
            backend = "mybackend"
    """

    @pytest.mark.parametrize("optimizer", [
        SGD(0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
        Adam(1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-3, amsgrad=True),
        AdamW(1e-2, weight_decay=0.05),
        RMSprop(1e-3, alpha=0.9, momentum=0.5, centered=True, weight_decay=1e-3),
    ], ids=["sgd-nesterov", "adam-amsgrad", "adamw", "rmsprop-centered"])
    def test_optimizer_objects_follow_the_reference_and_save_canonical_state(self, device, optimizer):
        """Each optimizer with its settings: two uneven epochs match the float64 reference
        (weights 1e-5), and the saved state is the reference's, in the canonical slots."""
        x, y = blobs(LONG_EPOCH["samples"])
        spec = models.mlp(20, [16], 4)
        trainer = self.supported(device, epochs=2, batch_size=LONG_EPOCH["batch_size"], optimizer=optimizer,
                                 lr=None, shuffle=False)
        history = trainer.fit(spec, (x, y))
        update = reference.Optimizer(optimizer.name, optimizer.lr, **optimizer.hyper)
        want, want_losses = reference.train(spec.initial_weights(0), x, y, epochs=2, optimizer=update,
                                            batch_size=LONG_EPOCH["batch_size"])
        np.testing.assert_allclose(history["loss"], want_losses, rtol=1e-5, atol=1e-6,
                                   err_msg=f"{optimizer}: the losses differ")
        got = trainer.build(spec).get_weights()
        for name in want:
            np.testing.assert_allclose(got[name], want[name], atol=1e-5, err_msg=f"{optimizer}: {name} differs")
        arrays, meta = trainer.backend.optimizer_state(trainer.build(spec))
        assert meta["step"] == update.t == 2 * 54
        assert set(arrays) == {f"{p}/{slot}" for slot in update.state for p in want}
        for slot, values in update.state.items():
            for name, value in values.items():
                np.testing.assert_allclose(arrays[f"{name}/{slot}"], value, atol=1e-5, rtol=1e-4,
                                           err_msg=f"{optimizer}: the saved {name}/{slot} differs from the reference")

    @pytest.mark.parametrize("accumulate, clip", [(1, {}), (3, {"clip_value": 0.05, "clip_norm": 0.5})])
    def test_schedule_clipping_and_accumulation_follow_the_reference(self, device, accumulate, clip):
        """A per-update cosine schedule with warmup, gradients clipped by value then by norm, and
        updates of the mean gradient of 3 batches (the epoch's last group of 3 batches of 54 is
        whole; of 55, one): the same weights as the reference, and the History's lr is the
        rate of each epoch's last update."""
        samples = LONG_EPOCH["samples"] + (LONG_EPOCH["batch_size"] if accumulate > 1 else 0)
        x, y = blobs(samples)
        spec = models.mlp(20, [16], 4)
        schedule = schedules.CosineDecay(warmup=10, min_factor=0.1)
        trainer = self.supported(device, epochs=2, batch_size=LONG_EPOCH["batch_size"], optimizer="sgd", lr=0.2,
                                 shuffle=False, schedule=schedule, accumulate=accumulate, **clip)
        history = trainer.fit(spec, (x, y))
        batches = -(-samples // LONG_EPOCH["batch_size"])
        per_epoch = -(-batches // accumulate)
        rate = lambda epoch, b: 0.2 * schedule.factor(epoch * per_epoch + b // accumulate, 2 * per_epoch)  # noqa: E731
        want, _ = reference.train(spec.initial_weights(0), x, y, epochs=2, optimizer=reference.SGD(0.2),
                                  batch_size=LONG_EPOCH["batch_size"], accumulate=accumulate, rates=rate, **clip)
        got = trainer.build(spec).get_weights()
        for name in want:
            np.testing.assert_allclose(got[name], want[name], atol=1e-5, err_msg=f"{name} differs from the reference")
        assert history["lr"] == pytest.approx([rate(0, batches - 1), rate(1, batches - 1)])

    def test_per_epoch_schedule_and_reduce_on_plateau_set_the_rate(self, device):
        """StepDecay halves the rate every epoch; ReduceLROnPlateau (patience 0, a monitor that
        never improves after the first epoch) divides the fit's rate by 10 after each epoch
        from the second, and the next fit starts again from the trainer's ``lr``."""
        x, y = blobs(300)
        trainer = self.trainer(device, epochs=4, optimizer="sgd", lr=0.1, schedule=schedules.StepDecay(1, 0.5),
                               shuffle=False)
        spec = models.mlp(20, [8], 4)
        history = trainer.fit(spec, (x, y))
        assert history["lr"] == pytest.approx([0.1, 0.05, 0.025, 0.0125])
        want, _ = reference.train(spec.initial_weights(0), x, y, epochs=4, batch_size=32, optimizer=reference.SGD(0.1),
                                  rates=lambda epoch, b: 0.1 * 0.5 ** epoch)
        got = trainer.build(spec).get_weights()
        for name in want:
            np.testing.assert_allclose(got[name], want[name], atol=1e-5, err_msg=f"{name}: the epochs' rates differ")
        trainer = self.trainer(device, epochs=4, optimizer="sgd", lr=0.1)
        plateau = callbacks.ReduceLROnPlateau(monitor="constant", patience=0, factor=0.1)
        history = trainer.fit(models.mlp(20, [8], 4), (x, y), callbacks=[
            LambdaCallback(on_epoch_end=lambda t, m, e, logs: logs.update(constant=1.0)), plateau])
        assert history["lr"] == pytest.approx([0.1, 0.1, 0.01, 0.001])
        assert trainer.lr == 0.1  # the plateau lowered that fit's rate, not the trainer's setting
        again = trainer.fit(models.mlp(20, [8], 4), (x, y))
        assert again["lr"] == pytest.approx([0.1] * 4)


__all__ = ["OptimizerTests"]
