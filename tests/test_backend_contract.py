"""The contract every backend passes: the same tests, parametrized over installed backends."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import blobs
from dlcore import (
    CheckpointError, ConfigError, DataError, DeviceError, Trainer, TrainingError, datasets, models,
)


def make_trainer(backend, device, **settings):
    defaults = dict(epochs=5, batch_size=32, optimizer="adam", lr=1e-2, seed=0, device=device, progress=False)
    return Trainer(backend=backend, **{**defaults, **settings})


def test_trainer_is_the_backends_subclass(backend, device):
    trainer = make_trainer(backend, device)
    assert isinstance(trainer, Trainer) and trainer.backend_name == backend
    assert trainer.device.kind == ("cpu" if device == "cpu" else "gpu")


def test_spec_builds_with_canonical_parameters_and_seeded_initial_weights(backend, device):
    spec = models.mlp(20, [16], 4)
    built = make_trainer(backend, device).build(spec)
    weights = built.get_weights()
    assert {k: w.shape for k, w in weights.items()} == spec.parameter_shapes()
    expected = spec.initial_weights(seed=0)
    assert all(np.array_equal(weights[k], expected[k]) for k in expected)
    assert built.num_parameters() == 20 * 16 + 16 + 16 * 4 + 4


def test_learns_a_small_problem_to_high_accuracy(backend, device):
    x, y = blobs()
    spec = models.mlp(20, [32], 4)
    trainer = make_trainer(backend, device)
    history = trainer.fit(spec, (x[:1000], y[:1000]), validation=(x[1000:], y[1000:]))
    assert len(history) == 5
    assert history["loss"][-1] < history["loss"][0]
    assert history["val_accuracy"][-1] >= 0.95
    assert trainer.evaluate(spec, (x[1000:], y[1000:]))["accuracy"] >= 0.95
    frame = history.to_dataframe()
    assert list(frame.columns) == ["loss", "accuracy", "val_loss", "val_accuracy", "seconds"]


def test_sgd_learns_too(backend, device):
    x, y = blobs()
    spec = models.mlp(20, [32], 4)
    history = make_trainer(backend, device, optimizer="sgd", lr=0.1).fit(spec, (x, y))
    assert history["accuracy"][-1] >= 0.9


def test_evaluate_matches_predictions(backend, device):
    x, y = blobs(300)
    spec = models.mlp(20, [8], 4)
    trainer = make_trainer(backend, device, epochs=1)
    trainer.fit(spec, (x, y))
    logits = trainer.predict(spec, x)
    assert logits.shape == (300, 4) and logits.dtype == np.float32
    shifted = logits - logits.max(1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    expected_loss = -log_probs[np.arange(300), y].mean()
    metrics = trainer.evaluate(spec, (x, y))
    assert metrics["accuracy"] == pytest.approx((logits.argmax(1) == y).mean())
    assert metrics["loss"] == pytest.approx(expected_loss, rel=1e-4)


def test_fit_evaluate_and_predict_share_the_specs_weights(backend, device):
    x, y = blobs(300)
    spec = models.mlp(20, [8], 4)
    before = make_trainer(backend, device).predict(spec, x)
    make_trainer(backend, device, epochs=2).fit(spec, (x, y))
    after = make_trainer(backend, device).predict(spec, x)  # another trainer, same spec
    assert not np.allclose(before, after)


def test_same_seed_gives_same_training(backend, device):
    x, y = blobs(300)
    runs = []
    for _ in range(2):
        spec = models.mlp(20, [8], 4)
        make_trainer(backend, device, epochs=2).fit(spec, (x, y))
        runs.append(make_trainer(backend, device).build(spec).get_weights())
    assert all(np.allclose(runs[0][k], runs[1][k], atol=1e-6) for k in runs[0])


def test_one_hot_labels_and_validation_fraction(backend, device):
    x, y = blobs()
    one_hot = np.eye(4, dtype=np.float32)[y]
    history = make_trainer(backend, device).fit(models.mlp(20, [32], 4), (x, one_hot), validation=0.25)
    assert history["val_accuracy"][-1] >= 0.95


def test_binary_classifier_with_one_logit(backend, device):
    x, y = blobs(classes=2)
    spec = models.mlp(20, [16], 1)
    trainer = make_trainer(backend, device)
    history = trainer.fit(spec, (x, y))
    assert history["accuracy"][-1] >= 0.95
    assert trainer.predict(spec, x[:5]).shape == (5, 1)


def test_fashion_mnist_files_end_to_end(backend, device, fashion_dir):
    train, test = datasets.fashion_mnist(fashion_dir)
    spec = models.mlp(784, [64], 10)
    trainer = make_trainer(backend, device, epochs=3, lr=1e-3)
    trainer.fit(spec, train)
    assert trainer.evaluate(spec, test)["accuracy"] >= 0.9
    assert trainer.predict(spec, test[:9]).shape == (9, 10)


def test_verbose_logs_loss_every_n_batches_like_the_tutorial(backend, device, capsys):
    x, y = blobs(640)
    make_trainer(backend, device, epochs=1, batch_size=64, verbose=True, log_every=5).fit(models.mlp(20, [8], 4), (x, y))
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("loss:")]
    assert [l.split("[")[1] for l in lines] == ["   64/  640]", "  384/  640]"]


def test_progress_bar_only_when_asked(backend, device, capsys):
    x, y = blobs(200)
    make_trainer(backend, device, epochs=1, progress=False).fit(models.mlp(20, [8], 4), (x, y))
    assert "Epoch 1/1" not in capsys.readouterr().err
    make_trainer(backend, device, epochs=1, progress=True).fit(models.mlp(20, [8], 4), (x, y))
    assert "Epoch 1/1" in capsys.readouterr().err


def test_save_and_load_restore_predictions(backend, device, tmp_path):
    x, y = blobs(200)
    spec = models.mlp(20, [8], 4)
    trainer = make_trainer(backend, device, epochs=1)
    trainer.fit(spec, (x, y))
    path = trainer.save(spec, tmp_path / "model.npz")
    restored = make_trainer(backend, device).load(path)
    assert restored is not spec and restored == spec
    np.testing.assert_allclose(trainer.predict(restored, x), trainer.predict(spec, x), atol=1e-6)
    with pytest.raises(CheckpointError, match=r"layers.0.weight: model has \(8, 20\), weights have \(4, 20\)"):
        trainer.build(models.mlp(20, [8], 4)).set_weights(models.mlp(20, [4], 4).initial_weights())


@pytest.mark.parametrize("data, message", [
    ((np.zeros((10, 21), np.float32), np.zeros(10, np.int64)), "expects 20 features per sample"),
    ((np.zeros((10, 20), np.float32), np.full(10, 4)), "label 4 at index 0 is out of range"),
    ((np.zeros((10, 20), np.float32), np.full(10, -1)), "label -1 at index 0 is out of range"),
    ((np.zeros((0, 20), np.float32), np.zeros(0, np.int64)), "is empty"),
    ((np.zeros((10, 20), np.float32), np.zeros(10, np.float32)), "class labels must be integers"),
])
def test_bad_data_is_caught_before_training(backend, device, data, message):
    with pytest.raises(DataError, match=message):
        make_trainer(backend, device).fit(models.mlp(20, [8], 4), data)


def test_nan_features_are_refused(backend, device):
    x, y = blobs(100)
    x[3, 2] = np.nan
    with pytest.raises(DataError, match=r"NaN or infinite values \(first at index \(3, 2\)\)"):
        make_trainer(backend, device).fit(models.mlp(20, [8], 4), (x, y))


def test_diverging_loss_stops_training(backend, device):
    x, y = blobs(100)
    with pytest.raises(TrainingError, match=r"epoch 1: the training loss became (nan|inf) at step \d+; lower the learning rate"):
        make_trainer(backend, device, optimizer="sgd", lr=1e30).fit(models.mlp(20, [8], 4), (x * 1e10, y))


@pytest.mark.parametrize("settings, message", [
    (dict(optimizer="rmsprop"), "unknown optimizer 'rmsprop'"),
    (dict(lr=-1.0), "lr must be a positive number"),
    (dict(batch_size=0), "batch_size must be an integer >= 1"),
    (dict(loss="hinge"), "unknown loss 'hinge'"),
])
def test_bad_settings_are_refused(backend, device, settings, message):
    with pytest.raises(ConfigError, match=message):
        make_trainer(backend, device, **settings)


def test_unknown_device_lists_the_backends_devices(backend):
    with pytest.raises(DeviceError, match=f"'cuda:7' does not exist on backend '{backend}'; available:"):
        Trainer(backend=backend, device="cuda:7")


def test_unusable_model_and_data_types_are_refused(backend, device):
    trainer = make_trainer(backend, device)
    with pytest.raises(ConfigError, match="cannot use a str as a model"):
        trainer.fit("mlp", blobs(10))
    with pytest.raises(ConfigError, match="cannot use a list as data"):
        trainer.fit(models.mlp(20, [8], 4), [1, 2, 3])


# Epochs of 54 steps, the last one of 4 samples: longer than a compiled multi-step call (the
# TensorFlow backend runs 25 steps per call) and uneven, so every batch boundary is exercised.
LONG_EPOCH = dict(samples=1700, batch_size=32)


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.1), ("adam", 1e-2)])
@pytest.mark.parametrize("shuffle", [False, True])
def test_training_follows_a_numpy_reference_step_by_step(backend, device, optimizer, lr, shuffle):
    """Two epochs match float64 numpy doing the same forward, backward and update on the same
    batches: stored order, or epoch e's order = the e-th permutation of default_rng(seed)."""
    import reference

    x, y = blobs(LONG_EPOCH["samples"])
    spec = models.mlp(20, [16], 4)
    trainer = make_trainer(backend, device, epochs=2, batch_size=LONG_EPOCH["batch_size"], optimizer=optimizer,
                           lr=lr, shuffle=shuffle)
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


def test_evaluate_and_predict_in_many_small_batches(backend, device):
    """A small eval_batch_size (last batch of 2 samples) gives the same logits, and the loss is
    the mean per sample, not the mean of batch means."""
    import reference

    x, y = blobs(100)
    spec = models.mlp(20, [8], 4)
    small = make_trainer(backend, device, eval_batch_size=7)
    logits = small.predict(spec, x)
    np.testing.assert_allclose(logits, make_trainer(backend, device).predict(spec, x), atol=1e-6)
    want = reference.forward(spec.initial_weights(0), x)[-1]
    np.testing.assert_allclose(logits, want, atol=1e-5)
    metrics = small.evaluate(spec, (x, y))
    assert metrics["loss"] == pytest.approx(reference.cross_entropy(want, y), rel=1e-5)
    assert metrics["accuracy"] == pytest.approx((want.argmax(1) == y).mean())


DETERMINISM = '''
import sys
sys.path.insert(0, {tests!r})
from conftest import blobs
from text_fixtures import reviews, write_glove
from pathlib import Path
from dlcore import Trainer, embeddings, models
out = Path(sys.argv[1])
x, y = blobs(700)
texts, labels = reviews(200)
emb = embeddings.load(str(write_glove(out / "glove.txt")), vocabulary=texts)
for name, spec, data in (("mlp", models.mlp(20, [16], 4), (x, y)), ("text", models.text_classifier(emb), (texts, labels))):
    trainer = Trainer(backend={backend!r}, epochs=2, batch_size=32, optimizer="adam", lr=1e-2, seed=7,
                      device={device!r}, progress=False)
    trainer.fit(spec, data)
    trainer.save(spec, out / (name + ".npz"))
'''


def test_same_seed_gives_the_same_bytes_in_two_processes(backend, device, tmp_path):
    """Two fresh processes (different hash seeds) with the same seed save bit-identical weights
    and optimizer state."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from dlcore import TrainingCheckpoint

    code = DETERMINISM.format(tests=str(Path(__file__).parent), backend=backend, device=device)
    runs = []
    for hash_seed in ("1", "2"):
        folder = tmp_path / hash_seed
        folder.mkdir()
        out = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True, timeout=300,
                             env={**os.environ, "PYTHONHASHSEED": hash_seed})
        assert out.returncode == 0, out.stderr[-3000:]
        runs.append({name: TrainingCheckpoint.load(folder / f"{name}.npz") for name in ("mlp", "text")})
    for name in ("mlp", "text"):
        first, second = runs[0][name], runs[1][name]
        for section in ("weights", "optimizer"):
            a, b = getattr(first, section), getattr(second, section)
            assert a.keys() == b.keys() and a
            for key in a:
                assert a[key].tobytes() == b[key].tobytes(), f"{name} {section} {key} differs between processes"
