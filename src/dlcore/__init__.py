"""dlcore: one training API for PyTorch and TensorFlow.

    from dlcore import Trainer, datasets, models
    train, test = datasets.fashion_mnist()
    model = models.mlp(784, [512, 512], 10)
    trainer = Trainer(backend="torch", epochs=10, batch_size=64, optimizer="adam", lr=1e-3)
    trainer.fit(model, train, validation=test)
    trainer.evaluate(model, test)

Importing dlcore imports no framework; a backend's framework loads when it is selected.

The public API is the ``__all__`` of this module and of the public modules ``dlcore.callbacks``,
``contract``, ``datasets``, ``embeddings``, ``hookspecs``, ``losses``, ``metrics``, ``models``,
``ops``, ``optimizers``, ``plots``, ``plugins``, ``runs``, ``schedules``, ``testing`` and
``transforms``; every other module is dlcore's own and may change. Deprecated names are listed in :mod:`dlcore.deprecation`.
"""

from . import deprecation

deprecation.install()  # the modules that moved into folders in 0.2 import under their old names

from typing import Any  # noqa: E402

from . import (  # noqa: E402
    callbacks, contract, datasets, embeddings, losses, metrics, models, ops, optimizers, plugins, schedules,
    transforms,
)
from .contract import (  # noqa: E402
    Backend, BackendError, BackendInfo, CheckpointError, ConfigError, DataError, Device, DeviceError, DeviceRegistry,
    DlcoreError, DownloadError, Model, ModelSpec, PluginError, Prepared, TrainingError,
)
from .callbacks import (  # noqa: E402
    Callback, CSVLogger, EarlyStopping, LambdaCallback, LearningRateMonitor, ModelCheckpoint, ReduceLROnPlateau,
    TensorBoard,
)
from .data.arrays import ArrayDataset, Dataset  # noqa: E402
from .io.checkpoint import Checkpoint, TrainingCheckpoint  # noqa: E402
from .plugins import all_devices, backend_infos, get_backend, hookimpl, select_backend_name  # noqa: E402
from .training.history import History  # noqa: E402
from .training.lr_finder import LRFinder  # noqa: E402
from .training.trainer import Trainer  # noqa: E402
from .version import __version__  # noqa: E402


def __getattr__(name: str) -> Any:
    return deprecation.attribute(__name__, name)


__all__ = [
    "ArrayDataset", "Backend", "BackendError", "BackendInfo", "CSVLogger", "Callback", "Checkpoint", "CheckpointError",
    "ConfigError", "DataError", "Dataset", "Device", "DeviceError", "DeviceRegistry", "DlcoreError", "DownloadError",
    "EarlyStopping", "History", "LRFinder", "LambdaCallback", "LearningRateMonitor", "Model", "ModelCheckpoint", "ModelSpec", "PluginError", "Prepared",
    "ReduceLROnPlateau", "TensorBoard", "Trainer", "TrainingCheckpoint", "TrainingError", "__version__", "all_devices",
    "backend_infos", "callbacks", "contract", "datasets", "embeddings", "get_backend", "hookimpl", "losses", "metrics", "models", "ops",
    "optimizers", "plugins", "schedules", "select_backend_name", "transforms",
]
