"""Portable layers: specs check their shapes, a CNN's checkpoint moves between every installed
backend with the same logits, and torch and TensorFlow train a CNN the same."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import BACKENDS, BOTH
from dlcore import ConfigError, DataError, Trainer, models
from dlcore.models import layers
from dlcore.plugins import registry
from dlcore.testing.data import patterns

LOGITS_ATOL = 1e-4


def builds_layers(backend: str) -> bool:
    try:
        registry().kernel("model", "sequential", backend)
    except ConfigError:
        return False
    return True


def small_cnn(dropout: float = 0.25) -> models.Sequential:
    return models.cnn((1, 12, 12), classes=3, filters=(4, 8), hidden=16, dropout=dropout)


def test_a_spec_gives_each_layers_shape_and_canonical_parameters():
    spec = models.cnn()
    assert spec.shapes[-1] == (10,) and spec.out_features == 10 and spec.loss == "cross_entropy"
    shapes = spec.parameter_shapes()
    assert shapes["layers.0.weight"] == (32, 1, 3, 3) and shapes["layers.4.weight"] == (64, 32, 3, 3)
    assert shapes["layers.10.weight"] == (128, 64 * 7 * 7)
    assert {k for k in shapes if not k.endswith(("weight", "bias"))} == {
        "layers.1.running_mean", "layers.1.running_var", "layers.5.running_mean", "layers.5.running_var",
        "layers.9.rng", "layers.11.rng"}
    weights = spec.initial_weights(3)
    assert weights["layers.9.rng"].dtype == np.int64 and weights["layers.9.rng"][1] == 0
    assert all(np.array_equal(weights[k], spec.initial_weights(3)[k]) for k in weights)
    assert models.spec_from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize("make, message", [
    (lambda: models.sequential([layers.conv2d(4), layers.dense(3)], (1, 8, 8)), r"layer 1 \(dense\).*flatten"),
    (lambda: models.sequential([layers.conv2d(4)], (1, 8, 8)), "vector of logits"),
    (lambda: models.sequential([layers.conv2d(4, 5)], (1, 3, 3)), "does not fit"),
    (lambda: models.sequential([layers.dense(4)], (1, 8, 8)), "flatten"),
    (lambda: layers.conv2d(4, stride=2, padding="same"), "stride 1"),
    (lambda: layers.dense(4, activation="swish"), "unknown activation 'swish'"),
    (lambda: layers.dropout(1.0), r"\[0, 1\)"),
    (lambda: models.sequential([], (4,)), "non-empty list of layers"),
])
def test_bad_layer_settings_are_refused_naming_the_layer(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


def test_an_unknown_layer_kind_in_a_checkpoint_lists_the_known_ones():
    with pytest.raises(ConfigError, match="conv2d"):
        models.spec_from_dict({"kind": "sequential", "input_shape": [4], "layers": [{"kind": "capsule"}]})


@pytest.mark.parametrize("trained_on", BACKENDS)
def test_a_cnn_checkpoint_moves_between_every_backend(trained_on, tmp_path):
    if not builds_layers(trained_on):
        pytest.skip(f"{trained_on} does not build portable layers")
    x, y = patterns(400)
    spec = small_cnn()
    trainer = Trainer(trained_on, epochs=2, optimizer="adam", lr=3e-3, seed=0, progress=False)
    trainer.fit(spec, (x[:300], y[:300]))
    trainer.save(spec, tmp_path / "cnn.npz")
    expected = trainer.predict(spec, x[300:])
    accuracy = trainer.evaluate(spec, (x[300:], y[300:]))["accuracy"]
    for other in filter(builds_layers, BACKENDS):
        loading = Trainer(other, progress=False)
        model = loading.load(tmp_path / "cnn.npz")
        np.testing.assert_allclose(loading.predict(model, x[300:]), expected, atol=LOGITS_ATOL, err_msg=other)
        assert loading.evaluate(model, (x[300:], y[300:]))["accuracy"] == pytest.approx(accuracy, abs=1 / 100)
        assert model.get_weights()["layers.9.rng"].tolist() == trainer.build(spec).get_weights()["layers.9.rng"].tolist()


@pytest.mark.skipif(not BOTH, reason="needs both torch and tensorflow")
def test_torch_and_tensorflow_train_a_cnn_with_batch_norm_the_same():
    x, y = patterns(320)
    histories, weights = [], []
    for backend in ("torch", "tensorflow"):
        spec = small_cnn(dropout=0)
        trainer = Trainer(backend, epochs=2, batch_size=32, optimizer="sgd", lr=0.05, seed=0, progress=False)
        histories.append(trainer.fit(spec, (x, y))["loss"])
        weights.append(trainer.build(spec).get_weights())
    np.testing.assert_allclose(histories[0], histories[1], rtol=1e-4)
    for name in weights[0]:
        np.testing.assert_allclose(weights[0][name], weights[1][name], atol=1e-4, err_msg=name)


@pytest.mark.skipif(not BOTH, reason="needs both torch and tensorflow")
def test_a_cnn_exported_as_keras_and_as_a_state_dict_loads_on_the_other_backend(tmp_path):
    x, _ = patterns(20)
    spec = small_cnn()
    tf_trainer, torch_trainer = Trainer("tensorflow", seed=1), Trainer("torch", seed=2)
    tf_trainer.export(spec, tmp_path / "cnn.keras")
    loaded = torch_trainer.load(tmp_path / "cnn.keras")
    assert loaded.spec == spec
    np.testing.assert_allclose(torch_trainer.predict(loaded, x), tf_trainer.predict(spec, x, allow_random=True),
                               atol=LOGITS_ATOL)
    torch_trainer.export(loaded, tmp_path / "cnn.pt")
    again = tf_trainer.load(tmp_path / "cnn.pt", spec=spec)
    np.testing.assert_allclose(tf_trainer.predict(again, x), tf_trainer.predict(spec, x, allow_random=True),
                               atol=LOGITS_ATOL)


@pytest.mark.skipif(not BACKENDS, reason="no backend installed")
def test_the_summary_counts_running_statistics_and_seeds_as_untrained():
    text = Trainer(BACKENDS[0]).summary(models.cnn(), print_fn=None, weights=True)
    assert "total 421,934 parameters (421,738 trainable)" in text  # 2 x (32 + 64) statistics, 2 x 2 seeds


@pytest.mark.skipif(not BACKENDS, reason="no backend installed")
def test_an_epochs_last_batch_of_one_sample_passes_batch_norm_the_same_everywhere():
    x = np.random.default_rng(0).random((33, 3)).astype(np.float32)
    spec = models.sequential([layers.dense(4), layers.batch_norm(), layers.dense(2)], (3,))
    statistics = []
    for backend in filter(builds_layers, BACKENDS):
        trainer = Trainer(backend, epochs=1, batch_size=32, seed=0, progress=False)
        trainer.fit(spec, (x, np.arange(33) % 2))  # 32 samples, then 1
        statistics.append(trainer.build(spec).get_weights()["layers.1.running_var"])
    for other in statistics[1:]:
        np.testing.assert_allclose(other, statistics[0], rtol=1e-5)


@pytest.mark.skipif(not BACKENDS, reason="no backend installed")
def test_embedding_ids_outside_the_table_are_refused_naming_the_id():
    spec = models.sequential([layers.embedding(10, 4), layers.flatten(), layers.dense(2)], (3,))
    ids = np.array([[1, 2, 3], [4, 12, 0]])
    with pytest.raises(DataError, match=r"id 12 at index \(1, 1\) is outside the embedding's 0..9"):
        Trainer(BACKENDS[0]).fit(spec, (ids, np.array([0, 1])))
    with pytest.raises(DataError, match="takes integer ids"):
        Trainer(BACKENDS[0]).fit(spec, (ids.astype(np.float32), np.array([0, 1])))
