"""The escape hatch: each backend also trains the user's own native models and pipelines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import BACKENDS, blobs, device_on
from dlcore import CheckpointError, ConfigError, DataError, Trainer, TrainingCheckpoint, get_backend


def trainer(backend, device, **settings):
    return Trainer(backend=backend, **{**dict(epochs=5, batch_size=32, optimizer="adam", lr=1e-2,
                                              seed=0, device=device, progress=False), **settings})


@pytest.mark.skipif("torch" not in BACKENDS, reason="torch is not installed")
@pytest.mark.parametrize("pipeline", ["arrays", "dataset", "dataloader"])
def test_torch_module_with_native_data(pipeline):
    device = device_on("torch")
    get_backend("torch")
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    x, y = blobs()
    net = torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))
    train = (x[:1000], y[:1000])
    if pipeline != "arrays":
        train = TensorDataset(torch.from_numpy(x[:1000]), torch.from_numpy(y[:1000]))
    if pipeline == "dataloader":
        train = DataLoader(train, batch_size=50, shuffle=True)
    t = trainer("torch", device)
    history = t.fit(net, train)
    assert history["accuracy"][-1] >= 0.95
    assert t.evaluate(net, (x[1000:], y[1000:]))["accuracy"] >= 0.95
    assert set(t.build(net).get_weights()) == {"0.weight", "0.bias", "2.weight", "2.bias"}


@pytest.mark.skipif("tensorflow" not in BACKENDS, reason="tensorflow is not installed")
@pytest.mark.parametrize("pipeline", ["arrays", "unbatched", "batched"])
def test_keras_model_with_native_data(pipeline):
    device = device_on("tensorflow")
    get_backend("tensorflow")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    x, y = blobs()
    net = keras.Sequential([keras.Input((20,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(4)])
    train = (x[:1000], y[:1000])
    if pipeline != "arrays":
        train = tf.data.Dataset.from_tensor_slices(train).shuffle(1000, seed=0)
    if pipeline == "batched":
        train = train.batch(50)
    t = trainer("tensorflow", device)
    history = t.fit(net, train)
    assert history["accuracy"][-1] >= 0.95
    assert t.evaluate(net, tf.data.Dataset.from_tensor_slices((x[1000:], y[1000:])))["accuracy"] >= 0.95
    assert t.predict(net, x[:7]).shape == (7, 4)


# ---------------------------------------------------------------- the user's own models, as dlcore's

NATIVE = [b for b in ("torch", "tensorflow") if b in BACKENDS]


def native_net(backend: str, outputs: int = 4, inputs: int = 20):
    """A small network of the framework's own, built the same way in every process."""
    get_backend(backend)
    if backend == "torch":
        import torch

        return torch.nn.Sequential(torch.nn.Linear(inputs, 16), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                                   torch.nn.Linear(16, outputs))
    import keras

    return keras.Sequential([keras.Input((inputs,)), keras.layers.Dense(16, activation="relu"),
                             keras.layers.Dropout(0.2), keras.layers.Dense(outputs)])


def saved(backend: str, path: Path, samples: int, epochs: int):
    """``(x, y, trainer, net)``: a native net trained ``epochs`` epochs on blobs, saved at ``path``."""
    x, y = blobs(samples)
    t = trainer(backend, "cpu", epochs=epochs)
    net = native_net(backend)
    t.fit(net, (x, y))
    t.save(net, path)
    return x, y, t, net


@pytest.mark.parametrize("backend", NATIVE)
def test_a_native_model_keeps_its_optimizer_state_and_progress_through_save_and_resume(backend, tmp_path):
    x, y, _, _ = saved(backend, tmp_path / "net.npz", 300, epochs=2)
    checkpoint = TrainingCheckpoint.load(tmp_path / "net.npz")
    assert (checkpoint.state["epoch"], checkpoint.state["step"]) == (2, 20)
    assert checkpoint.state["optimizer"]["state"]["step"] == 20 and len(checkpoint.optimizer) == 8  # m and v
    resumed = trainer(backend, "cpu", epochs=3)
    again = native_net(backend)
    history = resumed.fit(again, (x, y), resume_from=tmp_path / "net.npz")
    assert history["epoch"] == [1, 2, 3]
    state = resumed.backend.optimizer_state(resumed.build(again))[1]
    assert state["step"] == 30  # Adam went on counting: its state came back


@pytest.mark.parametrize("backend", NATIVE)
def test_load_restores_a_native_models_weights_and_export_writes_its_own_format(backend, tmp_path):
    x, _, t, net = saved(backend, tmp_path / "net.npz", 100, epochs=1)
    with pytest.raises(CheckpointError, match="model=your_model"):
        t.load(tmp_path / "net.npz")
    with pytest.raises(ConfigError, match=r"load\(path, model=your_model\)"):
        t.load(tmp_path / "net.npz", spec=native_net(backend))
    fresh = native_net(backend)
    t.load(tmp_path / "net.npz", model=fresh)
    np.testing.assert_allclose(t.predict(fresh, x), t.predict(net, x), rtol=1e-6)
    with pytest.raises(CheckpointError, match=r"bias: model has \(3,\), weights have \(4,\)"):
        t.load(tmp_path / "net.npz", model=native_net(backend, outputs=3))
    if backend == "torch":
        import torch

        t.export(net, tmp_path / "net.pt")
        state = torch.load(tmp_path / "net.pt", weights_only=True)
        assert set(state) == set(net.state_dict())
    else:
        import keras

        t.export(net, tmp_path / "net.keras")
        reloaded = keras.saving.load_model(tmp_path / "net.keras")
        np.testing.assert_allclose(reloaded.predict(x, verbose=0), t.predict(net, x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend", NATIVE)
def test_keras_names_do_not_depend_on_the_models_built_before(backend, tmp_path):
    x, _, t, net = saved(backend, tmp_path / "net.npz", 100, epochs=1)
    code = (f"import numpy as np, sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
            "from test_native import native_net, trainer\n"
            f"[native_net({backend!r}) for _ in range(3)]\n"  # other models take the default layer names first
            f"t = trainer({backend!r}, 'cpu'); net = native_net({backend!r})\n"
            f"t.load({str(tmp_path / 'net.npz')!r}, model=net)\n"
            f"np.save({str(tmp_path / 'logits.npy')!r}, t.predict(net, np.load({str(tmp_path / 'x.npy')!r})))\n")
    np.save(tmp_path / "x.npy", x)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    np.testing.assert_allclose(np.load(tmp_path / "logits.npy"), t.predict(net, x), rtol=1e-6)


@pytest.mark.parametrize("backend", NATIVE)
def test_seed_makes_a_native_model_built_after_the_trainer_reproducible_run_to_run(backend, tmp_path):
    code = (f"import numpy as np, sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
            "from test_native import native_net, trainer, blobs\n"
            f"t = trainer({backend!r}, 'cpu', epochs=2, seed=7); net = native_net({backend!r})\n"
            "x, y = blobs(200); t.fit(net, (x, y))\n"
            "print(repr(t.predict(net, x[:3]).round(6).tolist()))\n")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300) for _ in range(2)]
    assert all(run.returncode == 0 for run in runs), runs[0].stderr[-3000:]
    assert runs[0].stdout.splitlines()[-1] == runs[1].stdout.splitlines()[-1]


@pytest.mark.parametrize("backend", NATIVE)
def test_a_native_models_mistakes_are_dlcore_errors_naming_the_fix(backend):
    x, y = blobs(64)
    t = trainer(backend, "cpu", epochs=1)
    with pytest.raises(DataError, match="label 4 at index .* out of range.*0..3"):
        t.fit(native_net(backend), (x, np.where(y == 0, 4, y)))
    with pytest.raises(DataError, match=r"fails on samples of shape \(12,\)"):
        t.fit(native_net(backend), (x[:, :12], y))
    binary = native_net(backend, outputs=1)
    history = trainer(backend, "cpu", epochs=20).fit(binary, (x, (y == 0).astype(np.int64)))
    assert history["accuracy"][-1] >= 0.95  # one output and 0/1 labels: binary cross-entropy
    with pytest.raises(DataError, match="loss='mse'"):
        t.fit(native_net(backend, outputs=1), (x, x[:, 0] * 3.5))


def squashed_net(backend: str, outputs: int = 4):
    """native_net with a final softmax (sigmoid for one output), as Keras tutorials write it."""
    get_backend(backend)
    if backend == "torch":
        import torch

        return torch.nn.Sequential(torch.nn.Linear(20, 16), torch.nn.ReLU(), torch.nn.Linear(16, outputs),
                                   torch.nn.Softmax(dim=1) if outputs > 1 else torch.nn.Sigmoid())
    import keras

    return keras.Sequential([keras.Input((20,)), keras.layers.Dense(16, activation="relu"),
                             keras.layers.Dense(outputs, activation="softmax" if outputs > 1 else "sigmoid",
                                                name="probabilities")])


@pytest.mark.parametrize("backend", NATIVE)
def test_a_native_model_ending_in_softmax_or_sigmoid_is_warned_once_naming_the_layer_and_the_fix(backend, recwarn):
    import warnings

    x, y = blobs(64)
    t = trainer(backend, "cpu", epochs=1)
    named = r"nn.Softmax \(module .3.\)" if backend == "torch" else "'probabilities' of your Sequential has activation softmax"
    net = squashed_net(backend)
    with pytest.warns(UserWarning, match=f"{named}.*takes logits.*applied twice.*remove"):
        t.fit(net, (x, y))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t.fit(net, (x, y))  # once per model
        t.fit(native_net(backend), (x, y))  # logits: nothing to say
        trainer(backend, "cpu", epochs=1, loss="mse").fit(squashed_net(backend, 1), (x, x[:, :1]))
    named = "nn.Sigmoid" if backend == "torch" else "activation sigmoid"
    with pytest.warns(UserWarning, match=f"{named}.*binary_cross_entropy loss takes logits"):
        trainer(backend, "cpu", epochs=1, loss="binary_cross_entropy").fit(squashed_net(backend, 1), (x, y == 0))


@pytest.mark.skipif("tensorflow" not in BACKENDS, reason="tensorflow is not installed")
def test_the_softmax_warning_reads_a_keras_models_output_layer_not_its_last_attribute():
    """A subclassed model's ``layers[-1]`` is the layer assigned last, not its output: no warning
    for one whose logits come from another layer; a functional model's output layer is checked."""
    import warnings

    get_backend("tensorflow")
    import keras

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.logits = keras.layers.Dense(4)
            self.gate = keras.layers.Dense(16, activation="sigmoid")  # inside the model, assigned last

        def call(self, x):
            return self.logits(x * self.gate(x)[:, :1])

    x, y = blobs(64)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        trainer("tensorflow", "cpu", epochs=1).fit(Net(), (x, y))
    inputs = keras.Input((20,))
    hidden = keras.layers.Dense(16, activation="relu")(inputs)
    functional = keras.Model(inputs, keras.layers.Dense(4, activation="softmax", name="probs")(hidden))
    with pytest.warns(UserWarning, match="'probs' of your Functional has activation softmax.*applied twice"):
        trainer("tensorflow", "cpu", epochs=1).fit(functional, (x, y))


@pytest.mark.skipif("tensorflow" not in BACKENDS, reason="tensorflow is not installed")
def test_several_tensorflow_trainers_in_one_process_trigger_no_retracing_warning():
    """TensorFlow counts the traces of functions with the same code together: each trainer's
    model traced its own steps, and the sixth printed "5 out of the last 5 calls to <function>
    triggered tf.function retracing"."""
    import io
    import logging

    from dlcore import models

    get_backend("tensorflow")
    import tensorflow as tf

    x, y = blobs(200)
    logged = io.StringIO()
    handler = logging.StreamHandler(logged)
    tf.get_logger().addHandler(handler)
    try:
        for _ in range(6):
            t = trainer("tensorflow", "cpu")
            history = t.fit(models.mlp(20, [8], 4), (x[:160], y[:160]), validation=(x[160:], y[160:]))
            t.evaluate(t.build(models.mlp(20, [8], 4)), (x, y))
            t.fit(native_net("tensorflow"), (x, y))
    finally:
        tf.get_logger().removeHandler(handler)
    assert "retracing" not in logged.getvalue(), logged.getvalue()[:500]
    assert history["val_accuracy"][-1] >= 0.9
