"""dlcore: one training API for PyTorch and TensorFlow.

    from dlcore import Trainer, datasets, models
    train, test = datasets.fashion_mnist()
    model = models.mlp(784, [512, 512], 10)
    trainer = Trainer(backend="torch", epochs=10, batch_size=64, optimizer="adam", lr=1e-3)
    trainer.fit(model, train, validation=test)
    trainer.evaluate(model, test)

Importing dlcore imports no framework; a backend's framework loads when it is selected.
"""

from . import callbacks, contract, datasets, embeddings, kernels, models, optimizers, schedules
from .backend import BackendInfo, backend_infos, get_backend, select_backend_name
from .checkpoint import Checkpoint, TrainingCheckpoint
from .contract import Backend, Prepared
from .data import ArrayDataset, Dataset
from .devices import Device, DeviceRegistry, all_devices
from .errors import (
    BackendError,
    CheckpointError,
    ConfigError,
    DataError,
    DeviceError,
    DlcoreError,
    DownloadError,
    PluginError,
    TrainingError,
)
from .callbacks import (
    Callback, Checkpointing, CSVLogger, EarlyStopping, LambdaCallback, ModelCheckpoint, ReduceLROnPlateau, TensorBoard,
)
from .history import History
from .hookspecs import hookimpl
from .models import Model, ModelSpec
from .trainer import Trainer
from .version import __version__

__all__ = [
    "ArrayDataset", "Backend", "BackendError", "BackendInfo", "CSVLogger", "Callback", "Checkpoint", "Checkpointing",
    "EarlyStopping", "LambdaCallback", "ModelCheckpoint", "ReduceLROnPlateau", "TensorBoard", "callbacks",
    "CheckpointError", "ConfigError", "DataError", "Dataset", "Device", "DeviceError",
    "DeviceRegistry", "DlcoreError", "DownloadError", "History", "Model", "ModelSpec", "PluginError",
    "Prepared", "Trainer", "TrainingError", "TrainingCheckpoint", "__version__", "all_devices",
    "backend_infos", "contract", "datasets", "embeddings", "get_backend", "hookimpl", "kernels", "models",
    "optimizers", "schedules",
    "select_backend_name",
]
