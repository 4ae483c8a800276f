"""One device registry for every backend: devices, their kinds, and names read against every
registered kind (defined in :mod:`dlcore.contract.devices`; the look-ups that know the
plugins' kinds in :mod:`dlcore.plugins.backends`)."""

from .contract.devices import DEVICE_KINDS, Device, DeviceRegistry
from .contract.records import DeviceKind
from .plugins.backends import all_devices, parse_device, resolve_device

KINDS = DEVICE_KINDS  # dlcore's own kinds, by their name before 0.2

__all__ = ["DEVICE_KINDS", "Device", "DeviceKind", "DeviceRegistry", "KINDS", "all_devices", "parse_device",
           "resolve_device"]
