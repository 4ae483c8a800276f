"""What every section of the contract suite stands on: the backend under test, the device
fixture, a trainer with the suite's settings, and the skips for what a backend does not offer."""

from __future__ import annotations

import os
from typing import Any

import pytest

from ... import ConfigError, DeviceError, Trainer
from ...plugins.backends import get_backend
from ...plugins.manager import registry
from ...training._kernels import loss_function, metric_function

# Epochs of 54 steps, the last of 4 samples: longer than a backend's multi-step call (the
# TensorFlow backend runs 25 steps per call) and uneven, so every batch boundary is exercised.
LONG_EPOCH = {"samples": 1700, "batch_size": 32}


class BackendTestBase:
    """The base of every section (``ModelTests``, ``TrainingTests``, ...): subclass a section, or
    several, with ``backend = "name"``; narrow ``optimizers`` or set ``text_models = False`` for
    what the backend lacks. The ``device`` fixture gives the device to test on; override it to
    choose another.

    Example::

        from dlcore import models
        from dlcore.testing import BackendTestBase
        from dlcore.testing.data import blobs

        class TestMyBackendExtras(BackendTestBase):   # a backend's own tests, on the suite's footing
            backend = "mybackend"

            def test_learns_blobs(self, device):
                x, y = blobs()
                spec, trainer = models.mlp(20, [32], 4), self.trainer(device)
                trainer.fit(spec, (x, y))
                assert trainer.evaluate(spec, (x, y))["accuracy"] >= 0.95
    """

    backend: str = ""
    optimizers: tuple[str, ...] = ("sgd", "adam")
    text_models: bool = True

    @pytest.fixture
    def device(self) -> str:
        """The device the tests run on: $DLCORE_TEST_DEVICE ("gpu" in tox's gpu factor: the
        backend's first GPU, the test skipped where it has none), else the CPU."""
        wanted = os.environ.get("DLCORE_TEST_DEVICE", "cpu")
        if wanted == "cpu":
            return "cpu"
        try:
            return str(get_backend(self.backend).device(wanted).name)
        except DeviceError:
            pytest.skip(f"backend {self.backend!r} has no {wanted} device here")

    def trainer(self, device: str, **settings: Any) -> Trainer:
        """A trainer of this backend: 5 epochs of Adam (lr 1e-2), batch 32, seed 0, no progress bar."""
        optimizer = "adam" if "adam" in self.optimizers else self.optimizers[0]
        defaults = dict(epochs=5, batch_size=32, optimizer=optimizer, lr=1e-2, seed=0, device=device, progress=False)
        return Trainer(backend=self.backend, **{**defaults, **settings})

    def supported(self, device: str, **settings: Any) -> Trainer:
        """A trainer with settings the backend may not offer (skipped if it says it does not)."""
        try:
            return self.trainer(device, **settings)
        except ConfigError as err:
            offered = (f"backend {self.backend!r} does not", f"backend {self.backend!r} has no implementation",
                       f"backend {self.backend!r} implements")
            if not str(err).startswith(offered):
                raise
            pytest.skip(f"{self.backend} does not offer this: {err}")

    def implements(self, metric: str) -> bool:
        """Whether this backend computes ``metric`` (a kernel, or its definition on its ops)."""
        try:
            metric_function(registry(), get_backend(self.backend), metric)
        except ConfigError:
            return False
        return True

    def needs(self, optimizer: str) -> None:
        """Skip the test unless this backend implements ``optimizer``."""
        if optimizer not in self.optimizers:
            pytest.skip(f"{self.backend} does not implement {optimizer}")

    def needs_kernels(self, kind: str, *names: str) -> None:
        """Skip the test unless this backend computes each ``kind`` (loss, metric) named (a
        kernel, or its definition on its ops)."""
        for name in names:
            try:
                (loss_function if kind == "loss" else metric_function)(registry(), get_backend(self.backend), name)
            except ConfigError:
                pytest.skip(f"{self.backend} does not implement the {kind} {name}")


__all__ = ["BackendTestBase", "LONG_EPOCH"]
