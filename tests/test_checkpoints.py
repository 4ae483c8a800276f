"""Checkpoints: dlcore's file (round trip, damage, per-array hashes, no pickles, atomic writes
with the user's permissions, metadata that must fit its arrays), across backends and the
frameworks' native formats (exact resume, periodic and best checkpoints: the contract suite,
dlcore.testing)."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from conftest import BACKENDS, BOTH, blobs
from dlcore import (
    CheckpointError, Trainer, TrainingCheckpoint, get_backend, models,
)
from dlcore.models import MLP
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


# ------------------------------------------------------------------ the file


def test_checkpoint_round_trip_and_damage_detection(tmp_path):
    from dlcore import TrainingCheckpoint

    spec = MLP(4, (3,), 2)
    weights = spec.initial_weights(0)
    path = TrainingCheckpoint(weights, spec, {"note": "x"}).save(tmp_path / "m.npz")
    loaded = TrainingCheckpoint.load(path)
    assert loaded.spec == spec and loaded.metadata == {"note": "x"}
    assert all(np.array_equal(loaded.weights[k], weights[k]) for k in weights)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (tmp_path / "bad.npz").write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="bad.npz"):
        TrainingCheckpoint.load(tmp_path / "bad.npz")
    (tmp_path / "trunc.npz").write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="trunc.npz"):
        TrainingCheckpoint.load(tmp_path / "trunc.npz")


def _rewrite_npz(source, target, change):
    """Copy the .npz archive ``source`` to ``target`` as a well-formed zip (fresh CRCs), with
    ``change(name, bytes) -> bytes`` applied to each member."""
    import zipfile

    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, change(name, src.read(name)))
    return target


def test_checkpoint_whose_array_bytes_differ_from_their_hash_is_refused(tmp_path):
    """A valid zip whose array bytes were changed (zip's own CRC recomputed): only dlcore's
    per-array SHA-256 can tell."""
    from dlcore import TrainingCheckpoint

    spec = MLP(4, (3,), 2)
    path = TrainingCheckpoint(spec.initial_weights(0), spec).save(tmp_path / "m.npz")

    def flip_last_byte(name, raw):
        return raw[:-1] + bytes([raw[-1] ^ 0x01]) if name == "weights/layers.1.bias.npy" else raw

    altered = _rewrite_npz(path, tmp_path / "altered.npz", flip_last_byte)
    with np.load(altered, allow_pickle=False) as npz:  # numpy itself reads it without complaint
        assert not np.array_equal(npz["weights/layers.1.bias"], spec.initial_weights(0)["layers.1.bias"])
    with pytest.raises(CheckpointError, match=r"altered.npz: tensor 'weights/layers.1.bias' fails its checksum"):
        TrainingCheckpoint.load(altered)


def test_checkpoint_with_arrays_its_metadata_does_not_list_is_refused(tmp_path):
    """An array added to the archive, or one removed from it, without its metadata entry."""
    import io
    import zipfile

    from dlcore import TrainingCheckpoint

    spec = MLP(4, (3,), 2)
    path = TrainingCheckpoint(spec.initial_weights(0), spec).save(tmp_path / "m.npz")
    extra = io.BytesIO()
    np.save(extra, np.ones(3, np.float32))
    added = _rewrite_npz(path, tmp_path / "added.npz", lambda name, raw: raw)
    with zipfile.ZipFile(added, "a") as archive:
        archive.writestr("weights/smuggled.npy", extra.getvalue())
    with pytest.raises(CheckpointError, match=r"added.npz: tensors \['weights/smuggled'\] are missing or unexpected"):
        TrainingCheckpoint.load(added)
    removed = tmp_path / "removed.npz"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(removed, "w") as dst:
        for name in src.namelist():
            if name != "weights/layers.0.bias.npy":
                dst.writestr(name, src.read(name))
    with pytest.raises(CheckpointError, match=r"removed.npz: tensors \['weights/layers.0.bias'\] are missing"):
        TrainingCheckpoint.load(removed)


class CreatesFile:
    """Unpickling this creates ``path``: proof that a loader ran code from the file."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_checkpoint_refuses_pickled_arrays(tmp_path):
    """A checkpoint with valid dlcore metadata and one object array whose pickle would create a
    file: refused as pickled, and nothing runs."""
    from dlcore import TrainingCheckpoint

    marker = tmp_path / "code-ran"
    spec = MLP(4, (3,), 2)
    path = TrainingCheckpoint(spec.initial_weights(0), spec).save(tmp_path / "m.npz")
    evil = np.empty(1, dtype=object)
    evil[0] = CreatesFile(marker)
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays["__dlcore_metadata__"].tobytes())
    meta["tensors"]["weights/layers.0.bias"] = {"shape": [1], "dtype": "object", "sha256": "0" * 64}
    arrays["weights/layers.0.bias"] = evil
    arrays["__dlcore_metadata__"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(tmp_path / "evil.npz", **arrays)
    with pytest.raises(CheckpointError, match=r"evil.npz: holds pickled objects, which dlcore never loads \(they "
                                              r"could run code\); only a checkpoint of plain arrays can be read"):
        TrainingCheckpoint.load(tmp_path / "evil.npz")
    assert not marker.exists(), "loading a checkpoint unpickled an object array and ran its code"


def test_a_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path):
    """Every file dlcore writes goes through atomic_path: an error midway keeps the old file
    byte for byte and leaves nothing else behind."""
    from dlcore import TrainingCheckpoint
    from dlcore.io.files import atomic_path

    spec = MLP(4, (3,), 2)
    path = TrainingCheckpoint(spec.initial_weights(0), spec).save(tmp_path / "m.npz")
    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_path(path) as tmp:
            tmp.write_bytes(b"half a checkpoint")
            raise RuntimeError("disk full")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_files_are_written_with_the_permissions_the_umask_gives(tmp_path):
    """A checkpoint is as readable as any file the user makes (mkstemp alone gives 0600)."""
    from dlcore import TrainingCheckpoint

    spec = MLP(4, (3,), 2)
    old = os.umask(0o027)
    try:
        path = TrainingCheckpoint(spec.initial_weights(0), spec).save(tmp_path / "m.npz")
        os.umask(0o022)
        other = TrainingCheckpoint(spec.initial_weights(0), spec).save(tmp_path / "n.npz")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o640 and other.stat().st_mode & 0o777 == 0o644


def _checkpoint_with(tmp_path, name, change_meta=None, arrays=None):
    """A checkpoint of a small MLP saved by dlcore, its metadata and arrays then changed."""
    from dlcore import TrainingCheckpoint

    spec = MLP(4, (3,), 2)
    path = TrainingCheckpoint(spec.initial_weights(0), spec).save(tmp_path / "source.npz")
    with np.load(path, allow_pickle=False) as npz:
        stored = {k: npz[k] for k in npz.files}
    meta = json.loads(stored.pop("__dlcore_metadata__").tobytes())
    for key, array in (arrays or {}).items():
        stored[key] = array
        meta["tensors"][key] = {"shape": list(array.shape), "dtype": str(array.dtype),
                                "sha256": __import__("hashlib").sha256(array.tobytes()).hexdigest()}
    if change_meta:
        change_meta(meta)
    np.savez(tmp_path / name, __dlcore_metadata__=np.frombuffer(json.dumps(meta).encode(), np.uint8), **stored)
    return tmp_path / name


def test_checkpoint_metadata_records_versions_shapes_and_dtypes(tmp_path):
    from dlcore import TrainingCheckpoint, __version__

    spec = MLP(4, (3,), 2)
    path = TrainingCheckpoint(spec.initial_weights(0), spec).save(tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(npz["__dlcore_metadata__"].tobytes())
    assert meta["format"] == "dlcore.checkpoint/1" and meta["dlcore_version"] == __version__
    assert meta["tensors"]["weights/layers.0.weight"]["shape"] == [3, 4]
    assert meta["tensors"]["weights/layers.0.weight"]["dtype"] == "float32"


@pytest.mark.parametrize("change, message", [
    (lambda m: m.update(format="dlcore.checkpoint/99"), r"unsupported format 'dlcore.checkpoint/99'"),
    (lambda m: m["tensors"]["weights/layers.0.bias"].update(shape=[4]),
     r"tensor 'weights/layers.0.bias' is float32 \[3\], its metadata says float32 \[4\]"),
    (lambda m: m["tensors"]["weights/layers.0.bias"].update(dtype="float64"),
     r"tensor 'weights/layers.0.bias' is float32 \[3\], its metadata says float64 \[3\]"),
])
def test_checkpoint_metadata_that_does_not_fit_its_arrays_is_refused(tmp_path, change, message):
    from dlcore import TrainingCheckpoint

    with pytest.raises(CheckpointError, match="changed.npz: .*" + message):
        TrainingCheckpoint.load(_checkpoint_with(tmp_path, "changed.npz", change))


def test_checkpoint_with_a_tensor_outside_its_sections_is_refused(tmp_path):
    from dlcore import TrainingCheckpoint

    path = _checkpoint_with(tmp_path, "odd.npz", arrays={"junk/x": np.zeros(2, np.float32)})
    with pytest.raises(CheckpointError, match=r"odd.npz: unexpected tensor 'junk/x'"):
        TrainingCheckpoint.load(path)


def test_checkpoint_without_a_spec_and_with_slashes_in_names_round_trips(tmp_path):
    """Weights of a native model (Keras names them by path) and no architecture."""
    from dlcore import TrainingCheckpoint

    weights = {"sequential/dense/kernel": np.ones((2, 3), np.float32), "sequential/dense/bias": np.zeros(3, np.float32)}
    loaded = TrainingCheckpoint.load(TrainingCheckpoint(weights, optimizer={"0/m": np.ones(2)}).save(tmp_path / "n.npz"))
    assert loaded.spec is None and loaded.weights.keys() == weights.keys() and list(loaded.optimizer) == ["0/m"]
    assert all(np.array_equal(loaded.weights[k], w) for k, w in weights.items())


def test_missing_and_unreadable_checkpoints_name_the_file(tmp_path):
    import zipfile

    from dlcore import TrainingCheckpoint

    with pytest.raises(CheckpointError, match=r"nothing.npz: no such checkpoint file"):
        TrainingCheckpoint.load(tmp_path / "nothing.npz")
    with zipfile.ZipFile(tmp_path / "garbage.npz", "w") as archive:
        archive.writestr("weights/w.npy", b"\x93NUMPY\x01\x00\x10\x00 not a header ")
    with pytest.raises(CheckpointError, match=r"garbage.npz: not a readable dlcore checkpoint \("):
        TrainingCheckpoint.load(tmp_path / "garbage.npz")


# -------------------------------------------------------------- across backends


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
