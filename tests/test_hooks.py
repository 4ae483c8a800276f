"""The hooks: each is documented as pytest documents its hooks, the built-in features come
through them, and a test's own plugin gets a registry of its own for a block."""

from __future__ import annotations

import pytest

from conftest import BACKENDS


def test_every_hook_is_documented_as_pytest_documents_its_hooks():
    from dlcore import hookspecs

    hooks = [name for name in dir(hookspecs) if name.startswith("dlcore_")]
    assert len(hooks) >= 11
    for name in hooks:
        doc = getattr(hookspecs, name).__doc__ or ""
        assert ":return:" in doc and "Called when" in doc and "Example::" in doc, name


def test_builtin_features_come_through_the_hooks():
    from dlcore.plugins import registry

    found = registry()
    assert {"mlp", "text_classifier"} <= set(found.model_kinds.keys())
    assert {"cross_entropy", "binary_cross_entropy"} <= set(found.losses.keys())
    assert {"sgd", "adam"} <= set(found.optimizers.keys())
    assert "accuracy" in found.metrics.keys()
    assert {"fashion-mnist", "imdb"} <= set(found.datasets.keys())
    assert {"glove-6b-50d", "glove-text"} <= set(found.embedding_sources.keys())
    assert found.weight_formats.plugin_of("dlcore") == "dlcore"
    assert {"cpu", "gpu", "mps"} <= set(found.device_kinds.keys())
    kernels = found.kernels
    for backend in BACKENDS:
        for kind, name in (("model", "mlp"), ("model", "text_classifier"), ("optimizer", "adam")):
            assert kernels.plugin_of((kind, name, backend)) == backend, (kind, name, backend)
    assert found.loss("cross_entropy").fn and found.metric("accuracy").statistics  # written on ops, for every backend
    for kind, name in (("loss", "cross_entropy"), ("metric", "accuracy")):  # torch's fast paths
        assert "torch" not in BACKENDS or kernels.plugin_of((kind, name, "torch")) == "torch"


def test_a_registry_with_a_tests_own_plugin_replaces_the_process_one_until_the_block_ends():
    from dlcore import PluginError
    from dlcore.contract import Kernel, Loss
    from dlcore.plugins import hookimpl, registry, registry_of

    class TestPlugin:
        @hookimpl
        def dlcore_losses(self):
            return [Loss("squared_error", "mean over samples of (logit - target)^2", regression=True)]

        @hookimpl
        def dlcore_kernels(self):
            return [Kernel("loss", "squared_error", "anywhere", "dlcore.training.metrics:squared_eror")]

    before = registry()
    with registry_of(TestPlugin()) as found:
        assert registry() is found and found.loss("squared_error").regression
        assert found.losses.plugin_of("squared_error") == "TestPlugin"
        with pytest.raises(PluginError, match=r"plugin 'TestPlugin' registers the kernel 'loss' 'squared_error' "
                                              r"'anywhere' with impl 'dlcore.training.metrics:squared_eror', which "
                                              r"cannot be loaded \(AttributeError"):
            found.kernel("loss", "squared_error", "anywhere")
    assert registry() is before and before.losses.get("squared_error") is None
