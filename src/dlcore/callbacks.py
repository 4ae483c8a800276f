"""Callbacks for ``Trainer.fit`` (defined in :mod:`dlcore.training.callbacks`)."""

from .training.callbacks import (
    Callback, CSVLogger, EarlyStopping, LambdaCallback, ModelCheckpoint, ReduceLROnPlateau, TensorBoard,
)


__all__ = ["CSVLogger", "Callback", "EarlyStopping", "LambdaCallback", "ModelCheckpoint", "ReduceLROnPlateau",
           "TensorBoard"]
