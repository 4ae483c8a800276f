"""Checkpoints: exact resume, periodic and best checkpoints, native formats of both frameworks."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from conftest import BACKENDS, blobs
from dlcore import (
    CheckpointError, Checkpointing, Trainer, TrainingCheckpoint, TrainingError, embeddings, get_backend, models,
)


def trainer(backend, device, **settings):
    return Trainer(backend=backend, **{**dict(epochs=3, batch_size=32, optimizer="adam", lr=1e-2, seed=0,
                                              device=device, progress=False), **settings})


def fitted(backend, device, epochs=1, samples=100, **settings):
    """A small MLP trained for ``epochs`` epochs: (features, labels, spec, trainer)."""
    x, y = blobs(samples)
    spec = models.mlp(20, [8], 4)
    t = trainer(backend, device, epochs=epochs, **settings)
    t.fit(spec, (x, y))
    return x, y, spec, t


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_resuming_gives_bitwise_the_same_weights_as_uninterrupted_training(backend, device, tmp_path, optimizer):
    # 1700 samples in batches of 32: 54 steps per epoch, the last of 4 samples, longer than one
    # compiled multi-step call (25 steps on TensorFlow).
    x, y = blobs(1700)
    val = (x[:50], y[:50])
    straight = models.mlp(20, [16], 4)
    trainer(backend, device, epochs=3, optimizer=optimizer).fit(straight, (x, y), validation=val)
    expected = trainer(backend, device).build(straight).get_weights()

    first = models.mlp(20, [16], 4)
    t2 = trainer(backend, device, epochs=2, optimizer=optimizer)
    t2.fit(first, (x, y), validation=val)
    path = t2.save(first, tmp_path / "two.npz")

    resumed = models.mlp(20, [16], 4)
    history = trainer(backend, device, epochs=3, optimizer=optimizer).fit(
        resumed, (x, y), validation=val, resume_from=path)
    got = trainer(backend, device).build(resumed).get_weights()
    assert [r["epoch"] for r in history.records] == [1, 2, 3]
    for name in expected:
        assert np.array_equal(got[name], expected[name]), f"{name}: the resumed run differs from the straight one"


def test_resuming_a_text_model_gives_bitwise_the_same_weights(backend, device, tmp_path):
    from text_fixtures import reviews, write_glove

    texts, labels = reviews(300)
    emb = embeddings.load(str(write_glove(tmp_path / "glove.txt")), vocabulary=texts)
    straight = models.text_classifier(emb)
    trainer(backend, device).fit(straight, (texts, labels))
    first = models.text_classifier(emb)
    t2 = trainer(backend, device, epochs=2)
    t2.fit(first, (texts, labels))
    path = t2.save(first, tmp_path / "two.npz")
    resumed = models.text_classifier(emb)
    trainer(backend, device).fit(resumed, (texts, labels), resume_from=path)
    expected, got = (trainer(backend, device).build(s).get_weights() for s in (straight, resumed))
    assert set(got) == {"embedding.weight", "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"}
    for name in expected:
        assert np.array_equal(got[name], expected[name]), f"{name}: the resumed run differs from the straight one"


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_the_resuming_trainers_learning_rate_applies(backend, device, tmp_path, optimizer):
    """Resumed with a learning rate too small to move a float32 weight, the third epoch leaves
    the weights as saved (with the saved rate, 1e-2, they would move)."""
    x, y, spec, t = fitted(backend, device, epochs=2, samples=200, optimizer=optimizer)
    path = t.save(spec, tmp_path / "two.npz")
    saved = TrainingCheckpoint.load(path).weights
    resumed = models.mlp(20, [8], 4)
    trainer(backend, device, epochs=3, optimizer=optimizer, lr=1e-20).fit(resumed, (x, y), resume_from=path)
    got = trainer(backend, device).build(resumed).get_weights()
    for name in saved:
        np.testing.assert_allclose(got[name], saved[name], rtol=0, atol=1e-12,
                                   err_msg=f"{name} moved: the resumed epoch did not use the resuming trainer's lr")
    moved = models.mlp(20, [8], 4)
    trainer(backend, device, epochs=3, optimizer=optimizer).fit(moved, (x, y), resume_from=path)
    assert not np.allclose(trainer(backend, device).build(moved).get_weights()["layers.0.weight"],
                           saved["layers.0.weight"], rtol=0, atol=1e-6)


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
    before = {path: path.read_bytes() for path in (saver.last_path, saver.best_path)}
    with pytest.raises(TrainingError):
        trainer(backend, device, epochs=6, optimizer="sgd", lr=1.0).fit(
            spec, (x * 1e30, (y + 1) % 4), validation=(x[:60], y[:60]), callbacks=[saver], resume_from=saver.last_path)
    for path, raw in before.items():
        assert path.read_bytes() == raw, f"{path.name} was overwritten by the diverging run"
    assert TrainingCheckpoint.load(saver.best_path).metadata == best.metadata
    assert TrainingCheckpoint.load(saver.last_path).state["epoch"] == 4


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


class CreatesFile:
    """Unpickling this creates ``path``: proof that a loader ran code from the file."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.skipif("torch" not in BACKENDS, reason="needs torch")
@pytest.mark.parametrize("writer", ["pickle", "torch.save"])
def test_a_pickle_that_would_run_code_is_refused(tmp_path, writer):
    import torch

    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.pt"
    state = {"layers.0.weight": torch.zeros(8, 20), "payload": CreatesFile(marker)}
    if writer == "pickle":
        path.write_bytes(pickle.dumps(state))
    else:
        torch.save(state, path)
    for backend in BACKENDS:
        with pytest.raises(CheckpointError, match="evil.pt: not a state_dict that loads safely"):
            trainer(backend, "cpu").load(path, spec=models.mlp(20, [8], 4))
        assert not marker.exists(), "loading a .pt file ran code from its pickle"


@pytest.mark.skipif("tensorflow" not in BACKENDS, reason="needs tensorflow")
def test_a_keras_file_whose_lambda_would_run_code_is_refused(tmp_path):
    get_backend("tensorflow")
    import keras

    marker = tmp_path / "code-ran"
    touch = eval(f"lambda x: (open({str(marker)!r}, 'w').close(), x)[1]")  # a lambda Keras stores as bytecode
    native = keras.Sequential([keras.Input((20,)), keras.layers.Lambda(touch), keras.layers.Dense(4)])
    path = tmp_path / "evil.keras"
    native.save(path)
    marker.unlink()  # building the model ran it once
    for backend in BACKENDS:
        with pytest.raises(CheckpointError, match="evil.keras: not a .keras file that loads safely"):
            trainer(backend, "cpu").load(path, spec=models.mlp(20, [8], 4))
        assert not marker.exists(), "loading a .keras file ran the code of its Lambda layer"


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
