"""Shared fixtures: isolated environment, tiny IDX files, installed backends, the test device."""

from __future__ import annotations

import gzip
import importlib.util
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from dlcore.testing.data import blobs  # noqa: F401  (the tests' small learnable problem)

BACKENDS = [name for name, module in (("torch", "torch"), ("tensorflow", "tensorflow"))
            if importlib.util.find_spec(module) is not None]
# DLCORE_TEST_DEVICE=gpu (tox's gpu factor) runs the suite on each backend's first GPU.
TEST_DEVICE = os.environ.get("DLCORE_TEST_DEVICE", "cpu")
# Processes the tests start import the same dlcore as the tests (a checkout, or the scratch
# copy a mutation run tests), not whichever one is installed.
SOURCES = Path(importlib.util.find_spec("dlcore").origin).resolve().parents[1]
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(SOURCES), os.environ.get("PYTHONPATH")) if p)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory, monkeypatch):
    """No test sees the user's backend choice, data directories or cache."""
    monkeypatch.delenv("DLCORE_BACKEND", raising=False)
    monkeypatch.delenv("DLCORE_DATA_DIR", raising=False)
    monkeypatch.setenv("DLCORE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


def device_on(backend: str) -> str:
    """The test device's name on ``backend``; skips the test where the backend has no such device."""
    from dlcore import DeviceError, get_backend

    if TEST_DEVICE == "cpu":
        return "cpu"
    try:
        return get_backend(backend).device(TEST_DEVICE).name
    except DeviceError:
        pytest.skip(f"{backend} has no {TEST_DEVICE} device here")


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    """Each installed backend in turn (skipped where it has no test device)."""
    device_on(request.param)
    return request.param


@pytest.fixture
def device(backend) -> str:
    """The test device on the test's backend."""
    return device_on(backend)


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array in the IDX format."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def learnable_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """28x28 uint8 images whose class (0..9) is which horizontal band is bright, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    for i, label in enumerate(labels):
        images[i, 2 + 2 * label: 4 + 2 * label, :] = 250
    return images, labels


def write_fashion_mnist(directory: Path, n_train: int = 600, n_test: int = 200, gz: bool = True) -> Path:
    """Write the four Fashion-MNIST IDX files (tiny, learnable) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for prefix, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
        images, labels = learnable_images(n, seed)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            raw = idx_bytes(array)
            name = f"{prefix}-{kind}-ubyte"
            if gz:
                (directory / (name + ".gz")).write_bytes(gzip.compress(raw))
            else:
                (directory / name).write_bytes(raw)
    return directory


@pytest.fixture
def fashion_dir(tmp_path) -> Path:
    return write_fashion_mnist(tmp_path / "fmnist")
