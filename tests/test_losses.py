"""Losses and metrics written once on dlcore.ops: each built-in one equals the backend's own
kernel where one remains and numpy's table everywhere; label smoothing is torch's; a user's
loss or metric is a plain function that trains, reports under its name and names its mistakes."""

from __future__ import annotations

import numpy as np
import pytest

import dlcore
from conftest import BACKENDS, numpy_backend
from dlcore import ConfigError, Trainer, get_backend, ops
from dlcore.plugins import registry
from dlcore.plugins.builtin import LOSSES, METRICS, REGISTERED
from dlcore.testing.data import blobs
from dlcore.training._kernels import OnOps


def ops_backends() -> list[str]:
    return [b for b in BACKENDS if get_backend(b).ops is not None]


def on_ops(backend):
    """The test's backend, skipped where it has no table of ops."""
    if get_backend(backend).ops is None:
        pytest.skip(f"{backend} has no table of dlcore.ops")
    return get_backend(backend)


@pytest.fixture
def forget_registered():
    """A user's losses and metrics registered by a test are forgotten after it."""
    before = {kind: dict(records) for kind, records in REGISTERED.items()}
    yield
    for kind, records in REGISTERED.items():
        for name in set(records) - set(before[kind]):
            del records[name]
            getattr(registry(), "losses" if kind == "loss" else "metrics")._items.pop(name, None)


def cases(seed=0):
    """(name, logits, labels, weights) for every built-in loss on its kind of labels."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (16, 5)).astype(np.float32)
    indices = rng.integers(0, 5, 16)
    one_hot = np.eye(5, dtype=np.float32)[rng.integers(0, 5, 16)]
    logit = rng.normal(0, 2, (16, 1)).astype(np.float32)
    bits = rng.integers(0, 2, 16).astype(np.float32)
    outputs = rng.normal(0, 2, (16, 3)).astype(np.float32)
    targets = rng.normal(0, 2, (16, 3)).astype(np.float32)
    weights = rng.uniform(0, 2, 16).astype(np.float32)
    return [("cross_entropy", logits, indices, None), ("cross_entropy", logits, one_hot, weights),
            ("binary_cross_entropy", logit, bits, None), ("binary_cross_entropy", logit, bits, weights),
            *((name, outputs, targets, w) for name in ("mse", "mae", "huber") for w in (None, weights)),
            ("mse", logit, targets[:, 0], None)]


def metric_cases(seed=0):
    rng = np.random.default_rng(seed)
    logits, logit = rng.normal(0, 2, (16, 5)).astype(np.float32), rng.normal(0, 2, (16, 1)).astype(np.float32)
    return [(name, logits, rng.integers(0, 5, 16)) for name in ("accuracy", "top_k_accuracy", "precision", "auc")] \
        + [(name, logits, np.eye(5, dtype=np.float32)[rng.integers(0, 5, 16)]) for name in ("accuracy", "recall")] \
        + [(name, logit, rng.integers(0, 2, 16).astype(np.float32)) for name in ("accuracy", "f1", "auc")] \
        + [(name, rng.normal(0, 2, (16, 3)).astype(np.float32), rng.normal(0, 2, (16, 3)).astype(np.float32))
           for name in ("mae", "rmse", "r2")]


def put(table, *arrays):
    with ops.using(table):
        return [None if a is None else ops.convert(a) for a in arrays]


def numpy_value(backend, value):
    return np.asarray(get_backend(backend).to_numpy(value), np.float64)


def test_every_built_in_loss_and_metric_is_written_on_ops():
    assert all(loss.fn for loss in LOSSES) and all(metric.statistics for metric in METRICS)
    assert registry().loss("cross_entropy").settings == ("label_smoothing",)


@pytest.mark.parametrize("case", range(len(cases())))
def test_each_loss_on_ops_equals_the_backends_kernel_and_numpys_table(backend, case):
    table = on_ops(backend).ops
    name, logits, labels, weights = cases()[case]
    fn = registry().losses.load(registry().loss(name), "fn")
    expected = fn(ops, logits.astype(np.float64), labels, weights)  # numpy's table, in float64
    got = numpy_value(backend, OnOps("loss", name, fn, table)(*put(table, logits, labels, weights)))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    if registry().kernels.get(("loss", name, backend)) is not None:
        kernel = registry().kernel("loss", name, backend)
        given = put(table, logits, labels, weights)
        fast = kernel(*given[:2]) if weights is None else kernel(*given[:2], weights=given[2])
        np.testing.assert_allclose(numpy_value(backend, fast), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", range(len(metric_cases())))
def test_each_metric_on_ops_equals_the_backends_kernel_and_numpys_table(backend, case):
    table = on_ops(backend).ops
    name, logits, labels = metric_cases()[case]
    fn = registry().metrics.load(registry().metric(name), "statistics")
    expected = np.asarray(fn(ops, logits.astype(np.float64), labels), np.float64)
    got = numpy_value(backend, OnOps("metric", name, fn, table)(*put(table, logits, labels)))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    if registry().kernels.get(("metric", name, backend)) is not None:
        fast = registry().kernel("metric", name, backend)(*put(table, logits, labels))
        np.testing.assert_allclose(numpy_value(backend, fast), expected, rtol=1e-5, atol=1e-5)


def test_the_ops_versions_equal_numpy_formulas_written_apart():
    rng = np.random.default_rng(3)
    z, y = rng.normal(size=(10, 4)), rng.integers(0, 4, 10)
    fns = {loss.name: registry().losses.load(loss, "fn") for loss in LOSSES}
    log_p = z - np.log(np.exp(z).sum(1, keepdims=True))
    assert np.isclose(fns["cross_entropy"](ops, z, y), -log_p[np.arange(10), y].mean())
    d = rng.normal(0, 2, (10, 2))
    assert np.isclose(fns["huber"](ops, d, np.zeros((10, 2))), np.where(abs(d) <= 1, d * d / 2, abs(d) - 0.5).mean())
    logit, bits = rng.normal(size=(10, 1)), rng.integers(0, 2, 10)
    p = 1 / (1 + np.exp(-logit[:, 0]))
    assert np.isclose(fns["binary_cross_entropy"](ops, logit, bits), -(bits * np.log(p) + (1 - bits) * np.log(1 - p)).mean())
    confusion = registry().metrics.load(registry().metric("precision"), "statistics")(ops, z, y)
    expected = np.zeros((4, 4))
    np.add.at(expected, (y, z.argmax(1)), 1)
    np.testing.assert_array_equal(confusion, expected)


@pytest.mark.across
@pytest.mark.parametrize("smoothing", [0.1, 0.3])
@pytest.mark.parametrize("one_hot", [False, True])
def test_label_smoothing_is_torchs(smoothing, one_hot):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    z, y = rng.normal(0, 2, (12, 6)).astype(np.float32), rng.integers(0, 6, 12)
    labels = np.eye(6, dtype=np.float32)[y] if one_hot else y
    expected = torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(labels), label_smoothing=smoothing)
    fn = registry().losses.load(registry().loss("cross_entropy"), "fn")
    assert np.isclose(fn(ops, z, labels, label_smoothing=smoothing), expected.item(), rtol=1e-5)
    for backend in ops_backends():
        table = get_backend(backend).ops
        got = OnOps("loss", "cross_entropy", fn, table, (("label_smoothing", smoothing),))(*put(table, z, labels))
        assert np.isclose(numpy_value(backend, got), expected.item(), rtol=1e-5), backend


def test_label_smoothing_trains_and_is_refused_for_other_losses(backend):
    if backend != "torch":
        on_ops(backend)  # torch's kernel smooths labels itself; elsewhere the definition on ops does
    x, y = blobs(400, features=8, classes=3, seed=4)
    spec = dlcore.models.mlp(8, [16], 3)
    trainer = Trainer(backend, epochs=4, optimizer="adam", lr=1e-2, seed=0, progress=False, label_smoothing=0.1)
    trainer.fit(spec, (x, y))
    assert trainer.evaluate(spec, (x, y))["accuracy"] > 0.9
    with pytest.raises(ConfigError, match="label_smoothing is a setting of 'cross_entropy', not of the loss 'mse'"):
        Trainer(backend, loss="mse", label_smoothing=0.1)
    with pytest.raises(ConfigError, match=r"label_smoothing must be a number in \[0, 1\)"):
        Trainer(backend, label_smoothing=1.5)


def focal(ops, outputs, targets, weights=None):
    """Focal loss (gamma 2) on softmax probabilities."""
    log_p = ops.log_softmax(outputs, -1)
    rows = ops.one_hot(targets, ops.shape(outputs)[-1], ops.dtype(outputs))
    log_true = ops.sum(rows * log_p, -1)
    per_sample = -ops.square(1.0 - ops.exp(log_true)) * log_true
    return ops.mean(per_sample if weights is None else per_sample * weights)


def margin(ops, outputs, targets):
    """The largest logit minus the smallest, per sample."""
    return ops.max(outputs, -1) - ops.min(outputs, -1)


def test_a_focal_loss_written_on_ops_trains_a_classifier(backend, forget_registered):
    on_ops(backend)
    x, y = blobs(600, features=10, classes=3, seed=5)
    spec = dlcore.models.mlp(10, [32], 3)
    trainer = Trainer(backend, epochs=6, batch_size=32, optimizer="adam", lr=1e-2, seed=0, progress=False, loss=focal,
                      metrics=["accuracy", margin])
    history = trainer.fit(spec, (x[:500], y[:500]), validation=(x[500:], y[500:]))
    assert trainer.loss == "focal" and trainer.metrics == ("accuracy", "margin")
    assert {"loss", "accuracy", "margin", "val_margin"} <= set(history.history)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert trainer.evaluate(spec, (x[500:], y[500:]))["accuracy"] > 0.9
    predicted = trainer.predict(spec, x[500:])
    expected = (predicted.max(1) - predicted.min(1)).mean()
    assert np.isclose(trainer.evaluate(spec, (x[500:], y[500:]))["margin"], expected, rtol=1e-4)


def test_a_backend_with_a_table_and_kernels_of_its_own_trains_a_users_loss_and_metric(forget_registered):
    x, y = blobs(400, features=6, classes=3, seed=8)
    with numpy_backend():
        spec = dlcore.models.mlp(6, [16], 3)
        trainer = Trainer("numpy", epochs=5, batch_size=32, optimizer="adam", lr=1e-2, seed=0, progress=False,
                          loss=focal, metrics=["accuracy", margin, "precision"])
        history = trainer.fit(spec, (x, y))
        assert history.history["loss"][-1] < history.history["loss"][0] and history.history["accuracy"][-1] > 0.9
        predicted = trainer.predict(spec, x)
        assert np.isclose(trainer.evaluate(spec, (x, y))["margin"], (predicted.max(1) - predicted.min(1)).mean())


def test_a_registered_loss_and_metric_are_named_in_configs(backend, forget_registered):
    on_ops(backend)

    @dlcore.losses.register(name="my_focal")
    def anything(ops, outputs, targets, weights=None):
        return focal(ops, outputs, targets, weights)

    @dlcore.metrics.register
    def spread(ops, outputs, targets):
        return ops.std(outputs, -1)

    assert registry().loss("my_focal").fn is anything and registry().metric("spread").reduction == "sum"
    trainer = Trainer(backend, epochs=1, progress=False, loss=anything, metrics=["spread"])
    assert trainer.loss == "my_focal" and trainer.settings.arguments()["loss"] == "my_focal"
    x, y = blobs(100, features=4, classes=2, seed=6)
    assert set(trainer.fit(dlcore.models.mlp(4, [8], 2), (x, y)).history) >= {"loss", "spread"}
    with pytest.raises(ConfigError, match="the loss 'mse' is taken"):
        dlcore.losses.register(name="mse")(anything)
    with pytest.raises(ConfigError, match="needs a name"):
        Trainer(backend, loss=lambda ops, z, y, weights=None: ops.mean(z))


def test_errors_in_a_users_loss_name_the_loss_and_the_op(backend, forget_registered):
    on_ops(backend)

    def broken(ops, outputs, targets, weights=None):
        return ops.mean(ops.matmul(outputs, ops.ones((4, 4))))  # (N, 3) @ (4, 4)

    def per_batch(ops, outputs, targets):
        return ops.mean(outputs)

    x, y = blobs(64, features=4, classes=3, seed=7)
    with pytest.raises(ConfigError, match=r"the loss 'broken' failed on \w+: ops\.matmul"):
        Trainer(backend, epochs=1, progress=False, loss=broken).fit(dlcore.models.mlp(4, [8], 3), (x, y))
    with pytest.raises(ConfigError, match=r"one value per sample.*'per_batch' returned shape \(\)"):
        Trainer(backend, epochs=1, progress=False, metrics=[per_batch]).fit(dlcore.models.mlp(4, [8], 3), (x, y))


@pytest.mark.skipif(not BACKENDS, reason="needs a backend")
def test_a_loss_neither_kernel_nor_ops_is_refused_clearly():
    from dlcore.contract import Loss
    from dlcore.plugins import registry_of
    from dlcore import hookimpl

    class Plugin:
        @hookimpl
        def dlcore_losses(self):
            return [Loss("native_only", "a loss with kernels alone")]

    with registry_of(Plugin()):
        with pytest.raises(ConfigError, match="no implementation of the loss 'native_only'.*not written on dlcore.ops"):
            Trainer(BACKENDS[0], loss="native_only")
