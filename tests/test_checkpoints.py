"""Checkpoints across backends and the frameworks' native formats (exact resume, periodic and
best checkpoints: the contract suite, dlcore.testing)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from conftest import BACKENDS, BOTH, blobs
from dlcore import (
    CheckpointError, Trainer, TrainingCheckpoint, get_backend, models,
)
from dlcore.optimizers import SGD, AdamW, RMSprop


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


@pytest.mark.skipif(not BOTH, reason="needs both backends")
@pytest.mark.parametrize("first, then", [("torch", "tensorflow"), ("tensorflow", "torch")])
@pytest.mark.parametrize("optimizer", [AdamW(1e-2), SGD(0.05, momentum=0.9), RMSprop(1e-3, centered=True)],
                         ids=["adamw", "sgd-momentum", "rmsprop"])
def test_resume_on_the_other_backend_goes_on_with_the_optimizer_state(tmp_path, first, then, optimizer):
    """Two epochs on one backend, the third resumed on the other: as close to three epochs on
    one backend as the backends are to each other (weights 1e-5), where a third epoch from the
    weights alone, with a fresh optimizer, is far off."""
    x, y = blobs(1700)
    settings = dict(optimizer=optimizer, lr=None, batch_size=32)

    def weights_after(name, epochs, **fit):
        t, spec = trainer(name, "cpu", epochs=epochs, **settings), models.mlp(20, [16], 4)
        t.fit(spec, (x, y), **fit)
        return t, spec, t.build(spec).get_weights()

    first_trainer, first_spec, _ = weights_after(first, 2)
    path = first_trainer.save(first_spec, tmp_path / "two.npz")
    resumed, _, got = weights_after(then, 3, resume_from=path)
    assert [r["epoch"] for r in resumed.build(models.mlp(20, [16], 4)).history_records] == []  # a new spec: a new model
    want = {name: weights_after(name, 3)[2] for name in (first, then)}
    fresh = trainer(then, "cpu", epochs=1, **settings)
    restarted = fresh.load(path)
    fresh.fit(restarted, (x, y))
    far = max(np.abs(restarted.get_weights()[k] - want[then][k]).max() for k in got)
    assert far > 1e-3, f"a fresh optimizer lands only {far} away: the test cannot tell"
    for key in got:
        np.testing.assert_allclose(want[first][key], want[then][key], atol=1e-5)
        np.testing.assert_allclose(got[key], want[then][key], atol=1e-5,
                                   err_msg=f"{key}: resumed on {then} with {first}'s optimizer state")


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
        assert restored.spec == spec
        np.testing.assert_allclose(o.predict(restored, x), t.predict(spec, x), atol=1e-5)


OLD = Path(__file__).parent / "data"


@pytest.mark.parametrize("saved_on", ["torch", "tensorflow"])
def test_checkpoints_of_dlcore_0_1_0_still_load_and_resume(backend, device, saved_on):
    """Checkpoints written by dlcore 0.1.0 (an MLP 20-8-4 after two epochs of Adam on blobs(200),
    with the logits of its first five samples in the metadata) predict the same on every
    backend, and resume on the backend that saved them."""
    path = OLD / f"dlcore-0.1.0-{saved_on}-mlp.npz"
    x, y = blobs(200)
    model = trainer(backend, device).load(path)
    np.testing.assert_allclose(trainer(backend, device).predict(model, x[:5]),
                               TrainingCheckpoint.load(path).metadata["logits"], atol=1e-5)
    if backend == saved_on:
        history = trainer(backend, device, epochs=3).fit(models.mlp(20, [8], 4), (x, y), resume_from=path)
        assert [r["epoch"] for r in history.records] == [1, 2, 3]


def test_weights_only_npz_export_round_trips(backend, device, tmp_path):
    """``export(model, "w.npz")``: a dlcore checkpoint of the weights alone, with the spec."""
    x, y, spec, t = fitted(backend, device)
    path = t.export(spec, tmp_path / "w.npz")
    checkpoint = TrainingCheckpoint.load(path)
    assert checkpoint.spec == spec and not checkpoint.optimizer and not checkpoint.state
    np.testing.assert_allclose(trainer(backend, device).predict(trainer(backend, device).load(path), x),
                               t.predict(spec, x), atol=1e-6)


@pytest.mark.skipif(not BACKENDS, reason="needs a backend")
def test_resuming_a_run_that_reached_its_epochs_says_there_is_nothing_to_train(tmp_path):
    x, y = blobs(200)
    spec = models.mlp(20, [8], 4)
    trainer = Trainer(BACKENDS[0], epochs=2, seed=0, progress=False)
    trainer.fit(spec, (x, y))
    path = trainer.save(spec, tmp_path / "two.npz")
    again = Trainer(BACKENDS[0], epochs=2, seed=0, progress=False)
    with pytest.warns(UserWarning, match=r"reached epoch 2 already .* epochs=2, so there is nothing to train; "
                                         r"set epochs above 2"):
        history = again.fit(models.mlp(20, [8], 4), (x, y), resume_from=path)
    assert [r["epoch"] for r in history.records] == [1, 2]


@pytest.mark.skipif(not BACKENDS, reason="needs a backend")
@pytest.mark.parametrize("name", ["model", "run.ckpt", "weights.npz"])
def test_a_checkpoint_saved_under_any_name_loads_back(tmp_path, name):
    x, y = blobs(200)
    spec = models.mlp(20, [8], 4)
    trainer = Trainer(BACKENDS[0], epochs=1, seed=0, progress=False)
    trainer.fit(spec, (x, y))
    path = trainer.save(spec, tmp_path / name)
    assert path == tmp_path / name and path.is_file()
    loaded = Trainer(BACKENDS[0], progress=False).load(path)
    for key, value in trainer.build(spec).get_weights().items():
        np.testing.assert_array_equal(loaded.get_weights()[key], value)
    (tmp_path / "notes").write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="notes: unknown format; use one of .*npz"):
        Trainer(BACKENDS[0]).load(tmp_path / "notes")
