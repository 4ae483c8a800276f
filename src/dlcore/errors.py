"""Every error dlcore raises on a user's mistake; all derive from DlcoreError (defined in
:mod:`dlcore.contract.errors`)."""

from .contract.errors import (
    BackendError, CheckpointError, ConfigError, DataError, DeviceError, DlcoreError, DownloadError, PluginError,
    TrainingError,
)

__all__ = ["BackendError", "CheckpointError", "ConfigError", "DataError", "DeviceError", "DlcoreError", "DownloadError",
           "PluginError", "TrainingError"]
