"""The contract suite: what every dlcore backend must do, as pytest tests in one class.

A backend's own tests subclass it and name the backend::

    from dlcore.testing import BackendTests

    class TestMyBackend(BackendTests):
        backend = "mybackend"
        text_models = False        # skip what the backend does not offer

The ``device`` fixture gives the device to test on ("cpu"); override it to test a GPU.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import textwrap
from typing import Any

import numpy as np
import pytest

from .. import (
    CheckpointError, ConfigError, DataError, DeviceError, Trainer, TrainingCheckpoint, TrainingError,
    CSVLogger, EarlyStopping, LambdaCallback, ModelCheckpoint, callbacks, datasets, embeddings, models, schedules,
    transforms,
)
from ..plugins.manager import registry
from ..training.optimizers import SGD, Adam, AdamW, RMSprop
from ..models import layers
from . import reference, reference_layers
from .regression import RegressionTests
from .data import blobs, patterns, reviews, write_glove, write_image_folder

# Epochs of 54 steps, the last of 4 samples: longer than a backend's multi-step call (the
# TensorFlow backend runs 25 steps per call) and uneven, so every batch boundary is exercised.
LONG_EPOCH = {"samples": 1700, "batch_size": 32}


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


class BackendTests(RegressionTests):
    """Subclass with ``backend = "name"``; set ``text_models = False`` or narrow
    ``optimizers`` for what the backend lacks.

    Example::

        # tests/test_my_backend.py of a plugin that registers the backend "mybackend"
        from dlcore.testing import BackendTests

        class TestMyBackend(BackendTests):
            backend = "mybackend"
            text_models = False
    """

    text_models: bool = True  # backend, optimizers, the device fixture and trainer(): RegressionTests'

    def fitted(self, device: str, epochs: int = 1, samples: int = 200, **settings: Any):
        """``(x, y, spec, trainer)``: an MLP 20-8-4 trained ``epochs`` epochs on blobs."""
        x, y = blobs(samples)
        spec = models.mlp(20, [8], 4)
        trainer = self.trainer(device, epochs=epochs, **settings)
        trainer.fit(spec, (x, y))
        return x, y, spec, trainer

    def implements(self, metric: str) -> bool:
        """Whether this backend has a kernel for ``metric``."""
        try:
            registry().kernel("metric", metric, self.backend)
        except ConfigError:
            return False
        return True

    def needs(self, optimizer: str) -> None:
        if optimizer not in self.optimizers:
            pytest.skip(f"{self.backend} does not implement {optimizer}")

    def needs_text(self) -> None:
        if not self.text_models:
            pytest.skip(f"{self.backend} does not train text models")

    # ----------------------------------------------------------------- models

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
        assert not np.allclose(trainer.predict(spec, x), trainer.predict(twin, x))
        model = trainer.build(spec)
        other = self.trainer(device, seed=3)
        np.testing.assert_array_equal(other.predict(model, x), trainer.predict(spec, x))
        fresh = other.build(models.mlp(20, [8], 4))  # a later trainer's seed is its own
        assert np.array_equal(fresh.get_weights()["layers.0.weight"],
                              models.mlp(20, [8], 4).initial_weights(3)["layers.0.weight"])

    # --------------------------------------------------------------- training

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

    def test_deterministic_mode_trains_the_same_twice_where_offered(self, device):
        x, y = blobs(300)
        runs = []
        for _ in range(2):
            trainer = self.supported(device, epochs=2, deterministic=True)
            spec = models.mlp(20, [8], 4)
            trainer.fit(spec, (x, y))
            runs.append(trainer.build(spec).get_weights())
        trainer.backend.set_deterministic(False)  # the mode is the process's: leave it as it was
        assert all(np.array_equal(runs[0][k], runs[1][k]) for k in runs[0])

    def test_summary_lists_parameters_shapes_and_counts(self, device):
        text = self.trainer(device).summary(models.mlp(20, [8], 4), print_fn=None)
        assert "layers.0.weight  8x20" in text and "total 204 parameters (204 trainable)" in text

    def supported(self, device: str, **settings: Any) -> Trainer:
        """A trainer with settings the backend may not offer (skipped if it says it does not)."""
        try:
            return self.trainer(device, **settings)
        except ConfigError as err:
            offered = (f"backend {self.backend!r} does not", f"backend {self.backend!r} has no implementation",
                       f"backend {self.backend!r} implements")
            if not str(err).startswith(offered):
                raise
            pytest.skip(f"{self.backend} does not offer this: {err}")

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

    def test_same_seed_gives_same_training(self, device):
        x, y = blobs(300)
        runs = []
        for _ in range(2):
            trainer = self.trainer(device, epochs=2)
            spec = models.mlp(20, [8], 4)
            trainer.fit(spec, (x, y))
            runs.append(trainer.build(spec).get_weights())
        assert all(np.array_equal(runs[0][k], runs[1][k]) for k in runs[0])

    def test_same_seed_gives_the_same_bytes_in_two_processes(self, device, tmp_path):
        """Two fresh processes (different hash seeds) save bit-identical weights and optimizer state."""
        code = textwrap.dedent(f'''
            import sys
            from pathlib import Path
            from dlcore import Trainer, embeddings, models
            from dlcore.testing.data import blobs, reviews, write_glove
            out = Path(sys.argv[1])
            x, y = blobs(700)
            runs = [("mlp", models.mlp(20, [16], 4), (x, y))]
            if {self.text_models!r}:
                texts, labels = reviews(200)
                emb = embeddings.load(str(write_glove(out / "glove.txt")), vocabulary=texts)
                runs.append(("text", models.text_classifier(emb), (texts, labels)))
            for name, spec, data in runs:
                trainer = Trainer(backend={self.backend!r}, epochs=2, batch_size=32, optimizer={self.optimizers[0]!r},
                                  lr=1e-2, seed=7, device={device!r}, progress=False)
                trainer.fit(spec, data)
                trainer.save(spec, out / (name + ".npz"))
        ''')
        names = ("mlp", "text") if self.text_models else ("mlp",)
        runs = []
        for hash_seed in ("1", "2"):
            folder = tmp_path / hash_seed
            folder.mkdir()
            out = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True,
                                 timeout=300, env={**os.environ, "PYTHONHASHSEED": hash_seed})
            assert out.returncode == 0, out.stderr[-3000:]
            runs.append({name: TrainingCheckpoint.load(folder / f"{name}.npz") for name in names})
        for name in names:
            for section in ("weights", "optimizer"):
                a, b = getattr(runs[0][name], section), getattr(runs[1][name], section)
                assert a.keys() == b.keys() and (a or section == "optimizer")
                for key in a:
                    assert a[key].tobytes() == b[key].tobytes(), f"{name} {section} {key} differs between processes"

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

    # ------------------------------------------------------ evaluate, predict

    def test_evaluate_and_predict_in_many_small_batches(self, device):
        """A small eval_batch_size (last batch of 2 samples) gives the same logits, and the loss
        is the mean per sample, not the mean of batch means."""
        x, y = blobs(100)
        spec = models.mlp(20, [8], 4)
        small = self.trainer(device, eval_batch_size=7)
        logits = small.predict(spec, x)
        want = reference.forward(spec.initial_weights(0), x)[-1]
        np.testing.assert_allclose(logits, want, atol=1e-5)
        np.testing.assert_allclose(logits, self.trainer(device).predict(spec, x), atol=1e-6)
        assert logits.shape == (100, 4) and logits.dtype == np.float32
        metrics = small.evaluate(spec, (x, y))
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

    # ------------------------------------------------------------ checkpoints

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

    # ---------------------------------------------------------------- callbacks

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

    # ---------------------------------------------------------- streaming

    @pytest.mark.parametrize("settings", [{}, {"accumulate": 3, "schedule": "cosine", "weighted": True}])
    def test_streamed_data_trains_like_the_same_data_preloaded(self, device, tmp_path, settings):
        """A .npy memory map read chunk by chunk while training (a budget so small that a chunk
        holds 3 or 4 batches, fewer than a backend's multi-step call) gives the History,
        weights, evaluation and predictions of the same arrays preloaded: the same batches in
        the same order, with gradient accumulation, a per-update schedule and class weights
        across chunk boundaries."""
        settings = dict(settings)
        weighted = settings.pop("weighted", False)
        if settings.get("accumulate", 1) > 1 and "accumulate" not in Trainer(backend=self.backend).backend.supports:
            pytest.skip(f"{self.backend} does not accumulate gradients")
        if weighted and "sample_weight" not in Trainer(backend=self.backend).backend.supports:
            weighted = False
        if settings.get("schedule") == "cosine":
            settings["schedule"] = schedules.CosineDecay(warmup=5, min_factor=0.1)
        x, y = blobs(LONG_EPOCH["samples"])
        np.save(tmp_path / "x.npy", x)
        np.save(tmp_path / "y.npy", y)
        weights = {"class_weight": {0: 0.5, 3: 2.0}} if weighted else {}
        runs = []
        for stream in (False, True):
            data = datasets.npy(tmp_path / "x.npy", tmp_path / "y.npy")
            spec = models.mlp(20, [16], 4)
            trainer = self.trainer(device, epochs=2, batch_size=LONG_EPOCH["batch_size"], stream=stream,
                                   eval_batch_size=64, memory_budget=180_000, readers=2, **settings)
            history = trainer.fit(spec, data, validation=0.2, **weights)
            runs.append(([{k: v for k, v in r.items() if k != "seconds"} for r in history.records],
                         trainer.build(spec).get_weights(), trainer.evaluate(spec, data),
                         trainer.predict(spec, data)))
        (history, weights_, evaluated, logits), (s_history, s_weights, s_evaluated, s_logits) = runs
        assert len(s_history) == len(history) == 2
        for streamed, preloaded in zip(s_history, history):
            assert streamed == pytest.approx(preloaded, rel=1e-6)
        for name in weights_:
            np.testing.assert_allclose(s_weights[name], weights_[name], rtol=1e-6, atol=1e-7, err_msg=name)
        assert s_evaluated == pytest.approx(evaluated, rel=1e-6)
        np.testing.assert_allclose(s_logits, logits, rtol=1e-5, atol=1e-6)

    def test_an_image_folder_streamed_from_png_files_learns(self, device, tmp_path):
        """PNG files in one folder per class, decoded in reading processes with the tutorial's
        ToTensor, streamed (stream=True): high accuracy, and evaluate and predict stream too."""
        root = write_image_folder(tmp_path / "images", 360)
        data = datasets.image_folder(root, transform=transforms.ToTensor())
        assert data.class_names == ("horizontal", "square", "vertical") and data.feature_shape == (1, 12, 12)
        train, test = data.split(0.25)
        spec = models.mlp(144, [32], 3)
        trainer = self.trainer(device, epochs=8, lr=3e-3, stream=True, readers=2)
        trainer.fit(spec, train)
        assert trainer.evaluate(spec, test)["accuracy"] >= 0.9
        assert trainer.predict(spec, test).shape == (len(test), 3)

    # ------------------------------------------------------ portable layers

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
        np.testing.assert_allclose(trainer.predict(spec, np.moveaxis(x, 1, -1)), trainer.predict(spec, x), rtol=1e-5)
        with pytest.raises(DataError, match=r"samples of shape \(3, 6, 6\).*shape \(3, 5, 5\)"):
            trainer.predict(spec, x[:, :, :5, :5])

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

    # --------------------------------------------------------- text models

    def test_text_classifier_learns_sentiment(self, device, tmp_path):
        self.needs_text()
        texts, labels = reviews(400)
        emb = embeddings.load(str(write_glove(tmp_path / "glove.txt")), vocabulary=texts[:300])
        spec = models.text_classifier(emb, hidden=[16])
        trainer = self.trainer(device, epochs=30)
        history = trainer.fit(spec, (texts[:300], labels[:300]), validation=0.2)
        assert history["val_accuracy"][-1] >= 0.95
        assert trainer.evaluate(spec, (texts[300:], labels[300:]))["accuracy"] >= 0.95
        logits = trainer.predict(spec, ["A wonderful, brilliant film.", "Dull and tedious. Awful."])
        assert logits.shape == (2, 1) and logits[0, 0] > 0 > logits[1, 0]

    def test_frozen_embedding_stays_unchanged(self, device, tmp_path):
        self.needs_text()
        texts, labels = reviews(200)
        emb = embeddings.load(str(write_glove(tmp_path / "glove.txt")), trainable=False, vocabulary=texts)
        spec = models.text_classifier(emb)
        trainer = self.trainer(device, epochs=2)
        trainer.fit(spec, (texts, labels))
        weights = trainer.build(spec).get_weights()
        np.testing.assert_array_equal(weights["embedding.weight"], emb.vectors)
        assert not np.allclose(weights["layers.0.weight"], spec.initial_weights(0)["layers.0.weight"])

    @pytest.mark.parametrize("combiner", ["sqrtn", "mean", "sum"])
    def test_combiners_match_a_numpy_reference(self, device, tmp_path, combiner):
        """Each text's vector is the sum of its tokens' rows, scaled by 1/sqrt(n), 1/n or 1;
        then Dense + ReLU and the output layer. An empty text gives the zero vector."""
        self.needs_text()
        texts = ["A wonderful, brilliant film.", "dull", "", "Zebra quantum plot plot plot!"]
        emb = embeddings.load(str(write_glove(tmp_path / "glove.txt")), combiner=combiner)
        spec = models.text_classifier(emb, hidden=[16], out_features=3)
        logits = self.trainer(device, eval_batch_size=3).predict(spec, texts)
        ids, splits = emb.encode(texts)
        vectors = []
        for start, end in zip(splits, splits[1:]):
            n = end - start
            scale = {"sqrtn": 1 / np.sqrt(max(n, 1)), "mean": 1 / max(n, 1), "sum": 1.0}[combiner]
            vectors.append(emb.vectors[ids[start:end]].astype(np.float64).sum(0) * scale)
        dense = {k: v for k, v in spec.initial_weights(0).items() if k.startswith("layers.")}
        np.testing.assert_allclose(logits, reference.forward(dense, np.stack(vectors))[-1], atol=1e-5)

    def test_resuming_a_text_model_gives_bitwise_the_same_weights(self, device, tmp_path):
        self.needs_text()
        texts, labels = reviews(300)
        emb = embeddings.load(str(write_glove(tmp_path / "glove.txt")), vocabulary=texts)
        runs = {}
        for name, epochs, resume in (("straight", 3, None), ("two", 2, None), ("resumed", 3, tmp_path / "two.npz")):
            trainer = self.trainer(device, epochs=epochs)
            spec = models.text_classifier(emb)
            trainer.fit(spec, (texts, labels), resume_from=resume)
            if name == "two":
                trainer.save(spec, tmp_path / "two.npz")
            runs[name] = trainer.build(spec).get_weights()
        assert set(runs["resumed"]) == {"embedding.weight", "layers.0.weight", "layers.0.bias", "layers.1.weight",
                                        "layers.1.bias"}
        for name in runs["straight"]:
            assert np.array_equal(runs["resumed"][name], runs["straight"][name]), \
                f"{name}: the resumed run differs from the straight one"

    def test_text_to_a_numeric_model_is_refused(self, device):
        texts, labels = reviews(10)
        with pytest.raises(DataError, match="the samples are texts but the model takes numbers"):
            self.trainer(device).fit(models.mlp(8, [4], 2), (texts, labels))

    # ------------------------------------------------------------ bad input

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


__all__ = ["BackendTests", "LONG_EPOCH"]
