"""Optimizer update rules written once on dlcore.ops: each backend's native fast path of dlcore's
optimizers equals its rule applied through the backend's generic path; an optimizer of one's
own (Lion) registered in a script trains a classifier on every backend and its state moves
between backends in a checkpoint."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from conftest import numpy_backend
from dlcore import ConfigError, Trainer, hookimpl, models, optimizers
from dlcore.contract import Optimizer
from dlcore.optimizers import SGD, Adam, AdamW, OptimizerConfig, RMSprop
from dlcore.testing import reference
from dlcore.testing.data import blobs
from dlcore.plugins import registry_of
from dlcore.training import rules
from dlcore.training.optimizers import as_config

TABLES = {"torch": "dlcore_torch.ops", "tensorflow": "dlcore_tf.ops", "jax": "dlcore_jax.ops"}


def _installed(backend: str) -> bool:
    try:
        importlib.import_module(TABLES[backend])  # the backend's table of dlcore.ops
    except ImportError:
        return False
    return True


BACKENDS = [pytest.param(name, marks=pytest.mark.skipif(not _installed(name), reason=f"{name} or its ops table "
                                                                                       "missing")) for name in TABLES]


@optimizers.register("lion", slots=("exp_avg",), lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0)
def lion(ops, w, g, slots, lr, step, beta1, beta2, weight_decay):
    """w -= lr * (sign(b1 m + (1 - b1) g) + weight_decay w); m = b2 m + (1 - b2) g"""
    m = slots["exp_avg"]
    w = w - lr * (ops.sign(beta1 * m + (1 - beta1) * g) + weight_decay * w)
    return w, {"exp_avg": beta2 * m + (1 - beta2) * g}


def on_ops(optimizer: OptimizerConfig) -> OptimizerConfig:
    """``optimizer`` with its rule registered under another name, which no backend has a kernel
    of: the backends' generic path."""
    record = rules.definition(optimizer.name)
    rule = rules.rule_of(record)
    optimizers.register(f"{optimizer.name}_on_ops", slots=rule.slots, **record.defaults, **record.options)(rule.update)
    return OptimizerConfig(f"{optimizer.name}_on_ops", optimizer.lr, **optimizer.hyper)


def trainer(backend: str, optimizer, **settings) -> Trainer:
    return Trainer(backend=backend, device="cpu", optimizer=optimizer, lr=None, batch_size=32, shuffle=False, seed=0,
                   verbose=False, progress=False, **settings)


FAST = [SGD(0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
        Adam(1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-3, amsgrad=True),
        AdamW(1e-2, weight_decay=0.05),
        RMSprop(1e-3, alpha=0.9, momentum=0.5, centered=True, weight_decay=1e-3)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("optimizer", FAST, ids=["sgd-nesterov", "adam-amsgrad", "adamw", "rmsprop-centered"])
def test_fast_path_equals_the_rule_on_the_generic_path(backend, optimizer):
    """Two epochs (20 updates) of each built-in optimizer's kernel and of its rule through the
    backend's generic optimizer: the same weights and the same state in the canonical slots."""
    x, y = blobs(320)
    results = []
    for chosen in (optimizer, on_ops(optimizer)):
        t, spec = trainer(backend, chosen, epochs=2), models.mlp(20, [16], 4)
        t.fit(spec, (x, y))
        model = t.build(spec)
        results.append((model.get_weights(), *t.backend.optimizer_state(model)))
    (fast, fast_state, fast_meta), (generic, state, meta) = results
    assert fast_meta == meta == {"step": 20}
    assert set(fast_state) == set(state)
    for name in fast:
        np.testing.assert_allclose(generic[name], fast[name], atol=2e-6, err_msg=f"{optimizer}: {name}")
    for key in state:
        np.testing.assert_allclose(state[key], fast_state[key], atol=1e-6, rtol=1e-4, err_msg=f"{optimizer}: {key}")


def test_the_reference_applies_the_registered_rule():
    update = reference.Optimizer("lion", 0.1, beta1=0.5)
    weights = {"w": np.array([1.0, -2.0])}
    update.step(weights, {"w": np.array([0.5, -0.25])})
    np.testing.assert_allclose(weights["w"], [0.9, -1.9])
    np.testing.assert_allclose(update.state["exp_avg"]["w"], [0.005, -0.0025])


def test_an_optimizer_of_ones_own_has_settings_defaults_and_its_learning_rate():
    assert OptimizerConfig("lion", weight_decay=0.1).hyper == {"beta1": 0.9, "beta2": 0.99, "weight_decay": 0.1}
    assert as_config(lion) == OptimizerConfig("lion")  # Trainer(optimizer=lion)
    assert optimizers.slots("lion", {}) == ("exp_avg",)
    with pytest.raises(ConfigError, match="has no setting 'momentum'"):
        OptimizerConfig("lion", momentum=0.9)


@pytest.mark.parametrize("backend", BACKENDS)
def test_lion_trains_a_classifier(backend):
    x, y = blobs(800)
    t = Trainer(backend=backend, device="cpu", epochs=8, optimizer="lion", verbose=False, progress=False)
    assert t.lr == 1e-4  # Lion's own default
    t = Trainer(backend=backend, device="cpu", epochs=8, optimizer=OptimizerConfig("lion", lr=3e-3), verbose=False,
                progress=False)
    history = t.fit(models.mlp(20, [16], 4), (x, y))
    assert history["accuracy"][-1] >= 0.95


@pytest.mark.across
@pytest.mark.parametrize("first, then", [("torch", "tensorflow"), ("tensorflow", "jax"), ("jax", "torch")])
def test_lion_state_moves_between_backends_in_a_checkpoint(tmp_path, first, then):
    """Two epochs on one backend, the third resumed on the other: its weights are those of three
    epochs on that backend (1e-5), and the saved state is Lion's slot."""
    for name in (first, then):
        if not _installed(name):
            pytest.skip(f"{name} or its ops table missing")
    x, y = blobs(640)
    lion_ = OptimizerConfig("lion", lr=3e-3, weight_decay=0.01)

    def weights_after(name, epochs, **fit):
        t, spec = trainer(name, lion_, epochs=epochs), models.mlp(20, [16], 4)
        t.fit(spec, (x, y), **fit)
        return t, spec, t.build(spec).get_weights()

    first_trainer, first_spec, _ = weights_after(first, 2)
    arrays, meta = first_trainer.backend.optimizer_state(first_trainer.build(first_spec))
    assert meta == {"step": 40} and {k.rpartition("/")[2] for k in arrays} == {"exp_avg"}
    path = first_trainer.save(first_spec, tmp_path / "two.npz")
    _, _, got = weights_after(then, 3, resume_from=path)
    _, _, want = weights_after(first, 3)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], atol=1e-5, err_msg=f"{key}: resumed on {then}")


def test_a_plugins_optimizer_with_a_rule_runs_on_a_backend_without_its_kernel():
    """An optimizer given by a plugin's ``dlcore_optimizers`` hook with its rule as a
    "module:attribute" string, and dlcore's optimizers with their settings, train on the numpy
    test backend, whose only optimizer kernel is the generic one."""
    class SignPlugin:
        @hookimpl
        def dlcore_optimizers(self):
            return [Optimizer("plugin_sign_step", {"weight_decay": 0.0}, "w -= lr * (sign(g) + weight_decay w)",
                              rule="test_rules:SIGN_STEP", lr=1e-2)]

    x, y = blobs(400)
    with numpy_backend(), registry_of(importlib.import_module("dlcore_numpy"), SignPlugin()):
        for optimizer in ("plugin_sign_step", "lion", Adam(1e-2, amsgrad=True), SGD(0.05, momentum=0.9, nesterov=True)):
            t = Trainer(backend="numpy", epochs=6, optimizer=optimizer, seed=0, verbose=False, progress=False,
                        **({"lr": 3e-3} if optimizer == "lion" else {}))
            assert t.fit(models.mlp(20, [16], 4), (x, y))["accuracy"][-1] >= 0.9, optimizer
        with pytest.raises(ConfigError, match="has no implementation of the optimizer 'plugin_sign_step', and applies "
                                              "no optimizer written on dlcore.ops"):
            rules.kernel(rules.registry(), "plugin_sign_step", {}, {}, "nowhere")


SIGN_STEP = rules.Rule(lambda ops, w, g, slots, lr, step, weight_decay: (w - lr * (ops.sign(g) + weight_decay * w),
                                                                            {}))


def test_dlcore_testing_checks_an_optimizers_rule_on_every_backend_against_numpy():
    from dlcore.testing import check_optimizer
    from dlcore.testing.portable import ops_backends

    backends = ops_backends()
    if not backends:
        pytest.skip("needs a backend with an ops table")
    assert check_optimizer("lion", steps=10, lr=1e-3) == {b: ["weight", "state"] for b in backends}

    @optimizers.register("numpy_only_halved")
    def halved(ops, w, g, slots, lr, step):  # a different step off numpy: the check must see it
        return w - lr * g * (1.0 if isinstance(w, np.ndarray) else 0.5), {}

    with pytest.raises(AssertionError, match=r"numpy_only_halved's weight after 5 updates on \w+ differs"):
        check_optimizer("numpy_only_halved")
