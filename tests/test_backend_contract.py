"""dlcore's backends pass the contract suite that any backend runs (dlcore.testing), on the test
device (DLCORE_TEST_DEVICE, tox's gpu factor), skipped where a backend or device is missing."""

from __future__ import annotations

import pytest

from conftest import BACKENDS
from dlcore.testing import BackendTests


@pytest.mark.skipif("torch" not in BACKENDS, reason="torch is not installed")
class TestTorch(BackendTests):
    backend = "torch"


@pytest.mark.skipif("tensorflow" not in BACKENDS, reason="tensorflow is not installed")
class TestTensorFlow(BackendTests):
    backend = "tensorflow"


@pytest.mark.parametrize("backend", [b for b in ("torch", "tensorflow") if b in BACKENDS])
def test_deterministic_turns_on_the_frameworks_mode_and_off_again(backend):
    """The suite's deterministic test trains twice alike, which a CPU run does anyway; this checks
    the framework's own switch."""
    from dlcore import Trainer, get_backend

    def enabled() -> bool:
        if backend == "torch":
            import torch

            return torch.are_deterministic_algorithms_enabled()
        from tensorflow.python.framework.config import is_op_determinism_enabled

        return is_op_determinism_enabled()

    assert not enabled()
    Trainer(backend, deterministic=True, device="cpu")
    try:
        assert enabled(), f"Trainer(deterministic=True) left {backend}'s deterministic mode off"
    finally:
        get_backend(backend).set_deterministic(False)
    assert not enabled()
