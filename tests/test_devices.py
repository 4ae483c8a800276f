"""Devices: names in torch's and TensorFlow's spellings, the automatic choice, and the errors
that list what a backend has."""

from __future__ import annotations

import pytest

from dlcore import DeviceError
from dlcore.contract import Device, DeviceRegistry, parse_device, resolve_device


@pytest.mark.parametrize("name, expected", [
    ("cpu", ("cpu", None)), ("CPU", ("cpu", None)), ("cuda:1", ("gpu", 1)), ("GPU:0", ("gpu", 0)),
    ("/device:GPU:2", ("gpu", 2)), ("mps", ("mps", None)), ("gpu", ("gpu", None)),
])
def test_device_names_in_either_spelling(name, expected):
    assert parse_device(name) == expected


def test_auto_device_prefers_gpu_then_mps_then_cpu():
    cpu = Device("torch", "cpu", 0, "cpu")
    mps = Device("torch", "mps", 0, "mps")
    gpu1 = Device("torch", "gpu", 1, "cuda:1")
    gpu0 = Device("torch", "gpu", 0, "cuda:0")
    assert resolve_device([cpu, mps, gpu1, gpu0], "auto", "torch") == gpu0
    assert resolve_device([cpu, mps], "auto", "torch") == mps
    assert resolve_device([cpu], "auto", "torch") == cpu
    assert resolve_device([cpu, gpu0], "GPU:0", "torch") == gpu0


def test_missing_device_error_lists_available_devices():
    with pytest.raises(DeviceError, match=r"'cuda:3' does not exist on backend 'torch'; available: cpu, cuda:0"):
        resolve_device([Device("torch", "cpu", 0, "cpu"), Device("torch", "gpu", 0, "cuda:0")], "cuda:3", "torch")
    with pytest.raises(DeviceError, match="cannot read device name 'tpu'"):
        parse_device("tpu")


def test_device_registry_refuses_duplicates():
    registry = DeviceRegistry()
    registry.register(Device("torch", "cpu", 0, "cpu"))
    registry.register(Device("tensorflow", "cpu", 0, "CPU"))
    with pytest.raises(DeviceError, match="already registered"):
        registry.register(Device("torch", "cpu", 0, "cpu"))
    assert [d.name for d in registry.for_backend("tensorflow")] == ["CPU"]
