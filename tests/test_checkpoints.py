"""Checkpoints: exact resume, periodic and best checkpoints, native formats of both frameworks."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from conftest import BACKENDS, blobs
from dlcore import CheckpointError, Checkpointing, Trainer, TrainingCheckpoint, TrainingError, models


def trainer(backend, device, **settings):
    return Trainer(backend=backend, **{**dict(epochs=3, batch_size=32, optimizer="adam", lr=1e-2, seed=0,
                                              device=device, progress=False), **settings})


def fitted(backend, device, epochs=1, samples=100):
    """A small MLP trained for ``epochs`` epochs: (features, labels, spec, trainer)."""
    x, y = blobs(samples)
    spec = models.mlp(20, [8], 4)
    t = trainer(backend, device, epochs=epochs)
    t.fit(spec, (x, y))
    return x, y, spec, t


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_resuming_gives_bitwise_the_same_weights_as_uninterrupted_training(backend, device, tmp_path, optimizer):
    x, y = blobs(500)
    straight = models.mlp(20, [16], 4)
    trainer(backend, device, epochs=3, optimizer=optimizer).fit(straight, (x, y), validation=(x[:50], y[:50]))
    expected = trainer(backend, device).build(straight).get_weights()

    first = models.mlp(20, [16], 4)
    t2 = trainer(backend, device, epochs=2, optimizer=optimizer)
    t2.fit(first, (x, y), validation=(x[:50], y[:50]))
    path = t2.save(first, tmp_path / "two.npz")

    resumed = models.mlp(20, [16], 4)
    history = trainer(backend, device, epochs=3, optimizer=optimizer).fit(
        resumed, (x, y), validation=(x[:50], y[:50]), resume_from=path)
    got = trainer(backend, device).build(resumed).get_weights()
    assert [r["epoch"] for r in history.records] == [1, 2, 3]
    for name in expected:
        assert np.array_equal(got[name], expected[name]), name


def test_checkpoint_holds_optimizer_state_progress_and_versions(backend, device, tmp_path):
    x, y, spec, t = fitted(backend, device, epochs=2, samples=200)
    checkpoint = TrainingCheckpoint.load(t.save(spec, tmp_path / "c.npz", {"note": "mine"}))
    state = checkpoint.state
    assert state["epoch"] == 2 and state["step"] == 2 * 7 and len(state["history"]) == 2
    assert state["backend"] == backend and state["versions"]
    assert state["optimizer"]["name"] == "adam" and checkpoint.optimizer
    assert checkpoint.metadata == {"note": "mine"}


def test_periodic_and_best_checkpoints_survive_a_diverging_run(backend, device, tmp_path):
    x, y = blobs(300)
    spec = models.mlp(20, [8], 4)
    saver = Checkpointing(tmp_path / "ckpt", every=2, monitor="val_accuracy")
    trainer(backend, device, epochs=4, optimizer="sgd", lr=0.1).fit(
        spec, (x, y), validation=(x[:60], y[:60]), callbacks=[saver])
    last = TrainingCheckpoint.load(saver.last_path)
    best = TrainingCheckpoint.load(saver.best_path)
    assert last.state["epoch"] == 4
    assert best.metadata["value"] == max(r["val_accuracy"] for r in last.state["history"])
    before = saver.last_path.read_bytes()
    with pytest.raises(TrainingError):
        trainer(backend, device, epochs=6, optimizer="sgd", lr=1.0).fit(
            spec, (x * 1e30, (y + 1) % 4), validation=(x[:60], y[:60]), callbacks=[saver], resume_from=saver.last_path)
    assert saver.last_path.read_bytes() == before


def test_resume_refuses_another_architecture_or_optimizer(backend, device, tmp_path):
    x, y, spec, t = fitted(backend, device)
    path = t.save(spec, tmp_path / "c.npz")
    with pytest.raises(CheckpointError, match=r"missing layers.2.weight; .*layers.1.weight: model has \(8, 8\), weights have \(4, 8\)"):
        trainer(backend, device).fit(models.mlp(20, [8, 8], 4), (x, y), resume_from=path)
    with pytest.raises(CheckpointError, match="was trained with 'adam'"):
        trainer(backend, device, optimizer="sgd").fit(models.mlp(20, [8], 4), (x, y), resume_from=path)


@pytest.mark.skipif(len(BACKENDS) < 2, reason="needs both backends")
def test_resume_on_the_other_backend_points_to_load(tmp_path):
    x, y, spec, t = fitted("torch", "cpu")
    path = t.save(spec, tmp_path / "c.npz")
    with pytest.raises(CheckpointError, match=r"optimizer state is 'torch''s; resume on that backend, or start from its weights"):
        trainer("tensorflow", "cpu").fit(models.mlp(20, [8], 4), (x, y), resume_from=path)


@pytest.mark.skipif("torch" not in BACKENDS, reason="needs torch")
def test_torch_state_dict_export_reads_with_weights_only_and_imports_anywhere(backend, device, tmp_path):
    import torch

    x, y, spec, t = fitted(backend, device)
    path = t.export(spec, tmp_path / "model.pt")
    state = torch.load(path, weights_only=True)
    assert {k: tuple(v.shape) for k, v in state.items()} == spec.parameter_shapes()
    for other in BACKENDS:
        o = trainer(other, "cpu")
        restored = o.load(path, spec=models.mlp(20, [8], 4))
        np.testing.assert_allclose(o.predict(restored, x), t.predict(spec, x), atol=1e-5)
    with pytest.raises(CheckpointError, match="holds no model architecture"):
        t.load(path)


@pytest.mark.skipif("torch" not in BACKENDS, reason="needs torch")
def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"layers.0.weight": Evil()}))
    with pytest.raises(CheckpointError, match="evil.pt: not a state_dict that loads safely"):
        trainer(BACKENDS[0], "cpu").load(path, spec=models.mlp(20, [8], 4))


@pytest.mark.skipif("tensorflow" not in BACKENDS, reason="needs tensorflow")
def test_keras_file_export_loads_in_keras_and_imports_anywhere(backend, device, tmp_path):
    import keras

    x, y, spec, t = fitted(backend, device)
    path = t.export(spec, tmp_path / "model.keras")
    native = keras.saving.load_model(path)
    np.testing.assert_allclose(native.predict(x, verbose=0), t.predict(spec, x), atol=1e-5)
    for other in BACKENDS:
        o = trainer(other, "cpu")
        restored = o.load(path)
        assert restored == spec
        np.testing.assert_allclose(o.predict(restored, x), t.predict(spec, x), atol=1e-5)
