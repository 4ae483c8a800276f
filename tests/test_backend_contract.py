"""dlcore's backends pass the contract suite that any backend runs (dlcore.testing), on the test
device (DLCORE_TEST_DEVICE, tox's gpu factor), skipped where a backend or device is missing."""

from __future__ import annotations

import pytest

from conftest import BACKENDS, device_on
from dlcore.testing import BackendTests


class DlcoreBackendTests(BackendTests):
    @pytest.fixture
    def device(self) -> str:
        return device_on(self.backend)


@pytest.mark.skipif("torch" not in BACKENDS, reason="torch is not installed")
class TestTorch(DlcoreBackendTests):
    backend = "torch"


@pytest.mark.skipif("tensorflow" not in BACKENDS, reason="tensorflow is not installed")
class TestTensorFlow(DlcoreBackendTests):
    backend = "tensorflow"
