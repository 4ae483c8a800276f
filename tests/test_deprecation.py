"""Deprecated names: what dlcore renamed or replaced keeps working, with a DeprecationWarning
that names the new place, for one minor version (CHANGELOG.md)."""

from __future__ import annotations

import re
import sys

import pytest

from dlcore import ConfigError
from dlcore.models import MLP


def test_a_model_made_with_a_backend_name_still_works_with_a_deprecation_warning():
    """dlcore 0.1's backends made Model(self.name, ...); the trainer binds the backend after wrap."""
    from dlcore import Model

    with pytest.warns(DeprecationWarning, match=r"Model\(backend_name, \.\.\.\) is deprecated since dlcore 0.2"):
        model = Model("somewhere", object())
    assert model.backend_name == "somewhere"
    with pytest.raises(ConfigError, match="takes the Backend that builds the model"):
        Model(42, object())


def test_renamed_public_names_still_work_with_a_deprecation_warning():
    """For one minor version (CHANGELOG.md): what the open core renamed or replaced."""
    import importlib

    import dlcore.models

    sys.modules.pop("dlcore.trainer", None)
    with pytest.warns(DeprecationWarning, match="dlcore.trainer is deprecated since dlcore 0.2.*use dlcore.Trainer"):
        import dlcore.trainer
    assert dlcore.trainer.Trainer is dlcore.Trainer
    assert dlcore.trainer.__spec__.name == "dlcore.training.trainer"  # the module keeps its own place
    from dlcore.plugins import registry

    with pytest.warns(DeprecationWarning, match=r"registry\('dlcore_losses'\) is deprecated.*registry\(\).losses"):
        assert registry("dlcore_losses") is registry().losses
    with pytest.warns(DeprecationWarning, match="dlcore.trainer.OPTIMIZERS is deprecated since dlcore 0.2"):
        assert {"sgd", "adam"} <= set(dlcore.trainer.OPTIMIZERS)
    with pytest.warns(DeprecationWarning, match="dlcore.trainer.LOSSES"):
        assert "cross_entropy" in dlcore.trainer.LOSSES
    with pytest.warns(DeprecationWarning, match="dlcore.models.SPECS"):
        assert dlcore.models.SPECS["mlp"] is MLP
    sys.modules.pop("dlcore.interop", None)
    with pytest.warns(DeprecationWarning, match="dlcore.interop is deprecated.*use Trainer.load and Trainer.export"):
        interop = importlib.import_module("dlcore.interop")
    from dlcore.io.formats import read_weights

    assert interop.read_weights is read_weights
    with pytest.raises(AttributeError, match="no attribute 'NOTHING'"):
        dlcore.trainer.NOTHING


def test_old_names_warn_and_give_their_value_and_names_no_release_had_say_what_to_use():
    import importlib

    import dlcore
    from dlcore import ModelCheckpoint, contract, datasets

    with pytest.warns(DeprecationWarning, match="dlcore.Checkpointing is deprecated.*dlcore.ModelCheckpoint"):
        assert dlcore.Checkpointing is ModelCheckpoint
    with pytest.warns(DeprecationWarning, match="locate_fashion_mnist is deprecated.*datasets.fashion_mnist"):
        assert callable(datasets.locate_fashion_mnist)
    for old in ("dlcore.errors", "dlcore.devices"):
        sys.modules.pop(old, None)
        with pytest.warns(DeprecationWarning, match=f"{old} is deprecated.*use dlcore"):
            module = importlib.import_module(old)
        assert module.DlcoreError is contract.DlcoreError if old == "dlcore.errors" else module.Device is contract.Device
    with pytest.raises(ImportError, match=r"dlcore.kernels was removed in dlcore 0.2; use dlcore.contract"):
        importlib.import_module("dlcore.kernels")
    with pytest.raises(AttributeError, match="dlcore.kernels was removed in dlcore 0.2"):
        dlcore.kernels


def test_deprecation_shims_live_only_in_deprecation_py():
    """A module's ``__getattr__`` hands a missing name to ``deprecation.attribute`` and does nothing else."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "src"
    for path in root.glob("dlcore*/**/*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
                assert "deprecation.attribute(__name__, name)" in ast.unparse(node), path


def test_every_old_name_gives_its_value_with_a_warning_that_names_only_public_api():
    """Each entry of NAMES is served by its module (one without ``__getattr__`` would break a
    0.1 user with no deprecation period), and each warning of MOVED names what to use from the
    public API, never one of dlcore's own modules."""
    import importlib
    import warnings

    from dlcore import deprecation

    private = re.compile(r"dlcore\.(data|io|training|parallel|tuning|cli)\b")
    for old in deprecation.NAMES:
        module, _, name = old.rpartition(".")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            owner = importlib.import_module(module)
        with pytest.warns(DeprecationWarning, match=f"{old} is deprecated"):
            assert getattr(owner, name) is not None, old
    for old, (new, use) in deprecation.MOVED.items():
        assert importlib.util.find_spec(new) is not None, new
        assert not private.search(use), (old, use)
        sys.modules.pop(old, None)
        with pytest.warns(DeprecationWarning, match=f"{old} is deprecated.*use {re.escape(use)}"):
            importlib.import_module(old)
