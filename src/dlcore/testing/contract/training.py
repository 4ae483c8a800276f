"""The contract suite's training: a small problem is learned, each step follows the float64
numpy reference, one-hot and one-logit labels, sample and class weights, and what ``fit``
prints (the tutorial's verbose lines, the progress bar or a line per epoch)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ... import ConfigError, DataError, Trainer, models
from .. import reference
from ..data import blobs
from .base import LONG_EPOCH, BackendTestBase


class TrainingTests(BackendTestBase):
    """``fit`` trains as the reference does, on every kind of labels dlcore takes.

    Example::

        from dlcore.testing import TrainingTests

        class TestMyBackendTraining(TrainingTests):
            backend = "mybackend"
    """

    def test_learns_a_small_problem_to_high_accuracy(self, device):
        x, y = blobs()
        spec = models.mlp(20, [32], 4)
        trainer = self.trainer(device)
        history = trainer.fit(spec, (x[:1000], y[:1000]), validation=(x[1000:], y[1000:]))
        assert len(history) == 5
        assert history["loss"][-1] < history["loss"][0] / 2
        assert history["val_accuracy"][-1] >= 0.95
        assert trainer.evaluate(spec, (x[1000:], y[1000:]))["accuracy"] >= 0.95
        assert list(history.to_dataframe().columns) == ["loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"]
        assert history["lr"] == [trainer.lr] * 5

    @pytest.mark.parametrize("optimizer, lr", [("sgd", 0.1), ("adam", 1e-2)])
    @pytest.mark.parametrize("shuffle", [False, True])
    def test_training_follows_a_numpy_reference_step_by_step(self, device, optimizer, lr, shuffle):
        """Two epochs match float64 numpy doing the same forward, backward and update on the
        same batches (stored order, or epoch e's order = the e-th permutation of
        default_rng(seed)): losses to 1e-5 (relative), weights to 1e-5."""
        self.needs(optimizer)
        x, y = blobs(LONG_EPOCH["samples"])
        spec = models.mlp(20, [16], 4)
        trainer = self.trainer(device, epochs=2, batch_size=LONG_EPOCH["batch_size"], optimizer=optimizer, lr=lr,
                               shuffle=shuffle)
        history = trainer.fit(spec, (x, y))
        rng = np.random.default_rng(0)
        orders = [rng.permutation(len(x)) for _ in range(2)] if shuffle else None
        update = reference.SGD(lr) if optimizer == "sgd" else reference.Adam(lr)
        want, want_losses = reference.train(spec.initial_weights(0), x, y, epochs=2, optimizer=update,
                                            batch_size=LONG_EPOCH["batch_size"], orders=orders)
        np.testing.assert_allclose(history["loss"], want_losses, rtol=1e-5,
                                   err_msg="the epoch losses differ from the reference: wrong batches or updates")
        got = trainer.build(spec).get_weights()
        for name in want:
            np.testing.assert_allclose(got[name], want[name], atol=1e-5, err_msg=f"{name} differs from the reference")

    def test_one_hot_labels_and_a_validation_fraction(self, device):
        x, y = blobs()
        history = self.trainer(device, optimizer="sgd", lr=0.1).fit(
            models.mlp(20, [32], 4), (x, np.eye(4, dtype=np.float32)[y]), validation=0.25)
        assert history["val_accuracy"][-1] >= 0.95

    def test_binary_classifier_with_one_logit(self, device):
        x, y = blobs(classes=2)
        spec = models.mlp(20, [16], 1)
        trainer = self.trainer(device, optimizer="sgd", lr=0.1)
        assert trainer.fit(spec, (x, y))["accuracy"][-1] >= 0.95
        logits = trainer.predict(spec, x)
        assert logits.shape == (len(x), 1)
        metrics = trainer.evaluate(spec, (x, y))
        assert metrics["accuracy"] == pytest.approx(((logits[:, 0] > 0) == (y == 1)).mean())
        assert metrics["loss"] == pytest.approx(reference.binary_cross_entropy(logits, y), rel=1e-5)

    def test_sample_and_class_weights_scale_each_samples_loss(self, device):
        x, y = blobs(256)
        if "sample_weight" not in Trainer(backend=self.backend).backend.supports:
            with pytest.raises(ConfigError, match="does not weight samples"):
                self.trainer(device).fit(models.mlp(20, [8], 4), (x, y), sample_weight=np.ones(len(x)))
            return
        spec = models.mlp(20, [8], 4)

        def trained(lr: float, **weights: Any) -> dict[str, np.ndarray]:
            trainer = self.trainer(device, epochs=2, optimizer="sgd", lr=lr)
            trainer.fit(spec, (x, y), **weights)
            return trainer.build(spec).get_weights()

        doubled, plain = trained(0.05, sample_weight=np.full(len(x), 2.0)), trained(0.1)
        by_class = trained(0.05, class_weight={0: 0.5, 2: 3.0})
        by_sample = trained(0.05, sample_weight=np.array([0.5, 1.0, 3.0, 1.0])[y])
        for name in plain:  # twice the loss is twice the gradient: plain SGD at twice the rate
            np.testing.assert_allclose(doubled[name], plain[name], rtol=1e-4, atol=1e-6, err_msg=name)
            np.testing.assert_allclose(by_class[name], by_sample[name], rtol=1e-5, atol=1e-7, err_msg=name)
        assert not np.allclose(by_class["layers.0.weight"], trained(0.05)["layers.0.weight"])
        with pytest.raises(DataError, match=r"one weight per training sample, \(256,\)"):
            self.trainer(device).fit(spec, (x, y), sample_weight=np.ones(10))

    def test_verbose_logs_loss_every_n_batches_like_the_tutorial(self, device, capsys):
        x, y = blobs(640)
        self.trainer(device, epochs=1, batch_size=64, verbose=True, log_every=5).fit(models.mlp(20, [8], 4), (x, y))
        lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("loss:")]
        assert [line.split("[")[1] for line in lines] == ["   64/  640]", "  384/  640]"]

    def test_progress_bar_when_asked_and_a_line_per_epoch_where_stderr_is_no_terminal(self, device, capsys):
        x, y = blobs(200)
        self.trainer(device, epochs=1, progress=False).fit(models.mlp(20, [8], 4), (x, y))
        assert "Epoch 1/1" not in capsys.readouterr().err
        self.trainer(device, epochs=1, progress=True).fit(models.mlp(20, [8], 4), (x, y))
        assert "Epoch 1/1" in capsys.readouterr().err
        self.trainer(device, epochs=2, progress=None).fit(models.mlp(20, [8], 4), (x, y))  # stderr is no terminal
        lines = capsys.readouterr().err.splitlines()
        assert [line.split(":")[0] for line in lines] == ["Epoch 1/2", "Epoch 2/2"] and "loss" in lines[0]


__all__ = ["TrainingTests"]
