"""The escape hatch: each backend also trains the user's own native models and pipelines."""

from __future__ import annotations

import pytest

from conftest import BACKENDS, blobs, device_on
from dlcore import Trainer, get_backend


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
