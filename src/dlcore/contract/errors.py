"""Every error dlcore raises on a user's mistake; all derive from DlcoreError."""


class DlcoreError(Exception):
    """Base class of dlcore's errors: catch this to handle any of them."""


class BackendError(DlcoreError):
    """A backend is unknown, not installed, or cannot be loaded."""


class DeviceError(DlcoreError):
    """A device name does not exist or cannot be used by the chosen backend."""


class DataError(DlcoreError):
    """A data file or array is missing, corrupt, or has the wrong shape or values."""


class DownloadError(DataError):
    """A download failed or its content did not match the expected checksum."""


class ConfigError(DlcoreError):
    """A training setting (epochs, batch size, optimizer, ...) has an invalid value."""


class CheckpointError(DlcoreError):
    """A checkpoint is missing, damaged, or does not fit the model."""


class TrainingError(DlcoreError):
    """Training diverged: the loss became NaN or infinite."""


class DistributedError(TrainingError):
    """A process of a run over several stopped answering (it died or hung) or could not join
    the group; every other process raises this within the strategy's timeout."""


class PluginError(DlcoreError):
    """A plugin does not fit dlcore's hooks, fails to import, or registers a name another
    plugin registers too."""


__all__ = ["BackendError", "CheckpointError", "ConfigError", "DataError", "DeviceError", "DistributedError", "DlcoreError",
           "DownloadError", "PluginError", "TrainingError"]
