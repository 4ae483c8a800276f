"""dlcore: one training API for PyTorch and TensorFlow.

    from dlcore import Trainer, datasets, models
    train, test = datasets.fashion_mnist()
    model = models.mlp(784, [512, 512], 10)
    trainer = Trainer(backend="torch", epochs=10, batch_size=64, optimizer="adam", lr=1e-3)
    trainer.fit(model, train, validation=test)
    trainer.evaluate(model, test)

Importing dlcore imports no framework; a backend's framework loads when it is selected.
"""

from . import deprecation

deprecation.install()  # the modules that moved into folders in 0.2 import under their old names

from . import (  # noqa: E402
    callbacks, contract, datasets, embeddings, kernels, models, optimizers, plugins, schedules, transforms,
)
from .contract import (  # noqa: E402
    Backend, BackendError, BackendInfo, CheckpointError, ConfigError, DataError, Device, DeviceError, DeviceRegistry,
    DlcoreError, DownloadError, Model, ModelSpec, PluginError, Prepared, TrainingError,
)
from .data import ArrayDataset, Dataset  # noqa: E402
from .io import Checkpoint, TrainingCheckpoint  # noqa: E402
from .plugins import all_devices, backend_infos, get_backend, hookimpl, select_backend_name  # noqa: E402
from .training import (  # noqa: E402
    Callback, Checkpointing, CSVLogger, EarlyStopping, History, LambdaCallback, ModelCheckpoint, ReduceLROnPlateau,
    TensorBoard, Trainer,
)
from .version import __version__  # noqa: E402

__all__ = [
    "ArrayDataset", "Backend", "BackendError", "BackendInfo", "CSVLogger", "Callback", "Checkpoint", "Checkpointing",
    "CheckpointError", "ConfigError", "DataError", "Dataset", "Device", "DeviceError", "DeviceRegistry", "DlcoreError",
    "DownloadError", "EarlyStopping", "History", "LambdaCallback", "Model", "ModelCheckpoint", "ModelSpec",
    "PluginError", "Prepared", "ReduceLROnPlateau", "TensorBoard", "Trainer", "TrainingCheckpoint", "TrainingError",
    "__version__", "all_devices", "backend_infos", "callbacks", "contract", "datasets", "embeddings", "get_backend",
    "hookimpl", "kernels", "models", "optimizers", "plugins", "schedules", "select_backend_name", "transforms",
]
