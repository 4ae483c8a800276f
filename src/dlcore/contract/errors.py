"""Every error dlcore raises on a user's mistake; all derive from DlcoreError."""


class DlcoreError(Exception):
    """Base class of dlcore's errors: catch this to handle any of them.

    Example::

        try:
            trainer.fit(model, train, validation=test)
        except dlcore.DlcoreError as error:
            print(f"cannot train: {error}")
    """


class BackendError(DlcoreError):
    """A backend is unknown, not installed, or cannot be loaded.

    Example::

        try:
            backend = dlcore.get_backend("nope")
        except dlcore.BackendError as error:
            print(error)  # unknown backend 'nope'; registered backends: torch, tensorflow, ...
    """


class DeviceError(DlcoreError):
    """A device name does not exist or cannot be used by the chosen backend.

    Example::

        try:
            trainer = Trainer(backend="torch", device="cuda:7")
        except dlcore.DeviceError as error:
            print(error)  # device 'cuda:7' does not exist on backend 'torch'; available: cpu, ...
    """


class DataError(DlcoreError):
    """A data file or array is missing, corrupt, or has the wrong shape or values.

    >>> from dlcore import ArrayDataset, DataError
    >>> try:
    ...     ArrayDataset([[1.0], [2.0]], [0])
    ... except DataError as error:
    ...     print(error)
    dataset: 2 feature rows but 1 labels; they must have the same length
    """


class DownloadError(DataError):
    """A download failed or its content did not match the expected checksum.

    Example::

        try:
            train, test = datasets.fashion_mnist()
        except dlcore.DownloadError as error:
            print(error)  # could not download Fashion-MNIST file ...: each mirror and its error
    """


class ConfigError(DlcoreError):
    """A training setting (epochs, batch size, optimizer, ...) has an invalid value.

    >>> from dlcore import ConfigError, optimizers
    >>> try:
    ...     optimizers.SGD(momentum=-1)
    ... except ConfigError as error:
    ...     print(error)
    sgd momentum must be >= 0, got -1
    """


class CheckpointError(DlcoreError):
    """A checkpoint is missing, damaged, or does not fit the model.

    >>> from dlcore import CheckpointError, TrainingCheckpoint
    >>> try:
    ...     TrainingCheckpoint.load("missing.npz")
    ... except CheckpointError as error:
    ...     print(error)
    missing.npz: no such checkpoint file
    """


class TrainingError(DlcoreError):
    """Training diverged: the loss became NaN or infinite.

    Example::

        try:
            trainer.fit(model, train)
        except dlcore.TrainingError as error:
            print(error)  # the training loss became nan at step 12: lower the learning rate
    """


class DistributedError(TrainingError):
    """A process of a run over several stopped answering (it died or hung) or could not join
    the group; every other process raises this within the strategy's timeout.

    Example::

        trainer = Trainer(backend="torch", strategy="ddp")  # in each process of the group
        try:
            trainer.fit(model, train)
        except dlcore.contract.DistributedError:
            trainer.close()  # a process died: leave the group, then rerun from a checkpoint
    """


class PluginError(DlcoreError):
    """A plugin does not fit dlcore's hooks, or a record of it names a module or attribute that
    cannot be loaded. (A plugin that fails to import is left out with a warning; a name two
    plugins register is a warning too, the other reachable as ``"plugin:name"``.)

    Example::

        try:
            loss = dlcore.plugins.registry().loss("focal")
        except dlcore.PluginError as error:
            print(error)  # plugin 'extras' registers the loss 'focal' with ... which cannot be loaded
    """


__all__ = ["BackendError", "CheckpointError", "ConfigError", "DataError", "DeviceError", "DistributedError", "DlcoreError",
           "DownloadError", "PluginError", "TrainingError"]
