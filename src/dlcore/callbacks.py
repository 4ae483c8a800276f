"""Callbacks for ``Trainer.fit`` (defined in :mod:`dlcore.training.callbacks`)."""

from .training.callbacks import (
    Callback, CSVLogger, EarlyStopping, LambdaCallback, LearningRateMonitor, ModelCheckpoint, ReduceLROnPlateau,
    TensorBoard,
)


__all__ = ["CSVLogger", "Callback", "EarlyStopping", "LambdaCallback", "LearningRateMonitor", "ModelCheckpoint",
           "ReduceLROnPlateau", "TensorBoard"]
