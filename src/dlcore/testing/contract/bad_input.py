"""The contract suite's bad input: data, settings, devices, models and losses that cannot train
are refused with one clear error before (or as soon as) training goes wrong."""

from __future__ import annotations

import numpy as np
import pytest

from ... import ConfigError, DataError, DeviceError, Trainer, TrainingError, models
from ...optimizers import SGD, Adam
from ..data import blobs
from .base import BackendTestBase


class BadInputTests(BackendTestBase):
    """Every user mistake is one clear error.

    Example::

        from dlcore.testing import BadInputTests

        class TestMyBackendBadInput(BadInputTests):
            backend = "mybackend"
    """

    @pytest.mark.parametrize("data, message", [
        ((np.zeros((10, 21), np.float32), np.zeros(10, np.int64)), "expects 20 features per sample"),
        ((np.zeros((10, 20), np.float32), np.full(10, 4)), "label 4 at index 0 is out of range"),
        ((np.zeros((10, 20), np.float32), np.full(10, -1)), "label -1 at index 0 is out of range"),
        ((np.zeros((0, 20), np.float32), np.zeros(0, np.int64)), "is empty"),
        ((np.zeros((10, 20), np.float32), np.zeros(10, np.float32)), "class labels must be integers"),
    ])
    def test_bad_data_is_caught_before_training(self, device, data, message):
        with pytest.raises(DataError, match=message):
            self.trainer(device).fit(models.mlp(20, [8], 4), data)

    def test_nan_features_are_refused(self, device):
        x, y = blobs(100)
        x[3, 2] = np.nan
        with pytest.raises(DataError, match=r"NaN or infinite values \(first at index \(3, 2\)\)"):
            self.trainer(device).fit(models.mlp(20, [8], 4), (x, y))

    def test_diverging_loss_stops_training(self, device):
        x, y = blobs(100)
        with pytest.raises(TrainingError, match=r"epoch 1: the training loss became (nan|inf) at step \d+; "
                                                r"lower the learning rate"):
            self.trainer(device, optimizer="sgd", lr=1e30).fit(models.mlp(20, [8], 4), (x * 1e10, y))

    @pytest.mark.parametrize("settings, message", [
        (dict(optimizer="rmsprop-nonexistent"), "unknown optimizer 'rmsprop-nonexistent'; choose one of"),
        (dict(lr=-1.0), "lr must be a positive number"),
        (dict(batch_size=0), "batch_size must be an integer >= 1"),
        (dict(epochs=0), "epochs must be an integer >= 1"),
        (dict(loss="hinge-nonexistent"), "unknown loss 'hinge-nonexistent'"),
        (dict(metrics=["nope"]), "unknown metric 'nope'"),
        (dict(metrics=["confusion_matrix"]), "confusion_matrix is not a per-epoch metric"),
        (dict(optimizer=SGD(0.1), lr=0.2), r"two learning rates: lr=0.2 and SGD\(lr=0.1"),
        (dict(optimizer=lambda: SGD(momentum=-0.5)), "sgd momentum must be >= 0"),
        (dict(optimizer=lambda: SGD(nesterov=True)), "nesterov momentum needs momentum > 0"),
        (dict(optimizer=lambda: Adam(betas=(0.9, 1.0))), r"adam beta2 must be in \[0, 1\)"),
        (dict(precision="fp8"), "precision must be one of '32', 'bf16-mixed', '16-mixed'"),
        (dict(accumulate=0), "accumulate must be an integer >= 1"),
        (dict(clip_norm=0.0), "clip_norm must be a positive number or None"),
        (dict(schedule="cosine"), "schedule must be a dlcore.schedules.Schedule"),
    ])
    def test_bad_settings_are_refused(self, device, settings, message):
        with pytest.raises(ConfigError, match=message):  # an optimizer object is made in the test
            self.trainer(device, **{k: v() if callable(v) else v for k, v in settings.items()})

    def test_unknown_device_lists_the_backends_devices(self):
        with pytest.raises(DeviceError, match=f"'cuda:7' does not exist on backend '{self.backend}'; available:"):
            Trainer(backend=self.backend, device="cuda:7")

    def test_unusable_model_and_data_types_are_refused(self, device):
        trainer = self.trainer(device)
        with pytest.raises(ConfigError, match="cannot use a str as a model"):
            trainer.fit("mlp", blobs(10))
        with pytest.raises(ConfigError, match="cannot use a list as data"):
            trainer.fit(models.mlp(20, [8], 4), [1, 2, 3])


__all__ = ["BadInputTests"]
